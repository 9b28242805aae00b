"""Batch normalisation (Ioffe & Szegedy 2015) as two Functions: training and evaluation.

For an input x of shape (N, C) or (N, C, H, W), every channel c is normalised on its own, over
all the other axes (the batch, and the pixels of a feature map): M = N (or N * H * W) values
x_1 ... x_M per channel. In training mode, with the statistics of the batch itself,

    mu  = (1/M) sum_i x_i                      the batch mean
    var = (1/M) sum_i (x_i - mu)^2             the *biased* batch variance (divide by M)
    s   = 1 / sqrt(var + eps)                  eps keeps a constant channel from dividing by 0
    x_hat_i = (x_i - mu) s                     mean 0, variance ~1 in every channel
    y_i = gamma x_hat_i + beta                 a learned scale and shift per channel

In evaluation mode mu and var are replaced by running averages collected during training
(``minigan.nn.BatchNorm1d/2d`` keeps them), so y is a fixed affine map of x and one sample's
output no longer depends on the rest of its batch.

The training Function has its own backward in the compact closed form derived below, rather than
letting autograd differentiate mean, subtract, square, sqrt and divide one by one: that would keep
five or six full-size intermediates alive and walk as many graph nodes per layer.

Both Functions are differentiated once only: a backward pass with create_graph=True (a gradient
penalty, a Hessian-vector product) refuses them by name. Their rules read, from plain
attributes, arrays that the forward pass computed, and a recorded backward would take those for
constants. The BatchNorm class says what that would get wrong and what it would take.
"""
from ..backend import get_array_module
from ..tensor import Function, Tensor


def channel_axes(ndim):
    """The axes a BatchNorm reduces over: all but the channel axis 1 ((0,) or (0, 2, 3))."""
    return (0,) + tuple(range(2, ndim))


def _per_channel(v, ndim):
    """View a (C,) vector as (1, C, 1, 1, ...) so it broadcasts along axis 1 of an ndim array."""
    return v.reshape((1, -1) + (1,) * (ndim - 2))


