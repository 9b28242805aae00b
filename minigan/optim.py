"""Optimisers: they change the parameters they were given, and only those.

``step()`` visits each of its parameters that has a gradient and calls ``update_one(p)``, which
holds the update rule. Updates write into ``p.data`` in place (the Tensor objects the model holds
are the same ones the optimiser holds). A GAN has two optimisers, one per network: the G
optimiser cannot move D's weights, whatever gradients D's parameters may carry.

Because the update is in place, ``step()`` also calls ``p.mark_modified()`` on each updated
parameter: a graph built before the step still holds the old arrays' *objects*, now with new
values, and backward() through it raises instead of returning a gradient for weights that no
longer exist (see minigan/inplace.py). A subclass that overrides step() must do the same.

Adam first (the GAN's optimiser), then SGD, then how an optimiser's state is saved. A
hyperparameter (lr, Adam's betas and eps, SGD's momentum) is checked whenever it is set: at
construction, and later (``opt.lr = 1e-3``, as a learning-rate schedule does).
"""
import math
import numbers

from . import backend
from .arguments import check_positive
from .backend import get_array_module
from .fast import adam as flat_adam
from .tensor import Tensor


class Optimizer:
    def __init__(self, params, lr):
        self.params = list(params)
        self.t = 0               # calls to step()
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        self.lr = check_positive(type(self).__name__, "lr", lr)
        self.state = {}          # id(param) -> that parameter's state: a list of arrays/numbers

    def zero_grad(self):
        """Forget accumulated gradients: backward() adds to .grad, it never resets it."""
        for p in self.params:
            p.grad = None

    def step(self):
        self.t += 1
        _plain_gradients(self.params)
        for p in self.params:
            if p.grad is not None:
                self.update_one(p)
                p.mark_modified()   # p.data changed in place: graphs that used it are stale

    def update_one(self, p):
        raise NotImplementedError

    def state_dict(self):
        """The state for a checkpoint, by parameter position, as host arrays (see below)."""
        return state_dict(self)

    def load_state_dict(self, state):
        """Restore a state_dict() onto these parameters (same order, same shapes)."""
        return load_state_dict(self, state)

    # --- the learning rate, checked whenever it is set ----------------------------------------
    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        """A schedule (gan/schedule.py) or the caller may change lr between steps: checked here,
        not at the next step, where NaN or inf would turn every weight into NaN. 0 is allowed
        (a linear decay ends there; the step then changes nothing); the constructor asks for
        more (> 0: a run that starts at 0 trains nothing)."""
        self._lr = check_hyperparameter(type(self).__name__, "lr", value)


