"""Every command line refuses bad input with one line that names the flag, and never overwrites a
run: the cases of issue 13, as a table. Each runs in this process through minigan.cli.run, the
same boundary the commands use (a few run as real subprocesses too, to see no traceback)."""
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from conftest import ROOT, load_script

from minigan import cli
from minigan.gan import Discriminator, Generator

GAN_2D = load_script("examples/gan_2d.py")
DCGAN = load_script("examples/dcgan_mnist.py")
ACGAN = load_script("examples/acgan_fashion_mnist.py")
TINY = ["--n", "64", "--epochs", "1", "--batch-size", "32"]


def run(main, prog, argv, capsys):
    """(exit status, what the user reads) of one command, run through cli.run."""
    with pytest.raises(SystemExit) as exit_info:
        cli.run(main, prog, argv)
    code = exit_info.value.code
    text = capsys.readouterr().err + (code if isinstance(code, str) else "")
    return (1 if isinstance(code, str) else code), text


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A generator file, a discriminator file and a finished 2-D run's folder (not changed by
    the tests that use it)."""
    tmp_path = tmp_path_factory.mktemp("saved")
    Generator(2, 2, (4,)).save(tmp_path / "g.npz")
    Discriminator(2, (4,)).save(tmp_path / "d.npz")
    GAN_2D.main(TINY + ["--out", str(tmp_path / "run")])
    (tmp_path / "a_file").write_text("not a folder")
    whole = (tmp_path / "run" / "checkpoint.npz").read_bytes()
    (tmp_path / "truncated.npz").write_bytes(whole[:len(whole) // 2])     # a killed copy
    return tmp_path


def sample_main(argv):
    from minigan.sample import _main
    return _main(argv)


def trace_main(argv):
    from minigan.trace import _main
    return _main(argv)


# (command, arguments ({tmp} is the fixture's folder), text the message must contain)
CASES = [
    ("gan_2d", ["--batch-size", "0"], "argument --batch-size: expected an integer >= 1, got '0'"),
    ("gan_2d", ["--epochs", "0"], "argument --epochs: expected an integer >= 1"),
    ("gan_2d", ["--epochs", "-3"], "argument --epochs: expected an integer >= 1, got '-3'"),
    ("gan_2d", ["--n", "0"], "argument --n: expected an integer >= 1"),
    ("gan_2d", ["--k", "two"], "argument --k: expected an integer >= 1, got 'two'"),
    ("gan_2d", ["--g-hidden", "0,64"], "argument --g-hidden: expected comma-separated layer"),
    ("gan_2d", ["--d-hidden", "64,x"], "argument --d-hidden: expected comma-separated layer"),
    ("gan_2d", ["--lr", "nan"], "argument --lr: expected a finite number > 0, got 'nan'"),
    ("gan_2d", ["--lr", "0"], "argument --lr: expected a finite number > 0"),
    ("gan_2d", ["--lr", "1e400"], "argument --lr: expected a finite number > 0"),
    ("gan_2d", ["--g-average", "1"], "argument --g-average: expected a number between 0 and 1"),
    ("gan_2d", ["--seed", "-1"], "argument --seed: expected an integer >= 0, got '-1'"),
    ("gan_2d", ["--n", "16", "--batch-size", "32"], "--batch-size 32 is larger than the data"),
    ("gan_2d", TINY + ["--out", "{tmp}/run"],
     "--out {tmp}/run holds a run already; give --overwrite to replace it"),
    ("gan_2d", TINY + ["--out", "{tmp}/a_file"], "--out {tmp}/a_file: cannot write there"),
    ("dcgan", ["--subset", "0"], "argument --subset: expected an integer >= 1, got '0'"),
    ("dcgan", ["--width", "0"], "argument --width: expected an integer >= 1"),
    ("dcgan", ["--sample-every", "0"], "argument --sample-every: expected an integer >= 1"),
    ("dcgan", ["--sample-every", "-1"], "argument --sample-every: expected an integer >= 1"),
    ("dcgan", ["--log-every", "0"], "argument --log-every: expected an integer >= 1"),
    ("dcgan", ["--synthetic", "-5"], "argument --synthetic: expected an integer >= 1, got '-5'"),
    ("dcgan", ["--synthetic", "10000000"], "--synthetic 10000000: 29 GiB of images; at most"),
    ("dcgan", ["--resume", "{tmp}/missing.npz"], "--resume {tmp}/missing.npz: no such file"),
    ("dcgan", ["--epochs", "0"], "argument --epochs: expected an integer >= 1"),
    ("dcgan", ["--digits", "--out", "{tmp}/run"],
     "--out {tmp}/run holds a run already; give --resume {tmp}/run/checkpoint.npz to continue "
     "it, --overwrite to replace it, or another --out"),
    ("sample", ["{tmp}/g.npz", "--n", "0"], "argument --n: expected an integer >= 1, got '0'"),
    ("sample", ["{tmp}/g.npz", "--label", "-1"], "argument --label: expected an integer >= 0"),
    ("sample", ["{tmp}/missing.npz"], "{tmp}/missing.npz: no such file"),
    ("sample", ["{tmp}/g.npz", "--out", "{tmp}"], "--out {tmp}: expected a file name ending"),
    ("sample", ["{tmp}/g.npz", "--out", "{tmp}/x.txt"], "--out {tmp}/x.txt: expected a file"),
    ("sample", ["{tmp}/g.npz", "--out", "{tmp}/a_file/x.png"], "cannot write there"),
    ("sample", ["{tmp}/d.npz", "--out", "{tmp}/x.png"],
     "{tmp}/d.npz holds a Discriminator, not a generator"),
    ("sample", ["{tmp}/g.npz", "--label", "3", "--out", "{tmp}/x.png"],
     "--label given, but this generator is not class-conditional"),
    ("sample", ["{tmp}/run/checkpoint.npz", "--out", "{tmp}/x.png"],
     "checkpoint.npz is a checkpoint of Generator(latent_dim=2, data_dim=2, hidden=[64, 64]"),
    ("sample", ["{tmp}/truncated.npz", "--out", "{tmp}/x.png"],
     "truncated.npz: not a minigan file, or a damaged or truncated one"),
    ("dcgan", ["--digits", "--out", "{tmp}/r2", "--resume", "{tmp}/run/checkpoint.npz"],
     "this trainer's generator is DCGANGenerator(latent_dim=100, image_size=8"),
    ("dcgan", ["--digits", "--out", "{tmp}/r3", "--resume", "{tmp}/g.npz"],
     "g.npz is a saved generator, Generator(latent_dim=2, data_dim=2, hidden=[4]"),
    ("trace", ["--checkpoint", "{tmp}/d.npz"], "d.npz is a saved discriminator, Discriminator("),
    ("trace", ["--checkpoint", "{tmp}/truncated.npz"], "not a minigan file, or a damaged"),
    ("trace", ["--k", "0"], "argument --k: expected an integer >= 1"),
    ("trace", ["--batch-size", "-2"], "argument --batch-size: expected an integer >= 1"),
    ("trace", ["--max-lines", "0"], "argument --max-lines: expected an integer >= 1"),
    ("trace", ["--checkpoint", "{tmp}/missing.npz"], "--checkpoint {tmp}/missing.npz: no such"),
    ("gan_2d", ["--keep-every", "0"], "argument --keep-every: expected an integer >= 1"),
    ("gan_2d", ["--penalty", "r1", "--gamma", "-1"],
     "argument --gamma: expected a finite number >= 0, got '-1'"),
    ("gan_2d", ["--gamma", "1"], "--gamma is the weight of a penalty: give --penalty too"),
    ("gan_2d", ["--penalty", "r3"], "argument --penalty: invalid choice: 'r3'"),
    ("gan_2d", ["--pack", "3"], "--batch-size 32 must be a multiple of --pack 3"),
    ("gan_2d", ["--penalty-every", "0"], "argument --penalty-every: expected an integer >= 1"),
    ("acgan", ["--class-names", "a,b,c"],
     "argument --class-names: expected ten comma-separated names, got 3: 'a,b,c'"),
    ("acgan", ["--class-names", "0,1,2,3,4,5,6,7,8,"], "expected ten comma-separated names"),
]
COMMANDS = {"gan_2d": (GAN_2D.main, "gan_2d.py"), "dcgan": (DCGAN.main, "dcgan_mnist.py"),
            "acgan": (ACGAN.main, "acgan_fashion_mnist.py"),
            "sample": (sample_main, "python -m minigan.sample"),
            "trace": (trace_main, "python -m minigan.trace")}


@pytest.mark.parametrize("command, argv, message", CASES,
                         ids=[f"{c}{' '.join(a)}" for c, a, _ in CASES])
def test_a_bad_input_is_one_line_naming_it(saved, capsys, command, argv, message):
    main, prog = COMMANDS[command]
    argv = [a.replace("{tmp}", str(saved)) for a in argv]
    code, text = run(main, prog, argv, capsys)
    assert code in (1, 2)
    assert f"{prog}: error: " in text and message.replace("{tmp}", str(saved)) in text
    assert "Traceback" not in text


def test_as_commands_the_errors_are_one_line_without_traceback(saved):
    for argv in (["examples/gan_2d.py", "--epochs", "-3"],
                 ["examples/gan_2d.py"] + TINY + ["--out", str(saved / "run")],
                 ["-m", "minigan.sample", str(saved / "d.npz"), "--out", str(saved / "x.png")]):
        result = subprocess.run([sys.executable] + argv, capture_output=True, text=True, cwd=ROOT)
        assert result.returncode in (1, 2), result
        assert "error: " in result.stderr and "Traceback" not in result.stderr
    debug = subprocess.run([sys.executable, "-m", "minigan.sample", str(saved / "d.npz"),
                            "--out", str(saved / "x.png"), "--debug"], capture_output=True,
                           text=True, cwd=ROOT)
    assert debug.returncode == 1 and "Traceback" in debug.stderr     # --debug: the traceback


def test_overwrite_replaces_the_old_run_and_nothing_else(tmp_path):
    run_folder = tmp_path / "run"
    GAN_2D.main(TINY + ["--out", str(run_folder)])
    (run_folder / "samples_epoch_099.png").write_bytes(b"an old grid")
    (run_folder / "notes.txt").write_text("the user's own file")
    (run_folder / ".generator.npz.abc123.tmp").write_bytes(b"a killed save's leftover")
    GAN_2D.main(TINY + ["--seed", "1", "--out", str(run_folder), "--overwrite"])
    files = set(os.listdir(run_folder))
    assert "samples_epoch_099.png" not in files and ".generator.npz.abc123.tmp" not in files
    assert "notes.txt" in files and "checkpoint.npz" in files
    assert json.loads((run_folder / "run.json").read_text())["args"]["seed"] == 1


def test_resume_with_no_more_epochs_says_so(tmp_path, capsys):
    pytest.importorskip("sklearn")
    out = str(tmp_path / "run")
    common = ["--digits", "--subset", "64", "--batch-size", "32", "--width", "4", "--out", out]
    DCGAN.main(common + ["--epochs", "2"])
    code, text = run(DCGAN.main, "dcgan_mnist.py",
                     common + ["--epochs", "2", "--resume", os.path.join(out, "checkpoint.npz")],
                     capsys)
    assert code == 1 and "is at epoch 2 already: give --epochs larger than that" in text


def test_ctrl_c_is_one_line_with_the_step_and_how_to_resume(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sklearn")
    from minigan.gan import GANTrainer
    train = GANTrainer.train

    def interrupted_after_the_first_checkpoint(self, *args, on_epoch=None, **kwargs):
        def stop(trainer, epoch):
            on_epoch(trainer, epoch)
            if epoch == 2:
                raise KeyboardInterrupt
        return train(self, *args, on_epoch=stop, **kwargs)

    monkeypatch.setattr(GANTrainer, "train", interrupted_after_the_first_checkpoint)
    out = str(tmp_path / "run")
    code, text = run(DCGAN.main, "dcgan_mnist.py",
                     ["--digits", "--subset", "64", "--batch-size", "32", "--width", "4",
                      "--epochs", "5", "--sample-every", "1", "--out", out], capsys)
    assert code == 130
    assert (f"dcgan_mnist.py: interrupted at step 4; resume with --resume "
            f"{os.path.join(out, 'checkpoint.npz')}") in text


def test_non_finite_figures_are_written_as_json_null(tmp_path):
    with pytest.warns(UserWarning, match=r"quality\.reverse_kl is inf, written as null"):
        cli.write_json(tmp_path / "run.json", {"quality": {"reverse_kl": float("inf"),
                                                           "modes": 3}, "losses": [1.0]})
    assert json.loads((tmp_path / "run.json").read_text()) == {
        "quality": {"reverse_kl": None, "modes": 3}, "losses": [1.0]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # finite values: no warning
        cli.write_json(tmp_path / "ok.json", {"a": np.float64(0.5).item()})


def test_help_shows_defaults_but_not_none(capsys):
    with pytest.raises(SystemExit):
        GAN_2D.parse_args(["--help"])
    text = capsys.readouterr().out
    assert "(default: 1000)" in text and "(default: None)" not in text
    assert "--debug" in text and "--overwrite" in text


def test_keep_every_keeps_those_epochs_generators_and_says_their_epoch(tmp_path, capsys):
    from minigan.gan import describe, load_model
    from minigan.io import load_arrays
    out = tmp_path / "run"
    GAN_2D.main(["--n", "64", "--epochs", "4", "--batch-size", "32", "--keep-every", "2",
                 "--out", str(out)])
    printed = capsys.readouterr().out
    kept = sorted(f for f in os.listdir(out) if f.startswith("generator_e"))
    assert kept == ["generator_e002.npz", "generator_e004.npz"]
    assert describe(load_arrays(out / "generator_e002.npz")).endswith("after epoch 2 (step 4)")
    assert describe(load_arrays(out / "generator.npz")).endswith("after epoch 4 (step 8)")
    early, last = (load_model(out / name) for name in ("generator_e002.npz", "generator.npz"))
    assert not np.array_equal(early.parameters()[0].numpy(), last.parameters()[0].numpy())
    # the "done" line's rate leaves the saving out, and says how long saving took
    record = json.loads((out / "run.json").read_text())
    # (run.json rounds "seconds" to 10 ms: compare within that)
    assert record["seconds_saving"] > 0
    assert record["ms_per_step"] * record["steps"] / 1e3 <= record["seconds"] + 0.01
    assert f"({record['ms_per_step']:.2f} ms/step; " in printed and "s of it saving)" in printed

    from minigan.sample import _main
    _main([str(out / "generator_e002.npz"), "--n", "8", "--out", str(tmp_path / "s.png")])
    assert "after epoch 2 (step 4)" in capsys.readouterr().out
    GAN_2D.main(TINY + ["--out", str(out), "--overwrite"])     # an old run's kept files go too
    assert not [f for f in os.listdir(out) if f.startswith("generator_e")]


def test_acgan_class_names_name_the_grid_rows(tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    import image_gan_common
    rows = {}
    plot = image_gan_common.plot_image_grid

    def recording_plot(images, path, columns, row_labels=None, **kwargs):
        rows["labels"] = row_labels
        return plot(images, path, columns, row_labels, **kwargs)

    monkeypatch.setattr(image_gan_common, "plot_image_grid", recording_plot)
    names = [f"class{i}" for i in range(10)]
    ACGAN.main(["--digits", "--subset", "64", "--batch-size", "32", "--width", "4",
                "--epochs", "1", "--class-names", ",".join(names), "--out", str(tmp_path)])
    assert rows["labels"] == names


@pytest.mark.parametrize("options", [["--penalty", "r1"], ["--penalty", "gp", "--loss", "wgan"],
                                     ["--loss", "hinge", "--pack", "2", "--penalty", "r2",
                                      "--penalty-every", "4", "--spectral-norm"]])
def test_gan_2d_trains_with_a_penalty_and_the_other_games(tmp_path, capsys, options):
    record = GAN_2D.main(["--data", "ring"] + TINY + options + ["--out", str(tmp_path)])
    assert record["args"]["penalty"] == options[options.index("--penalty") + 1]
    assert record["quality"]["modes"] >= 0
    assert " penalty (gamma " in capsys.readouterr().out


def test_a_ctrl_c_python_dropped_still_stops_training_at_the_next_step(tmp_path, capsys):
    # Python only prints a KeyboardInterrupt raised inside a garbage-collector callback
    # (matplotlib's figures have them) and goes on; the flag the handler sets stops the loop.
    import signal
    from minigan.gan import GANTrainer
    from minigan.gan.monitor import Monitor
    seen = []

    def dropped_ctrl_c(trainer, epoch):
        if epoch == 2:
            try:
                signal.raise_signal(signal.SIGINT)        # the handler cli.run installed
            except KeyboardInterrupt:
                seen.append(trainer.steps_done)           # ... dropped, as Python would
    train = GANTrainer.train

    def train_with_callback(self, *args, on_epoch=None, **kwargs):
        def both(trainer, epoch):
            on_epoch(trainer, epoch)
            dropped_ctrl_c(trainer, epoch)
        return train(self, *args, on_epoch=both, **kwargs)

    GANTrainer.train = train_with_callback
    try:
        code, text = run(GAN_2D.main, "gan_2d.py", ["--n", "64", "--batch-size", "32",
                                                    "--epochs", "10", "--out", str(tmp_path)],
                         capsys)
    finally:
        GANTrainer.train = train
    assert seen == [4] and code == 130
    assert "gan_2d.py: interrupted at step 5 of 20" in text      # the next step stopped it
    assert Monitor.interrupted is False and signal.getsignal(signal.SIGINT) is \
        signal.default_int_handler


def test_the_image_examples_train_with_a_penalty_and_a_weight_average(tmp_path, capsys):
    pytest.importorskip("sklearn")
    from minigan.gan import describe
    from minigan.io import load_arrays
    for main, name in ((DCGAN.main, "dc"), (ACGAN.main, "ac")):
        out = tmp_path / name
        main(["--digits", "--subset", "64", "--batch-size", "32", "--width", "4", "--epochs",
              "1", "--penalty", "r1", "--gamma", "2", "--g-average", "0.9", "--out", str(out)])
        assert "batch_norm=False" in describe(load_arrays(out / "discriminator.npz"))
        assert (out / "generator_average.npz").exists()
        assert f"minigan.sample {out}/generator_average.npz" in capsys.readouterr().out
