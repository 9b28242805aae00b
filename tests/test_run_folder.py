"""Nothing a user made is ever lost, whatever flag they pass (issue 21, "Data lost"): an old run
in --out is replaced only once the new run has saved its first checkpoint, and put back byte for
byte when the new one fails or is stopped before that; a file named by the user (--html,
sample's --out, trace's --dot) is never replaced without --overwrite. Each case runs the
command's own main, through cli.run as the command line does."""
import os
import subprocess
import sys

import pytest
from conftest import ROOT, load_script

from minigan import cli
from minigan.gan import GANTrainer, Generator

GAN_2D = load_script("examples/gan_2d.py")
DCGAN = load_script("examples/dcgan_mnist.py")
TINY = ["--n", "64", "--epochs", "1", "--batch-size", "32"]
DIGITS = ["--digits", "--subset", "64", "--batch-size", "32", "--width", "4", "--epochs", "1"]


def run(main, prog, argv, capsys):
    """(exit status, what the user reads) of one command, run through cli.run (2: a refusal
    by the argument parser, which names the flag)."""
    with pytest.raises(SystemExit) as exit_info:
        cli.run(main, prog, argv)
    code = exit_info.value.code
    text = capsys.readouterr().err + (code if isinstance(code, str) else "")
    return (1 if isinstance(code, str) else code), text


def contents(folder):
    """Every file under `folder` with its bytes: what must come through a failed run unchanged."""
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                found[os.path.relpath(path, folder)] = f.read()
    return found


@pytest.fixture
def old_run(tmp_path):
    """A finished 2-D run (seed 5) with a note of the user's beside it; its contents."""
    out = tmp_path / "r1"
    GAN_2D.main(TINY + ["--seed", "5", "--out", str(out)])
    (out / "notes.txt").write_text("the user's own notes")
    return out, contents(out)


def test_a_new_run_that_cannot_start_leaves_the_old_one_as_it_was(old_run, capsys, monkeypatch):
    out, before = old_run

    def fails_at_once(self, *args, **kwargs):
        raise ValueError("the new run failed before its first checkpoint")

    monkeypatch.setattr(GANTrainer, "train", fails_at_once)
    code, text = run(GAN_2D.main, "gan_2d.py", TINY + ["--out", str(out), "--overwrite"], capsys)
    assert code == 1 and "failed before its first checkpoint" in text
    assert contents(out) == before


def test_overwrite_onto_a_missing_gpu_keeps_the_old_run(old_run, capsys):
    pytest.importorskip("numpy")
    try:
        import cupy  # noqa: F401
        pytest.skip("CuPy is installed: --device gpu would work here")
    except ImportError:
        pass
    out, before = old_run
    code, text = run(GAN_2D.main, "gan_2d.py",
                     TINY + ["--out", str(out), "--overwrite", "--device", "gpu"], capsys)
    assert code == 1 and "CuPy" in text
    assert contents(out) == before