class BatchNorm(Function):
    """Training-mode batch norm: y = gamma x_hat + beta with the batch's own mean and variance.

    Inputs x (N, C, ...), gamma (C,), beta (C,). After the forward pass ``self.mean`` and
    ``self.var`` hold the batch mean and biased variance, shape (C,), for the running averages.

    Differentiated once only (``twice_differentiable = False``: create_graph refuses it). The
    rule reads x_hat, s and gamma from attributes (``self.x_hat``, ``self.inv_std``,
    ``self.gamma``), not from ``self.saved``. A recorded backward swaps for Tensors only what
    ``self.saved`` holds (tensor.py, Function), so these three would stay constants: the recorded
    dL/dx would depend on gy but not on x or gamma, and differentiating it again would give wrong
    second derivatives, with no error. (x_hat and s cannot just move into ``self.saved``:
    create_graph refuses an array that is neither an input nor the output.)

    What it would take: a rule that reads only saved inputs (``self.saved = x, gamma``) and
    recomputes mu, s and x_hat from x inside backward, or the gradient as a Function of its own
    with a hand-derived backward (as convolution.py's Conv2dWeightGradient); then the flag, and a
    case in tests/test_second_order.py that checks it (gradcheck.check_second_order). A gradient
    penalty on a D with BatchNorm is refused anyway (gan/checks.py): BatchNorm couples the
    samples of a batch, so the gradient of D's summed output is no longer each sample's own.
    """
    twice_differentiable = False    # the rule reads x_hat, s, gamma from attributes: see above

    def __init__(self, eps=1e-5):
        self.eps = eps

    def forward(self, x, gamma, beta):
        xp = get_array_module(x)
        self.axes = channel_axes(x.ndim)
        self.m = x.size // x.shape[1]                          # M, values per channel
        mean = x.mean(axis=self.axes, keepdims=True)           # (1, C, 1, ...)
        # Two passes, mean first, then the mean of squared deviations. The one-pass
        # E[x^2] - E[x]^2 cancels catastrophically in float32 when |mean| >> std (for x ~ 1000
        # + N(0, 1) it loses every digit of var); the deviations are needed for x_hat anyway.
        centred = x - mean
        var = (centred * centred).mean(axis=self.axes, keepdims=True)   # biased: divides by M
        inv_std = 1.0 / xp.sqrt(var + self.eps)                # s, only C numbers
        x_hat = centred * inv_std
        self.x_hat, self.inv_std, self.gamma = x_hat, inv_std, gamma
        self.mean, self.var = mean.reshape(-1), var.reshape(-1)
        return x_hat * _per_channel(gamma, x.ndim) + _per_channel(beta, x.ndim)

    def backward(self, gy):
        # Per channel, with g_i = dL/dy_i (gy) and sums over the channel's M values:
        #
        # 1. beta and gamma.  y_i = gamma x_hat_i + beta, so
        #        dL/dbeta  = sum_i g_i,          dL/dgamma = sum_i g_i x_hat_i.
        #
        # 2. Into x_hat.  dL/dx_hat_i = gamma g_i.
        #
        # 3. How x_hat_i moves with x_j. x_hat_i = (x_i - mu) s depends on x_j directly (i = j)
        #    and through mu and s, which every x_j feeds:
        #        dmu/dx_j  = 1/M
        #        dvar/dx_j = (2/M) sum_i (x_i - mu)(delta_ij - 1/M) = (2/M)(x_j - mu)
        #                    (the 1/M part vanishes: sum_i (x_i - mu) = 0)
        #        ds/dx_j   = ds/dvar dvar/dx_j = -(1/2)(var + eps)^(-3/2) (2/M)(x_j - mu)
        #                  = -s^3 (x_j - mu) / M = -s^2 x_hat_j / M
        #    so  dx_hat_i/dx_j = s (delta_ij - 1/M) + (x_i - mu) ds/dx_j
        #                      = s (delta_ij - 1/M - x_hat_i x_hat_j / M).
        #
        # 4. Chain rule, summing over i:
        #        dL/dx_j = sum_i gamma g_i s (delta_ij - 1/M - x_hat_i x_hat_j / M)
        #                = (gamma s / M) (M g_j - sum_i g_i - x_hat_j sum_i g_i x_hat_i)
        #                = (gamma s / M) (M g_j - dL/dbeta - x_hat_j dL/dgamma).
        #    The two sums are exactly the parameter gradients of step 1: computed once, used twice.
        #    The bracket removes from g its mean and its component along x_hat: shifting or
        #    scaling a whole channel of x changes nothing after normalisation, so the gradient
        #    has no part in those two directions.
        #
        # Computed as (gamma s) (g_j - (x_hat_j dL/dgamma + dL/dbeta) / M), the 1/M folded into
        # the C-sized vectors.
        nd = gy.ndim
        dbeta = gy.sum(axis=self.axes)
        dgamma = (gy * self.x_hat).sum(axis=self.axes)
        gx = None
        if self.needs_grad[0]:
            mean_part = (self.x_hat * _per_channel(dgamma / self.m, nd)
                         + _per_channel(dbeta / self.m, nd))
            gx = (_per_channel(self.gamma, nd) * self.inv_std) * (gy - mean_part)
        return (gx,
                dgamma if self.needs_grad[1] else None,
                dbeta if self.needs_grad[2] else None)


def batch_norm_train(x, gamma, beta, eps=1e-5):
    """Training-mode batch norm of x (N, C, ...) with gamma, beta (C,).

    Returns (y, mean, var): the output Tensor, and the batch mean and *biased* variance as plain
    (C,) arrays (outside the graph), for whoever keeps running statistics.
    """
    _check_functional(x, (gamma, beta), training=True)
    f = BatchNorm(eps)
    y = f(x, gamma, beta)
    return y, f.mean, f.var


