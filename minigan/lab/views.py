"""What the lab draws on the plane, each layer computed at once for all its points.

    real       the training data (every point, up to a thousand)
    fake       G(z) for a fixed set of latent points, the same z at every step, so a point's
               motion from one frame to the next is G's change
    arrows     on each fake sample, -dL_G/dG(z): the direction G's loss pushes that sample,
               from the engine's own backward (the G step moves G's weights so that each G(z)
               moves along it, as far as G can)
    heatmap    D(x) = sigmoid(D's output) on a grid over the plane; its 0.5 contour is where D
               cannot tell (the page draws the contour)
    latent     G's image of a grid of lines in the 2-D latent space: how G folds and stretches
               the plane of z onto the data
    d_gradient dD(x)/dx of D's output on a coarse grid: the slope G's samples slide along

Nothing here changes a network: G runs in eval mode without a graph, D is frozen (its
parameters get no gradient, so the trainer's .grad are untouched) and in eval mode (a
spectral-norm layer does no power iteration). minigan.grad() differentiates with respect to the
points alone.
"""
import contextlib

from .. import backend
from ..functions import sigmoid
from ..gan.losses import generator_loss
from ..tensor import Tensor, grad, no_grad

LAYERS = ("real", "fake", "arrows", "heatmap", "latent", "field")   # the names the page uses
HEATMAP_CELLS = 48         # the heat map's grid: 48 x 48 values of D
MIN_HEATMAP_CELLS = 8      # the coarsest a request may ask for (the page plays at 32 x 32)
FIELD_CELLS = 16           # the gradient field: 16 x 16 arrows
LATENT_LINES = 11          # lines of the latent grid in each direction, over [-2.5, 2.5]^2
LATENT_POINTS = 41         # points along each line
LATENT_EXTENT = 2.5        # +- 2.5 standard deviations of the prior N(0, I)


def grid_points(xp, bounds, cells):
    """The centres of a cells x cells grid over bounds (xmin, xmax, ymin, ymax), row by row from
    the bottom: (cells * cells, 2) float32."""
    xmin, xmax, ymin, ymax = bounds
    xs = xmin + (xp.arange(cells, dtype="float32") + 0.5) * ((xmax - xmin) / cells)
    ys = ymin + (xp.arange(cells, dtype="float32") + 0.5) * ((ymax - ymin) / cells)
    gx, gy = xp.meshgrid(xs, ys)                 # gx[i, j] = xs[j], gy[i, j] = ys[i]
    return xp.stack([gx.reshape(-1), gy.reshape(-1)], axis=1)


@contextlib.contextmanager
def evaluating(module):
    """The module in eval mode and frozen for the block (no gradient for its parameters, no
    change to its buffers), then as it was."""
    was_training = module.training
    module.eval()
    try:
        with module.frozen():
            yield module
    finally:
        module.train(was_training)


def d_output(D, points):
    """D's output (its logit, or a critic's score) at each point: (n,)."""
    with evaluating(D), no_grad():
        logits, _ = D.judge(Tensor(points))
    return logits.data.reshape(-1)


def heatmap(D, bounds, cells=HEATMAP_CELLS):
    """sigmoid(D(x)) on the grid, (cells, cells), row 0 at the bottom. For the BCE games this is
    D's probability that x is real; for a critic (wgan, hinge) it squashes the score, so the
    0.5 contour is still where the score is 0."""
    xp = backend.get_array_module(D.parameters()[0].data)
    logits = d_output(D, grid_points(xp, bounds, cells))
    return sigmoid(Tensor(logits)).data.reshape(cells, cells)


def generator_push(D, fake, loss_kind):
    """-dL_G/dx at each generated sample x = G(z), times the batch size: each sample's own
    -d loss_i / dx_i (L_G is the mean of the per-sample losses), (n, 2).

    This is the signal of the G step (trainer.generator_step): backward() carries it from L_G
    through D into G(z), then on into G's weights."""
    x = Tensor(fake, requires_grad=True)
    with evaluating(D):
        logits, _ = D.judge(x)
        loss = generator_loss(logits, loss_kind)
        g = grad(loss, x)
    return -g.data * len(fake)


def input_gradient_field(D, bounds, cells=FIELD_CELLS):
    """(points (cells^2, 2), dD/dx at each (cells^2, 2)) for D's output (logit or score)."""
    xp = backend.get_array_module(D.parameters()[0].data)
    x = Tensor(grid_points(xp, bounds, cells), requires_grad=True)
    with evaluating(D):
        logits, _ = D.judge(x)
        g = grad(logits.sum(), x)   # each output depends on its own point only: one backward
    return x.data, g.data


def latent_grid(xp, lines=LATENT_LINES, points=LATENT_POINTS, extent=LATENT_EXTENT):
    """The latent grid's points, (2 * lines * points, 2): first the lines of constant z_2 (each
    `points` long, z_1 rising), then those of constant z_1."""
    ticks = xp.linspace(-extent, extent, lines, dtype="float32")
    along = xp.linspace(-extent, extent, points, dtype="float32")
    fixed = xp.repeat(ticks, points)                 # each tick, `points` times
    moving = xp.tile(along, lines)
    horizontal = xp.stack([moving, fixed], axis=1)
    vertical = xp.stack([fixed, moving], axis=1)
    return xp.concatenate([horizontal, vertical], axis=0)


def warped_latent_grid(G, z_grid, lines=LATENT_LINES, points=LATENT_POINTS):
    """G's image of the latent grid: (2 * lines, points, 2), one polyline per grid line."""
    return G.sample_with(Tensor(z_grid)).data.reshape(2 * lines, points, 2)


def plane(G, D, loss_kind, bounds, fixed_z, z_grid, layers=None,
          heatmap_cells=HEATMAP_CELLS):
    """The layers but the real data, as arrays on the networks' device: {"fake", "push",
    "heatmap", "latent", "field_points", "field"}; with `layers` (names from LAYERS), only
    those (G's samples always: they are cheap, and the page counts those outside the frame).
    heatmap_cells: the heat map's grid (the page asks for a coarser one while it plays)."""
    wanted = LAYERS if layers is None else layers
    fake = G.sample_with(fixed_z).data
    arrays = {"fake": fake}
    if "arrows" in wanted:
        arrays["push"] = generator_push(D, fake, loss_kind)
    if "heatmap" in wanted:
        arrays["heatmap"] = heatmap(D, bounds, heatmap_cells)
    if "latent" in wanted:
        arrays["latent"] = warped_latent_grid(G, z_grid)
    if "field" in wanted:
        arrays["field_points"], arrays["field"] = input_gradient_field(D, bounds)
    return arrays
