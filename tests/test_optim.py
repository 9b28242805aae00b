"""Optimisers: update rules against hand computations, which parameters move, argument checks."""
import numpy as np
import pytest

import minigan
from minigan import Random, Tensor
from minigan.nn import Dense, Parameter
from minigan.optim import SGD, Adam

OPTIMISERS = {
    "sgd": lambda ps: SGD(ps, lr=0.1),
    "momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9),
    "adam": lambda ps: Adam(ps, lr=0.1),
}


def host(seed, shape, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def param(xp, values, dtype="float64"):
    # A copy (xp.array, not asarray): optimisers update in place, and would change `values` too.
    return Parameter(xp.array(values, dtype=dtype))


def value(t):
    return t.numpy().astype(np.float64)


# --- update rules --------------------------------------------------------------------------------

def test_sgd_step_is_p_minus_lr_g(xp):
    p0, g = host(0, (3, 4)), host(1, (3, 4))
    p = param(xp, p0)
    p.grad = xp.asarray(g)
    SGD([p], lr=0.05).step()
    np.testing.assert_array_equal(p.numpy(), p0 - 0.05 * g)


def test_sgd_momentum_two_steps(xp):
    lr, mu = 0.1, 0.8
    p0, g1, g2 = host(0, (5,)), host(1, (5,)), host(2, (5,))
    p = param(xp, p0)
    opt = SGD([p], lr=lr, momentum=mu)
    p.grad = xp.asarray(g1)
    opt.step()
    v1 = -lr * g1
    np.testing.assert_allclose(value(p), p0 + v1, rtol=1e-12)
    p.grad = xp.asarray(g2)
    opt.step()
    v2 = mu * v1 - lr * g2              # the velocity remembers step 1: not p1 - lr * g2
    np.testing.assert_allclose(value(p), p0 + v1 + v2, rtol=1e-12)


def adam_reference(p0, grads, lr, b1, b2, eps):
    """Kingma & Ba 2015, Algorithm 1, in float64: the parameter after each step."""
    p, m, v, out = p0.copy(), np.zeros_like(p0), np.zeros_like(p0), []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p.copy())
    return out


@pytest.mark.parametrize("kwargs", [
    {},                                                       # the DCGAN defaults
    {"lr": 0.01, "betas": (0.9, 0.99)},
    {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-3},         # eps ~ |g|: where eps goes matters
])
@pytest.mark.parametrize("flat", [True, False])      # the fast path (minigan/fast/adam.py), and not
def test_adam_three_steps_match_reference(xp, kwargs, flat):
    lr, (b1, b2), eps = (kwargs.get("lr", 2e-4), kwargs.get("betas", (0.5, 0.999)),
                         kwargs.get("eps", 1e-8))
    p0 = host(0, (4, 3))
    # Small gradients of changing size and sign, so m and v differ from step to step.
    grads = [host(s, (4, 3), scale=1e-3 * s) for s in (1, 2, 3)]
    p = param(xp, p0)
    opt = Adam([p], flat=flat, **kwargs)
    for g, expected in zip(grads, adam_reference(p0, grads, lr, b1, b2, eps)):
        p.grad = xp.asarray(g)
        opt.step()
        # Compare the updates, not the parameters: p0 ~ 1 would hide an error in a 1e-3 update.
        np.testing.assert_allclose(value(p) - p0, expected - p0, rtol=1e-6)


def test_adam_first_step_moves_each_element_by_about_lr(xp):
    # Bias correction: the first update is lr * g / |g|, whatever the gradient's scale.
    p = param(xp, np.zeros(4), dtype="float32")
    p.grad = xp.asarray([1e-4, -3.0, 50.0, -1e-2], dtype="float32")
    Adam([p], lr=0.01).step()
    np.testing.assert_allclose(p.numpy(), [-0.01, 0.01, -0.01, 0.01], rtol=1e-3)
    assert p.dtype == np.float32                                # updated in place, same dtype


def test_adam_defaults():
    opt = Adam([Parameter(np.zeros(2, dtype="float32"))])
    assert opt.lr == 2e-4
    assert (opt.b1, opt.b2) == (0.5, 0.999)
    assert opt.eps == 1e-8


# --- which parameters move -----------------------------------------------------------------------

@pytest.mark.parametrize("make", OPTIMISERS.values(), ids=OPTIMISERS.keys())
def test_optimiser_updates_only_its_parameters(device, xp, make):
    a, b = Dense(3, 2).to(device), Dense(3, 2).to(device)
    x = Tensor(Random(1, device).normal((4, 3)))
    (a(x).sum() + b(x).sum()).backward()
    assert all(p.grad is not None for p in a.parameters() + b.parameters())
    a_before = [p.numpy().copy() for p in a.parameters()]
    b_before = [p.numpy().copy() for p in b.parameters()]
    opt = make(a.parameters())
    for _ in range(2):
        opt.step()
    for p, old in zip(b.parameters(), b_before):
        np.testing.assert_array_equal(p.numpy(), old)               # bit for bit
    for p, old in zip(a.parameters(), a_before):
        assert not np.allclose(p.numpy(), old)


@pytest.mark.parametrize("make", OPTIMISERS.values(), ids=OPTIMISERS.keys())
def test_parameters_without_grad_are_skipped(xp, make):
    with_grad, without = param(xp, host(0, (3,))), param(xp, host(1, (3,)))
    with_grad.grad = xp.ones(3)
    before = without.numpy().copy()
    opt = make([with_grad, without])
    opt.step()
    opt.step()
    np.testing.assert_array_equal(without.numpy(), before)
    assert without.grad is None
    assert id(without) not in opt.state         # no momentum built up from nothing


