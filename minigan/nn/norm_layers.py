"""BatchNorm1d and BatchNorm2d: batch normalisation layers with PyTorch's semantics.

The math and the gradients are in ``minigan/functions/batch_norm.py`` (and why BatchNorm is
differentiated once only, never through create_graph); this file holds the state:
the learned per-channel scale and shift (``weight`` = gamma, ``bias`` = beta, Parameters) and
the running statistics used in eval mode (``running_mean``, ``running_var``, buffers: saved in
``state_dict()``, moved by ``.to()``, never trained).
"""
from .. import backend
from ..arguments import check_int
from ..functions.batch_norm import batch_norm_eval, batch_norm_train, check_batch_norm_input
from ..random import default_random
from .layers import raise_device_mismatch
from .module import Module, Parameter

BATCHNORM_INITS = ("default", "dcgan")


def batchnorm_weights(num_features, scheme="default", rng=None):
    """Initial (gamma, beta) host float32 arrays.

    - "default": gamma = 1, beta = 0 (PyTorch): the layer starts as pure standardisation.
    - "dcgan": gamma ~ N(1, 0.02^2), beta = 0, the ``weights_init`` of the PyTorch DCGAN example.
    """
    if scheme not in BATCHNORM_INITS:
        raise ValueError(f"unknown BatchNorm initialisation {scheme!r}: expected one of "
                         f"{BATCHNORM_INITS}")
    rng = rng or default_random("cpu")
    beta = rng.xp.zeros((num_features,), dtype="float32")
    if scheme == "dcgan":
        return rng.normal((num_features,), std=0.02, mean=1.0), beta
    return rng.xp.ones((num_features,), dtype="float32"), beta


class _BatchNorm(Module):
    """Normalise every channel (axis 1) over the batch and any spatial axes; then scale and shift.

    Training mode (``module.train()``, the default) normalises with the batch's own mean and
    biased variance, and updates the running statistics, as PyTorch does:

        running_mean = (1 - momentum) running_mean + momentum mean
        running_var  = (1 - momentum) running_var  + momentum var * M / (M - 1)

    The running variance takes the *unbiased* batch variance (M values per channel), the
    normalisation itself the biased one. They start at 0 and 1. Eval mode (``module.eval()``)
    normalises with the running statistics instead and updates nothing.

    The update happens on every training-mode forward pass, under ``no_grad()`` too, except
    inside ``Module.frozen()``: a frozen module changes nothing about itself. So in minigan's
    GAN step the frozen discriminator normalises D(G(z)) by that batch's statistics (training
    mode) but leaves its running statistics as the D step left them; PyTorch's DCGAN example,
    which has no "frozen", lets them drift on the all-fake batch. The running statistics are
    used only in eval mode, and they lag behind the weights (an average over the last
    ~1/momentum batches).

    Statistics are computed per batch, so a batch of only real or only fake images is normalised
    on its own (the DCGAN recipe); mixing them in one batch changes what D sees.

    The update is plain array arithmetic on the buffers, in place: it is never part of the graph.
    """

    buffers = ("running_mean", "running_var")
    ndims = ()          # set by subclasses: the allowed numbers of input axes

    def __init__(self, num_features, eps=1e-5, momentum=0.1, init="default", rng=None):
        name = type(self).__name__
        check_int(name, "num_features", num_features)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{name}: momentum must be in [0, 1], got {momentum}")
        if not eps > 0:
            raise ValueError(f"{name}: eps must be positive, got {eps}")
        gamma, beta = batchnorm_weights(num_features, init, rng)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = Parameter(gamma)      # gamma
        self.bias = Parameter(beta)         # beta
        xp = backend.xp_of_device("cpu")    # host arrays, like the parameters; .to() moves
        self.running_mean = xp.zeros((num_features,), dtype="float32")
        self.running_var = xp.ones((num_features,), dtype="float32")

    def forward(self, x):
        check_batch_norm_input(self, x, self.num_features, self.training, self.ndims)
        if not backend.same_device(x.data, self.weight.data):
            raise_device_mismatch(self, x)
        if not self.training:
            return batch_norm_eval(x, self.weight, self.bias, self.running_mean,
                                   self.running_var, self.eps)
        y, mean, var = batch_norm_train(x, self.weight, self.bias, self.eps)
        if self.is_frozen:                              # inside Module.frozen(): no updates
            return y
        m = x.size // self.num_features                 # values per channel, M >= 2 (checked)
        momentum = self.momentum
        # In place on (C,) arrays: keeps the buffers' dtype and device, builds no graph.
        self.running_mean *= 1.0 - momentum
        self.running_mean += momentum * mean
        self.running_var *= 1.0 - momentum
        self.running_var += (momentum * m / (m - 1)) * var     # unbiased: var * M / (M - 1)
        return y

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"

    def __str__(self):
        return f"{type(self).__name__}({self.num_features})"


class BatchNorm1d(_BatchNorm):
    """Batch norm of (N, C) inputs, e.g. after a Dense layer: statistics over the batch axis."""

    ndims = (2,)


class BatchNorm2d(_BatchNorm):
    """Batch norm of (N, C, H, W) feature maps: statistics over N, H and W for each channel."""

    ndims = (4,)
