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
  ``binary_crossentropy`` of the seed tutorials). It must clip p to [eps, 1 - eps]: from a logit
  of 17 on, float32 rounds p to exactly 1 (and below about -104 to exactly 0), and ln 0 = -inf.
  Clipped, the loss is capped at -ln(eps) and the gradient is zero: a saturated D stops
  teaching G. Kept to show and compare.

Both average over all elements (the minibatch mean of Algorithm 1).

For K > 2 classes (a discriminator that also names the class, as in AC-GAN),
:func:`softmax_cross_entropy` takes logits (N, K) and integer labels (N,): the K-class
generalisation of the logits BCE, with gradient softmax(x) - onehot(y) per sample.
"""
from ..backend import get_array_module
from .activations import stable_sigmoid
from .arithmetic import sum_to
from .embedding import check_indices
from ..tensor import Function, Tensor, apply
from .arithmetic import Exp


class SigmoidBCEWithLogits(Function):
    twice_differentiable = True

    def forward(self, x, y):
        xp = get_array_module(x)
        self.saved = x, y
        elementwise = xp.maximum(x, 0) - x * y + xp.log1p(xp.exp(-xp.abs(x)))
        return elementwise.mean()

    def backward(self, gy):
        # d/dx [ln(1 + e^-x) + (1 - y) x] = -e^-x / (1 + e^-x) + 1 - y = sigmoid(x) - y,
        # divided by N for the mean.  d/dy = -x / N (targets rarely need it, but it is exact).
        x, y = self.saved
        n = x.size
        gx = gy * ((stable_sigmoid(x) - y) / n) if self.needs_grad[0] else None
        # sum_to: a one-number target (a 0-d Tensor) was broadcast over all N logits.
        g_target = sum_to(gy * (-x / n), y.shape) if self.needs_grad[1] else None
        return gx, g_target


def sigmoid_binary_cross_entropy(logits, targets):
    """Mean BCE of sigmoid(logits) against targets (a number such as 1.0, or a same-shape array
    or Tensor), computed stably from the logits. Gradient: (sigmoid(logits) - targets) / N."""
    _check_targets("sigmoid_binary_cross_entropy", logits, targets)
    return SigmoidBCEWithLogits()(logits, targets)


class BinaryCrossEntropy(Function):
    def __init__(self, eps):
        self.eps = eps

    def forward(self, p, y):
        xp = get_array_module(p)
        self.p, self.y = p, y
        self.q = xp.clip(p, self.eps, 1 - self.eps)
        return -(y * xp.log(self.q) + (1 - y) * xp.log(1 - self.q)).mean()

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


def binary_cross_entropy(probs, targets, eps=1e-7):
    """Mean BCE of probabilities (e.g. a sigmoid output) against targets, probabilities clipped
    to [eps, 1 - eps] as Keras does. Prefer :func:`sigmoid_binary_cross_entropy`."""
    _check_targets("binary_cross_entropy", probs, targets)
    return BinaryCrossEntropy(eps)(probs, targets)


def _check_targets(name, prediction, target):
    shape = getattr(target, "shape", ())
    if shape != () and shape != prediction.shape:
        raise ValueError(f"{name}: targets must be a number or have the predictions' shape "
                         f"{prediction.shape}, got shape {shape}")


# --- softmax cross-entropy: K classes ------------------------------------------------------------

class SoftmaxCrossEntropy(Function):
    """Mean over the batch of -ln softmax(x_i)[y_i], for logits x (N, K) and labels y (N,)."""
    twice_differentiable = True

    def forward(self, x, labels):
        xp = get_array_module(x)
        n = x.shape[0]
        # With p = softmax(x_i), p_k = e^x_ik / sum_j e^x_ij, the loss of sample i is
        #     -ln p_y = -x_iy + ln sum_j e^x_ij = lse(x_i) - x_iy      (lse: log-sum-exp).
        # e^1000 overflows (float64 too), so shift each row by its maximum m_i first:
        #     lse(x_i) = m_i + ln sum_j e^(x_ij - m_i),
        # exact for any m_i; with m_i = max_j x_ij every exponent is <= 0 and the largest is
        # e^0 = 1, so the sum lies in [1, K]: no overflow, and its log never sees 0.
        # In shifted terms, loss_i = ln sum_j e^z_ij - z_iy with z_i = x_i - m_i.
        z = x - x.max(axis=1, keepdims=True)
        rows = xp.arange(n)
        e = xp.exp(z)
        total = e.sum(axis=1, keepdims=True)                   # sum_j e^z_ij, in [1, K]
        loss = (xp.log(total).reshape(n) - z[rows, labels]).mean()
        self.saved = (x,)
        self.onehot = xp.zeros(x.shape, dtype=x.dtype)
        self.onehot[rows, labels] = 1                          # one 1 per row
        return loss

    def backward(self, gy):
        (x,) = self.saved
        # d lse(x_i) / dx_ik = e^x_ik / sum_j e^x_ij = p_ik, and d x_iy / dx_ik = [k == y_i], so
        #     d loss_i / dx_ik = p_ik - onehot(y_i)_k,
        # and with the mean over N samples:  dL/dx = (softmax(x) - onehot(y)) / N.
        # Each entry is in [-1/N, 1/N] whatever the logits: a confident wrong answer gets the
        # largest push, a confident right one (p_y -> 1) none.
        scale = gy / x.shape[0]
        return softmax(x) * scale - self.onehot * scale, None


def softmax(x):
    """softmax over axis 1 of an array or (in a recorded backward) a Tensor. Each row is shifted
    by its maximum first, a constant: softmax(x + c) = softmax(x), and every exponent is <= 0."""
    shift = (x.data if isinstance(x, Tensor) else x).max(axis=1, keepdims=True)
    e = apply(Exp(), x - shift)
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of softmax(logits) against integer class labels.

    logits: a float Tensor (N, K), the unnormalised scores of K classes (no softmax before it);
    labels: integers in [0, K), shape (N,), a Tensor or array. Stable at any logit (log-sum-exp).
    Gradient: (softmax(logits) - onehot(labels)) / N.
    """
    name = "softmax_cross_entropy"
    if not isinstance(logits, Tensor):
        raise TypeError(f"{name}: expected logits as a Tensor, got {type(logits).__name__}")
    if logits.ndim != 2 or logits.shape[0] == 0 or logits.shape[1] == 0:
        raise ValueError(f"{name}: expected logits of shape (batch, classes), both at least 1, "
                         f"got {logits.shape}")
    if logits.dtype.kind != "f":
        raise TypeError(f"{name}: expected floating point logits, got dtype {logits.dtype}")
    n, k = logits.shape
    data = check_indices(name, labels, k, what="label")
    if data.shape != (n,):
        raise ValueError(f"{name}: expected one label per sample, shape ({n},), got labels of "
                         f"shape {data.shape}")
    return SoftmaxCrossEntropy()(logits, labels)
