"""benchmarks/quality_2d.py on bad input (issue 21): two sweeps never share files, a journal
is checked before it is trusted (its header names its sweep, each run record is checked, a
line cut by a kill costs only that run), a run that cannot succeed is not retried, a sweep
with no result fails, and bad flags or an unreachable scheduler are one line, not a
traceback. The sweeps here are tiny (small nets, 24 iterations, the ring)."""
import json
import math
import signal
import socket
import time

import pytest
from conftest import load_script

TINY = {"g_hidden": (16, 16), "d_hidden": (16,)}        # PacGAN's nets would take minutes
ITERS = 24


@pytest.fixture(scope="module")
def q2d():
    return load_script("benchmarks/quality_2d.py")


def sweep(q2d, out, configs=("gan",), seeds=(0, 1), name=None, resume=False, iters=ITERS,
          jobs=0, overwrite=False):
    """A tiny sweep on the ring; (its record, what it printed)."""
    lines = []
    record = q2d.run(data=["ring"], configs=list(configs), seeds=list(seeds),
                     iters=None if iters is None else {c: iters for c in configs}, jobs=jobs,
                     overrides=dict(TINY), out=str(out), name=name, figure=False,
                     log=lines.append, resume=resume, overwrite=overwrite)
    return record, "\n".join(lines)


def call_main(q2d, argv):
    """q2d.main(argv) -> (exit code, message); main installs a SIGTERM handler: restored."""
    before = signal.getsignal(signal.SIGTERM)
    try:
        q2d.main([str(a) for a in argv])
    except SystemExit as stop:
        return stop.code, stop.code if isinstance(stop.code, str) else ""
    finally:
        signal.signal(signal.SIGTERM, before)
    return 0, ""


def tiny_argv(out, **flags):
    """A command line for one tiny run; flags replace its defaults (argparse: the last wins)."""
    argv = ["--data", "ring", "--configs", "gan", "--seeds", "0", "--iters", "5", "--jobs", "0",
            "--out", out, "--no-figure"]
    for flag, value in flags.items():
        argv += [f"--{flag}", value]
    return argv


# --- 1. one name per sweep; the journal's header names its sweep -----------------------------

def test_different_sweeps_get_different_files(q2d, tmp_path):
    gan, _ = sweep(q2d, tmp_path, configs=("gan",))
    minimax, _ = sweep(q2d, tmp_path, configs=("minimax",))
    assert gan["name"] != minimax["name"]
    for record in (gan, minimax):
        saved = json.loads((tmp_path / f"{record['name']}.json").read_text())
        assert saved["configs"] == record["configs"]           # neither replaced the other
        assert (tmp_path / f"{record['name']}.runs.jsonl").exists()


def test_the_journal_header_names_the_sweep(q2d, tmp_path):
    sweep(q2d, tmp_path, configs=("gan", "minimax"), name="s")
    header = json.loads((tmp_path / "s.runs.jsonl").read_text().splitlines()[0])
    assert header["sweep"] == {"data": ["ring"], "configs": ["gan", "minimax"], "seeds": [0, 1],
                               "iterations": {"gan": ITERS, "minimax": ITERS},
                               "overrides": {"g_hidden": [16, 16], "d_hidden": [16]},
                               "device": "cpu"}
    assert len(header["hash"]) == 8 and header["hash"] == q2d.short_hash(header["sweep"])


def test_a_sweep_does_not_replace_another_sweeps_files(q2d, tmp_path):
    sweep(q2d, tmp_path, configs=("gan",), name="shared")
    with pytest.raises(RuntimeError, match=r"shared\.runs\.jsonl belongs to another sweep "
                       r"\(configs gan in shared\.runs\.jsonl, minimax in this sweep\): give "
                       r"--name NAME or another --out"):
        sweep(q2d, tmp_path, configs=("minimax",), name="shared")
    assert json.loads((tmp_path / "shared.json").read_text())["configs"] == ["gan"]
    # the same sweep again (here at another iteration count) re-runs the table: allowed, with
    # --overwrite since the journal holds finished runs (below)
    again, _ = sweep(q2d, tmp_path, configs=("gan",), name="shared", iters=ITERS + 1,
                     overwrite=True)
    assert again["iterations"] == {"gan": ITERS + 1}


