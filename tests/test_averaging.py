"""WeightAverage: the EMA formula with its warm-up, against a float64 hand computation; the
copy is separate and read-only; BatchNorm's running statistics are averaged too."""
import numpy as np
import pytest

import minigan
from minigan.gan import Generator
from minigan.gan.averaging import WeightAverage
from minigan.nn import Dense


def weights(module):
    return [p.numpy().astype(np.float64) for p in module.parameters()]


def perturb(module, seed, device):
    """A stand-in for an optimiser step: new values in place."""
    for i, p in enumerate(module.parameters()):
        p.data += minigan.Random(100 * seed + i, device).normal(p.shape)
        p.mark_modified()


def test_the_average_follows_the_formula(device):
    minigan.manual_seed(0)
    net = Dense(3, 4).to(device)
    average = WeightAverage(net, decay=0.9)
    expected = weights(net)                       # the copy starts at the live weights
    for t in range(1, 101):                       # through the warm-up (to t = 80) and past it
        perturb(net, t, device)
        beta = average.update()
        assert beta == pytest.approx(min(0.9, (1 + t) / (10 + t)), abs=0)
        expected = [beta * a + (1 - beta) * w for a, w in zip(expected, weights(net))]
        for got, want in zip(weights(average.model), expected):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert beta == 0.9                            # capped by the decay at the end


def test_the_warm_up_then_the_decay(device):
    net = Dense(2, 2).to(device)
    average = WeightAverage(net, decay=0.99)
    betas = [average.update() for _ in range(1000)]
    assert betas[0] == pytest.approx(2 / 11)      # t = 1: mostly the live weights
    assert betas[-1] == 0.99                      # the decay caps it once (1+t)/(10+t) > 0.99
    assert all(a <= b for a, b in zip(betas, betas[1:]))


def test_the_copy_is_separate_and_never_trained(device, xp):
    net = Dense(3, 2).to(device)
    average = WeightAverage(net)
    before = weights(average.model)
    perturb(net, 1, device)                       # training moves the live net only...
    for got, want in zip(weights(average.model), before):
        np.testing.assert_array_equal(got, want)
    assert all(not p.requires_grad for p in average.model.parameters())
    assert all(p.requires_grad for p in net.parameters())
    average.update()                              # ...until the average takes it in
    assert not np.array_equal(weights(average.model)[0], before[0])
    assert average.model.weight.data is not net.weight.data


def test_constant_weights_average_to_themselves(device):
    net = Dense(3, 2).to(device)
    average = WeightAverage(net, decay=0.999)
    for _ in range(50):
        average.update()
    for got, want in zip(weights(average.model), weights(net)):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_batchnorm_statistics_are_averaged(device):
    minigan.manual_seed(0)
    G = Generator(latent_dim=2, data_dim=2, hidden=(8,), batch_norm=True).to(device)
    average = WeightAverage(G, decay=0.5)
    name = next(n for n, _ in G.named_buffers() if n.endswith("running_mean"))
    start = minigan.backend.to_numpy(dict(average.model.named_buffers())[name]).copy()
    G.train()
    G(G.sample_latent(16))                        # a training-mode pass moves the running mean
    live = minigan.backend.to_numpy(dict(G.named_buffers())[name])
    beta = average.update()
    got = minigan.backend.to_numpy(dict(average.model.named_buffers())[name])
    np.testing.assert_allclose(got, beta * start + (1 - beta) * live, rtol=1e-6)
    samples = average.model.sample(5)             # the averaged G samples like any G
    assert samples.shape == (5, 2)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 1.5])
def test_bad_decay_is_refused(decay):
    with pytest.raises(ValueError, match="WeightAverage: decay must be in"):
        WeightAverage(Dense(2, 2), decay=decay)
