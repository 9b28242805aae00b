"""The figure of docs/05-minimax-vs-non-saturating.md: written as a PNG, and its curves are the
library's gradients, which match the formulas of that page."""
import numpy as np

from minigan.plots import generator_loss_gradients, plot_generator_loss_gradients

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_plot_generator_loss_gradients_writes_a_png(tmp_path):
    path = tmp_path / "figures" / "generator_loss_gradients.png"     # the folder is created
    curves = plot_generator_loss_gradients(str(path))
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 10_000, f"a near-empty figure: {len(data)} bytes"
    # Written atomically: the temporary file was renamed, nothing else is left in the folder.
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    p = curves["d_of_g_z"]
    assert p.min() < 1e-3 and p.max() > 0.99, "the curves span early (D ~ 0) to late (D ~ 1)"
    np.testing.assert_allclose(curves["minimax"], p, rtol=1e-9)
    np.testing.assert_allclose(curves["non-saturating"], 1 - p, rtol=1e-9)


def test_generator_loss_gradients_at_the_pages_values():
    grads = generator_loss_gradients([0.5, 0.1, 0.01])
    np.testing.assert_allclose(grads["minimax"], [0.5, 0.1, 0.01], rtol=1e-9)
    np.testing.assert_allclose(grads["non-saturating"], [0.5, 0.9, 0.99], rtol=1e-9)
    ratio = grads["non-saturating"] / grads["minimax"]
    np.testing.assert_allclose(ratio, [1, 9, 99], rtol=1e-9)    # 1/D(G(z)) - 1