def test_a_journal_of_finished_runs_is_not_replaced_unasked(q2d, tmp_path, monkeypatch):
    sweep(q2d, tmp_path, name="mine")
    journal = tmp_path / "mine.runs.jsonl"
    before = journal.read_text()
    with pytest.raises(RuntimeError, match=r"mine\.runs\.jsonl holds 2 finished runs of this "
                                           r"sweep: give --resume to run only the rest, or "
                                           r"--overwrite to start afresh"):
        sweep(q2d, tmp_path, name="mine")
    assert journal.read_text() == before
    # --overwrite, but the new sweep fails before its first run is recorded: the old journal
    # is as it was
    def broken(*args, **kwargs):
        raise ValueError("bad settings")
    monkeypatch.setattr(q2d, "train_run", broken)
    with pytest.raises(RuntimeError, match="no run succeeded"):
        sweep(q2d, tmp_path, name="mine", overwrite=True)
    assert journal.read_text() == before
    # --overwrite, and the new sweep records its runs: only now is the old journal replaced
    monkeypatch.undo()
    sweep(q2d, tmp_path, name="mine", overwrite=True, iters=ITERS + 1)
    assert journal.read_text() != before and not (tmp_path / "mine.runs.jsonl.new").exists()
    assert len(journal.read_text().splitlines()) == 3


def test_resume_refuses_another_sweeps_journal_in_one_line(q2d, tmp_path):
    sweep(q2d, tmp_path, configs=("gan",), name="shared")
    code, message = call_main(q2d, tiny_argv(tmp_path, configs="minimax", name="shared",
                                             iters=ITERS) + ["--resume"])
    assert code != 0 and "\n" not in message
    assert message.startswith("quality_2d.py: error: --resume: ")
    assert "shared.runs.jsonl is another sweep's journal (configs gan in the journal, " \
           "minimax in this sweep" in message
    # other iterations: another sweep too, not runs mixed in
    with pytest.raises(RuntimeError, match=r"iterations gan=24 in the journal, gan=30 in this "
                                           r"sweep"):
        sweep(q2d, tmp_path, configs=("gan",), name="shared", iters=30, resume=True)


def test_resume_refuses_a_journal_without_a_sweep_header(q2d, tmp_path):
    # the journal of an older quality_2d.py: its header has only the iteration counts
    journal = tmp_path / "old.runs.jsonl"
    journal.write_text(json.dumps({"iterations": {"gan": ITERS}, "mode": "fixed",
                                   "budget_note": "", "calibration": None}) + "\n")
    with pytest.raises(RuntimeError, match=r"old\.runs\.jsonl line 1 is no sweep header: no "
                                           r"sweep description \(written by an older"):
        sweep(q2d, tmp_path, name="old", resume=True, iters=None)


# --- 2. a line cut by a kill costs that run only ------------------------------------------------

def test_a_run_recorded_after_a_cut_line_is_kept(q2d, tmp_path):
    whole, _ = sweep(q2d, tmp_path, name="cut")
    journal = tmp_path / "cut.runs.jsonl"
    lines = journal.read_text().splitlines()
    journal.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][:40])   # killed mid-write
    _, printed = sweep(q2d, tmp_path, name="cut", resume=True, iters=None)
    assert "1 runs (1 done before)" in printed
    # the run re-recorded after the cut line is on a line of its own: nothing left to run
    resumed, printed = sweep(q2d, tmp_path, name="cut", resume=True, iters=None)
    assert "0 runs (2 done before)" in printed
    assert [r["hq"] for r in resumed["runs"]] == [r["hq"] for r in whole["runs"]]


# --- 3. each run record is checked -------------------------------------------------------------

@pytest.fixture(scope="module")
def good_journal(q2d, tmp_path_factory):
    """The journal of a finished tiny sweep (ring, gan, seeds 0 and 1): its lines."""
    out = tmp_path_factory.mktemp("good")
    sweep(q2d, out, name="j")
    return (out / "j.runs.jsonl").read_text().splitlines()


def _changed(line, **fields):
    entry = json.loads(line)
    for field, value in fields.items():
        if value is KeyError:
            del entry["result"][field]
        else:
            entry["result"][field] = value
    return json.dumps(entry)


