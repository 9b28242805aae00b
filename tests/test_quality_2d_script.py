"""benchmarks/quality_2d.py: its core function end to end in a tiny mode (small nets, a few
dozen iterations), the table and JSON it writes, the same numbers for the same seed and
iterations (in this process and in a one-thread worker process), and its small helpers."""
import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, load_script

SCRIPT = os.path.join(ROOT, "benchmarks", "quality_2d.py")

TINY = {"g_hidden": (16, 16), "d_hidden": (16,)}        # PacGAN's nets would take minutes


@pytest.fixture(scope="module")
def q2d():
    return load_script("benchmarks/quality_2d.py")


def tiny_run(q2d, out, name, seeds=(0,), jobs=0, figure=True, configs=("gan", "best"),
             scheduler=None):
    lines = []
    record = q2d.run(data=["ring", "grid"], configs=list(configs), seeds=list(seeds),
                     iters={c: 24 for c in configs}, jobs=jobs, overrides=dict(TINY),
                     out=str(out), name=name, figure=figure, log=lines.append,
                     scheduler=scheduler)
    return record, "\n".join(lines)


def metrics(record):
    return [(r["data"], r["config"], r["seed"], r["modes"], r["hq"], r["reverse_kl"])
            for r in record["runs"]]


def test_tiny_run_writes_the_table_json_and_figure(q2d, tmp_path):
    record, printed = tiny_run(q2d, tmp_path, "t", seeds=(0, 1))
    for ext in ("md", "json", "png"):
        assert (tmp_path / f"t.{ext}").stat().st_size > 0
    saved = json.loads((tmp_path / "t.json").read_text())
    assert len(saved["runs"]) == 2 * 2 * 2                  # data sets x configs x seeds
    for run in saved["runs"]:
        assert run["iterations"] == 24 and run["wall_s"] > 0 and "samples" not in run
        assert 0 <= run["hq"] <= 1 and 0 <= run["modes"] <= (8 if run["data"] == "ring" else 25)
        assert 0 <= run["reverse_kl"] <= math.log(25) + 1e-9
        assert set(run["train_mode_bn"]) == {"modes", "hq", "reverse_kl"}
    assert saved["runs"][0]["batch_size"] == 100                 # gan: 100 samples
    assert saved["recipes"]["best"]["batch_size"] == 100 * saved["recipes"]["best"]["pack"]
    summary = saved["summary"]["grid"]["gan"]
    hq = [r["hq"] for r in saved["runs"] if r["data"] == "grid" and r["config"] == "gan"]
    assert summary["hq"]["mean"] == pytest.approx(sum(hq) / 2)
    assert summary["hq"]["se"] == pytest.approx(abs(hq[0] - hq[1]) / 2)   # s / sqrt(2), n = 2
    assert saved["machine"]["thread_env_of_workers"]["OPENBLAS_NUM_THREADS"] == "1"
    assert saved["reproduce"].startswith("python benchmarks/quality_2d.py --iters gan=24,best=24")
    table = (tmp_path / "t.md").read_text()
    assert table in printed
    assert "| **minigan: GAN (non-saturating, k = 1)** | 2 | 24 |" in table
    assert "| PacGAN paper: PacGAN4 | 10 | 400 000 | | 24.8 ± 0.2 | 93.6 ± 0.6 | 0.04 ± 0.01 |" \
        in table
    assert "| PyTorch CPU: packed 2 | 5 | 10 000 |" in table
    assert table.count("| ring | gan |") == 2 and table.count("| grid | best |") == 2


def test_same_seed_and_iterations_give_the_same_numbers(q2d, tmp_path):
    first, _ = tiny_run(q2d, tmp_path, "a", figure=False)
    again, _ = tiny_run(q2d, tmp_path, "b", figure=False)
    other, _ = tiny_run(q2d, tmp_path, "c", seeds=(1,), figure=False)
    assert metrics(first) == metrics(again)
    # the test can fail: another seed trains another G
    assert [m[3:] for m in metrics(first)] != [m[3:] for m in metrics(other)]


def test_a_worker_process_gives_the_numbers_of_this_process(q2d, tmp_path):
    here, _ = tiny_run(q2d, tmp_path, "here", configs=("best",), figure=False)
    worker, _ = tiny_run(q2d, tmp_path, "worker", configs=("best",), jobs=1, figure=False)
    assert metrics(here) == metrics(worker)
    assert all(r["threads"]["OPENBLAS_NUM_THREADS"] == "1" for r in worker["runs"])


