"""minigan.trace: one traced step of Algorithm 1, its command line, and that it is the trainer's
own step (the same parameters afterwards as train_step)."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

import minigan
from minigan.gan import ACGANDiscriminator, ACGANGenerator, GANTrainer
from minigan.trace import BOUNDARY, default_trainer, main, trace_step

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def check_g_losses(g):
    """Per sample, non-saturating / minimax = (sigmoid(l) - 1) / -sigmoid(l) = 1/D(G(z)) - 1."""
    d = np.array(g["d_of_g_z"])
    mm, ns = np.array(g["grad_minimax"]), np.array(g["grad_non_saturating"])
    np.testing.assert_allclose(mm, -d / len(d), rtol=1e-5)
    np.testing.assert_allclose(ns, (d - 1) / len(d), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(g["ratio"], 1 / d - 1, rtol=1e-4)
    assert g["traced_logit_grad_norm"] == pytest.approx(g["used_logit_grad_norm"], rel=1e-5)


def test_cli_default_sine(capsys):
    result = main([])
    text = capsys.readouterr().out
    assert text.strip() == result["text"].strip()
    assert BOUNDARY in text and "phase 1: D on the real batch" in text
    assert "phase 2: D on the generated batch" in text and "phase 3" in text
    assert "D bit-for-bit unchanged after the G step: True" in text
    assert "untouched, the same arrays: True" in text
    [d] = result["d_updates"]
    assert set(d["passes"]) == {"real", "generated"}
    # The D step: cut at D's input, G's .grad untouched (None), G's weights unchanged.
    assert d["cut"]["fake_creator"] is None and d["cut"]["fake_requires_grad"] is False
    assert d["cut"]["needs_grad"][0] is False
    assert d["g_tensors_reached"] == 0 and d["g_grads_untouched"] and d["g_unchanged"]
    assert d["grad_norm_start"] == {"G": None, "D": None}
    assert d["grad_norm_end"]["G"] is None and d["grad_norm_end"]["D"] > 0
    assert d["d_max_change"] > 0
    ops = {r["op"] for r in d["rows"]}
    assert "D.net.layers.0.weight" in ops and not any(op.startswith("G.") for op in ops)
    # The G step: a nonzero gradient at D's input, none for D, D unchanged bit for bit.
    g = result["g_step"]
    assert g["d_input_grad_norm"] > 0 and g["d_tensors_reached"] == 0
    assert g["d_unchanged"] and g["d_grads_untouched"] and g["g_max_change"] > 0
    assert g["grad_norm_start"]["G"] is None
    assert g["grad_norm_start"]["D"] == pytest.approx(d["grad_norm_end"]["D"])
    assert "G.net.layers.0.weight" in {r["op"] for r in g["rows"]}
    check_g_losses(g)
    assert result["naive"] == [] and text.rstrip().endswith("none")


def test_runs_on_each_device(device, capsys):
    result = main(["--device", device, "--batch-size", "4", "--data", "grid"])
    assert BOUNDARY in capsys.readouterr().out
    assert result["g_step"]["d_unchanged"] and result["g_step"]["d_input_grad_norm"] > 0
    check_g_losses(result["g_step"])


def test_cli_ring_minimax_as_a_module(tmp_path):
    dot = tmp_path / "g.dot"
    run = subprocess.run([sys.executable, "-m", "minigan.trace", "--data", "ring", "--loss",
                          "minimax", "--k", "2", "--max-lines", "6", "--dot", str(dot)],
                         capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert BOUNDARY in run.stdout and "minimax loss" in run.stdout
    assert "D update 2/2" in run.stdout and "rows left out" in run.stdout
    text = dot.read_text()
    assert text.startswith("digraph") and BOUNDARY in text and "(frozen)" in text


def traced_and_plain_step(trainers, data):
    """Trace one step of trainers[0], take the plain train_step of its twin trainers[1], check
    both networks end bit for bit equal; return the trace."""
    result = trace_step(trainers[0], data, 8, out=None)
    trainers[1].train_step(data, 8)
    for net in ("G", "D"):
        a, b = getattr(trainers[0], net).state_dict(), getattr(trainers[1], net).state_dict()
        assert all(np.array_equal(a[k], b[k]) for k in a)
    return result


def test_trace_is_the_trainers_step():
    """The traced step leaves both networks exactly where GANTrainer.train_step does."""
    for kwargs in ({"k": 1}, {"k": 2, "d_update": "split", "generator_loss": "minimax"}):
        trainers = []
        for _ in range(2):
            trainer, data = default_trainer(seed=3)
            trainer.k = kwargs["k"]
            trainer.d_update = kwargs.get("d_update", "joint")
            trainer.generator_loss = kwargs.get("generator_loss", "non-saturating")
            trainers.append(trainer)
        result = traced_and_plain_step(trainers, data)
        assert trainers[0].steps_done == trainers[1].steps_done == 1
        assert len(result["d_updates"]) == kwargs["k"] * (2 if "d_update" in kwargs else 1)


def test_acgan_splits_each_loss_and_keeps_batchnorm_statistics():
    minigan.manual_seed(0)
    G = ACGANGenerator(latent_dim=4, num_classes=3, image_size=8, width=2, embed_dim=4)
    D = ACGANDiscriminator(num_classes=3, image_size=8, width=2)
    trainer = GANTrainer(G, D, seed=0)
    rng = np.random.default_rng(0)
    data = rng.standard_normal((16, 1, 8, 8)).astype("float32")
    result = trace_step(trainer, data, 4, rng.integers(0, 3, 16), out=None)
    for p in result["d_updates"][0]["passes"].values():
        assert p["loss"] > 0 and p["class_loss"] > 0
    g = result["g_step"]
    assert g["loss"] > 0 and g["class_loss"] > 0
    assert len(g["d_buffers"]) == 6 and g["d_unchanged"]      # running statistics included
    assert "BatchNorm running statistics" in result["text"]
    check_g_losses(g)


def test_naive_bce_failures_are_listed():
    trainer, data = default_trainer()
    last = trainer.D.net.layers[-1]
    last.bias.data[...] = 40.0                  # D sure that everything is real
    result = trace_step(trainer, data, 4, out=None)
    assert result["naive"] and all(f["breaks"] == "ln(1 - p)" for f in result["naive"])
    assert "logit 40" in result["text"]


def test_checkpoint_from_the_example(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("gan_2d", os.path.join(ROOT, "examples",
                                                                          "gan_2d.py"))
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    example.main(["--epochs", "2", "--out", str(tmp_path)])
    capsys.readouterr()
    result = main(["--checkpoint", str(tmp_path / "checkpoint.npz")])
    text = capsys.readouterr().out
    assert "the trainer at step 64" in text and BOUNDARY in text
    assert result["g_step"]["d_unchanged"] and result["g_step"]["d_input_grad_norm"] > 0
    check_g_losses(result["g_step"])


def test_bad_checkpoint_exits_with_a_message(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--checkpoint", str(tmp_path / "missing.npz")])
    err = capsys.readouterr().err
    assert "minigan.trace: error: --checkpoint" in err and "no such file" in err


@pytest.mark.parametrize("d_update", ["joint", "split"])
def test_a_penalty_shows_its_recorded_first_backward_and_the_second(d_update):
    """With R1 the D update that carries the penalty shows the recorded dD/dx pass and the
    second backward through it; the traced step is still the trainer's own."""
    trainers = []
    for _ in range(2):
        trainer, data = default_trainer(data="ring", seed=1, penalty="r1", gamma=0.1)
        trainer.d_update = d_update
        trainers.append(trainer)
    result = traced_and_plain_step(trainers, data)
    carrying = result["d_updates"][-1]           # joint: the only one; split: the second
    assert "penalty" in carrying["passes"] and carrying["penalty_rows"]
    assert carrying["passes"]["penalty"]["loss"] > 0
    assert any(r["phase"] == "penalty" for r in carrying["rows"])
    assert "the r1 penalty's first backward, recorded" in result["text"]
    assert "the penalty, the second backward" in result["text"]
    assert carrying["g_unchanged"] and carrying["g_grads_untouched"]
    if d_update == "split":
        assert result["d_updates"][0]["penalty_rows"] is None


def test_cli_penalty(capsys):
    main(["--data", "ring", "--penalty", "gp", "--max-lines", "6"])
    assert "with the gp penalty ===" in capsys.readouterr().out
