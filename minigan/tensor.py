"""Reverse-mode automatic differentiation: the Tensor, the Function, and backward().

A :class:`Tensor` holds an array (NumPy or CuPy). When a :class:`Function` computes a tensor
from tensors that require gradients, it records itself as the result's ``creator`` and keeps its
inputs. Those links form a directed acyclic graph from the loss back to the leaves (parameters
and inputs). ``loss.backward()`` walks that graph from the loss towards the leaves and applies
the chain rule at every Function:

    dL/dx_i = sum over the uses of x_i of  (dy/dx_i)^T dL/dy,

which each Function computes in its ``backward(gy)``: it receives gy = dL/dy and returns one
gradient per input. The Functions, each backward beside its forward, are in minigan/functions/.

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

Two things watch backward(), each a one-line call: the check that no array a Function saved was
changed in place since (minigan/inplace.py says why), and an optional hook that sees every
tensor and its gradient (the tracer's, minigan/trace.py).

Gradients of gradients. A gradient penalty (R1: ||dD(x)/dx||^2) is a loss made of a gradient,
so D's update must differentiate a backward pass. ``grad(y, x, create_graph=True)`` runs each
Function's backward rule on Tensors instead of arrays: the rule's own arithmetic (``gy * b``)
then records a graph, and the gradient it returns can be differentiated like any Tensor. There
is one rule per op, run on either kind of value (Function says how); the plain backward runs it
on arrays, at NumPy's speed.
"""
import contextlib

from . import backend, inplace


class Tensor:
    """An array plus what autograd needs: ``grad``, ``requires_grad`` and ``creator``."""

    # Let ``numpy_array * tensor`` call Tensor.__rmul__ instead of NumPy looping over the tensor.
    __array_ufunc__ = None

    version = 0     # the program's version at this tensor's last in-place update (inplace.py)

    def __init__(self, data, requires_grad=False, name=None):
        if not isinstance(data, backend.array_types):     # e.g. a Function's 0-d result
            data = _array_of_scalar(data, name)
        _check_dtype(data, name)
        if requires_grad and data.dtype.kind != "f":
            raise TypeError(f"Tensor{'' if name is None else ' ' + repr(name)}: only floating "
                            f"point tensors can require gradients, got dtype {data.dtype}")
        self.data = data                  # the NumPy or CuPy array
        self.grad = None                  # dL/d(this tensor), an array like data, after backward()
        self.requires_grad = requires_grad
        self.creator = None               # the Function that computed this tensor (None: a leaf)
        self.name = name                  # for error messages; Module.parameters() names its own

    def backward(self, grad=None, create_graph=False):
        """Fill ``.grad`` of every leaf this tensor depends on with dself/dleaf.

        ``grad`` is dL/dself for some outer L; it may be omitted when self has one element
        (a loss), meaning dL/dself = 1. With ``create_graph=True`` the backward pass is itself
        recorded: each ``.grad`` is then a Tensor that can be differentiated again (a
        Hessian-vector product: ``(x.grad * v).sum().backward()``). minigan.grad() gives
        gradients without touching ``.grad``.
        """
        _backpropagate([self], [self._initial_gradient(grad, create_graph)], create_graph)

    def _initial_gradient(self, grad, create_graph=False):
        """dL/dself to start backward() from: ones for a loss, or the given array; a Tensor
        when the backward pass is recorded."""
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require gradients (it was made "
                               "under no_grad(), from detached tensors, or from constants only)")
        if grad is None:
            if self.size != 1:
                raise ValueError(f"backward() without a gradient needs a one-element tensor "
                                 f"(a loss), got shape {self.shape}; pass grad= explicitly")
            grad = backend.get_array_module(self.data).ones_like(self.data)
        if grad.shape != self.shape:
            raise ValueError(f"backward(grad): grad has shape {grad.shape}, expected {self.shape}")
        if create_graph:
            return grad if isinstance(grad, Tensor) else Tensor(grad)
        return grad.data if isinstance(grad, Tensor) else grad

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
        tensor before are stale, and backward() through them raises (minigan/inplace.py)."""
        inplace.mark_modified(self)

    # --- operators: thin wrappers, the work is in minigan/functions/ ---------------------------
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

    def __getitem__(self, index):       # basic indexing only: integers, slices, None, ...
        return F.get_item(self, index)

    def swapaxes(self, axis1, axis2):
        axes = list(range(self.ndim))
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return F.transpose(self, tuple(axes))

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

    - ``forward(*arrays) -> array``: the computation on raw arrays (NumPy or CuPy; the NumPy
      scalar that NumPy gives for 0-d arrays becomes a 0-d array, see below);
    - ``backward(gy) -> gradient or tuple of gradients``: dL/d(input) for each input, given
      gy = dL/d(output). ``self.needs_grad[i]`` says whether input i wants one (return None
      otherwise, and skip the work).

    Inputs may be Tensors or constants (Python numbers, arrays): constants are passed to forward
    unchanged and never get a gradient.

    What backward needs from the forward pass, the forward keeps: in ``self.saved`` the inputs
    and outputs it will use (``self.saved = a, b``; the rule reads ``a, b = self.saved``), in
    other attributes what is constant (shapes, masks).

    Differentiating twice (``create_graph=True``): the same backward rule runs on Tensors.
    gy is a Tensor, and each array in ``self.saved`` is swapped for the Tensor it is the data
    of, so ``gy * b`` records a Mul and the backward pass becomes a graph of its own. A rule
    written with operators and array methods works on both; a rule that needs another Function
    (a convolution's gradient is a convolution) calls it through ``apply`` below. A Function
    whose rule has been checked so (gradcheck.check_second_order) says
    ``twice_differentiable = True``, and create_graph refuses the others by name.
    """
    saved = ()                      # the arrays backward() uses: inputs and the output
    twice_differentiable = False    # may backward() be recorded? (see above)

    def __call__(self, *inputs):
        arrays = [x.data if isinstance(x, Tensor) else x for x in inputs]
        backend.check_one_device(type(self).__name__, arrays)
        y = self.forward(*arrays)
        out = Tensor(y)
        if out.data is not y and self.saved:   # a NumPy scalar became a 0-d array: save that
            self.saved = tuple(out.data if v is y else v for v in self.saved)
        if _grad_enabled:
            needs = tuple(isinstance(x, Tensor) and x.requires_grad for x in inputs)
            if any(needs):                  # record the graph: out remembers how it was made
                self.inputs = inputs
                self.needs_grad = needs
                self.version = inplace.version      # for backward()'s in-place check
                out.requires_grad = True
                out.creator = self
        return out

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError


def apply(function, *inputs):
    """A Function called from inside a backward rule (a convolution's rule is made of other
    convolutions): on arrays, in a plain backward, just its forward, an array; on Tensors, in
    a recorded one, the Function itself, so that the call is recorded."""
    if any(isinstance(x, Tensor) for x in inputs):
        return function(*inputs)
    return function.forward(*inputs)


# --- 0-d arrays: NumPy answers with scalars ------------------------------------------------------
# NumPy's operations on 0-d arrays return NumPy scalars (numpy.float32(0.5)), not 0-d arrays: a
# scalar has a dtype and a shape, but cannot be updated in place or written with out=. So every
# Function's result and every gradient goes through one test, and a scalar becomes a 0-d array
# of its own dtype. CuPy always returns arrays.

def _array_of_scalar(data, name):
    """Tensor's data when it is not an array: a NumPy scalar as a 0-d array; else an error."""
    if backend.is_scalar(data):
        return backend.to_numpy(data)
    if backend.gpu_available() and backend.is_array(data):
        return data             # a CuPy array made before minigan first loaded CuPy
    raise TypeError(f"Tensor{'' if name is None else ' ' + repr(name)}: data must be a NumPy or "
                    f"CuPy array, got {type(data).__name__}; use minigan.tensor() to make a "
                    f"tensor from a list or a number")


def _check_dtype(data, name):
    """Numbers a Tensor can compute with: floating point, integers (labels, indices) or bools
    (masks), by the dtype's kind, the same for NumPy and CuPy. Complex numbers have no order
    (no relu, no max) and their gradients need another calculus; an object array holds Python
    objects, for which no op is written."""
    if data.dtype.kind not in "fiub":
        raise TypeError(f"Tensor{'' if name is None else ' ' + repr(name)}: expected a floating "
                        f"point, integer or bool array, got dtype {data.dtype}")


def _as_array(gradient):
    """A gradient as an array: a NumPy scalar becomes a 0-d array of its dtype."""
    return backend.to_numpy(gradient) if backend.is_scalar(gradient) else gradient


# --- backward()'s passes, written out -------------------------------------------------------------

