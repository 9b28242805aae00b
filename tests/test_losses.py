"""Binary cross-entropy from logits (stable at any logit) and from probabilities (clipped)."""
import math

import numpy
import pytest

import minigan
from minigan import Tensor
from minigan import functions as F
from minigan.gradcheck import check_gradients
from minigan.functions import binary_cross_entropy, sigmoid_binary_cross_entropy


def host(array):
    return minigan.backend.to_numpy(array)


def naive_bce(p, y):
    """The textbook formula on host float64: -mean(y ln p + (1 - y) ln(1 - p))."""
    return -numpy.mean(y * numpy.log(p) + (1 - y) * numpy.log(1 - p))


def expit(x):
    with numpy.errstate(over="ignore"):        # e^1000 = inf gives the right limit, 0
        return 1 / (1 + numpy.exp(-x))


def f64(rng, shape, std=1.0):
    return rng.normal(shape, std=std, dtype="float64")


# --- sigmoid_binary_cross_entropy ----------------------------------------------------------------

@pytest.mark.parametrize("targets", ["uniform", "binary", 1.0, 0.0])
def test_logits_bce_matches_naive_formula(device, targets):
    rng = minigan.Random(0, device)
    x = f64(rng, (4, 5), std=3.0)                       # moderate: the naive formula is exact
    if targets == "uniform":
        y = rng.uniform((4, 5), dtype="float64")
    elif targets == "binary":
        y = (rng.uniform((4, 5), dtype="float64") > 0.5).astype("float64")
    else:
        y = targets
    loss = sigmoid_binary_cross_entropy(Tensor(x), y)
    assert loss.shape == ()
    expected = naive_bce(expit(host(x)), host(y) if not isinstance(y, float) else y)
    assert loss.item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("x, y, expected", [
    # BCE(x, 1) = ln(1 + e^-x), BCE(x, 0) = ln(1 + e^x); ln(1 + e^-40) = e^-40 to double precision
    (-1000.0, 1.0, 1000.0),
    (1000.0, 0.0, 1000.0),
    (1000.0, 1.0, 0.0),
    (-1000.0, 0.0, 0.0),
    (40.0, 1.0, math.exp(-40.0)),
    (-40.0, 1.0, 40.0),
    (40.0, 0.0, 40.0),
    (-40.0, 0.0, math.exp(-40.0)),
    (0.0, 1.0, math.log(2.0)),
    (0.0, 0.5, math.log(2.0)),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_logits_bce_is_finite_and_exact_at_extreme_logits(xp, x, y, expected, dtype):
    logits = Tensor(xp.asarray([x], dtype=dtype), requires_grad=True)
    loss = sigmoid_binary_cross_entropy(logits, y)
    loss.backward()
    rtol = 1e-6 if dtype == "float32" else 1e-14
    assert loss.item() == pytest.approx(expected, rel=rtol, abs=1e-30)
    # d/dx = sigmoid(x) - y, which is 0 or +-1 at the extremes: finite, never nan.
    assert float(host(logits.grad)[0]) == pytest.approx(expit(x) - y, rel=rtol, abs=1e-15)


def test_naive_formula_really_overflows_at_these_logits():
    # Why the cases above matter: the textbook formula gives inf (ln 0) where BCE is 1000.
    with numpy.errstate(over="ignore", divide="ignore"):
        assert naive_bce(expit(numpy.array([-1000.0])), 1.0) == numpy.inf
        assert naive_bce(expit(numpy.array([40.0], dtype="float32")), 0.0) == numpy.inf


@pytest.mark.parametrize("scale", [1.0, 40.0])
def test_logits_bce_gradient_is_sigmoid_minus_target_over_n(device, scale):
    rng = minigan.Random(1, device)
    x = Tensor(f64(rng, (6, 3), std=scale), requires_grad=True)
    y = rng.uniform((6, 3), dtype="float64")
    sigmoid_binary_cross_entropy(x, y).backward()
    expected = (expit(host(x.data)) - host(y)) / x.size
    numpy.testing.assert_allclose(host(x.grad), expected, rtol=1e-10, atol=1e-18)


@pytest.mark.parametrize("targets", ["array", 1.0, 0.0])
def test_logits_bce_gradcheck_wrt_logits(device, targets):
    rng = minigan.Random(2, device)
    x = Tensor(f64(rng, (4, 3), std=2.0), requires_grad=True)
    y = rng.uniform((4, 3), dtype="float64") if targets == "array" else targets
    check_gradients(lambda x: sigmoid_binary_cross_entropy(x, y), [x])


def test_logits_bce_gradcheck_wrt_logits_and_targets(device):
    rng = minigan.Random(3, device)
    x = Tensor(f64(rng, (4, 3), std=2.0), requires_grad=True)
    y = Tensor(rng.uniform((4, 3), dtype="float64"), requires_grad=True)
    check_gradients(sigmoid_binary_cross_entropy, [x, y])


@pytest.mark.parametrize("loss_fn", [sigmoid_binary_cross_entropy, binary_cross_entropy])
def test_gradcheck_wrt_a_one_number_target(device, loss_fn):
    # A 0-d target is broadcast over every prediction: its gradient is the sum, shape ().
    rng = minigan.Random(4, device)
    preds = rng.uniform((5,), 0.1, 0.9, dtype="float64")    # valid as logits and as probabilities
    x = Tensor(preds, requires_grad=True)
    y = Tensor(rng.xp.asarray(0.7), requires_grad=True)
    check_gradients(loss_fn, [x, y])
    assert y.grad.shape == ()


@pytest.mark.parametrize("loss_fn", [sigmoid_binary_cross_entropy, binary_cross_entropy])
@pytest.mark.parametrize("target_shape", [(4,), (4, 1, 1), (1, 4), (1,)])
def test_wrong_target_shape_raises(xp, loss_fn, target_shape):
    # (4, 1) against (4,) would silently broadcast to a (4, 4) loss matrix.
    preds = Tensor(xp.full((4, 1), 0.5))
    with pytest.raises(ValueError, match=loss_fn.__name__):
        loss_fn(preds, xp.ones(target_shape))


# --- binary_cross_entropy on probabilities ---------------------------------------------------------

def test_prob_bce_matches_naive_formula(device):
    rng = minigan.Random(5, device)
    p = rng.uniform((5, 4), 0.05, 0.95, dtype="float64")     # clipping is inactive here
    y = rng.uniform((5, 4), dtype="float64")
    loss = binary_cross_entropy(Tensor(p), y)
    assert loss.item() == pytest.approx(naive_bce(host(p), host(y)), rel=1e-12)


@pytest.mark.parametrize("targets", ["array", "tensor", 1.0, 0.0])
def test_prob_bce_gradcheck_interior(device, targets):
    # Inside [0.1, 0.9] the clip is inactive, with eps-sized steps far from its kinks.
    rng = minigan.Random(6, device)
    p = Tensor(rng.uniform((4, 3), 0.1, 0.9, dtype="float64"), requires_grad=True)
    if targets in ("array", "tensor"):
        y = rng.uniform((4, 3), dtype="float64")
        if targets == "tensor":
            y = Tensor(y, requires_grad=True)
            check_gradients(binary_cross_entropy, [p, y])
            return
    else:
        y = targets
    check_gradients(lambda p: binary_cross_entropy(p, y), [p])


@pytest.mark.parametrize("p, y", [(0.0, 1.0), (1.0, 0.0)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_prob_bce_clipping(xp, p, y, dtype):
    # A confidently wrong prediction: ln 0 = -inf without the clip. Clipped to [1e-7, 1 - 1e-7]
    # the loss is capped at -ln(1e-7) ~ 16.1 and the gradient is 0 (the clip is flat there).
    probs = Tensor(xp.asarray([p], dtype=dtype), requires_grad=True)
    loss = binary_cross_entropy(probs, y)
    loss.backward()
    # The cap is -ln(distance of the clip bound from the wrong label). float32 cannot hold
    # 1 - 1e-7: it rounds to 1 - 1.19e-7, so at p = 1 the float32 cap is -ln(1.19e-7) = 15.94.
    upper = numpy.asarray(1 - 1e-7, dtype=dtype)
    distance = 1e-7 if p == 0.0 else float(1 - upper)
    assert loss.item() == pytest.approx(-math.log(distance), rel=1e-6 if dtype == "float32" else 1e-9)
    if dtype == "float64" or p == 0.0:
        assert loss.item() == pytest.approx(-math.log(1e-7), rel=1e-6)
    assert numpy.isfinite(loss.item())
    numpy.testing.assert_array_equal(host(probs.grad), [0.0])


def test_prob_bce_agrees_with_logits_bce(device):
    # Same loss and same dL/dx through the sigmoid, at logits where p is not clipped.
    rng = minigan.Random(7, device)
    x_values = f64(rng, (5, 4), std=3.0)
    y = (rng.uniform((5, 4), dtype="float64") > 0.5).astype("float64")
    x1 = Tensor(x_values.copy(), requires_grad=True)
    x2 = Tensor(x_values.copy(), requires_grad=True)
    via_probs = binary_cross_entropy(F.sigmoid(x1), y)
    via_logits = sigmoid_binary_cross_entropy(x2, y)
    via_probs.backward()
    via_logits.backward()
    assert via_probs.item() == pytest.approx(via_logits.item(), rel=1e-12)
    numpy.testing.assert_allclose(host(x1.grad), host(x2.grad), rtol=1e-9, atol=1e-17)


def test_prob_bce_saturates_where_logits_bce_does_not(xp):
    # At x = -30 sigmoid(x) ~ 1e-13 is clipped: the probability loss stops at 16.1 and teaches
    # nothing (gradient 0), the logits loss is the true 30 with gradient -1.
    x1 = Tensor(xp.asarray([-30.0]), requires_grad=True)
    x2 = Tensor(xp.asarray([-30.0]), requires_grad=True)
    via_probs = binary_cross_entropy(F.sigmoid(x1), 1.0)
    via_logits = sigmoid_binary_cross_entropy(x2, 1.0)
    via_probs.backward()
    via_logits.backward()
    assert via_probs.item() == pytest.approx(-math.log(1e-7), rel=1e-9)
    assert via_logits.item() == pytest.approx(30.0, rel=1e-12)
    assert float(host(x1.grad)[0]) == 0.0
    assert float(host(x2.grad)[0]) == pytest.approx(-1.0, rel=1e-12)
