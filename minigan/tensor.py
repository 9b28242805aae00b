"""Reverse-mode automatic differentiation: the Tensor, the Function, and backward().

A :class:`Tensor` holds an array (NumPy or CuPy). When a :class:`Function` computes a tensor
from tensors that require gradients, it records itself as the result's ``creator`` and keeps its
inputs. Those links form a directed acyclic graph from the loss back to the leaves (parameters
and inputs). ``loss.backward()`` walks that graph from the loss towards the leaves and applies
the chain rule at every Function:

    dL/dx_i = sum over the uses of x_i of  (dy/dx_i)^T dL/dy,

which each Function computes in its ``backward(gy)``: it receives gy = dL/dy and returns one
gradient per input. The Functions, each backward beside its forward, are in minigan/functions/.
The walk is right below ``Tensor.backward``, in ``Tensor._backpropagate``.

When do gradients accumulate, and when are they cleared?
- Inside one backward(), the gradients of every use of a tensor are summed (``b = a + a`` gives
  ``a.grad == 2``): that is the chain rule's sum over paths, not an accident.
- Across calls, a leaf's ``.grad`` keeps accumulating: a second backward() *adds* to it.
  Nothing clears it but you: ``module.zero_grad()`` / ``optimizer.zero_grad()`` (which set it
  to None). In a GAN step the two networks do not write into each other's ``.grad``: in G's
  update D's parameters get none, because G's loss is recorded inside ``with D.frozen():`` and
  each op fixes ``needs_grad`` when it is recorded, not when backward() runs; in D's update G's
  ``.grad`` is not touched, because the fake batch is made under ``no_grad()``. Clearing still
  matters when one loss's backward() is followed by another's before a step: the step would
  use their sum (the trainer clears before every update's backward()).
- Gradients of intermediate tensors are freed as soon as they have been passed on.

Gradient arrays are never modified in place, by the engine or the optimisers, so one array may
safely be shared (``add`` hands the same ``gy`` to both of its inputs).

Gradients of gradients. A gradient penalty (R1: ||dD(x)/dx||^2) is a loss made of a gradient.
``grad(y, x, create_graph=True)`` runs each Function's backward rule on Tensors instead of
arrays, so the rule's own arithmetic (``gy * b``) records a graph that can be differentiated
like any other: one rule per op, run on either kind of value (Function says how; a worked
example is at ``_recorded_input_gradients``). The plain backward runs it on arrays, at NumPy's
speed.

In this file: Tensor (backward() and the walk first, then its operators), Function and apply,
the steps the walk calls, grad(), the no_grad switch, the tracer's hook, 0-d arrays, tensor().
"""
import contextlib

from . import backend, inplace