def test_a_local_dask_cluster_gives_the_numbers_of_this_process(q2d, tmp_path):
    # Issue 16: the same runs through dask.distributed's LocalCluster (two one-thread workers,
    # each task the same one-thread worker process as the local pool): bit for bit the same.
    pytest.importorskip("dask.distributed", reason="the sweep extra: pip install -e '.[sweep]'")
    configs = ("gan", "r1")
    here, _ = tiny_run(q2d, tmp_path, "here", configs=configs, seeds=(0, 1), figure=False)
    cluster, printed = tiny_run(q2d, tmp_path, "dask", configs=configs, seeds=(0, 1), jobs=2,
                                figure=False, scheduler="local")
    assert "on the Dask scheduler local" in printed
    assert metrics(here) == metrics(cluster) and len(metrics(cluster)) == 8
    assert all(r["threads"]["OPENBLAS_NUM_THREADS"] == "1" for r in cluster["runs"])


def test_iteration_counts(q2d):
    assert q2d.parse_iters("5000", ["gan", "best"]) == {"gan": 5000, "best": 5000}
    assert q2d.parse_iters("gan=100, best=50", ["gan", "best"]) == {"gan": 100, "best": 50}
    with pytest.raises(ValueError, match=r"--iters names no count for \['best'\]"):
        q2d.parse_iters("gan=100", ["gan", "best"])
    # 180 s at 17 ms per iteration: 10 588 iterations, rounded down to 10 500
    assert q2d.iterations_from_speed(0.017, 180.0) == 10_500
    assert q2d.iterations_from_speed(10.0, 180.0) == q2d.ROUND_TO      # never below one block


def test_mean_and_standard_error(q2d):
    mean, se = q2d.mean_se([1.0, 2.0, 3.0, 6.0])
    assert mean == 3.0
    assert se == pytest.approx(math.sqrt((4 + 1 + 0 + 9) / 3 / 4))
    assert q2d.mean_se([0.7]) == (0.7, None)


def test_recipe_settings_and_overrides(q2d):
    assert q2d.recipe("gan")["batch_size"] == 100 and q2d.recipe("gan")["lr"] == 1e-4
    assert q2d.recipe("minimax")["loss"] == "minimax"
    assert q2d.recipe("best", {"pack": 2})["batch_size"] == 200
    assert q2d.parse_set(["lr=5e-4,g_hidden=(64, 64)", "lr_decay=linear"]) == {
        "lr": 5e-4, "g_hidden": (64, 64), "lr_decay": "linear"}
    with pytest.raises(ValueError, match="unknown setting"):
        q2d.recipe("gan", {"learning_rate": 1e-3})
    with pytest.raises(ValueError, match="unknown configuration"):
        q2d.recipe("wgan")


def test_result_names(q2d):
    default = (q2d.DATASETS, tuple(q2d.CONFIGS), range(5))
    assert q2d.result_name(*default, False, False, {}) == "quality_2d"
    assert q2d.result_name(q2d.DATASETS, tuple(q2d.CONFIGS), [0], True, False, {}) == \
        "quality_2d_quick"
    assert q2d.result_name(["ring"], tuple(q2d.CONFIGS), range(5), False, True, {}) == \
        "quality_2d_ring_full"
    # a custom selection: a short hash of it, so that two such sweeps never share files
    custom = q2d.result_name(*default, False, False, {"lr": 1e-3})
    assert custom.startswith("quality_2d_custom_") and len(custom) == len("quality_2d_custom_") + 8
    assert q2d.result_name(*default, False, False, {"lr": 1e-3}) == custom          # stable
    assert q2d.result_name(*default, False, False, {"lr": 2e-3}) != custom


def test_the_speed_burst(q2d):
    speed = q2d.measure_speed("best", 0.05, overrides=dict(TINY), warmup=2)
    assert speed["clock"] == "process CPU" and speed["steps"] >= 10 and speed["steps"] % 10 == 0
    assert 0 < speed["s_per_it"] < 1 and speed["wall_s_per_it"] > 0


def test_configurations_of_equal_cost_share_one_burst(q2d):
    key = q2d.cost_key
    assert key(q2d.recipe("gan")) == key(q2d.recipe("minimax"))       # only the loss differs
    assert key(q2d.recipe("gan")) == key(q2d.recipe("gan", {"lr": 1e-3, "init": "default"}))
    assert key(q2d.recipe("gan")) != key(q2d.recipe("best"))          # packs: a bigger batch
    assert key(q2d.recipe("gan")) != key(q2d.recipe("gan", {"k": 2}))