def _backpropagate(roots, root_grads, create_graph=False, wanted=None):
    """The backward pass from `roots`, given dL/droot for each; returns {id: gradient} of the
    tensors in `wanted`.

    Kahn's algorithm, in reverse: a tensor is processed only once every use of it has sent
    its gradient, so the sum over uses is complete when it is passed on. An explicit list, not
    recursion: a graph thousands of ops deep must not hit Python's recursion limit.

    Without `wanted` (backward()), leaves add their gradient to .grad. With `wanted` (grad()),
    .grad is left alone and only the part of the graph that leads to those tensors is walked.
    With create_graph, gradients are Tensors and each backward rule is recorded as it runs.
    """
    grads = {}
    for root, g in zip(roots, root_grads):
        grads[id(root)] = g if id(root) not in grads else grads[id(root)] + g
    pending_uses, useful = _count_uses(roots, wanted)  # how many gradients each will receive
    ready = [r for r in {id(r): r for r in roots}.values() if pending_uses.get(id(r), 0) == 0]
    found = {}
    input_gradients = _recorded_input_gradients if create_graph else _input_gradients
    hook, array_types = _backward_hook, backend.array_types
    while ready:
        t = ready.pop()
        gy = grads.pop(id(t))
        if not isinstance(gy, array_types) and not create_graph:
            gy = backend.to_numpy(gy)             # the gradient of a 0-d tensor (_as_array)
        if hook is not None:
            hook(t, gy)                           # the tracer's one way in (minigan/trace.py)
        if wanted is not None and id(t) in wanted:
            found[id(t)] = gy
        if t.creator is None:                     # a leaf: accumulate (backward() only)
            if wanted is None:
                t.grad = gy if t.grad is None else _as_array(t.grad + gy)
            continue
        for x, gx in input_gradients(t.creator, gy, t, useful):
            key = id(x)
            grads[key] = gx if key not in grads else grads[key] + gx
            pending_uses[key] -= 1
            if pending_uses[key] == 0:
                ready.append(x)
    return found


def _count_uses(roots, wanted=None):
    """For every tensor the graph below `roots` reaches: how many uses will send it a
    gradient. With `wanted` (ids), only the uses on a path to one of them count, and that set
    of tensors is returned too (else None).

    This walk also makes the in-place check (minigan/inplace.py) before any gradient is
    computed: a Function whose version is not the current one may have stale inputs."""
    now = inplace.version
    pending_uses = {}
    users = None if wanted is None else {}      # who uses each tensor: only grad() asks
    stack, seen = list(roots), {id(r) for r in roots}
    while stack:
        t = stack.pop()
        f = t.creator
        if f is None:
            continue
        if f.version != now:
            inplace.check_inputs_unchanged(f)
        for x, needs in zip(f.inputs, f.needs_grad):
            if needs:
                pending_uses[id(x)] = pending_uses.get(id(x), 0) + 1
                if users is not None:
                    users.setdefault(id(x), []).append(t)
                if id(x) not in seen:
                    seen.add(id(x))
                    stack.append(x)
    if wanted is None:
        return pending_uses, None
    useful, stack = set(), [key for key in wanted if key in seen]
    while stack:                            # up from the wanted tensors, through their users
        key = stack.pop()
        if key not in useful:
            useful.add(key)
            stack += [id(t) for t in users.get(key, ())]
    return {key: n for key, n in pending_uses.items() if key in useful}, useful


def _input_gradients(f, gy, out=None, useful=None):
    """(input, dL/dinput) for each input of f that needs a gradient, from f.backward(gy),
    checked: a wrong count or shape is a bug in f, and says so. With `useful` (grad()), only
    inputs in it count: the rule is told the others need none, and skips their work. (`out` is
    unused here; it keeps the signature of _recorded_input_gradients, which needs it.)"""
    if useful is None:
        gxs, needs_now = f.backward(gy), f.needs_grad
    else:
        needs_grad = f.needs_grad
        f.needs_grad = needs_now = tuple(n and id(x) in useful
                                         for x, n in zip(f.inputs, needs_grad))
        try:
            gxs = f.backward(gy)
        finally:
            f.needs_grad = needs_grad
    if not isinstance(gxs, tuple):
        gxs = (gxs,)
    if len(gxs) != len(f.inputs):           # zip() would silently drop the missing gradients
        raise RuntimeError(f"Function {type(f).__name__} has a bug: its backward returned "
                           f"{len(gxs)} gradient(s) for {len(f.inputs)} input(s)")
    result = []
    for x, gx, needs in zip(f.inputs, gxs, needs_now):
        if needs:
            if gx is None or gx.shape != x.shape:
                raise RuntimeError(
                    f"Function {type(f).__name__} has a bug: its backward returned a gradient "
                    f"of shape {None if gx is None else gx.shape} for an input of shape {x.shape}")
            result.append((x, gx))
    return result