class Tensor:
    """An array plus what autograd needs: ``grad``, ``requires_grad`` and ``creator``."""

    # Let ``numpy_array * tensor`` call Tensor.__rmul__ instead of NumPy looping over the tensor.
    __array_ufunc__ = None

    version = 0     # inplace.version at this tensor's last in-place update (0: never; inplace.py)

    def __init__(self, data, requires_grad=False, name=None):
        if not isinstance(data, backend.array_types):     # e.g. a Function's 0-d result
            data = _array_of_scalar(data, name)
        _check_dtype(data, name)
        if requires_grad and data.dtype.kind != "f":
            raise TypeError(f"Tensor{'' if name is None else ' ' + repr(name)}: only floating "
                            f"point tensors can require gradients, got dtype {data.dtype}")
        self.data = data                  # the NumPy or CuPy array
        self.grad = None                  # dL/d(this tensor) after backward(): an array like
        #                                   data (a Tensor after backward(create_graph=True))
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
        Tensor._backpropagate([self], [self._initial_gradient(grad, create_graph)], create_graph)

    @staticmethod
    def _backpropagate(roots, root_gradients, create_graph=False, wanted=None):
        """The backward pass from `roots`, given dL/droot for each (backward() and grad()).

        A tensor may pass its gradient on only once every use of it has sent its term, so that
        the sum over uses is complete. So: count each tensor's uses first (pending_uses), then
        Kahn's algorithm from the roots down. Take a *ready* tensor t, one whose every use has
        sent its term; at a leaf, add dL/dt into .grad; else call its creator's rule once and
        add each result into that input's sum, one use fewer to wait for; at zero, it is ready.

        `ready` is a stack (LIFO: pop() takes the tensor readied last, so the walk goes depth
        first). Any order of the ready tensors is right: a ready tensor's sum is final (every
        use has sent its term), and a rule sends terms only to its own inputs, none of which is
        ready yet (this use of it had not sent its term). Another order would add the same
        terms, in another order, which can change the last bits of a float; this order is
        fixed, so a run repeats bit for bit. A list, not recursion: a graph thousands of ops
        deep must not hit Python's recursion limit.

        What is not the textbook walk is a named step below, one line here, each skippable:
        the in-place check; grad()'s `wanted` (walk only the paths to those tensors, return
        their gradients, leave .grad alone); create_graph (each rule runs on Tensors and is
        recorded); the tracer's hook; NumPy's 0-d scalars.
        """
        gradient_sums = {}                        # id(t) -> dL/dt, summed over the uses so far
        for root, g in zip(roots, root_gradients):
            key = id(root)
            gradient_sums[key] = g if key not in gradient_sums else gradient_sums[key] + g
        pending_uses, computed = _count_uses(roots)   # uses that will each send a term
        _check_saved_arrays_unchanged(computed)       # the in-place check, before any rule runs
        input_gradients = _recorded_input_gradients if create_graph else _input_gradients
        found = {}                                # grad(): dL/dt of each wanted t
        if wanted is not None:
            pending_uses, input_gradients = _only_paths_to(wanted, roots, computed, pending_uses,
                                                           input_gradients)
        ready = [r for r in {id(r): r for r in roots}.values() if pending_uses.get(id(r), 0) == 0]
        hook, array_types = _backward_hook, backend.array_types
        while ready:
            t = ready.pop()                       # dL/dt is complete: every use has sent its term
            gy = gradient_sums.pop(id(t))         # (and is freed once passed on)
            if not isinstance(gy, array_types) and not create_graph:
                gy = _as_array(gy)                # a 0-d gradient that NumPy made a scalar
            if hook is not None:
                hook(t, gy)                       # the tracer sees t and dL/dt
            if wanted is not None and id(t) in wanted:
                found[id(t)] = gy                 # grad() returns it
            if t.creator is None:                 # a leaf: add into .grad, across calls too
                if wanted is None:                # (grad() leaves .grad alone)
                    t.grad = gy if t.grad is None else _as_array(t.grad + gy)
                continue
            for x, gx in input_gradients(t, gy):  # t's creator's rule, called once
                key = id(x)
                gradient_sums[key] = gx if key not in gradient_sums else gradient_sums[key] + gx
                pending_uses[key] -= 1
                if pending_uses[key] == 0:        # x has every term: ready
                    ready.append(x)
        return found

    def _initial_gradient(self, given, create_graph=False):
        """dL/dself to start the walk from: `given` (backward()'s grad), or ones for a loss; a
        Tensor when the backward pass is recorded."""
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require gradients (it was made "
                               "under no_grad(), from detached tensors, or from constants only)")
        if given is None:
            if self.size != 1:
                raise ValueError(f"backward() without a gradient needs a one-element tensor "
                                 f"(a loss), got shape {self.shape}; pass grad= explicitly")
            given = backend.get_array_module(self.data).ones_like(self.data)
        if given.shape != self.shape:
            raise ValueError(f"backward(grad): grad has shape {given.shape}, expected {self.shape}")
        if create_graph:
            return given if isinstance(given, Tensor) else Tensor(given)
        return given.data if isinstance(given, Tensor) else given

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
    of, so ``gy * b`` records a Mul and the backward pass becomes a graph of its own (a worked
    example: ``_recorded_input_gradients``). A rule written with operators and array methods
    works on both; a rule that needs another Function (a convolution's gradient is a
    convolution) calls it through ``apply`` below. A value kept in another attribute stays a
    constant there, which is wrong if it was computed from an input. A Function whose rule has
    been checked so (gradcheck.check_second_order) says ``twice_differentiable = True``, and
    create_graph refuses the others by name.
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
                # Fixed now, when the op is recorded, not when backward() runs: so a D frozen
                # (requires_grad False) while its ops are recorded gets no gradient, even from
                # a backward() called after its ``with D.frozen():`` block has ended.
                self.needs_grad = needs
                self.version = inplace.version      # the program's version now: see the check
                out.requires_grad = True
                out.creator = self
        return out

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, gy):
        raise NotImplementedError


