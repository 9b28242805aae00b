"""Check a backward rule against finite differences.

For a function y = f(x_1, ..., x_n) we draw a random upstream gradient gy (same shape as y) and
compare, for every element of every input and parameter,

    analytic:  dL/dx[i] from backward(gy),                 with L = sum(y * gy)
    numeric:   (L(x + eps e_i) - L(x - eps e_i)) / (2 eps)  (central differences, error O(eps^2))

A random gy rather than ones: with gy = 1 a backward that ignores gy, or swaps two axes of it,
would still pass. Everything runs in float64: in float32 the rounding error of L, about 1e-7 * |L|,
divided by 2 eps swamps the difference (eps = 1e-3 gives errors ~1e-4; eps = 1e-6 gives noise).

Use it for every new Function or layer:

    check_gradients(lambda x, w: my_op(x, w), [x, w])   # float64 tensors, requires_grad=True
    check_gradients(layer, [x], params=layer.parameters())

On a mismatch it raises GradientCheckError naming the input, the element, and both values.
"""
from .backend import get_array_module
from .random import Random
from .tensor import Tensor, enable_grad, grad, no_grad


class GradientCheckError(AssertionError):
    pass


def _relative_error(analytic, numeric):
    """|a - n| / (|a| + |n|), 0 where both are 0."""
    xp = get_array_module(analytic)
    scale = xp.abs(analytic) + xp.abs(numeric)
    return xp.abs(analytic - numeric) / xp.maximum(scale, 1e-300)


def check_gradients(fn, inputs, params=(), *, eps=1e-6, rtol=1e-5, atol=1e-8, seed=0):
    """Compare fn's analytic gradients with central differences; return the worst relative error
    (among elements where it is meaningful: |analytic| + |numeric| > atol / rtol).

    fn(*inputs) must return a Tensor and be deterministic (seed any randomness inside fn).
    For the finite differences fn runs under no_grad(): a fn that takes gradients itself (a
    gradient penalty, with minigan.grad) computes them inside ``with enable_grad():``.
    inputs and params are float64 Tensors; those with requires_grad=True are checked
    (params: e.g. a layer's parameters, which fn uses without taking them as arguments).

    An element passes when |analytic - numeric| <= atol + rtol * (|analytic| + |numeric|):
    relative where gradients are large, absolute where the true gradient is (nearly) 0 and
    the finite difference is only rounding noise, about 1e-16 * |L| / eps.
    """
    checked = [t for t in list(inputs) + list(params) if t.requires_grad]
    if not checked:
        raise ValueError("check_gradients: no input or parameter requires a gradient")
    for t in list(inputs) + list(params):
        if t.dtype.kind == "f" and t.dtype.itemsize < 8:
            raise TypeError(f"check_gradients: use float64 tensors (got {t.dtype}, shape "
                            f"{t.shape}); float32 rounding makes finite differences meaningless")

    y = fn(*inputs)
    gy = Random(seed, y.device).normal(y.shape, dtype=y.dtype)

    def outer_loss():
        with no_grad():
            return float((fn(*inputs).data * gy).sum())

    for t in checked:
        t.grad = None
    if y.requires_grad:         # else no input reaches y: every gradient is None, numeric 0?
        y.backward(gy)
    analytic = [t.grad for t in checked]

    worst = 0.0
    for index, (t, a) in enumerate(zip(checked, analytic)):
        name = f"{'input' if index < len(inputs) else 'parameter'} {index} (shape {t.shape})"
        numeric = numeric_gradient(outer_loss, t, eps)
        if a is None:          # no path from t to the output: right only if dL/dt is 0
            if bool((abs(numeric) > atol).any()):
                raise GradientCheckError(f"{name}: backward() gave no gradient, the numeric "
                                         f"one is not 0 (largest {float(abs(numeric).max()):.3g})")
            continue
        if isinstance(a, Tensor):              # backward(create_graph=True) leaves Tensors
            a = a.data
        worst = max(worst, _compare(name, t.shape, a, numeric, rtol, atol))
    return worst


def check_second_order(fn, inputs, params=(), *, eps=1e-6, rtol=1e-5, atol=1e-8, seed=0):
    """Check fn's gradients of gradients (create_graph) against finite differences.

    With a random upstream u and a random direction w_t for each checked tensor t, the
    first-order gradients, taken with create_graph=True, give one number

        h = sum_t < d<fn(...), u>/dt , w_t >   (a directional derivative of the gradient),

    and check_gradients compares dh/dt, by a recorded backward pass differentiated again, with
    central differences of h, each computed by a plain first-order backward. The second
    derivatives are thus checked against the first, which check_gradients checks against the
    function itself. Returns the worst relative error; raises GradientCheckError.
    """
    checked = [t for t in list(inputs) + list(params) if t.requires_grad]
    y = fn(*inputs)
    rng = Random(seed + 1, y.device)
    u = rng.normal(y.shape, dtype=y.dtype)
    directions = [rng.normal(t.shape, dtype=t.dtype) for t in checked]

    def directional_derivative_of_gradient(*inputs):
        with enable_grad():                    # check_gradients evaluates h under no_grad()
            outer = (fn(*inputs) * u).sum()
            gradients = grad(outer, checked, create_graph=True)
            return sum((g * w).sum() for g, w in zip(gradients, directions))

    return check_gradients(directional_derivative_of_gradient, inputs, params, eps=eps,
                           rtol=rtol, atol=atol, seed=seed)


def numeric_gradient(loss, t, eps):
    """dL/dt by central differences: each element of t moved by +-eps in place, L = loss()
    computed at both, (L+ - L-) / (2 eps); t is left as it was."""
    xp = get_array_module(t.data)
    if not t.data.flags.c_contiguous:
        t.data = xp.ascontiguousarray(t.data)
    numeric = xp.zeros_like(t.data)
    flat, g_num = t.data.reshape(-1), numeric.reshape(-1)   # views: writing perturbs t in place
    for i in range(flat.size):
        old = float(flat[i])
        flat[i] = old + eps
        plus = loss()
        flat[i] = old - eps
        minus = loss()
        flat[i] = old
        g_num[i] = (plus - minus) / (2 * eps)
    return numeric


def _compare(name, shape, a, numeric, rtol, atol):
    """Raise at the first element out of bounds; else the worst relative error, counted where
    the relative bound is the binding one (|a| + |n| > atol / rtol): near-zero gradients have
    the relative error of rounding noise."""
    xp = get_array_module(a)
    allowed = atol + rtol * (xp.abs(a) + xp.abs(numeric))
    # `not <=` rather than `>`: NaN compares False with everything, and must fail.
    bad = ~(xp.abs(a - numeric) <= allowed)
    err = _relative_error(a, numeric)
    if bool(bad.any()):
        i = int(xp.argmax(bad.reshape(-1)))
        raise GradientCheckError(
            f"{name}, element {_unravel(i, shape)}: analytic {float(a.reshape(-1)[i]):.8g} "
            f"vs numeric {float(numeric.reshape(-1)[i]):.8g} (relative error "
            f"{float(err.reshape(-1)[i]):.2g} > {rtol})")
    counted = err * (xp.abs(a) + xp.abs(numeric) > atol / rtol)
    return float(counted.max()) if err.size else 0.0


def _unravel(flat_index, shape):
    where = []
    for n in reversed(shape):
        flat_index, k = divmod(flat_index, n)
        where.append(k)
    return tuple(reversed(where))
