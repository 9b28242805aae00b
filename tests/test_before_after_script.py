"""benchmarks/before_after.py: one tiny comparison of this checkout with itself runs end to end
in fresh processes, and bad arguments are refused."""
import os

import pytest
from conftest import ROOT, load_script


def test_a_checkout_against_itself(tmp_path, capsys):
    script = load_script("benchmarks/before_after.py")
    out = tmp_path / "table.md"
    records = script.main([ROOT, ROOT, "--workloads", "W1", "--blocks", "1", "--repeats", "1",
                           "--steps", "3", "--out", str(out)])
    w1 = records["W1"]
    assert w1["before_ms"] > 0 and w1["after_ms"] > 0
    assert w1["ratio"] == pytest.approx(w1["after_ms"] / w1["before_ms"])
    text = out.read_text()
    assert text.startswith("| workload | before, ms/step") and "| W1 |" in text
    assert "| W1 |" in capsys.readouterr().out


def test_bad_arguments_are_refused(capsys):
    script = load_script("benchmarks/before_after.py")
    with pytest.raises(SystemExit):
        script.main([ROOT, ROOT, "--workloads", "W9"])
    assert "workloads must be among" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        script.main([ROOT, os.path.join(ROOT, "no-such-checkout"), "--workloads", "W1",
                     "--blocks", "1", "--repeats", "1", "--steps", "1"])