class BatchNormEval(Function):
    """Evaluation-mode batch norm with fixed statistics: y = gamma (x - mean) s + beta.

    Inputs x (N, C, ...), gamma, beta, mean, var (all (C,)); mean and var are constants
    (running statistics, plain arrays), so no gradient goes to them.

    Not differentiable twice, as BatchNorm above: the rule reads x and gamma s from attributes
    (``self.x``, ``self.scale``), so a recorded dL/dx = gamma s gy would lose its dependence on
    gamma, and dL/dgamma its dependence on x. Saving x and gamma in ``self.saved`` and computing
    from them in backward, then checking with gradcheck.check_second_order, would lift that.
    """
    twice_differentiable = False    # the rule reads x and gamma s from attributes: see above

    def __init__(self, eps=1e-5):
        self.eps = eps

    def forward(self, x, gamma, beta, mean, var):
        xp = get_array_module(x)
        self.axes = channel_axes(x.ndim)
        nd = x.ndim
        # With mean and var fixed, y is affine in x: y = a x + b per channel, with
        # a = gamma s and b = beta - mean a. Only C-sized work before the one full-size product.
        self.inv_std = 1.0 / xp.sqrt(var + self.eps)
        self.scale = _per_channel(gamma * self.inv_std, nd)
        self.x, self.mean = x, mean
        return x * self.scale + _per_channel(beta - mean * (gamma * self.inv_std), nd)

    def backward(self, gy):
        # y_i = gamma (x_i - mean) s + beta with mean, s constants (nothing couples the samples):
        #   dL/dx_i = gamma s g_i,  dL/dgamma = sum_i g_i (x_i - mean) s,  dL/dbeta = sum_i g_i.
        nd = gy.ndim
        gx = gy * self.scale if self.needs_grad[0] else None
        dgamma = None
        if self.needs_grad[1]:
            # x_hat recomputed, not kept from the forward pass (eval mode rarely trains)
            x_hat = (self.x - _per_channel(self.mean, nd)) * _per_channel(self.inv_std, nd)
            dgamma = (x_hat * gy).sum(axis=self.axes)
        dbeta = gy.sum(axis=self.axes) if self.needs_grad[2] else None
        return gx, dgamma, dbeta, None, None


def batch_norm_eval(x, gamma, beta, mean, var, eps=1e-5):
    """Evaluation-mode batch norm of x (N, C, ...) with fixed statistics mean, var (C,) arrays."""
    _check_functional(x, (gamma, beta, mean, var), training=False)
    return BatchNormEval(eps)(x, gamma, beta, mean, var)


# --- input checks ----------------------------------------------------------------------------
def check_batch_norm_input(who, x, num_features, training, ndims=None):
    """Raise a clear error unless x is a float Tensor (N, num_features, ...) fit for batch norm.

    ndims: the allowed numbers of axes (e.g. (2,) for BatchNorm1d); None allows any >= 2.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{who}: expected a Tensor, got {type(x).__name__}")
    if ndims is not None and x.ndim not in ndims:
        layout = {2: "(N, C)", 3: "(N, C, L)", 4: "(N, C, H, W)"}
        expected = " or ".join(layout.get(n, f"{n}-d") for n in ndims)
        raise ValueError(f"{who}: expected input of shape {expected} with C = {num_features}, "
                         f"got {x.ndim}-d input of shape {x.shape}")
    if x.ndim < 2:
        raise ValueError(f"{who}: expected input of shape (N, C, ...) with C = {num_features}, "
                         f"got shape {x.shape}")
    if x.shape[1] != num_features:
        raise ValueError(f"{who}: expected {num_features} channels on axis 1, got input of "
                         f"shape {x.shape} with {x.shape[1]}")
    if x.dtype.kind != "f":
        raise TypeError(f"{who}: expected a floating point input, got dtype {x.dtype}")
    per_channel = x.size // num_features if num_features else 0   # M
    if training and per_channel < 2:
        # One value per channel: var = 0 and x_hat = 0, y = beta whatever x is, and the gradient
        # to x is exactly 0. PyTorch refuses this too.
        raise ValueError(f"{who}: expected more than 1 value per channel when training, got "
                         f"input of shape {x.shape} ({per_channel} per channel); use a larger "
                         f"batch, or eval mode")


def _check_functional(x, vectors, training):
    """The functional forms' checks: x (N, C, ...) and every per-channel vector of shape (C,)."""
    if isinstance(x, Tensor) and x.ndim >= 2:
        shapes = [tuple(v.shape) for v in vectors]
        if any(s != (x.shape[1],) for s in shapes):
            raise ValueError(f"batch_norm: per-channel vectors must have shape (C,) = "
                             f"({x.shape[1]},) for x of shape {x.shape}, got {shapes}")
        check_batch_norm_input("batch_norm", x, x.shape[1], training)
    elif not isinstance(x, Tensor):
        raise TypeError(f"batch_norm: expected a Tensor, got {type(x).__name__}")
    else:
        raise ValueError(f"batch_norm: expected input of shape (N, C, ...), got shape {x.shape}")