def apply(function, *inputs):
    """A Function called from inside a backward rule (a convolution's rule is made of other
    convolutions). It does one of two things, by its inputs' types:

    - all arrays (a plain backward): only ``function.forward(*inputs)``, an array; nothing is
      recorded, no Tensor made;
    - any Tensor (a recorded backward, create_graph): ``function(*inputs)``, the Function called
      like any op, so the call is recorded and its result is a Tensor."""
    if any(isinstance(x, Tensor) for x in inputs):
        return function(*inputs)
    return function.forward(*inputs)


# --- the steps the walk calls (Tensor._backpropagate) ---------------------------------------------

def _count_uses(roots):
    """How many gradients each tensor below `roots` will receive: one per use, a (Function,
    input slot) whose needs_grad is set, so ``z * z`` counts 2 for z. Also returns the computed
    tensors (made by a Function), in the order met, for the steps that look at every Function. A
    depth-first walk with an explicit stack, like the walk itself."""
    pending_uses, computed = {}, []
    stack, seen = list(roots), {id(r) for r in roots}
    while stack:
        t = stack.pop()
        f = t.creator
        if f is None:
            continue
        computed.append(t)
        for x, needs in zip(f.inputs, f.needs_grad):
            if needs:
                pending_uses[id(x)] = pending_uses.get(id(x), 0) + 1
                if id(x) not in seen:
                    seen.add(id(x))
                    stack.append(x)
    return pending_uses, computed


def _check_saved_arrays_unchanged(computed):
    """The in-place check, before any rule runs: raise if an input of a Function was changed in
    place since the Function was recorded (minigan/inplace.py says why, and which version is
    which). One comparison per Function, its version against the program's now; its inputs are
    looked at only if something was updated since."""
    now = inplace.version
    for t in computed:
        if t.creator.version != now:
            inplace.check_inputs_unchanged(t.creator)


def _input_gradients(out, gy):
    """(input, dL/dinput) for each input of out's creator f that needs a gradient: f's backward
    rule, called once with gy = dL/dout, and checked: a wrong count or shape is a bug in f, and
    says so."""
    f = out.creator
    gxs = f.backward(gy)
    if not isinstance(gxs, tuple):
        gxs = (gxs,)
    if len(gxs) != len(f.inputs):           # zip() would silently drop the missing gradients
        raise RuntimeError(f"Function {type(f).__name__} has a bug: its backward returned "
                           f"{len(gxs)} gradient(s) for {len(f.inputs)} input(s)")
    result = []
    for x, gx, needs in zip(f.inputs, gxs, f.needs_grad):
        if needs:
            if gx is None or gx.shape != x.shape:
                raise RuntimeError(
                    f"Function {type(f).__name__} has a bug: its backward returned a gradient "
                    f"of shape {None if gx is None else gx.shape} for an input of shape {x.shape}")
            result.append((x, gx))
    return result


def _only_paths_to(wanted, roots, computed, pending_uses, input_gradients):
    """grad()'s pruning: walk only the tensors on a path from `roots` down to one in `wanted`
    (ids), the `useful` ones: only their uses are counted, and each rule is told that only its
    useful inputs need a gradient (_needs_grad_limited_to). Returns the pruned counts and the
    rule call to use."""
    users = {}                              # id(x) -> the tensors made from x
    for t in computed:
        for x, needs in zip(t.creator.inputs, t.creator.needs_grad):
            if needs:
                users.setdefault(id(x), []).append(t)
    reached = {id(r) for r in roots} | users.keys()
    useful, stack = set(), [key for key in wanted if key in reached]
    while stack:                            # up from the wanted tensors, through their users
        key = stack.pop()
        if key not in useful:
            useful.add(key)
            stack += [id(t) for t in users.get(key, ())]
    pending_uses = {key: n for key, n in pending_uses.items() if key in useful}
    return pending_uses, _needs_grad_limited_to(useful, input_gradients)


def _needs_grad_limited_to(useful, input_gradients):
    """A rule call (input_gradients) during which f.needs_grad, the flags recorded with f, says
    True only for inputs in `useful`, so the rule skips the others' work (Linear computes no
    dL/dW when only dL/dx is asked for); the recorded flags are put back after the call."""
    def call(out, gy):
        f = out.creator
        recorded = f.needs_grad
        f.needs_grad = tuple(needs and id(x) in useful for x, needs in zip(f.inputs, recorded))
        try:
            return input_gradients(out, gy)
        finally:
            f.needs_grad = recorded
    return call


