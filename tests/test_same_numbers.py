"""Same seed, same numbers as before: short seeded runs against values recorded by an earlier
version (tests/data/seeded_runs_c22f3cb.json, made before the renovation of issue 12). Two runs
were recorded again where an algorithm changed (tests/data/seeded_runs_subpixel.json): the image
pairs, dcgan_tiny and acgan_tiny, after issue 23's transposed convolution by stride phases
(minigan/fast/subpixel.py), which sums the same products in another order; their history moved
by at most 1.8e-7 relative, their parameter sums by at most 5.5e-5.

What is compared: every step's losses and D outputs in the trainer's history, and a weighted sum
of each network's parameters after training. The runs cover the MLP pair (Adam, SGD with
momentum, minimax, k = 2, the split D update, dropout), PacGAN's packing with a BatchNorm G, a
decaying learning rate and a weight average, and the DCGAN and AC-GAN image pairs.

How strictly. Where NumPy and the BLAS library (version and CPU kernel) are those of the
recording, the numbers must be equal to the last bit. Elsewhere a different matrix-product kernel
rounds differently (measured: 1e-7 relative for the MLPs, up to 6e-5 for the convolutional nets,
after these few steps), so there they must agree to 2e-4 relative: any change to what the code
computes (an extra random draw, a different loss) moves them by far more.
"""
import json
import os

import numpy as np
import pytest

import minigan
from minigan.data import make_2d
from minigan.gan import (ACGANDiscriminator, ACGANGenerator, DCGANDiscriminator, DCGANGenerator,
                         Discriminator, GANTrainer, Generator)
from minigan.optim import SGD, Adam

RECORDED = os.path.join(os.path.dirname(__file__), "data", "seeded_runs_c22f3cb.json")
RECORDED_AGAIN = os.path.join(os.path.dirname(__file__), "data", "seeded_runs_subpixel.json")
RELATIVE = 2e-4


def weighted_sum(module):
    return float(sum(np.asarray(p.numpy(), dtype=np.float64).sum() * (i + 1)
                     for i, p in enumerate(module.parameters())))


def run(name):
    """One recorded configuration: the trainer after its run, and extra figures to compare."""
    minigan.manual_seed(0)
    extra = {}
    if name == "sine":
        data = make_2d("sine", 256, seed=0).points
        trainer = GANTrainer(Generator(2, 2, (16, 16)), Discriminator(2, (32, 32)), seed=0)
        trainer.train(data, epochs=5, batch_size=32, log_every=0)
    elif name == "ring_minimax_split_k2_sgd":
        data = make_2d("ring", 256, seed=1).points
        G, D = Generator(2, 2, (16, 16)), Discriminator(2, (32, 32))
        trainer = GANTrainer(G, D, SGD(G.parameters(), lr=0.01, momentum=0.9), None, k=2,
                             generator_loss="minimax", d_update="split", seed=1)
        trainer.train(data, epochs=5, batch_size=32, log_every=0)
    elif name == "dropout_d":
        data = make_2d("sine", 256, seed=2).points
        G, D = Generator(2, 2, (16, 32)), Discriminator(2, (64, 32), "relu", dropout=0.3)
        trainer = GANTrainer(G, D, Adam(G.parameters(), lr=1e-3, betas=(0.9, 0.999)),
                             Adam(D.parameters(), lr=1e-3, betas=(0.9, 0.999)), seed=2)
        trainer.train(data, epochs=5, batch_size=32, log_every=0)
    elif name == "packed_bn_decay_average":
        # Recorded with LinearDecay and WeightAverage stepped by hand after each train_step;
        # here the trainer's options do it.
        data = make_2d("grid", 256, seed=3).points
        G = Generator(2, 2, (32, 32), batch_norm=True)
        D = Discriminator(2, (32, 32), "relu", pack=2)
        trainer = GANTrainer(G, D, Adam(G.parameters(), lr=1e-3, betas=(0.8, 0.999)),
                             Adam(D.parameters(), lr=1e-3, betas=(0.8, 0.999)), seed=3,
                             lr_decay_steps=40, g_average=0.99)
        trainer.train(data, epochs=5, batch_size=32, log_every=0)           # 40 steps
        samples = trainer.g_average.model.sample(64, minigan.Random(9))
        extra = {"average": weighted_sum(trainer.g_average.model),
                 "average_samples": float(np.asarray(samples.numpy(), np.float64).sum())}
    elif name == "dcgan_tiny":
        images = minigan.Random(4).uniform((64, 1, 8, 8), -1.0, 1.0)
        trainer = GANTrainer(DCGANGenerator(16, 8, 1, 8), DCGANDiscriminator(8, 1, 8), seed=4)
        trainer.train(images, epochs=2, batch_size=16, log_every=0)
    elif name == "acgan_tiny":
        rng = minigan.Random(5)
        images, labels = rng.uniform((64, 1, 8, 8), -1.0, 1.0), rng.integers(0, 10, 64)
        trainer = GANTrainer(ACGANGenerator(16, 10, 8, 1, 4, 8), ACGANDiscriminator(10, 8, 1, 4),
                             seed=5)
        trainer.train(images, epochs=2, batch_size=16, labels=labels, log_every=0)
    else:
        raise ValueError(name)
    figures = {column: list(trainer.history[column]) for column in trainer.history.names}
    figures.update(G=weighted_sum(trainer.G), D=weighted_sum(trainer.D), **extra)
    return figures


def blas_now():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    return [f"{i['internal_api']} {i.get('version')} {i.get('architecture')}"
            for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


with open(RECORDED, encoding="utf-8") as f:
    RECORD = json.load(f)
with open(RECORDED_AGAIN, encoding="utf-8") as f:
    RECORD["runs"].update(json.load(f)["runs"])      # the same NumPy and BLAS kernel as RECORD's


@pytest.mark.parametrize("name", sorted(RECORD["runs"]))
def test_seeded_run_gives_the_recorded_numbers(name):
    expected, got = RECORD["runs"][name], run(name)
    assert set(got) == set(expected)
    exact = np.__version__ == RECORD["numpy"] and blas_now() == RECORD["blas"]
    for key, values in expected.items():
        want = np.atleast_1d(np.asarray(values, dtype=np.float64))
        have = np.atleast_1d(np.asarray(got[key], dtype=np.float64))
        assert have.shape == want.shape, f"{name}: {key} has {have.shape} values, recorded {want.shape}"
        if exact:
            where = np.flatnonzero(have != want)
            assert where.size == 0, (f"{name}: {key} differs from the recording at step index "
                                     f"{where[0]}: {have[where[0]]!r} vs {want[where[0]]!r} (same "
                                     f"NumPy and BLAS kernel: the numbers must be equal)")
        else:
            np.testing.assert_allclose(have, want, rtol=RELATIVE, atol=RELATIVE * 1e-3,
                                       err_msg=f"{name}: {key} (BLAS {blas_now()}, recorded "
                                               f"with {RECORD['blas']})")
