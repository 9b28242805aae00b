"""Reverse-mode automatic differentiation: the Tensor, the Function, and backward().

A :class:`Tensor` holds an array (NumPy or CuPy). When a :class:`Function` computes a tensor
from tensors that require gradients, it records itself as the result's ``creator`` and keeps its
inputs. Those links form a directed acyclic graph from the loss back to the leaves (parameters
and inputs). ``loss.backward()`` walks that graph from the loss towards the leaves and applies
the chain rule at every Function:

    dL/dx_i = sum over the uses of x_i of  (dy/dx_i)^T dL/dy,

which each Function computes in its ``backward(gy)``: it receives gy = dL/dy and returns one
gradient per input. Each rule sits next to its forward in ``functions.py``.

When do gradients accumulate, and when are they cleared?
- Inside one backward(), the gradients of every use of a tensor are summed (``b = a + a`` gives
  ``a.grad == 2``): that is the chain rule's sum over paths, not an accident.
- Across calls, a leaf's ``.grad`` keeps accumulating: a second backward() *adds* to it.
  Nothing clears it but you: ``module.zero_grad()`` / ``optimizer.zero_grad()`` (which set it
  to None). In a GAN, clear before each backward, or D's gradient from the G step leaks into
  its next update.
- Gradients of intermediate tensors are freed as soon as they have been passed on.

Gradient arrays are never modified in place, by the engine or the optimisers, so one array may
safely be shared (``add`` hands the same ``gy`` to both of its inputs).

Why the version counter? Functions keep their input *arrays* for backward (Linear keeps W to
compute dL/dx = gy W^T). An optimiser step updates ``p.data`` in place, so a step taken between a
forward pass and its backward() changes the arrays the graph saved: the gradient would be
computed from the new weights, not the ones that produced the loss, and nothing would look
wrong. So every in-place update minigan makes (optimiser steps, ``Module.load_state_dict``/
``to``/``astype``) goes through ``Tensor.mark_modified()``, and backward() refuses to run through
a Function whose inputs were modified after it used them, naming the tensor. The classic GAN
mistake it catches: calling ``d_optimizer.step()`` before ``loss_g.backward()`` on a graph that
went through D.

How, cheaply: a global counter ``_clock`` ticks at every in-place update, and the tensor notes
the tick (``_changed_at``) beside its own count of updates (``_version``). A Function notes the
clock when it records the graph (``recorded_at``): an input changed after that iff its
``_changed_at > recorded_at``. backward() compares one number per Function (recorded_at against
the clock now) and looks at the inputs only when something has changed since; in a correct loop
nothing has, so the guard costs two attribute accesses per operation, not a list of versions
per operation (which measured ~3 % of a small MLP step).
"""
import contextlib

from . import backend

# --- the no_grad switch -------------------------------------------------------------------------
# A global flag, not a per-tensor one: inside ``with no_grad():`` functions compute their outputs
# but record nothing, so no graph is built and nothing is kept alive for a backward pass.
_grad_enabled = True


