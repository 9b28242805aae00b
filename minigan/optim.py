"""Optimisers: they change the parameters they were given, and only those.

``step()`` visits each of its parameters that has a gradient and calls ``update_one(p)``, which
holds the update rule. Updates write into ``p.data`` in place (the Tensor objects the model holds
are the same ones the optimiser holds). A GAN has two optimisers, one per network: the G
optimiser cannot move D's weights, whatever gradients D's parameters may carry.

Because the update is in place, ``step()`` also calls ``p.mark_modified()`` on each updated
parameter: a graph built before the step still holds the old arrays' *objects*, now with new
values, and backward() through it raises instead of returning a gradient for weights that no
longer exist (see minigan/tensor.py). A subclass that overrides step() must do the same.
"""
import itertools
import math

from . import backend
from .backend import get_array_module


FLUSH_EVERY = 8        # Adam: steps between flushes of subnormal moments on the CPU


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params)
        self.t = 0               # calls to step()
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if lr <= 0:
            raise ValueError(f"{type(self).__name__}: lr must be positive, got {lr}")
        self.lr = lr
        self.state = {}          # id(param) -> that parameter's state: a list of arrays/numbers

    def zero_grad(self):
        """Forget accumulated gradients: backward() adds to .grad, it never resets it."""
        for p in self.params:
            p.grad = None

    def step(self):
        self.t += 1
        for p in self.params:
            if p.grad is not None:
                self.update_one(p)
                p.mark_modified()   # p.data changed in place: graphs that used it are stale

    def update_one(self, p):
        raise NotImplementedError

    # --- checkpoints: the state by parameter position, as host arrays ----------------------------
    def state_dict(self):
        """{"<i>.<j>": host array}: item j of the state of parameter number i (in the order the
        optimiser was given them), plus "steps"."""
        out = {"steps": backend.to_numpy(self.t)}
        for i, p in enumerate(self.params):
            for j, item in enumerate(self.state.get(id(p), ())):
                out[f"{i}.{j}"] = backend.to_numpy(item).copy()
        return out

    def load_state_dict(self, state):
        """Restore a state_dict() onto these parameters (same order, same shapes)."""
        self.t = int(state["steps"])
        self.state = {}
        for i, p in enumerate(self.params):
            items = [state[f"{i}.{j}"] for j in range(len(state)) if f"{i}.{j}" in state]
            restored = []
            for item in items:
                if item.ndim == 0:                       # a count, e.g. Adam's t
                    restored.append(int(item))
                elif item.shape != p.shape:
                    raise ValueError(f"{type(self).__name__}.load_state_dict: state of parameter "
                                     f"{i} has shape {item.shape}, the parameter {p.shape}")
                else:
                    restored.append(backend.to_device(item.astype(p.dtype), p.device))
            if restored:
                self.state[id(p)] = restored
        return self


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
        if id(p) not in self.state:
            self.state[id(p)] = [get_array_module(p.data).zeros_like(p.data)]
        v = self.state[id(p)][0]
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
        self._flat = None        # (m, v, grad, work, bounds) while all step together: step()

    def step(self):
        """Update every parameter at once when they can be: each has a gradient, all share one
        device and dtype, and all have taken the same number of steps (the usual case). Their m
        and v then live in two flat vectors (each parameter's state holds views of its piece),
        so the update is a dozen array operations in all rather than a dozen per parameter:
        on the GPU each is a kernel launch, on the CPU a call with its fixed cost. The arithmetic
        is the same, element by element, so the numbers are the same as one at a time."""
        grads = [p.grad for p in self.params]
        if any(g is None for g in grads) or not self._step_together_ready():
            self._flat = None    # one at a time (some parameters skip this step, or their
            return super().step()                         # counts differ): rebuild next time
        self.t += 1
        m, v, grad, work, bounds = self._flat
        t = self.state[id(self.params[0])][2] + 1
        get_array_module(grad).concatenate([g.ravel() for g in grads], out=grad)   # one copy
        step = self._step_from_moments(m, v, grad, t, out=work)
        for p, (start, stop) in zip(self.params, bounds):
            p.data -= step[start:stop].reshape(p.shape)
            self.state[id(p)][2] = t
            p.mark_modified()

    def _step_together_ready(self):
        """Build (or keep) the flat m and v; False when the parameters cannot step together."""
        if self._flat is not None:
            return True
        first = self.params[0].data
        xp = get_array_module(first)
        if any(p.data.dtype != first.dtype or get_array_module(p.data) is not xp
               for p in self.params):
            return False
        states = [self.state.get(id(p)) for p in self.params]
        if len({s[2] if s else 0 for s in states}) != 1:
            return False
        ends = list(itertools.accumulate(p.data.size for p in self.params))
        bounds = list(zip([0] + ends[:-1], ends))       # parameter i is flat[start:stop]
        flat = []
        for k in (0, 1):                          # m, then v: the saved ones, or zeros
            flat.append(xp.concatenate([s[k].ravel() if s else xp.zeros(p.data.size, first.dtype)
                                        for p, s in zip(self.params, states)]))
        m, v = flat
        for p, s, (start, stop) in zip(self.params, states, bounds):
            self.state[id(p)] = [m[start:stop].reshape(p.shape), v[start:stop].reshape(p.shape),
                                 s[2] if s else 0]
        # and two work vectors of the same size, reused every step (no temporaries to allocate)
        self._flat = (m, v, xp.empty_like(m), xp.empty_like(m), bounds)
        return True

    def load_state_dict(self, state):
        self._flat = None        # the restored arrays replace the flat vectors' views
        return super().load_state_dict(state)

    def update_one(self, p):
        xp = get_array_module(p.data)
        if id(p) not in self.state:
            self.state[id(p)] = [xp.zeros_like(p.data), xp.zeros_like(p.data), 0]
        state = self.state[id(p)]
        # t counts this parameter's own updates: m and v started at 0 on its first gradient, so
        # the bias corrections use that count, not the number of step() calls (a parameter
        # that joins late, e.g. after being frozen, would otherwise take oversized first steps).
        state[2] += 1
        m, v, t = state
        p.data -= self._step_from_moments(m, v, p.grad, t, out=xp.empty_like(m))

    def _step_from_moments(self, m, v, g, t, out):
        """Update m and v in place with gradient g; return lr * m_hat / (sqrt(v_hat) + eps),
        computed in `out` (every operation writes into m, v or out: no temporaries)."""
        xp = get_array_module(m)
        m *= self.b1
        m += xp.multiply(g, 1 - self.b1, out=out)         # m <- b1 m + (1 - b1) g
        v *= self.b2
        out = xp.multiply(g, g, out=out)
        out *= 1 - self.b2
        v += out                                           # v <- b2 v + (1 - b2) g^2
        if t % FLUSH_EVERY == 0 and not backend.launches_dominate(xp):
            # A weight whose gradient stays exactly 0 (a dead ReLU unit's) has m shrink by b1
            # per step, into float32's subnormal range (below 1.2e-38) within ~800 steps, and
            # through it in 23 / log2(1 / b1) more (150 for b1 = 0.9). x86 CPUs compute on
            # subnormals some 50 times slower (measured: 165 us against 3 us for 42 000
            # multiplies): W1 spent a quarter of its step there. Such an m moves its weight by
            # ~lr 1e-38 / eps, nothing; so every FLUSH_EVERY steps, set it (and v) to 0. Not
            # every step: the check is five passes over the state, a cost for big networks.
            # (GPUs handle subnormals at full speed: there it would only add kernel launches.)
            tiny = xp.finfo(m.dtype).tiny
            xp.copyto(m, 0, where=xp.abs(m, out=out) < tiny)
            xp.copyto(v, 0, where=v < tiny)
        # lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
        denom = xp.sqrt(v, out=out)
        denom *= 1.0 / math.sqrt(1 - self.b2 ** t)
        denom += self.eps
        step = xp.divide(m, denom, out=out)
        step *= self.lr / (1 - self.b1 ** t)
        return step
