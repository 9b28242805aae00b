"""benchmarks/fast_paths.py: a smoke run (--quick, tiny blocks) prints every row with positive
finite times and writes its .md and .json where told, or nothing with --no-write; the script's
benchmark-only patches are undone afterwards; --device gpu without CuPy skips with a clear
message. In-process: NumPy is already loaded here, so --threads cannot act (the table says what
OpenBLAS reports); run as a script, the file sets the thread variables before importing NumPy."""
import json
import math

import pytest
from conftest import load_script

from minigan import backend
from minigan.fast import adam as fast_adam
from minigan.gan.trainer import StepValues

ROWS = ["1"] * 4 + ["2a", "2b", "2c"] + ["3"] * 2 + ["4", "5"] + ["6"] * 2 + ["6b"] * 2  # CPU rows
SMOKE = ["--quick", "--repeats", "2", "--block", "0.002"]


@pytest.fixture(scope="module")
def fast_paths():
    return load_script("benchmarks/fast_paths.py")


@pytest.fixture(scope="module")
def smoke_run(fast_paths, tmp_path_factory):
    out = tmp_path_factory.mktemp("fast_paths")
    lines = []
    records = fast_paths.main(SMOKE + ["--out", str(out)], log=lines.append)
    return records, "\n".join(lines), out


def test_every_row_with_positive_finite_times(smoke_run):
    records, text, _ = smoke_run
    assert [r["row"] for r in records] == ROWS and {r["device"] for r in records} == {"cpu"}
    for r in records:
        for key in ("a_time", "b_time", "ratio"):
            # the measured values; not the quartiles, which statistics.quantiles extrapolates
            # from two blocks (and may put below 0 when the two differ a lot)
            values = [r[key][k] for k in ("median", "min", "max")]
            assert all(math.isfinite(v) and v > 0 for v in values), (r["what"], key)
        assert len(r["a_blocks"]) == len(r["b_blocks"]) == 2
    table = [line for line in text.splitlines() if line.startswith("| ") and "×" in line]
    assert [line.split(" | ")[0][2:] for line in table] == ROWS
    assert "Machine: " in text and "NumPy " in text and "commit " in text
    assert "FLUSH_EVERY = 10**9, patched" in text and "subnormal" in text


def test_writes_md_and_json_where_told(smoke_run):
    records, text, out = smoke_run
    assert sorted(p.name for p in out.iterdir()) == ["fast_paths_quick.json",
                                                     "fast_paths_quick.md"]
    md = (out / "fast_paths_quick.md").read_text()
    assert md.strip() in text
    saved = json.loads((out / "fast_paths_quick.json").read_text())
    assert [r["row"] for r in saved["rows"]] == ROWS
    assert saved["system"]["threads"] == 1 and saved["settings"]["quick"] is True


def test_patches_are_undone(smoke_run):
    """The script patches FLUSH_EVERY, StepValues.__post_init__ (and on the GPU backend.is_cupy)
    for its blocks only: the library is as before afterwards."""
    assert fast_adam.FLUSH_EVERY == 8
    assert StepValues.__post_init__.__qualname__ == "StepValues.__post_init__"
    assert backend.is_cupy.__module__ == "minigan.backend"


def test_no_write_prints_only(fast_paths, tmp_path):
    lines = []
    records = fast_paths.main(SMOKE + ["--no-write", "--out", str(tmp_path)], log=lines.append)
    assert len(records) == len(ROWS) and "| 4 | W2 trainer.train_step" in "\n".join(lines)
    assert not list(tmp_path.iterdir())


def test_arguments(fast_paths):
    assert fast_paths.threads_argument(["--quick", "--threads", "3"]) == "3"
    assert fast_paths.threads_argument(["--threads=2"]) == "2"
    assert fast_paths.threads_argument([]) == "1"
    args = fast_paths.parse_args(["--device", "gpu", "--threads", "2", "--quick"])
    assert fast_paths.result_name(args) == "fast_paths_gpu_t2_quick"
    assert (args.repeats, args.block) == (3, 0.01)
    with pytest.raises(SystemExit):
        fast_paths.parse_args(["--repeats", "0"])


@pytest.mark.skipif(backend.gpu_available(), reason="a GPU is present: nothing to skip")
def test_gpu_without_cupy_skips_clearly(fast_paths, tmp_path):
    lines = []
    assert fast_paths.main(["--device", "gpu", "--quick", "--out", str(tmp_path)],
                           log=lines.append) is None
    text = "\n".join(lines)
    assert "SKIPPED" in text and "CuPy" in text
    assert not list(tmp_path.iterdir())