def _recorded_input_gradients(out, gy):
    """create_graph's rule call: the same rule run on Tensors, so that it records a graph, the
    graph of the backward pass itself. gy is a Tensor, and for the length of the call each
    array f.saved holds is swapped, by identity, for the Tensor it is the data of: an input of
    f, or its output `out` (_tensor_of).

    Worked example, R1 on one Dense layer, l = x W + b (x (N, d), W (d, 1), b (1,)), as
    minigan.gan.penalties.r1 computes it (docs/11-gradient-penalties.md, sections 2-3):
    g = grad(l.sum(), x, create_graph=True), with x a fresh leaf.

      the recorded (first) backward, from l.sum() with gy = Tensor(1.0):
        Sum's rule     broadcast_to(gy.reshape(...)) on a gy that requires no gradient:
                       nothing is recorded; a constant Tensor of ones, (N, 1).
        Linear's rule  saved (x, W) is swapped for the Tensors x and W. Only x was asked for,
                       so needs_grad reads (True, False, False) for this call and only
                       gx = gy @ W.T runs: ``W.T`` records a Transpose of W, ``@`` a
                       MatMul(ones, W^T). g = ones W^T (each row W^T), a Tensor whose graph
                       leads to W.
      the penalty      (gamma/2) * mean(sum(g * g, axis=1)) records Mul, Reshape, Sum, Mean, Mul.
      the outer (second) backward, D's loss.backward(), plain, on arrays, runs the rules of
        those recorded ops: the penalty's five, then MatMul's (only its second input, W^T,
        needs a gradient: ones^T dR1/dg) and Transpose's, which brings dR1/dW = gamma W into
        W.grad, summed there with the loss's own terms. Linear's rule does not run for the
        penalty: here g does not depend on x or b. With a hidden layer (docs/11, section 2),
        Tanh's rule gy * (1 - y * y) reads its saved output h, swapped for the Tensor h, and
        records Mul, Sub and Mul on it: that ties the recorded graph to the forward one, so the
        outer backward also runs Tanh's and the first Linear's rules.
    """
    f = out.creator
    if not f.twice_differentiable:
        raise RuntimeError(
            f"create_graph: {type(f).__name__} cannot be differentiated twice (it does not say "
            f"twice_differentiable = True: its rule may read values kept outside self.saved, "
            f"which a recorded backward would take as constants, or it has not been checked "
            f"twice); see Function.twice_differentiable")
    arrays = f.saved
    f.saved = tuple(_tensor_of(value, f, out) for value in arrays)
    try:
        with enable_grad():
            return _input_gradients(out, gy)
    finally:
        f.saved = arrays


def _tensor_of(value, f, out):
    """The Tensor whose data `value` is (f's output or an input), or `value` if a constant."""
    if value is out.data:
        return out
    for x in f.inputs:
        if value is x or (isinstance(x, Tensor) and value is x.data):
            return x
    if hasattr(value, "dtype"):    # an array computed from the inputs: its graph is unknown
        raise RuntimeError(f"create_graph: {type(f).__name__} saved an array that is neither an "
                           f"input nor its output, so its backward cannot be recorded")
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
    found = Tensor._backpropagate(outputs, starts, create_graph,
                                  wanted={id(x) for x in inputs})
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
# None, or a function hook(tensor, gradient) that the walk calls for every tensor it reaches, in
# the order it processes them, with the tensor's complete gradient.
_backward_hook = None


@contextlib.contextmanager
def backward_hook(hook):
    """Within the block, call hook(tensor, gradient) for every tensor each backward() reaches."""
    global _backward_hook
    previous, _backward_hook = _backward_hook, hook
    try:
        yield
    finally:
        _backward_hook = previous


# --- 0-d arrays: NumPy answers with scalars ------------------------------------------------------
# NumPy's operations on 0-d arrays return NumPy scalars (numpy.float32(0.5)), not 0-d arrays: a
# scalar has a dtype and a shape, but cannot be updated in place or written with out=. So every
# Function's result and every gradient goes through one test, and a scalar becomes a 0-d array
# of its own dtype. CuPy always returns arrays.

def _as_array(gradient):
    """A gradient as an array: a NumPy scalar becomes a 0-d array of its dtype."""
    return backend.to_numpy(gradient) if backend.is_scalar(gradient) else gradient


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