BAD_RECORDS = {                      # what replaces line 2 -> the field the warning names
    "empty object": (lambda line: "{}", "result"),
    "a number": (lambda line: "42", "result"),
    "modes as text": (lambda line: _changed(line, modes="many"), "modes"),
    "modes out of range": (lambda line: _changed(line, modes=99), "modes"),
    "hq missing": (lambda line: _changed(line, hq=KeyError), "hq"),
    "hq NaN": (lambda line: _changed(line, hq=math.nan), "hq"),
    "reverse KL infinite": (lambda line: _changed(line, reverse_kl=math.inf), "reverse_kl"),
    "other iterations": (lambda line: _changed(line, iterations=ITERS * 2), "iterations"),
    "unknown seed": (lambda line: _changed(line, seed=7), "seed"),
    "unknown config": (lambda line: _changed(line, config="minimax"), "config"),
    "seed as true": (lambda line: _changed(line, seed=True), "seed"),
}


@pytest.mark.parametrize("case", list(BAD_RECORDS))
def test_a_bad_record_is_skipped_with_a_warning_and_its_run_rerun(q2d, tmp_path, good_journal,
                                                                  case):
    make_bad, field = BAD_RECORDS[case]
    lines = list(good_journal)
    lines[1] = make_bad(lines[1])
    (tmp_path / "j.runs.jsonl").write_text("\n".join(lines) + "\n")
    record, printed = sweep(q2d, tmp_path, name="j", resume=True, iters=None)
    warnings = [line for line in printed.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, printed
    assert f"j.runs.jsonl line 2: {field}" in warnings[0] and "skipped" in warnings[0]
    assert "1 runs (1 done before)" in printed                 # that run is run again
    assert sorted(r["seed"] for r in record["runs"]) == [0, 1]
    for r in record["runs"]:
        assert r["iterations"] == ITERS and 0 <= r["modes"] <= 8 and 0 <= r["hq"] <= 1


# --- 4. failures: no result is an error; a run's own error is not retried ----------------------

def test_a_sweep_in_which_every_run_failed_exits_non_zero(q2d, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("bad settings")
    monkeypatch.setattr(q2d, "train_run", broken)
    code, message = call_main(q2d, tiny_argv(tmp_path))
    assert code != 0 and message.startswith("quality_2d.py: error: no run succeeded")
    assert "\n" not in message and not list(tmp_path.glob("*.md"))      # no empty table
    assert len(list(tmp_path.glob("*.runs.jsonl"))) == 1                # the journal stays


@pytest.mark.parametrize("iters", ["0", "-5", "gan=0"])
def test_iterations_below_one_are_refused_by_the_parser(q2d, tmp_path, iters, capsys):
    code, _ = call_main(q2d, tiny_argv(tmp_path)[:-1] + ["--no-figure", f"--iters={iters}"])
    assert code == 2
    assert "error: --iters expects counts of G updates >= 1" in capsys.readouterr().err


def test_an_error_of_the_run_itself_is_not_retried(q2d, tmp_path, monkeypatch):
    calls = []
    real = q2d.train_run

    def some_fail(data_name, config_name, seed, *args, **kwargs):
        calls.append(config_name)
        if config_name == "minimax":
            raise ValueError("bad settings")                   # the same every time
        return real(data_name, config_name, seed, *args, **kwargs)
    monkeypatch.setattr(q2d, "train_run", some_fail)
    record, printed = sweep(q2d, tmp_path, configs=("gan", "minimax"), seeds=(0,))
    assert calls.count("minimax") == 1 and calls.count("gan") == 1
    assert "FAILED (an error of the run itself: not retried): ring minimax seed 0: " \
           "ValueError: bad settings" in printed
    assert record["missing"] == ["ring minimax seed 0"]


def _moon_task(seed=0):
    """A task whose run raises in its own code: there is no data set "moon"."""
    return dict(task="train", data_name="moon", config_name="gan", seed=seed, iterations=5,
                overrides=dict(TINY), device="cpu", keep_samples=False)


def test_a_worker_process_reports_the_runs_own_error_which_is_not_retried(q2d, monkeypatch):
    calls = []
    real = q2d._run_tracked

    def counted(task, in_process):
        calls.append(task["data_name"])
        return real(task, in_process)
    monkeypatch.setattr(q2d, "_run_tracked", counted)
    failures = []
    results = q2d.run_tasks([_moon_task()], 1, lambda t, r: None,
                            on_failed=lambda t, e: failures.append(e))
    assert results == [None] and calls == ["moon"]             # tried once
    assert "ValueError" in str(failures[0]) and "moon" in str(failures[0])


def test_a_worker_that_died_is_worth_a_retry_an_error_of_its_run_is_not(q2d):
    task = _moon_task()
    with pytest.raises(RuntimeError) as died:                 # killed: no line on stdout
        q2d.worker_result(task, -9, "", "")
    assert q2d.worth_retrying(died.value)
    said = json.dumps({"run_error": "ValueError: unknown data set 'moon'"}) + "\n"
    with pytest.raises(RuntimeError, match="unknown data set 'moon'") as own:
        q2d.worker_result(task, 1, said, "Traceback ...")
    assert not q2d.worth_retrying(own.value)


def test_on_dask_an_error_of_the_run_is_not_retried_a_lost_worker_is(q2d, tmp_path,
                                                                   monkeypatch):
    pytest.importorskip("dask.distributed", reason="the sweep extra: pip install -e '.[sweep]'")
    counter = str(tmp_path / "attempts")
    real = q2d.run_task

    def counted(task, in_process):                  # runs on the Dask worker (sent by value)
        with open(counter, "a") as f:
            f.write(task["data_name"] + "\n")
        with open(counter) as f:
            first_try = f.read().split().count(task["data_name"]) == 1
        if task["data_name"] == "ring" and first_try:
            raise RuntimeError("worker lost")       # as a run_task whose worker was killed
        return real(task, in_process)
    monkeypatch.setattr(q2d, "run_task", counted)
    ring = dict(_moon_task(), data_name="ring")
    failures, done = [], []
    results = q2d.run_tasks([_moon_task(), ring], 1, lambda t, r: done.append(r), "local",
                            lambda t, e: failures.append(e))
    attempts = (tmp_path / "attempts").read_text().split()
    assert attempts.count("moon") == 1 and attempts.count("ring") == 2
    assert results[0] is None and results[1]["data"] == "ring" and len(failures) == 1


# --- 5. every flag is checked when it is parsed -------------------------------------------------

BAD_FLAGS = {
    "seeds": ("a,b", "argument --seeds: expected an integer >= 0, got 'a'"),
    "seeds twice": ("0,0", "argument --seeds: 0 given twice"),
    "set": ("lr=abc", "argument --set: lr must be a finite number > 0, got 'abc'"),
    "set unknown": ("learning_rate=1", "argument --set: unknown setting 'learning_rate'"),
    "set pack": ("pack=0", "argument --set: pack must be an integer >= 1, got 0"),
    "jobs": ("-1", "argument --jobs: expected an integer >= 0, got '-1'"),
    "budget": ("nan", "argument --budget: expected a finite number > 0, got 'nan'"),
    "calibrate": ("-1", "argument --calibrate: expected a finite number > 0, got '-1'"),
    "iters": ("abc", "--iters expects counts of G updates >= 1 (N, or config=N,...), got 'abc'"),
    "configs": ("gan,wgan", "argument --configs: expected some of gan,"),
}


@pytest.mark.parametrize("case", list(BAD_FLAGS))
def test_a_bad_flag_is_one_argparse_line(q2d, tmp_path, case, capsys):
    value, expected = BAD_FLAGS[case]
    flag = case.split()[0]
    code, _ = call_main(q2d, tiny_argv(tmp_path) + [f"--{flag}={value}"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"quality_2d.py: error: {expected}" in err


# --- 6. a scheduler that does not answer ------------------------------------------------------

def test_a_scheduler_that_does_not_answer_is_one_line(q2d, tmp_path, monkeypatch):
    dask = pytest.importorskip("dask")
    pytest.importorskip("dask.distributed", reason="the sweep extra: pip install -e '.[sweep]'")
    default_timeout = getattr(q2d, "CONNECT_TIMEOUT_S", None)
    monkeypatch.setattr(q2d, "CONNECT_TIMEOUT_S", 1, raising=False)
    with socket.socket() as s:                      # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    t0 = time.monotonic()
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        code, message = call_main(q2d, tiny_argv(tmp_path, scheduler=address))
    assert code != 0 and "\n" not in message
    assert message == (f"quality_2d.py: error: --scheduler {address}: nothing answered there "
                       f"in 1 s (is `dask scheduler` running there, and can this machine reach "
                       f"it?)")
    assert time.monotonic() - t0 < 30
    assert default_timeout is not None and default_timeout <= 10     # not Dask's 30 s