def test_adam_parameter_that_joins_late_gets_a_first_step(xp):
    # A parameter without gradients for the first steps (frozen, unused) starts its moments at
    # 0 when it first gets one, so its bias correction must count its own steps: its first
    # update is lr * sign(g), as in a fresh optimiser, not one inflated by 1 / sqrt(1 - b2^t).
    early, late = param(xp, np.zeros(2)), param(xp, np.zeros(2))
    opt = Adam([early, late], lr=0.01)
    early.grad = xp.ones(2)
    for _ in range(50):
        opt.step()
    late.grad = xp.asarray([2.0, -0.5])
    opt.step()
    np.testing.assert_allclose(value(late), [-0.01, 0.01], rtol=1e-5)


def test_zero_grad_clears_only_its_parameters(xp):
    mine, other = param(xp, np.zeros(2)), param(xp, np.zeros(2))
    mine.grad, other.grad = xp.ones(2), xp.ones(2)
    SGD([mine]).zero_grad()
    assert mine.grad is None
    assert other.grad is not None


# --- argument checks -----------------------------------------------------------------------------

def p1():
    return [Parameter(np.zeros(2, dtype="float32"))]


@pytest.mark.parametrize("make, match", [
    (lambda: SGD([]), "empty"),
    (lambda: Adam(iter([])), "empty"),
    (lambda: SGD(p1(), lr=0), "lr"),
    (lambda: SGD(p1(), lr=-0.1), "lr"),
    (lambda: Adam(p1(), lr=0.0), "lr"),
    (lambda: SGD(p1(), momentum=1.0), "momentum"),
    (lambda: SGD(p1(), momentum=-0.1), "momentum"),
    (lambda: Adam(p1(), betas=(1.0, 0.999)), "betas"),
    (lambda: Adam(p1(), betas=(0.5, 1.0)), "betas"),
    (lambda: Adam(p1(), betas=(-0.1, 0.999)), "betas"),
])
def test_bad_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# --- it learns -----------------------------------------------------------------------------------

def test_adam_fits_a_linear_problem(device, xp):
    minigan.manual_seed(0)
    rng = Random(5, device)
    X = Tensor(rng.normal((64, 3)))
    W_true = xp.asarray([[1.5], [-2.0], [0.5]], dtype="float32")
    y = Tensor(X.data @ W_true + 0.3)
    layer = Dense(3, 1).to(device)
    opt = Adam(layer.parameters(), lr=0.05)

    def loss():
        return ((layer(X) - y) ** 2).mean()

    first = loss().item()
    for _ in range(300):
        opt.zero_grad()
        current = loss()
        current.backward()
        opt.step()
    final = loss().item()
    assert first > 1.0                          # the problem was not solved at the start
    assert final < 1e-3 * first
    np.testing.assert_allclose(layer.weight.numpy(), minigan.backend.to_numpy(W_true), atol=0.02)
    np.testing.assert_allclose(layer.bias.numpy(), [0.3], atol=0.02)



@pytest.mark.parametrize("make", [lambda ps: SGD(ps, 0.1, momentum=0.9),
                                  lambda ps: Adam(ps, 1e-2)])
def test_state_dict_resumes_exactly(device, make):
    """Three steps, save, two more == the same two more after loading into a fresh optimiser."""
    def grads(params, step):
        for i, p in enumerate(params):
            p.grad = minigan.Random(100 * step + i, device).normal(p.shape)

    minigan.manual_seed(0)
    a = Dense(3, 2).to(device)
    opt_a = make(a.parameters())
    for step in range(3):
        grads(a.parameters(), step)
        opt_a.step()
    saved_model, saved_opt = a.state_dict(), opt_a.state_dict()
    b = Dense(3, 2).to(device).load_state_dict(saved_model)
    opt_b = make(b.parameters()).load_state_dict(saved_opt)
    assert opt_b.t == 3
    for step in range(3, 5):
        for model, opt in ((a, opt_a), (b, opt_b)):
            grads(model.parameters(), step)
            opt.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert np.array_equal(pa.numpy(), pb.numpy())


def test_optimiser_state_of_the_wrong_shape_is_refused():
    opt = Adam(Dense(3, 2).parameters())
    for p in opt.params:
        p.grad = p.data * 0 + 1
    opt.step()
    state = opt.state_dict()
    with pytest.raises(ValueError, match="state of parameter 0 has shape \\(3, 2\\), the "
                                         "parameter \\(4, 2\\)"):
        Adam(Dense(4, 2).parameters()).load_state_dict(state)


@pytest.mark.parametrize("name", OPTIMISERS)
def test_step_bumps_the_version_of_each_parameter_it_updates(name, xp, updates):
    # The version check (minigan/inplace.py): an in-place update must be visible to backward().
    with_grad, without_grad = param(xp, [1.0, 2.0]), param(xp, [3.0])
    opt = OPTIMISERS[name]([with_grad, without_grad])
    with_grad.grad = xp.ones(2)
    opt.step()
    opt.step()
    assert updates[id(with_grad)] == 2 and with_grad.version == minigan.inplace.version
    assert updates[id(without_grad)] == 0    # not updated (no gradient): not modified
    assert without_grad.version == 0
