"""Optimisers: they change the parameters they were given, and only those.

``step()`` visits each of its parameters that has a gradient and calls ``update_one(p)``, which
holds the update rule. Updates write into ``p.data`` in place (the Tensor objects the model holds
are the same ones the optimiser holds). A GAN has two optimisers, one per network: the G
optimiser cannot move D's weights, whatever gradients D's parameters may carry.
"""
import math

from .backend import get_array_module


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if lr <= 0:
            raise ValueError(f"{type(self).__name__}: lr must be positive, got {lr}")
        self.lr = lr
        self.state = {}          # id(param) -> that parameter's optimiser state (momenta...)

    def zero_grad(self):
        """Forget accumulated gradients: backward() adds to .grad, it never resets it."""
        for p in self.params:
            p.grad = None

    def step(self):
        for p in self.params:
            if p.grad is not None:
                self.update_one(p)

    def update_one(self, p):
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with (classical) momentum, as in Goodfellow et al. 2014:

        v <- momentum * v - lr * g
        p <- p + v
    """

    def __init__(self, params, lr=0.01, momentum=0.0):
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: momentum must be in [0, 1), got {momentum}")
        self.momentum = momentum

    def update_one(self, p):
        if self.momentum == 0.0:
            p.data -= self.lr * p.grad
            return
        v = self.state.get(id(p))
        if v is None:
            v = self.state[id(p)] = get_array_module(p.data).zeros_like(p.data)
        v *= self.momentum
        v -= self.lr * p.grad
        p.data += v


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with GAN defaults lr 2e-4, betas (0.5, 0.999) from DCGAN.

        m <- b1 m + (1 - b1) g            running mean of gradients
        v <- b2 v + (1 - b2) g^2          running mean of squared gradients
        p <- p - lr * m_hat / (sqrt(v_hat) + eps),
             m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)   (bias corrections: m, v start at 0)

    A lower b1 than the usual 0.9 lets the momentum follow the opponent's moves faster.
    """

    def __init__(self, params, lr=2e-4, betas=(0.5, 0.999), eps=1e-8):
        super().__init__(params, lr)
        self.b1, self.b2 = betas
        if not (0.0 <= self.b1 < 1.0 and 0.0 <= self.b2 < 1.0):
            raise ValueError(f"Adam: betas must be in [0, 1), got {betas}")
        self.eps = eps
        self.t = 0               # calls to step(), for information

    def step(self):
        self.t += 1
        super().step()

    def update_one(self, p):
        xp = get_array_module(p.data)
        g = p.grad
        if id(p) not in self.state:
            self.state[id(p)] = [xp.zeros_like(p.data), xp.zeros_like(p.data), 0]
        state = self.state[id(p)]
        # t counts this parameter's own updates: m and v started at 0 on its first gradient, so
        # the bias corrections use that count, not the number of step() calls (a parameter
        # that joins late, e.g. after being frozen, would otherwise take oversized first steps).
        state[2] += 1
        m, v, t = state
        m *= self.b1
        m += (1 - self.b1) * g
        v *= self.b2
        v += (1 - self.b2) * (g * g)
        # p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps), with in-place temporaries
        denom = xp.sqrt(v)
        denom *= 1.0 / math.sqrt(1 - self.b2 ** t)
        denom += self.eps
        step = m / denom
        step *= self.lr / (1 - self.b1 ** t)
        p.data -= step