def _recorded_input_gradients(f, gy, out, useful=None):
    """_input_gradients with the rule run on Tensors (create_graph): gy is a Tensor, and each
    array f.saved holds is swapped for the Tensor it is the data of (an input, or `out`), so
    that the rule's arithmetic records a graph, the graph of the backward pass itself."""
    name = type(f).__name__
    if not f.twice_differentiable:
        raise RuntimeError(f"create_graph: {name} cannot be differentiated twice (its backward "
                           f"rule works on arrays only); see Function.twice_differentiable")
    arrays = f.saved
    f.saved = tuple(_recorded_value(value, f, out, name) for value in arrays)
    try:
        with enable_grad():
            return _input_gradients(f, gy, out, useful)
    finally:
        f.saved = arrays


def _recorded_value(value, f, out, name):
    """The Tensor whose data `value` is (f's output or an input), or `value` if a constant."""
    if value is out.data:
        return out
    for x in f.inputs:
        if value is x or (isinstance(x, Tensor) and value is x.data):
            return x
    if hasattr(value, "dtype"):    # an array computed from the inputs: its graph is unknown
        raise RuntimeError(f"create_graph: {name} saved an array that is neither an input nor "
                           f"its output, so its backward cannot be recorded")
    return value


def grad(outputs, inputs, grad_outputs=None, create_graph=False):
    """The gradients of `outputs` with respect to `inputs`, as Tensors; ``.grad`` is untouched.

    outputs: a Tensor or a list; grad_outputs: dL/doutput for each (default: 1 for each
    one-element output). inputs: a Tensor (one gradient is returned) or a list (a tuple is).
    With create_graph=True the gradients carry the graph of the backward pass, so they can be
    differentiated again: a gradient penalty, ||dD(x)/dx||^2, is then a loss like any other.
    """
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise ValueError(f"grad: inputs[{i}] is not a Tensor that requires gradients")
    starts = [y._initial_gradient(g, create_graph) for y, g in zip(outputs, grad_outputs)]
    found = _backpropagate(outputs, starts, create_graph, wanted={id(x) for x in inputs})
    for i, x in enumerate(inputs):
        if id(x) not in found:
            raise ValueError(f"grad: inputs[{i}] (shape {x.shape}) was not used to compute "
                             f"the outputs")
    result = [found[id(x)] if create_graph else Tensor(found[id(x)]) for x in inputs]
    return result[0] if single else tuple(result)


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


@contextlib.contextmanager
def enable_grad():
    """Record the graph again inside a no_grad() block (a recorded backward pass needs it)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, True
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled():
    return _grad_enabled


# --- the tracer's hook ----------------------------------------------------------------------------
# None, or a function hook(tensor, grad) that backward() calls for every tensor it reaches, in
# the order it processes them, with the tensor's complete gradient.
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


def tensor(data, dtype=None, device=None, requires_grad=False, name=None):
    """Make a leaf Tensor from a list, a number or an array.

    Lists and numbers become float32 (the hot-path dtype); arrays and NumPy scalars keep their
    dtype unless `dtype` is given. `device` defaults to the array's own device, else the default
    device.
    """
    if isinstance(data, Tensor):
        data = data.data
    if backend.is_scalar(data):
        data = backend.to_numpy(data)     # a 0-d array: it keeps its dtype, like other arrays
    if device is None:
        device = backend.device_of(data) if backend.is_array(data) else backend.default_device()
    xp = backend.xp_of_device(device)
    if dtype is None and not backend.is_array(data):
        dtype = "float32"
    try:
        array = xp.asarray(backend.to_device(data, device) if backend.is_array(data) else data,
                           dtype=dtype)
    except (ValueError, TypeError) as error:
        raise TypeError(f"tensor: cannot make a {dtype or 'numeric'} array of "
                        f"{type(data).__name__} {str(data)[:60]!r} ({error})") from None
    return Tensor(array, requires_grad=requires_grad, name=name)


# The operators above call into minigan/functions/, which itself needs Tensor and Function:
# import it last, once both classes exist.
from . import functions as F  # noqa: E402
