"""Binary cross-entropy, the loss of both GAN players.

For a label y in {0, 1} and a predicted probability p = sigmoid(x) of "real",

    BCE(p, y) = -[ y ln p + (1 - y) ln(1 - p) ].

Two ways to compute it:

- :func:`sigmoid_binary_cross_entropy` takes the logit x and never forms p. Using
  ln sigmoid(x) = -ln(1 + e^-x) and ln(1 - sigmoid(x)) = -x - ln(1 + e^-x),

      BCE = ln(1 + e^-x) + (1 - y) x  =  max(x, 0) - x y + ln(1 + e^-|x|),

  where the last form only ever exponentiates a non-positive number: no overflow, no ln 0,
  at any logit. Its gradient is the famously simple dBCE/dx = sigmoid(x) - y.
  minigan's discriminators output logits and use this.
- :func:`binary_cross_entropy` takes p itself (a sigmoid output layer, the Keras
  ``binary_crossentropy`` of the seed tutorials). It must clip p to [eps, 1 - eps]: at a logit
  of +-17 float32 rounds p to exactly 1 or 0 and ln 0 = -inf. Clipped, the loss is capped at
  -ln(eps) and the gradient is zero: a saturated D stops teaching G. Kept to show and compare.

Both average over all elements (the minibatch mean of Algorithm 1).
"""
from .backend import get_array_module
from .functions import stable_sigmoid, sum_to
from .tensor import Function


class SigmoidBCEWithLogits(Function):
    def forward(self, x, y):
        xp = get_array_module(x)
        self.x, self.y = x, y
        elementwise = xp.maximum(x, 0) - x * y + xp.log1p(xp.exp(-xp.abs(x)))
        return xp.asarray(elementwise.mean())

    def backward(self, gy):
        # d/dx [ln(1 + e^-x) + (1 - y) x] = -e^-x / (1 + e^-x) + 1 - y = sigmoid(x) - y,
        # divided by N for the mean.  d/dy = -x / N (targets rarely need it, but it is exact).
        n = self.x.size
        gx = gy * ((stable_sigmoid(self.x) - self.y) / n) if self.needs_grad[0] else None
        # sum_to: a one-number target (a 0-d Tensor) was broadcast over all N logits.
        g_target = sum_to(gy * (-self.x / n), self.y.shape) if self.needs_grad[1] else None
        return gx, g_target


class BinaryCrossEntropy(Function):
    def __init__(self, eps):
        self.eps = eps

    def forward(self, p, y):
        xp = get_array_module(p)
        self.p, self.y = p, y
        self.q = xp.clip(p, self.eps, 1 - self.eps)
        return xp.asarray(-(y * xp.log(self.q) + (1 - y) * xp.log(1 - self.q)).mean())

    def backward(self, gy):
        # d/dq -[y ln q + (1-y) ln(1-q)] = -y/q + (1-y)/(1-q) = (q - y) / (q (1 - q)),
        # times dq/dp = 1 inside [eps, 1-eps] and 0 where the clip is active.
        inside = ((self.p >= self.eps) & (self.p <= 1 - self.eps)).astype(self.q.dtype)
        n = self.p.size
        gp = None
        if self.needs_grad[0]:
            gp = gy * inside * (self.q - self.y) / (self.q * (1 - self.q) * n)
        g_target = None
        if self.needs_grad[1]:
            xp = get_array_module(self.q)
            g_target = sum_to(gy * (xp.log(1 - self.q) - xp.log(self.q)) / n, self.y.shape)
        return gp, g_target


def _check_targets(name, prediction, target):
    shape = getattr(target, "shape", ())
    if shape != () and shape != prediction.shape:
        raise ValueError(f"{name}: targets must be a number or have the predictions' shape "
                         f"{prediction.shape}, got shape {shape}")


def sigmoid_binary_cross_entropy(logits, targets):
    """Mean BCE of sigmoid(logits) against targets (a number such as 1.0, or a same-shape array
    or Tensor), computed stably from the logits. Gradient: (sigmoid(logits) - targets) / N."""
    _check_targets("sigmoid_binary_cross_entropy", logits, targets)
    return SigmoidBCEWithLogits()(logits, targets)


def binary_cross_entropy(probs, targets, eps=1e-7):
    """Mean BCE of probabilities (e.g. a sigmoid output) against targets, probabilities clipped
    to [eps, 1 - eps] as Keras does. Prefer :func:`sigmoid_binary_cross_entropy`."""
    _check_targets("binary_cross_entropy", probs, targets)
    return BinaryCrossEntropy(eps)(probs, targets)
