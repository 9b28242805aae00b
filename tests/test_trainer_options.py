"""The trainer's options around Algorithm 1, through the user's ways in: GANTrainer(lr_decay_steps=,
g_average=), checkpoints that keep their state, and examples/gan_2d.py --lr-decay --g-average.
(That they give the numbers of LinearDecay and WeightAverage stepped by hand is in
test_same_numbers.py; the formulas are in test_schedule.py and test_averaging.py.)"""
import json
import os

import numpy as np
import pytest
from conftest import load_script

import minigan
from minigan.data import make_2d
from minigan.gan import Discriminator, GANTrainer, Generator, load_model


def trainer(**options):
    minigan.manual_seed(3)
    G = Generator(latent_dim=2, data_dim=2, hidden=(8, 8), batch_norm=True)
    D = Discriminator(data_dim=2, hidden=(8,), dropout=0.2)
    return GANTrainer(G, D, seed=4, **options)


DATA = make_2d("ring", 64, seed=1).points


def test_lr_decay_reaches_zero_at_the_last_step():
    t = trainer(lr_decay_steps=8)
    lr0 = t.g_optimizer.lr
    t.train(DATA, epochs=1, batch_size=16, log_every=0)          # 4 steps of 8
    assert t.g_optimizer.lr == t.d_optimizer.lr == pytest.approx(lr0 / 2)
    t.train(DATA, epochs=1, batch_size=16, log_every=0)
    assert t.g_optimizer.lr == t.d_optimizer.lr == 0.0


def test_g_average_follows_g_and_is_not_g():
    t = trainer(g_average=0.9)
    before = [p.numpy() for p in t.g_average.model.parameters()]
    t.train(DATA, epochs=2, batch_size=16, log_every=0)
    assert t.g_average.updates == 8 and t.g_average.model is not t.G
    after = [p.numpy() for p in t.g_average.model.parameters()]
    live = [p.numpy() for p in t.G.parameters()]
    assert not any(np.array_equal(a, b) for a, b in zip(before, after))     # it moved
    assert not any(np.array_equal(a, b) for a, b in zip(after, live))       # it is an average
    assert not any(p.requires_grad for p in t.g_average.model.parameters())


@pytest.mark.parametrize("options", [{"lr_decay_steps": 0}, {"lr_decay_steps": 2.5},
                                     {"g_average": 1.0}, {"g_average": -0.1}])
def test_bad_options_are_refused_by_name(options):
    name = next(iter(options))
    with pytest.raises(ValueError, match=f"GANTrainer: {name}"):
        trainer(**options)


def test_a_checkpoint_resumes_the_options_exactly(tmp_path):
    options = {"lr_decay_steps": 16, "g_average": 0.9}
    straight = trainer(**options)
    straight.train(DATA, epochs=4, batch_size=16, log_every=0)
    first = trainer(**options)
    first.train(DATA, epochs=2, batch_size=16, log_every=0, checkpoint_dir=tmp_path)
    assert (tmp_path / "generator_average.npz").exists()
    resumed = trainer(**options)
    epoch = resumed.load_checkpoint(tmp_path / "checkpoint.npz")
    assert resumed.g_optimizer.lr == pytest.approx(first.g_optimizer.lr)
    resumed.train(DATA, epochs=4, batch_size=16, log_every=0, start_epoch=epoch + 1)
    assert resumed.history.columns == straight.history.columns
    for a, b in zip(resumed.g_average.model.state_dict().values(),
                    straight.g_average.model.state_dict().values()):
        assert np.array_equal(a, b)
    assert resumed.g_average.updates == straight.g_average.updates == 16
    assert resumed.g_optimizer.lr == straight.g_optimizer.lr == 0.0


def test_a_checkpoint_without_the_options_cannot_resume_a_run_with_them(tmp_path):
    trainer().train(DATA, epochs=1, batch_size=16, log_every=0, checkpoint_dir=tmp_path)
    for name, options in (("g_average", {"g_average": 0.9}), ("lr_decay_steps",
                                                              {"lr_decay_steps": 8})):
        with pytest.raises(ValueError, match=f"saved by a trainer without {name}"):
            trainer(**options).load_checkpoint(tmp_path / "checkpoint.npz")


def test_a_run_without_the_lr_decay_cannot_resume_one_that_decayed(tmp_path):
    trainer(lr_decay_steps=8, g_average=0.9).train(DATA, epochs=1, batch_size=16, log_every=0,
                                                   checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="saved by a trainer with lr_decay_steps, this one has"):
        trainer().load_checkpoint(tmp_path / "checkpoint.npz")
    trainer(lr_decay_steps=8).load_checkpoint(tmp_path / "checkpoint.npz")   # no average: fine


def test_the_example_samples_the_average_and_saves_it(tmp_path, capsys):
    example = load_script("examples/gan_2d.py")
    record = example.main(["--data", "ring", "--n", "256", "--epochs", "4", "--lr-decay",
                           "--g-average", "0.9", "--out", str(tmp_path)])
    assert "lr decaying to 0, sampling G's weight average (decay 0.9)" in capsys.readouterr().out
    assert record["args"]["g_average"] == 0.9 and record["args"]["lr_decay"] is True
    assert json.loads((tmp_path / "run.json").read_text()) == record
    # The figures come from the averaged generator, as saved: rebuild it and score it again.
    average = load_model(os.path.join(tmp_path, "generator_average.npz"))
    data = make_2d("ring", 256, seed=0)
    samples = average.sample(2500, minigan.Random(2))
    assert example.quality("ring", samples, data)[0] == record["quality"]
    last = load_model(os.path.join(tmp_path, "generator.npz")).sample(2500, minigan.Random(2))
    assert example.quality("ring", last, data)[0] != record["quality"]