def test_overwrite_with_missing_data_keeps_the_old_run(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = tmp_path / "d1"
    DCGAN.main(DIGITS + ["--out", str(out)])
    before = contents(out)
    code, text = run(DCGAN.main, "dcgan_mnist.py",
                     ["--data", str(tmp_path / "no_mnist_here"), "--out", str(out), "--overwrite"],
                     capsys)
    assert code == 1 and "no_mnist_here" in text
    assert contents(out) == before


def test_resuming_into_a_folder_of_another_run_needs_overwrite(tmp_path, capsys):
    pytest.importorskip("sklearn")
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    DCGAN.main(DIGITS + ["--out", str(d1)])
    DCGAN.main(DIGITS + ["--seed", "3", "--out", str(d2)])
    before = contents(d2)
    resume = ["--resume", str(d1 / "checkpoint.npz")]
    code, text = run(DCGAN.main, "dcgan_mnist.py",
                     DIGITS[:-1] + ["2", "--out", str(d2)] + resume, capsys)
    assert code == 2 and f"--out {d2} holds another run than --resume" in text
    assert contents(d2) == before
    # with --overwrite, d2 becomes the resumed run (d1's, one epoch more); d1 is not touched
    d1_before = contents(d1)
    DCGAN.main(DIGITS[:-1] + ["2", "--out", str(d2), "--overwrite"] + resume)
    assert contents(d1) == d1_before
    assert not os.path.exists(d2 / cli.PREVIOUS_RUN)
    from minigan.gan import describe
    from minigan.io import load_arrays
    assert describe(load_arrays(d2 / "generator.npz")).endswith("after epoch 2 (step 4)")


def test_resuming_in_its_own_folder_needs_no_overwrite(tmp_path):
    pytest.importorskip("sklearn")
    out = tmp_path / "d1"
    DCGAN.main(DIGITS + ["--out", str(out)])
    DCGAN.main(DIGITS[:-1] + ["2", "--out", str(out), "--resume", str(out / "checkpoint.npz")])
    assert os.path.exists(out / "samples_epoch_002.png")


@pytest.mark.parametrize("name", ["history.csv", "samples.png"])
def test_a_folder_with_a_runs_files_but_no_checkpoint_is_refused(tmp_path, capsys, name):
    out = tmp_path / "mine"
    out.mkdir()
    (out / name).write_text("the user's own file, named like a run's")
    code, text = run(GAN_2D.main, "gan_2d.py", TINY + ["--out", str(out)], capsys)
    assert code == 2 and f"--out {out} holds files a run writes ({name})" in text
    assert (out / name).read_text() == "the user's own file, named like a run's"


def test_html_onto_an_existing_file_needs_overwrite(tmp_path, capsys):
    page = tmp_path / "replay.html"
    page.write_text("the user's page")
    code, text = run(GAN_2D.main, "gan_2d.py",
                     TINY + ["--out", str(tmp_path / "r"), "--html", str(page)], capsys)
    assert code == 2 and f"--html {page} exists; give --overwrite" in text
    assert page.read_text() == "the user's page" and not os.path.exists(tmp_path / "r" / "run.json")
    GAN_2D.main(TINY + ["--out", str(tmp_path / "r"), "--html", str(page), "--overwrite"])
    assert page.read_text().startswith("<!DOCTYPE html>")


def test_sample_out_onto_an_existing_file_needs_overwrite(tmp_path, capsys):
    from minigan.sample import _main
    Generator(2, 2, (4,)).save(tmp_path / "g.npz")
    picture = tmp_path / "samples.png"
    picture.write_bytes(b"the user's picture")
    argv = [str(tmp_path / "g.npz"), "--n", "8", "--out", str(picture)]
    code, text = run(_main, "python -m minigan.sample", argv, capsys)
    assert code == 2 and f"--out {picture} exists; give --overwrite" in text
    assert picture.read_bytes() == b"the user's picture"
    _main(argv + ["--overwrite"])
    assert picture.read_bytes().startswith(b"\x89PNG")


def test_trace_dot_onto_an_existing_file_needs_overwrite(tmp_path, capsys):
    from minigan.trace import _main
    graph = tmp_path / "g.dot"
    graph.write_text("the user's graph")
    argv = ["--batch-size", "4", "--dot", str(graph)]
    code, text = run(_main, "python -m minigan.trace", argv, capsys)
    assert code == 2 and f"--dot {graph} exists; give --overwrite" in text
    assert graph.read_text() == "the user's graph"
    _main(argv + ["--overwrite"])
    assert graph.read_text().startswith("digraph")


def interrupted_at_epoch(monkeypatch, epoch):
    """GANTrainer.train stopped by Ctrl-C after `epoch` (its checkpoint saved, if one was due)."""
    train = GANTrainer.train

    def stopped(self, *args, on_epoch=None, **kwargs):
        def stop(trainer, e):
            if on_epoch is not None:
                on_epoch(trainer, e)
            if e == epoch:
                raise KeyboardInterrupt
        return train(self, *args, on_epoch=stop, **kwargs)

    monkeypatch.setattr(GANTrainer, "train", stopped)


def test_ctrl_c_before_the_first_checkpoint_says_nothing_was_saved(tmp_path, capsys, monkeypatch):
    interrupted_at_epoch(monkeypatch, 1)     # 20 epochs: the first checkpoint is at epoch 2
    out = tmp_path / "new"
    code, text = run(GAN_2D.main, "gan_2d.py",
                     ["--n", "64", "--batch-size", "32", "--epochs", "20", "--out", str(out)],
                     capsys)
    assert code == 130 and "nothing was saved" in text and "holds the last checkpoint" not in text
    assert not os.path.exists(out / "checkpoint.npz")


def test_ctrl_c_before_the_first_checkpoint_puts_the_old_run_back(old_run, capsys, monkeypatch):
    out, before = old_run
    interrupted_at_epoch(monkeypatch, 1)
    code, text = run(GAN_2D.main, "gan_2d.py",
                     ["--n", "64", "--batch-size", "32", "--epochs", "20", "--out", str(out),
                      "--overwrite"], capsys)
    assert code == 130 and f"the run that was in {out}/ is back as it was" in text
    assert contents(out) == before


def test_ctrl_c_after_the_first_checkpoint_keeps_the_new_run(old_run, capsys, monkeypatch):
    out, before = old_run
    interrupted_at_epoch(monkeypatch, 3)     # the first checkpoint was saved at epoch 2
    code, text = run(GAN_2D.main, "gan_2d.py",
                     ["--n", "64", "--batch-size", "32", "--epochs", "20", "--out", str(out),
                      "--overwrite"], capsys)
    assert code == 130 and f"{out}/ holds the last checkpoint" in text
    after = contents(out)
    assert after["checkpoint.npz"] != before["checkpoint.npz"]
    assert after["notes.txt"] == before["notes.txt"] and "run.json" not in after
    assert not os.path.exists(out / cli.PREVIOUS_RUN)


def test_a_replacement_killed_outright_is_undone_at_the_next_start(old_run, tmp_path):
    """SIGKILL in the first epoch of an --overwrite run: no Python code runs, so the old run is
    left in .previous_run; the next command in that folder puts it back before anything else."""
    out, before = old_run
    script = (f"import sys, os; sys.argv = ['gan_2d.py', '--n', '64', '--batch-size', '32', "
              f"'--epochs', '20', '--out', {str(out)!r}, '--overwrite'];"
              f"import minigan.gan as g; train = g.GANTrainer.train\n"
              f"def killed(self, *a, on_epoch=None, **k):\n"
              f"    def stop(t, e):\n"
              f"        os.kill(os.getpid(), 9)\n"
              f"    return train(self, *a, on_epoch=stop, **k)\n"
              f"g.GANTrainer.train = killed\n"
              f"import runpy; runpy.run_path('examples/gan_2d.py', run_name='__main__')")
    killed = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True)
    assert killed.returncode == -9
    assert os.path.isdir(out / cli.PREVIOUS_RUN) and not os.path.exists(out / "checkpoint.npz")
    again = subprocess.run([sys.executable, "examples/gan_2d.py", "--out", str(out)],
                           cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 2 and "holds a run already" in again.stderr
    assert "the old run is back in place" in again.stderr
    assert contents(out) == before


@pytest.mark.parametrize("flag, name", [("--export", "replay.html"), ("--gif", "replay.gif")])
def test_lab_replay_onto_an_existing_file_needs_overwrite(tmp_path, capsys, flag, name):
    from minigan.lab.__main__ import main
    target = tmp_path / name
    target.write_bytes(b"the user's replay")
    code, text = run(main, "python -m minigan.lab", [flag, str(target), "--steps", "1"], capsys)
    assert code == 2 and f"{flag} {target} exists; give --overwrite" in text
    assert target.read_bytes() == b"the user's replay"
