"""Spectral normalisation (Miyato et al. 2018): a layer whose weight is divided by its largest
singular value, so that the layer changes its output by at most as much as its input changes.

For a linear map W, ||W x - W y|| <= sigma(W) ||x - y||, sigma(W) the largest singular value;
so W / sigma(W) is 1-Lipschitz, and a D made of such layers and 1-Lipschitz activations (ReLU,
LeakyReLU, tanh) is 1-Lipschitz too: the constraint the WGAN critic needs, and a brake on a D
that would otherwise grow too sharp.

sigma(W) by power iteration: with u a unit vector kept between calls (a buffer, saved in the
state dict), one iteration per training forward,

    v = W^T u / ||W^T u||,   u = W v / ||W v||,   sigma = ||W^T u|| = u^T W v',

v' = W^T u / ||W^T u||, converges to the largest singular value as training goes on (W changes
slowly). u is a constant for the gradient, as in the paper; sigma = ||W^T u|| is then a function
of W that the autograd differentiates by itself: d sigma / dW = u v'^T, the paper's gradient,
and its second derivatives are exact too (a gradient penalty through a normalised layer).
A convolution's weight (O, C, k, k) is the matrix (O, C k k).
"""
from .. import functions as F
from ..backend import get_array_module
from ..random import default_random
from ..tensor import Tensor, no_grad
from .conv_layers import Conv2d
from .layers import Dense
from .module import Module


def _unit(v, eps=1e-12):
    return v / (get_array_module(v).linalg.norm(v) + eps)


class SpectralNorm(Module):
    """`layer` (a Dense or a Conv2d) with its weight W replaced by W / sigma(W) in the forward
    pass. The optimiser still updates the layer's own W."""
    buffers = ("u",)

    def __init__(self, layer, rng=None):
        if not isinstance(layer, (Dense, Conv2d)):
            raise TypeError(f"SpectralNorm: expected a Dense or Conv2d layer, got "
                            f"{type(layer).__name__}")
        self.layer = layer
        W = layer.weight.data
        rng = rng or default_random(layer.weight.device)
        self.u = _unit(rng.normal((W.shape[0],), dtype=W.dtype))

    def forward(self, x):
        W = self.layer.weight
        matrix = W.reshape(W.shape[0], -1)
        if self.training and not self.is_frozen:           # one power iteration (eval, or a
            with no_grad():                                # frozen D: u as it is)
                v = _unit(matrix.data.T @ self.u)
                self.u = _unit(matrix.data @ v)
        w_t_u = Tensor(self.u[None, :]) @ matrix           # (W^T u)^T, u a constant
        sigma = F.sum(w_t_u * w_t_u) ** 0.5                # ||W^T u||, a 0-d Tensor
        return self.layer.forward_with(x, W / sigma)
