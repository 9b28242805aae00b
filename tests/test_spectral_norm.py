"""SpectralNorm: the power iteration finds the largest singular value, the normalised layer is
1-Lipschitz, its gradients (through sigma) are checked, u is state, and frozen or eval layers
leave u alone."""
import numpy as np
import pytest

import minigan
from minigan import Tensor
from minigan import functions as F
from minigan.data import make_2d
from minigan.gan import Discriminator, GANTrainer, Generator, penalties
from minigan.gradcheck import check_gradients
from minigan.nn import Conv2d, Dense, SpectralNorm, Tanh


def top_singular_value(weight):
    W = weight.numpy()
    return np.linalg.svd(W.reshape(W.shape[0], -1), compute_uv=False)[0]


@pytest.mark.parametrize("layer", [lambda: Dense(6, 4), lambda: Conv2d(2, 3, 3)],
                         ids=["Dense", "Conv2d"])
def test_power_iteration_finds_the_largest_singular_value(device, layer):
    minigan.manual_seed(0)
    sn = SpectralNorm(layer().astype("float64")).to(device)
    x = Tensor(minigan.Random(1, device).normal((5, 6) if isinstance(sn.layer, Dense)
                                               else (2, 2, 5, 5), dtype="float64"))
    for _ in range(50):                      # one iteration per training forward
        sn(x)
    W = sn.layer.weight
    matrix, u = W.numpy().reshape(W.shape[0], -1), minigan.backend.to_numpy(sn.u)
    v = matrix.T @ u
    assert u @ matrix @ v / np.linalg.norm(v) == pytest.approx(top_singular_value(W), rel=1e-6)
    # the layer's effective weight W / sigma has largest singular value 1
    y = sn(x).numpy()
    expected = sn.layer.forward_with(x, Tensor(W.data / top_singular_value(W))).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-6)


def test_a_spectrally_normalised_mlp_is_1_lipschitz():
    minigan.manual_seed(0)
    D = Discriminator(data_dim=2, hidden=(32, 32), activation="leaky_relu",
                      spectral_norm=True).astype("float64")
    x = Tensor(np.random.default_rng(0).normal(size=(64, 2)))
    for _ in range(100):
        D(x)
    D.eval()
    a, b = np.random.default_rng(1).normal(size=(2, 500, 2))
    with minigan.no_grad():
        da, db = D(Tensor(a)).numpy().ravel(), D(Tensor(b)).numpy().ravel()
    ratio = np.abs(da - db) / np.linalg.norm(a - b, axis=1)
    assert ratio.max() <= 1.0 + 1e-6


def test_gradients_through_sigma_match_finite_differences():
    # In eval mode u stays fixed, and sigma = ||W^T u||: its gradient u v^T is exact.
    minigan.manual_seed(0)
    sn = SpectralNorm(Dense(3, 4).astype("float64"))
    x = Tensor(np.random.default_rng(0).normal(size=(5, 3)), requires_grad=True)
    sn(x)
    sn.eval()
    assert check_gradients(lambda x: F.tanh(sn(x)), [x], params=sn.parameters()) < 1e-6


def test_r1_through_a_spectrally_normalised_d():
    minigan.manual_seed(0)
    D = Discriminator(data_dim=2, hidden=(6,), activation="tanh",
                      spectral_norm=True).astype("float64")
    D.eval()
    x = Tensor(np.random.default_rng(0).normal(size=(4, 2)))

    def r1():
        with minigan.enable_grad():
            return penalties.r1(D, x, 1.0)

    assert check_gradients(r1, [], params=D.parameters()) < 1e-5


def test_u_is_saved_and_loaded_and_only_a_training_forward_moves_it(tmp_path):
    minigan.manual_seed(0)
    D = Discriminator(data_dim=2, hidden=(8,), spectral_norm=True)
    x = Tensor(np.random.default_rng(0).normal(size=(4, 2)).astype("float32"))
    D(x)
    u = D.net.layers[0].u.copy()
    with D.frozen():
        D(x)
    D.eval()
    D(x)
    assert np.array_equal(D.net.layers[0].u, u)               # frozen, eval: unchanged
    D.train()
    D(x)
    assert not np.array_equal(D.net.layers[0].u, u)
    D.save(tmp_path / "d.npz")
    loaded = minigan.gan.load_model(tmp_path / "d.npz")
    assert np.array_equal(loaded.net.layers[0].u, D.net.layers[0].u)
    D.eval()
    loaded.eval()
    np.testing.assert_array_equal(D(x).numpy(), loaded(x).numpy())


def test_spectral_norm_refuses_other_layers_and_silences_the_wgan_warning():
    with pytest.raises(TypeError, match="SpectralNorm: expected a Dense or Conv2d layer, got Tanh"):
        SpectralNorm(Tanh())
    import warnings
    minigan.manual_seed(0)
    G = Generator(latent_dim=2, data_dim=2, hidden=(8,))
    D = Discriminator(data_dim=2, hidden=(8,), spectral_norm=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainer = GANTrainer(G, D, generator_loss="wgan")
    history = trainer.train(make_2d("ring", 64).points, 2, 16, log_every=0)
    assert np.isfinite(history["d_real"]).all()