def test_g_average_scores_the_averaged_generator(q2d):
    """With g_average the run samples the EMA copy of G, not the final iterate: different
    samples from the same training, and the same again for the same seed."""
    plain = q2d.train_run("ring", "gan", 0, 40, keep_samples=True)
    averaged = q2d.train_run("ring", "gan", 0, 40, {"g_average": 0.9}, keep_samples=True)
    again = q2d.train_run("ring", "gan", 0, 40, {"g_average": 0.9}, keep_samples=True)
    assert averaged["samples"] == again["samples"]
    assert averaged["samples"] != plain["samples"]
    # the training itself is the same game: the logged losses do not see the average
    assert averaged["last_200_steps"] == plain["last_200_steps"]
    with pytest.raises(ValueError, match="g_average must be None or an EMA decay"):
        q2d.recipe("gan", {"g_average": 1.0})


def test_an_interrupted_sweep_resumes_with_only_the_runs_it_lacks(q2d, tmp_path):
    whole, _ = tiny_run(q2d, tmp_path, "whole", seeds=(0, 1), figure=False)
    journal = tmp_path / "whole.runs.jsonl"
    lines = journal.read_text().splitlines()
    assert len(lines) == 1 + 8                                 # the header, then each run
    journal.write_text("\n".join(lines[:4]) + "\n" + lines[4][:50])   # killed mid-write
    lines_log = []
    resumed = q2d.run(data=["ring", "grid"], configs=["gan", "best"], seeds=[0, 1], jobs=0,
                      overrides=dict(TINY), out=str(tmp_path), name="whole", figure=False,
                      log=lines_log.append, resume=True)
    printed = "\n".join(lines_log)
    assert "resuming" in printed and "5 runs (3 done before)" in printed
    assert metrics(resumed) == metrics(whole)                  # the counts came from the journal
    assert resumed["iterations"] == whole["iterations"] and resumed["missing"] == []


def test_a_failing_run_is_retried_once_then_reported_missing(q2d, tmp_path, monkeypatch):
    calls = []
    real_run_task = q2d.run_task

    def flaky(task, in_process):
        calls.append((task["data_name"], task["config_name"], task["seed"]))
        if task["config_name"] == "best" and task["data_name"] == "grid":
            raise RuntimeError("worker killed")                # always: missing
        if task["config_name"] == "gan" and calls.count(calls[-1]) == 1:
            raise RuntimeError("worker killed once")           # once: retried
        return real_run_task(task, in_process)

    monkeypatch.setattr(q2d, "run_task", flaky)
    record, printed = tiny_run(q2d, tmp_path, "flaky", figure=False)
    assert calls.count(("ring", "gan", 0)) == 2 and calls.count(("grid", "best", 0)) == 2
    assert record["missing"] == ["grid best seed 0"] and len(record["runs"]) == 3
    assert "FAILED twice: grid best seed 0: worker killed" in printed
    table = (tmp_path / "flaky.md").read_text()
    assert "**Missing runs** (failed, left out of the means): grid best seed 0." in table
    assert "every run failed" in table


# --- a sweep stopped from outside leaves no worker behind ---------------------------------------

def _workers_of(pid):
    """pids of the `--worker` processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parent = int(f.read().rsplit(")", 1)[1].split()[1])
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    command = f.read()
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid and b"--worker" in command:
                found.append(int(entry))
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _start_long_sweep(tmp_path):
    """A sweep whose runs take minutes, started as a command; returns it once both of its
    worker processes run."""
    process = subprocess.Popen(
        [sys.executable, SCRIPT, "--data", "ring", "--configs", "gan", "--seeds", "0,1,2",
         "--iters", "1000000", "--jobs", "2", "--out", str(tmp_path), "--no-figure"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        workers = _workers_of(process.pid)
        if len(workers) == 2:
            return process, workers
        time.sleep(0.05)
    process.kill()
    raise AssertionError("the sweep did not start two workers in 30 s")


def _wait_gone(pids, seconds=30):
    end = time.monotonic() + seconds
    while time.monotonic() < end and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_stops_the_sweep_and_its_workers(tmp_path):
    process, workers = _start_long_sweep(tmp_path)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "stopped; the finished runs are in the journal" in err and "Traceback" not in err
    assert _wait_gone(workers) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; prctl")
def test_a_sweep_killed_outright_takes_its_workers_with_it(tmp_path):
    process, workers = _start_long_sweep(tmp_path)
    process.kill()                                  # SIGKILL: no handler runs in the sweep
    process.communicate(timeout=60)
    assert _wait_gone(workers) == []                # the kernel's parent-death signal
