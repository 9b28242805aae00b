"""examples/gan_2d.py runs end to end (a tiny run) and writes what its docstring promises."""
import json
import os
import subprocess
import sys

import pytest
from conftest import load_script

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "gan_2d.py")


def load_example():
    return load_script("examples/gan_2d.py")


@pytest.mark.parametrize("data", ["sine", "ring", "grid"])
def test_tiny_run_writes_everything(device, data, tmp_path, capsys):
    out = tmp_path / "run"
    record = load_example().main(["--data", data, "--device", device, "--n", "256",
                                  "--epochs", "4", "--batch-size", "32", "--out", str(out)])
    assert sorted(os.listdir(out)) == ["checkpoint.npz", "curves.png", "discriminator.npz",
                                       "generator.npz", "history.csv", "run.json", "samples.png"]
    assert json.loads((out / "run.json").read_text()) == record
    assert record["steps"] == (256 // 32) * 4
    assert len((out / "history.csv").read_text().splitlines()) == 1 + record["steps"]
    printed = capsys.readouterr().out
    assert "d_real=" in printed and "D(G(z))=" in printed
    if data == "sine":
        assert set(record["quality"]) == {"distance_to_curve", "coverage"}
        assert "mean distance of generated points to the curve" in printed
    else:
        assert set(record["quality"]) == {"modes", "hq", "reverse_kl"}
        assert "modes covered" in printed


def test_bad_settings_exit_with_a_clear_message(tmp_path):
    # As a command: one line naming the flag, no traceback (tests/test_cli.py has every case).
    result = subprocess.run([sys.executable, EXAMPLE, "--k", "0", "--epochs", "1",
                             "--out", str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 2
    assert "gan_2d.py: error: argument --k: expected an integer >= 1, got '0'" in result.stderr
    assert "Traceback" not in result.stderr


def test_html_replays_the_run_with_the_lab_page(tmp_path, capsys):
    """--html: the lab's page with 31 frames (before training, then 30 moments of the run) and
    the run's history as the lab's D and G rows; its last frame is the trained G's samples."""
    out, page = tmp_path / "run", tmp_path / "replay" / "ring.html"
    load_example().main(["--data", "ring", "--n", "256", "--epochs", "40", "--batch-size", "32",
                         "--k", "2", "--out", str(out), "--html", str(page)])
    text = page.read_text()
    start = text.index("window.LAB_REPLAY = ") + len("window.LAB_REPLAY = ")
    replay = json.loads(text[start:text.index(";</script>", start)])
    frames = replay["frames"]
    assert len(frames) == 31 and frames[0]["label"] == "before training"
    assert frames[-1]["label"] == "epoch 40 (step 320)" and frames[-1]["updates"] == 320 * 3
    assert [r["update"] for r in replay["history"][:4]] == [2, 3, 5, 6]     # k = 2: D, D, G
    assert replay["modes"] == 8 and replay["settings"]["k"] == 2
    assert len(frames[-1]["layers"]["fake"]) == 512
    assert f"wrote {page}: a replay of the run (31 frames)" in capsys.readouterr().out
