"""Optimisers: they change the parameters they were given, and only those.

``step()`` visits each of its parameters that has a gradient g and calls ``update_one(p)``, which
holds the rule. Adam (Kingma & Ba 2015), the GAN's optimiser, at a parameter's t-th update:

    m <- b1 m + (1 - b1) g                      running mean of the gradients
    v <- b2 v + (1 - b2) g^2                    running mean of their squares
    m_hat = m / (1 - b1^t)                      bias corrections: m and v start at 0, so after
    v_hat = v / (1 - b2^t)                      t updates they are too small by these factors
    p <- p - lr m_hat / (sqrt(v_hat) + eps)

SGD with momentum (Goodfellow et al. 2014): v <- momentum v - lr g, then p <- p + v. Updates write
into ``p.data`` in place: the model and the optimiser hold the same Tensor objects. A GAN has two
optimisers, one per network: the G optimiser cannot move D's weights, whatever gradients D's
parameters may carry.

What runs by default: ``Adam(flat=True)`` steps all its parameters at once in two flat vectors
(minigan/fast/adam.py), the same parameter updates in a dozen array operations per step instead
of a dozen per parameter, except that on the CPU it also sets subnormal moments to 0 now and then
(``Adam.step`` says exactly what that changes). ``Adam(flat=False)`` runs ``update_one`` below.
"""
import math
import numbers

from . import backend
from .arguments import check_positive
from .backend import get_array_module
from .fast import adam as flat_adam
from .tensor import Tensor


class Optimizer:
    """What every optimiser shares: the step loop. A subclass writes update_one(p)."""

    def __init__(self, params, lr):
        self.params = list(params)
        self.steps = 0           # calls to step(); Adam's t is each parameter's own count
        if not self.params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        self.lr = check_positive(type(self).__name__, "lr", lr)
        self.state = {}          # id(param) -> that parameter's state: a list of arrays/numbers

    def zero_grad(self):
        """Forget accumulated gradients: backward() adds to .grad, it never resets it."""
        for p in self.params:
            p.grad = None

    def step(self):
        """update_one(p) for each parameter that has a gradient.

        The update is in place, so each updated parameter is marked modified: a graph built
        before the step still holds the old arrays' *objects*, now with new values, and
        backward() through it raises instead of returning a gradient for weights that no longer
        exist (minigan/inplace.py). A subclass that overrides step() must do the same."""
        self.steps += 1
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

    # --- the old name of `steps`, kept for code written before the rename -----------------------
    @property
    def t(self):
        """Calls to step(): read `steps` instead (Adam's t in update_one is each parameter's)."""
        return self.steps

    # --- the learning rate, checked whenever it is set ----------------------------------------
    # A hyperparameter (lr here; Adam's betas and eps, SGD's momentum below) is checked whenever
    # it is set: at construction, and later (``opt.lr = 1e-3``, as a learning-rate schedule does).
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

    flat: True (the default), step all parameters at once when they can (step() below; on the
    CPU that saves about a tenth of a W1 training step); False, update_one for each parameter.
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
        """One parameter's update, the rule of the module docstring.

        t is the paper's t: the updates this parameter has had, kept in its state with m and v.
        It is not the calls to step() (`steps`): a parameter that joins late (after being
        frozen, say) starts at t = 1. Counted from the first step() instead, its corrections
        would be ~1 and its first steps oversized (v is too small by 1 - b2, m only by 1 - b1).

        With flat=True (the default) this runs only when the parameters cannot step together:
        step() says what runs instead, and how its numbers compare."""
        xp = get_array_module(p.data)
        m, v, t = self.state.get(id(p)) or (xp.zeros_like(p.data), xp.zeros_like(p.data), 0)
        g, t = p.grad, t + 1
        m = self.b1 * m + (1 - self.b1) * g
        v = self.b2 * v + (1 - self.b2) * (g * g)
        # m_hat and v_hat, their corrections moved onto two numbers (as PyTorch does):
        #     lr m_hat / (sqrt(v_hat) + eps)
        #       = lr (m / (1 - b1^t)) / (sqrt(v) / sqrt(1 - b2^t) + eps)
        #       = [lr / (1 - b1^t)] m / (sqrt(v) [1 / sqrt(1 - b2^t)] + eps)
        # Equal in exact arithmetic (float32 may round the two forms apart in the last bit);
        # the bracketed factors are Python floats, which saves two array divisions.
        step_size = self.lr / (1 - self.b1 ** t)                    # lr m_hat = step_size m
        sqrt_v_hat = xp.sqrt(v) * (1 / math.sqrt(1 - self.b2 ** t))  # sqrt(v / (1 - b2^t))
        p.data -= step_size * (m / (sqrt_v_hat + self.eps))
        self.state[id(p)] = [m, v, t]

    def step(self):
        """update_one for each parameter (Optimizer.step), or, with flat=True, all of them at
        once in two flat vectors (minigan/fast/adam.py) when they can: each has a gradient, all
        share one device and dtype, all have the same t.

        The flat path does update_one's operations in the same order, so its parameters, m and
        v are update_one's, bit for bit, with one exception. On the CPU, at every FLUSH_EVERY-th
        update (fast/adam.py) it sets to 0 the moments below the dtype's smallest normal number
        (1.2e-38 for float32: subnormals, which many CPUs compute on slowly), where update_one
        keeps them (~1e-40). What that changes, exactly: those m and v entries (0 against a
        subnormal). The parameters can differ only where so small a difference reaches the last
        bit of a number it is added to: a weight within about 1e-30 lr / eps of 0 (a subnormal
        m moves a weight by under 1.2e-38 lr / eps), or a gradient that comes back below about
        1e-13 after its moments were flushed. Else they are bit-identical, and on the GPU the
        flat path is update_one's throughout (tests/test_fast.py: a dead unit's flush)."""
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
    out = {"steps": backend.to_numpy(optimizer.steps)}
    for i, p in enumerate(optimizer.params):
        for j, item in enumerate(optimizer.state.get(id(p), ())):
            out[f"{i}.{j}"] = backend.to_numpy(item).copy()
    return out


def load_state_dict(optimizer, state):
    """Restore a state_dict() onto these parameters (same order, same shapes)."""
    optimizer.steps = int(state["steps"])
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