def _plain_gradients(params):
    """A gradient left as a Tensor by backward(create_graph=True) is used for its values."""
    for p in params:
        if isinstance(p.grad, Tensor):
            p.grad = p.grad.data


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015) with GAN defaults lr 2e-4, betas (0.5, 0.999) from DCGAN.

    A lower b1 than the usual 0.9 lets the momentum follow the opponent's moves faster.

    flat: step all parameters together in two flat vectors when they can (minigan/fast/adam.py):
    the same numbers as update_one, in a dozen array operations per step instead of a dozen per
    parameter. False: always the plain loop below.
    """

    def __init__(self, params, lr=2e-4, betas=(0.5, 0.999), eps=1e-8, flat=True):
        super().__init__(params, lr)
        b1, b2 = betas
        if not (0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0):
            raise ValueError(f"Adam: betas must be in [0, 1), got {betas}")
        self.b1, self.b2 = b1, b2
        self.eps = check_positive("Adam", "eps", eps)
        self.flat = flat
        self.together = None     # fast.adam.FlatMoments while all parameters step together

    def update_one(self, p):
        """One parameter's update, as the paper writes it:

            m <- b1 m + (1 - b1) g            running mean of gradients
            v <- b2 v + (1 - b2) g^2          running mean of squared gradients
            p <- p - lr m_hat / (sqrt(v_hat) + eps),
                 m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)

        The bias corrections: m and v start at 0, so after t steps they are too small by the
        factors 1 - b1^t and 1 - b2^t. t counts this parameter's own updates, not the calls to
        step(): a parameter that joins late (after being frozen, say) must not take oversized
        first steps."""
        xp = get_array_module(p.data)
        m, v, t = self.state.get(id(p)) or (xp.zeros_like(p.data), xp.zeros_like(p.data), 0)
        g, t = p.grad, t + 1
        m = self.b1 * m + (1 - self.b1) * g
        v = self.b2 * v + (1 - self.b2) * (g * g)
        # The corrections applied to the scalars (as PyTorch does): lr / (1 - b1^t) and
        # sqrt(v_hat) = sqrt(v) / sqrt(1 - b2^t).
        step_size = self.lr / (1 - self.b1 ** t)
        denominator = xp.sqrt(v) * (1 / math.sqrt(1 - self.b2 ** t)) + self.eps
        p.data -= step_size * (m / denominator)
        self.state[id(p)] = [m, v, t]

    def step(self):
        _plain_gradients(self.params)
        if self.flat and flat_adam.step_together(self):
            return
        self.together = None     # update_one makes new m and v: rebuild the flat ones next time
        super().step()

    def load_state_dict(self, state):
        self.together = None     # the restored arrays replace the flat vectors' views
        return super().load_state_dict(state)

    # --- the other hyperparameters, checked whenever they are set, as lr is ------------------
    # b1 or b2 = 1 would divide by 1 - b^t = 0; eps = 0 gives 0 / 0 where a gradient stays 0.
    @property
    def b1(self):
        return self._b1

    @b1.setter
    def b1(self, value):
        self._b1 = check_hyperparameter(type(self).__name__, "b1 (betas[0])", value, below=1)

    @property
    def b2(self):
        return self._b2

    @b2.setter
    def b2(self, value):
        self._b2 = check_hyperparameter(type(self).__name__, "b2 (betas[1])", value, below=1)

    @property
    def eps(self):
        return self._eps

    @eps.setter
    def eps(self, value):
        self._eps = check_positive(type(self).__name__, "eps", value)


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

    # --- momentum, checked whenever it is set, as lr is --------------------------------------
    @property
    def momentum(self):
        return self._momentum

    @momentum.setter
    def momentum(self, value):
        self._momentum = check_hyperparameter(type(self).__name__, "momentum", value, below=1)


# --- checkpoints: an optimiser's state by parameter position, as host arrays -------------------

def state_dict(optimizer):
    """{"<i>.<j>": host array}: item j of the state of parameter number i (in the order the
    optimiser was given them), plus "steps"."""
    out = {"steps": backend.to_numpy(optimizer.t)}
    for i, p in enumerate(optimizer.params):
        for j, item in enumerate(optimizer.state.get(id(p), ())):
            out[f"{i}.{j}"] = backend.to_numpy(item).copy()
    return out


def load_state_dict(optimizer, state):
    """Restore a state_dict() onto these parameters (same order, same shapes)."""
    optimizer.t = int(state["steps"])
    optimizer.state = {}
    for i, p in enumerate(optimizer.params):
        items = [state[f"{i}.{j}"] for j in range(len(state)) if f"{i}.{j}" in state]
        restored = []
        for item in items:
            if item.ndim == 0:                       # a count, e.g. Adam's t
                restored.append(int(item))
            elif item.shape != p.shape:
                raise ValueError(f"{type(optimizer).__name__}.load_state_dict: state of parameter "
                                 f"{i} has shape {item.shape}, the parameter {p.shape}")
            else:
                restored.append(backend.to_device(item.astype(p.dtype), p.device))
        if restored:
            optimizer.state[id(p)] = restored
    return optimizer


# --- the hyperparameters' check, when set at construction or later ------------------------------

def check_hyperparameter(owner, name, value, below=math.inf):
    """`value` if it is a finite number in [0, below); else a ValueError naming the optimiser,
    e.g. "Adam: lr must be a finite number >= 0, got -1". NaN fails every comparison, hence
    isfinite; a bool is refused, though Python counts True as 1."""
    if (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            and 0 <= value < below):
        return value
    expected = ">= 0" if below == math.inf else f"in [0, {below:g})"
    raise ValueError(f"{owner}: {name} must be a finite number {expected}, got {value!r}")