@contextlib.contextmanager
def no_grad():
    """Compute without recording the graph (sampling, evaluation, the D step's fake batch)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled():
    return _grad_enabled


# --- the version clock (see the module docstring) ------------------------------------------------
# Ticks at every in-place update made through Tensor.mark_modified(). Only ever increases.
_clock = 0


# --- the tracer's hook ----------------------------------------------------------------------------
# None, or a function hook(tensor, grad) that backward() calls for every tensor it reaches, in
# the order it processes them, with the tensor's complete gradient. One `is not None` test per
# node when unused.
_backward_hook = None


@contextlib.contextmanager
def backward_hook(hook):
    """Within the block, call hook(tensor, grad) for every tensor each backward() reaches."""
    global _backward_hook
    previous, _backward_hook = _backward_hook, hook
    try:
        yield
    finally:
        _backward_hook = previous


class Tensor:
    """An array plus what autograd needs: ``grad``, ``requires_grad`` and ``creator``.

    ``_version`` counts the in-place updates minigan made to ``data`` (see the module docstring),
    ``_changed_at`` is the version clock's tick at the last one; both are class attributes 0
    until the first update gives the tensor its own, so creating a tensor costs nothing extra.
    Writing into ``t.data`` yourself (``t.data += 1``, ``t.data[0] = 5``, ``t.data = other``)
    cannot be detected: minigan does not watch the array. Code that does so between a forward
    pass and its backward() should call ``t.mark_modified()`` after, as the optimisers do, to
    get the same protection.
    """

    # Let ``numpy_array * tensor`` call Tensor.__rmul__ instead of NumPy looping over the tensor.
    __array_ufunc__ = None

    _version = 0      # in-place updates so far; an instance attribute from the first one on
    _changed_at = 0   # the version clock at the last of them

    def __init__(self, data, requires_grad=False, name=None):
        if requires_grad and data.dtype.kind != "f":
            raise TypeError(f"Tensor{'' if name is None else ' ' + repr(name)}: only floating "
                            f"point tensors can require gradients, got dtype {data.dtype}")
        self.data = data                  # the NumPy or CuPy array
        self.grad = None                  # dL/d(this tensor), an array like data, after backward()
        self.requires_grad = requires_grad
        self.creator = None               # the Function that computed this tensor (None: a leaf)
        self.name = name                  # for error messages; Module.parameters() names its own

    # --- array facts -------------------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return self.data.size

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return backend.device_of(self.data)

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        extra = ", requires_grad=True" if self.requires_grad else ""
        if self.creator is not None:
            extra += f", creator={type(self.creator).__name__}"
        return (f"Tensor(shape={self.shape}, dtype={self.dtype}, device={self.device!r}{extra})\n"
                f"{backend.to_numpy(self.data)}")

    # --- leaving the graph ---------------------------------------------------------------------
    def detach(self):
        """The same values as a new leaf with no history: backward() stops here."""
        return Tensor(self.data)

    def numpy(self):
        """A host NumPy copy (for printing, plotting and saving): later in-place updates of the
        tensor, such as an optimiser step, do not change it."""
        host = backend.to_numpy(self.data)
        return host.copy() if host is self.data else host

    def item(self):
        """The value of a one-element tensor as a Python float."""
        if self.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return float(backend.to_numpy(self.data).reshape(()))

    def to(self, device):
        """A copy on `device` ("cpu" or "gpu"); a leaf, keeping requires_grad."""
        return Tensor(backend.to_device(self.data, device), requires_grad=self.requires_grad,
                      name=self.name)

    def mark_modified(self):
        """Record that ``data`` was just changed in place (or replaced): graphs that used this
        tensor before are stale, and backward() through them raises instead of computing a
        gradient from the new values."""
        global _clock
        _clock += 1
        self._version += 1
        self._changed_at = _clock

    # --- backward --------------------------------------------------------------------------------
    def backward(self, grad=None):
        """Fill ``.grad`` of every leaf this tensor depends on with dself/dleaf.

        ``grad`` is dL/dself for some outer L; it may be omitted when self has one element
        (a loss), meaning dL/dself = 1.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require gradients (it was made "
                               "under no_grad(), from detached tensors, or from constants only)")
        xp = backend.get_array_module(self.data)
        if grad is None:
            if self.size != 1:
                raise ValueError(f"backward() without a gradient needs a one-element tensor "
                                 f"(a loss), got shape {self.shape}; pass grad= explicitly")
            grad = xp.ones_like(self.data)
        elif grad.shape != self.shape:
            raise ValueError(f"backward(grad): grad has shape {grad.shape}, expected {self.shape}")

        # 1. Count, for every tensor in the graph, how many uses will send it a gradient.
        #    An explicit stack, not recursion: a graph thousands of ops deep must not hit
        #    Python's recursion limit.
        #    This walk also checks that no input of a Function was modified in place since the
        #    Function used it (see the module docstring), before any gradient is computed.
        now = _clock
        pending_uses = {}
        stack, seen = [self], {id(self)}
        while stack:
            t = stack.pop()
            f = t.creator
            if f is None:
                continue
            if f.recorded_at != now:        # something changed in place since f ran: its inputs?
                _check_inputs_unchanged(f)
            for x, needs in zip(f.inputs, f.needs_grad):
                if needs:
                    pending_uses[id(x)] = pending_uses.get(id(x), 0) + 1
                    if id(x) not in seen:
                        seen.add(id(x))
                        stack.append(x)

        # 2. Walk in reverse topological order: a tensor is processed only once every use of it
        #    has sent its gradient, so the sum over uses is complete (Kahn's algorithm).
        grads = {id(self): grad}
        ready = [self]
        while ready:
            t = ready.pop()
            gy = grads.pop(id(t))
            if _backward_hook is not None:          # the tracer's one way in (minigan.trace)
                _backward_hook(t, gy)
            f = t.creator
            if f is None:
                # A leaf: accumulate (see the module docstring for why accumulate).
                t.grad = gy if t.grad is None else t.grad + gy
                continue
            gxs = f.backward(gy)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            if len(gxs) != len(f.inputs):
                # zip() below would silently drop the missing gradients.
                raise RuntimeError(
                    f"Function {type(f).__name__} has a bug: its backward returned {len(gxs)} "
                    f"gradient(s) for {len(f.inputs)} input(s)")
            for x, gx, needs in zip(f.inputs, gxs, f.needs_grad):
                if not needs:
                    continue
                if gx is None or gx.shape != x.shape:
                    raise RuntimeError(
                        f"Function {type(f).__name__} has a bug: its backward returned a gradient "
                        f"of shape {None if gx is None else gx.shape} for an input of shape {x.shape}")
                key = id(x)
                grads[key] = gx if key not in grads else grads[key] + gx
                pending_uses[key] -= 1
                if pending_uses[key] == 0:
                    ready.append(x)

    # --- operators: thin wrappers, the work is in functions.py ---------------------------------
    def __add__(self, other):
        return F.add(self, other)

    def __radd__(self, other):
        return F.add(other, self)

    def __sub__(self, other):
        return F.sub(self, other)

    def __rsub__(self, other):          # other - self (not self - other!)
        return F.sub(other, self)

    def __mul__(self, other):
        return F.mul(self, other)

    def __rmul__(self, other):
        return F.mul(other, self)

    def __truediv__(self, other):
        return F.div(self, other)

    def __rtruediv__(self, other):      # other / self
        return F.div(other, self)

    def __neg__(self):
        return F.neg(self)

    def __pow__(self, exponent):
        return F.pow(self, exponent)

    def __matmul__(self, other):
        return F.matmul(self, other)

    def __rmatmul__(self, other):
        return F.matmul(other, self)

    def sum(self, axis=None, keepdims=False):
        return F.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return F.mean(self, axis, keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = shape[0]
        return F.reshape(self, tuple(shape))

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = axes[0]
        return F.transpose(self, tuple(axes) or None)

    @property
    def T(self):
        return F.transpose(self)

    def exp(self):
        return F.exp(self)

    def log(self):
        return F.log(self)

    def tanh(self):
        return F.tanh(self)

    def sigmoid(self):
        return F.sigmoid(self)

    def relu(self):
        return F.relu(self)


class Function:
    """One differentiable operation. Subclasses define

    - ``forward(*arrays) -> array``: the computation on raw arrays (NumPy or CuPy);
    - ``backward(gy) -> gradient or tuple of gradients``: dL/d(input) for each input, given
      gy = dL/d(output). ``self.needs_grad[i]`` says whether input i wants one (return None
      otherwise, and skip the work).

    Inputs may be Tensors or constants (Python numbers, arrays): constants are passed to forward
    unchanged and never get a gradient.

    When it records the graph, a Function also notes the version clock (``recorded_at``), for
    backward()'s check that no input was modified in place since.
    """

    def __call__(self, *inputs):
        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        if backend._cupy is not None:       # mixing devices is only possible once CuPy is loaded
            _check_one_device(type(self).__name__, arrays)
        y = self.forward(*arrays)
        out = Tensor(y)
        if _grad_enabled:
            needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
            if any(needs):
                self.inputs = inputs
                self.needs_grad = needs
                self.recorded_at = _clock       # for backward()'s version check
                out.requires_grad = True
                out.creator = self
        return out

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError


def _check_inputs_unchanged(f):
    """Raise if an input of f was modified in place after f recorded the graph.

    Every Tensor input counts, not only those needing a gradient: a frozen D's weights get no
    gradient, but Linear still uses them to compute dL/dx for G."""
    for i, x in enumerate(f.inputs):
        if isinstance(x, Tensor) and x._changed_at > f.recorded_at:
            break
    else:
        return                              # the changes were to other tensors
    what = (x.name if x.name is not None else f"an unnamed {type(x).__name__}") + \
        f" (shape {x.shape})"
    raise RuntimeError(
        f"backward(): {what} was modified in place (it is now at version {x._version}) after it "
        f"was used by {type(f).__name__} (its input {i}) in the forward pass. The gradient "
        f"would be computed from the new values, not from those that produced this loss. "
        f"Usually an optimiser step came between a forward pass and its backward(): check the "
        f"zero_grad/step order: call optimizer.step() after backward(), e.g. in a GAN, "
        f"d_optimizer.step() only after every backward() through D's weights, or compute the "
        f"G loss again after D's step.")


def _check_one_device(op_name, arrays):
    devices = [(backend.device_of(a), a.shape) for a in arrays if backend.is_array(a)]
    if len({d for d, _ in devices}) > 1:
        listing = ", ".join(f"{d} array of shape {s}" for d, s in devices)
        raise backend.DeviceError(
            f"{op_name}: all inputs must be on one device, got {listing}. "
            f"Move tensors with .to(device) and modules with module.to(device).")


def tensor(data, dtype=None, device=None, requires_grad=False, name=None):
    """Make a leaf Tensor from a list, a number or an array.

    Lists and numbers become float32 (the hot-path dtype); arrays keep their dtype unless
    `dtype` is given. `device` defaults to the array's own device, else the default device.
    """
    if isinstance(data, Tensor):
        data = data.data
    if device is None:
        device = backend.device_of(data) if backend.is_array(data) else backend.default_device()
    xp = backend.xp_of_device(device)
    if dtype is None and not backend.is_array(data):
        dtype = "float32"
    array = xp.asarray(backend.to_device(data, device) if backend.is_array(data) else data,
                       dtype=dtype)
    return Tensor(array, requires_grad=requires_grad, name=name)


# The operators above call into functions.py, which itself needs Tensor and Function: import it
# last, once both classes exist.
from . import functions as F  # noqa: E402
