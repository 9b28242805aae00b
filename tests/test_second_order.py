"""Gradients of gradients: create_graph, minigan.grad and check_second_order.

Every Function that says twice_differentiable = True is checked here with check_second_order
(finite differences of its analytic gradient, random upstream and direction, float64); closed
forms where they exist; a Hessian-vector product of a small MLP against finite differences of
its gradient; the refusals (an op that can't be recorded, names itself); and the one-rule
promise: the same backward rule gives the same numbers, bit for bit, run on arrays (a plain
backward) and on Tensors (a recorded one).
"""
import numpy as np
import pytest
from test_functions import make_input

import minigan
from minigan import Function, Tensor
from minigan import functions as F
from minigan.functions import shapes
from minigan.functions.convolution import Conv2dWeightGradient
from minigan.functions.matmul import Linear
from minigan.gan import Discriminator, Generator, discriminator_loss, generator_loss
from minigan.gradcheck import GradientCheckError, check_gradients, check_second_order


def inputs(device, shapes_, domain="real", seed=0):
    return [Tensor(make_input(device, s, domain, seed + i), requires_grad=True)
            for i, s in enumerate(shapes_)]


# (name, input shapes, domain, function): every op that claims twice_differentiable, with
# broadcasting pairs where the op broadcasts. Functions nonlinear enough that the second
# derivative is not trivially 0 (a linear op's is; then its first derivative is composed with
# a nonlinear one, so a wrong recorded rule would still show).
CASES = [
    ("Add", [(3, 4), (4,)], "real", lambda a, b: F.tanh(a + b) * (a + b)),
    ("Sub", [(3, 1), (1, 4)], "real", lambda a, b: (a - b) ** 3),
    ("Mul", [(3, 4), (3, 1)], "real", lambda a, b: a * b * a),
    ("Mul by a constant", [(2, 3)], "real", lambda a: F.tanh(a * 3.0)),
    ("Div", [(3, 4), (4,)], "positive", lambda a, b: a / b),
    ("Div of a constant", [(3, 4)], "positive", lambda a: 2.0 / a),
    ("Neg", [(5,)], "real", lambda a: -(a * a)),
    ("Pow", [(2, 3)], "positive", lambda a: a ** 2.5),
    ("Pow 3", [(2, 3)], "real", lambda a: a ** 3),
    ("Exp", [(2, 3)], "real", lambda a: F.exp(a)),
    ("Log", [(2, 3)], "positive", lambda a: F.log(a)),
    ("MatMul", [(4, 3), (3, 2)], "real", lambda a, b: F.tanh(a @ b)),
    ("MatMul batched", [(2, 4, 3), (3, 2)], "real", lambda a, b: (a @ b) ** 2),
    ("Linear", [(4, 3), (3, 2), (2,)], "real", lambda x, W, b: F.sigmoid(F.linear(x, W, b))),
    ("Sum", [(3, 4)], "real", lambda a: F.sum(a * a, axis=1) ** 2),
    ("Sum keepdims", [(3, 4)], "real", lambda a: F.tanh(F.sum(a, axis=0, keepdims=True)) * a),
    ("Mean", [(3, 4)], "real", lambda a: F.mean(F.exp(a), axis=(0, 1)) ** 2),
    ("BroadcastTo", [(3, 1)], "real", lambda a: shapes.broadcast_to(a, (2, 3, 4)) ** 3),
    ("Reshape", [(3, 4)], "real", lambda a: F.reshape(a, (2, 6)) ** 3),
    ("Transpose", [(2, 3, 4)], "real", lambda a: F.tanh(F.transpose(a, (2, 0, 1))) * 2.0),
    ("Tanh", [(3, 4)], "real", lambda a: F.tanh(a)),
    ("Sigmoid", [(3, 4)], "real", lambda a: F.sigmoid(a)),
    ("ReLU", [(3, 4)], "nonzero", lambda a: F.relu(a) * a),
    ("LeakyReLU", [(3, 4)], "nonzero", lambda a: F.leaky_relu(a, 0.1) ** 2),
    ("Dropout", [(3, 4)], "real",
     lambda a: F.dropout(a, 0.3, rng=minigan.Random(5, a.device)) ** 2),
    ("Conv2d", [(2, 2, 5, 5), (3, 2, 3, 3), (3,)], "real",
     lambda x, W, b: F.tanh(F.conv2d(x, W, b, stride=2, padding=1))),
    ("Conv2d, non-square", [(1, 2, 4, 6), (2, 2, 3, 2)], "real",
     lambda x, W: F.conv2d(x, W) ** 2),
    ("ConvTranspose2d", [(2, 3, 3, 3), (3, 2, 4, 4), (2,)], "real",
     lambda x, W, b: F.tanh(F.conv_transpose2d(x, W, b, stride=2, padding=1, output_padding=1))),
    ("Conv2dWeightGradient", [(2, 2, 5, 5), (2, 3, 3, 3)], "real",
     lambda u, v: Conv2dWeightGradient(2, 1, (3, 3))(u, v) ** 2),
    ("Concatenate", [(2, 3), (2, 1)], "real",
     lambda a, b: F.tanh(F.concatenate([a * b, b], axis=1))),
    ("GetItem", [(3, 4)], "real", lambda a: a[1:, ::2] ** 3),
    ("PutInto", [(2, 2)], "real",
     lambda a: F.tanh(shapes.PutInto((slice(1, 3), slice(None, None, 2)), (4, 4),
                                     "float64")(a * a))),
    ("Embedding", [(4, 3)], "real", lambda W: F.embedding(np.array([[0, 2], [2, 3]]), W) ** 3),
    ("SoftmaxCrossEntropy", [(5, 3)], "real",
     lambda x: F.softmax_cross_entropy(x, np.array([0, 2, 1, 1, 0]))),
    ("SigmoidBCEWithLogits", [(6,)], "real", lambda x: F.sigmoid_binary_cross_entropy(x, 1.0)),
    ("SigmoidBCEWithLogits, tensor targets", [(6,), (6,)], "real",
     lambda x, y: F.sigmoid_binary_cross_entropy(x, F.sigmoid(y))),
]
CHECKED = {"Add", "Sub", "Mul", "Div", "Neg", "Pow", "Exp", "Log", "MatMul", "Linear", "Sum",
           "Mean", "BroadcastTo", "Reshape", "Transpose", "Tanh", "Sigmoid", "ReLU",
           "LeakyReLU", "Dropout", "SigmoidBCEWithLogits", "Conv2dFunction",
           "ConvTranspose2dFunction", "Conv2dWeightGradient", "Concatenate", "GetItem",
           "PutInto", "Embedding", "SoftmaxCrossEntropy"}


@pytest.mark.parametrize("name, input_shapes, domain, fn", CASES, ids=[c[0] for c in CASES])
def test_second_derivatives_match_finite_differences_of_the_first(device, name, input_shapes,
                                                                  domain, fn):
    xs = inputs(device, input_shapes, domain)
    assert check_second_order(fn, xs) < 1e-5


def _all_functions(cls=Function):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_functions(sub)


def test_every_twice_differentiable_function_is_checked_here():
    # A new op may claim twice_differentiable only with a case in CASES above.
    claimed = {f.__name__ for f in _all_functions()
               if f.twice_differentiable and f.__module__.startswith("minigan.")}
    assert claimed == CHECKED


@pytest.mark.parametrize("fn, second", [
    (F.tanh, lambda t: -2 * np.tanh(t) * (1 - np.tanh(t) ** 2)),
    (F.sigmoid, lambda t: (s := 1 / (1 + np.exp(-t))) * (1 - s) * (1 - 2 * s)),
    (F.exp, np.exp),
    (lambda x: x ** 3, lambda t: 6 * t),
    (lambda x: F.log(x * x + 1), lambda t: 2 * (1 - t * t) / (1 + t * t) ** 2),
])
def test_closed_form_second_derivatives(fn, second):
    t = np.linspace(-3, 3, 13)
    x = minigan.tensor(t, requires_grad=True)
    first = minigan.grad(fn(x).sum(), x, create_graph=True)
    assert first.creator is not None                     # a recorded gradient
    np.testing.assert_allclose(minigan.grad(first.sum(), x).numpy(), second(t), rtol=1e-12,
                               atol=1e-14)


def mlp_loss(params, x):
    W1, b1, W2, b2 = params
    return F.mean(F.tanh(F.linear(F.tanh(F.linear(x, W1, b1)), W2, b2)) ** 2)


def test_hessian_vector_product_of_an_mlp_matches_finite_differences_of_its_gradient():
    rng = np.random.default_rng(0)
    shapes_ = [(3, 5), (5,), (5, 2), (2,)]
    params = [minigan.tensor(rng.normal(size=s), requires_grad=True) for s in shapes_]
    v = [rng.normal(size=s) for s in shapes_]
    x = minigan.tensor(rng.normal(size=(7, 3)))
    mlp_loss(params, x).backward(create_graph=True)      # .grad: Tensors with a graph
    assert all(isinstance(p.grad, Tensor) and p.grad.creator is not None for p in params)
    gv = sum((p.grad * vi).sum() for p, vi in zip(params, v))
    hvp = minigan.grad(gv, params)                       # H v, by a second backward pass

    def gradient_at(shift):
        moved = [minigan.tensor(p.data + shift * vi, requires_grad=True)
                 for p, vi in zip(params, v)]
        return minigan.grad(mlp_loss(moved, x), moved)

    eps = 1e-5
    plus, minus = gradient_at(eps), gradient_at(-eps)
    for h, gp, gm in zip(hvp, plus, minus):
        np.testing.assert_allclose(h.numpy(), (gp.numpy() - gm.numpy()) / (2 * eps),
                                   rtol=1e-6, atol=1e-9)


def test_r1_penalty_of_a_discriminator_has_checked_gradients():
    # R1 (Mescheder et al. 2018): gamma/2 * E ||dD(x)/dx||^2; its gradient with respect to D's
    # weights goes through D's backward pass, recorded.
    D = Discriminator(data_dim=2, hidden=(6, 5), activation="leaky_relu").astype("float64")
    x = Tensor(make_input("cpu", (4, 2), "nonzero", 3), requires_grad=True)

    def r1(x):
        with minigan.enable_grad():    # check_gradients evaluates r1 under no_grad() too
            gx = minigan.grad(D(x).sum(), x, create_graph=True)
            return 0.5 * F.mean(F.sum(gx * gx, axis=1))

    assert check_gradients(r1, [x], D.parameters()) < 1e-5


# --- one rule, two kinds of values: the same numbers --------------------------------------------

@pytest.mark.parametrize("loss_name", ["non-saturating", "minimax"])
def test_a_recorded_backward_gives_the_plain_backwards_numbers_bit_for_bit(loss_name):
    minigan.manual_seed(1)
    G = Generator(latent_dim=3, data_dim=2, hidden=(8, 8))
    D = Discriminator(data_dim=2, hidden=(8, 8), activation="leaky_relu")
    real = Tensor(minigan.Random(2).normal((16, 2)))
    z = G.sample_latent(16, minigan.Random(3))

    def gradients(create_graph):
        params = G.parameters() + D.parameters()
        for p in params:
            p.grad = None
        fake = G(z)
        loss = discriminator_loss(D(real), D(fake))[0] + generator_loss(D(fake), loss_name)
        loss.backward(create_graph=create_graph)
        return [p.grad.data if create_graph else p.grad for p in params]

    plain, recorded = gradients(False), gradients(True)
    assert all(g.dtype == np.float32 for g in recorded)
    for a, b in zip(plain, recorded):
        assert np.array_equal(a, b)


def test_an_optimiser_steps_with_recorded_gradients_as_with_plain_ones():
    from minigan.optim import Adam
    minigan.manual_seed(0)
    results = []
    for create_graph in (False, True):
        D = Discriminator(data_dim=2, hidden=(4,))
        opt = Adam(D.parameters(), lr=0.01)
        x = Tensor(minigan.Random(0).normal((8, 2)))
        F.sigmoid_binary_cross_entropy(D(x), 1.0).backward(create_graph=create_graph)
        opt.step()
        results.append([p.numpy() for p in D.parameters()])
        minigan.manual_seed(0)
    for a, b in zip(*results):
        assert np.array_equal(a, b)


# --- grad() ---------------------------------------------------------------------------------------

def test_grad_returns_gradients_and_leaves_dot_grad_alone():
    x = minigan.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = minigan.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = (x * x * w).sum()
    gx = minigan.grad(y, x)
    assert isinstance(gx, Tensor) and gx.creator is None and not gx.requires_grad
    np.testing.assert_allclose(gx.numpy(), 2 * x.numpy() * w.numpy())
    gx2, gw = minigan.grad(y, [x, w])
    np.testing.assert_allclose(gw.numpy(), x.numpy() ** 2)
    assert x.grad is None and w.grad is None


def test_grad_with_grad_outputs_and_several_outputs():
    x = minigan.tensor([1.0, -2.0], requires_grad=True)
    y1, y2 = x * 3.0, x * x
    g = minigan.grad([y1, y2], x, grad_outputs=[np.array([1.0, 2.0], dtype="float32"),
                                                np.array([1.0, 1.0], dtype="float32")])
    np.testing.assert_allclose(g.numpy(), [3.0 + 2.0, 6.0 - 4.0])


def test_grad_only_walks_what_leads_to_its_inputs():
    # D's weights need no gradient for dD/dx: the rules are told so, and skip that work.
    D = Discriminator(data_dim=2, hidden=(4,))
    x = minigan.Random(0).normal((5, 2))
    x = Tensor(x, requires_grad=True)
    seen = []
    backward = Linear.backward

    def watching(self, gy):
        seen.append(self.needs_grad)
        return backward(self, gy)

    Linear.backward = watching
    try:
        minigan.grad(D(x).sum(), x)
    finally:
        Linear.backward = backward
    assert seen == [(True, False, False), (True, False, False)]
    assert all(p.grad is None for p in D.parameters())


@pytest.mark.parametrize("call, message", [
    (lambda x, y: minigan.grad(y, minigan.tensor([1.0], requires_grad=True)),
     r"grad: inputs\[0\] \(shape \(1,\)\) was not used to compute the outputs"),
    (lambda x, y: minigan.grad(y, minigan.tensor([1.0])),
     r"grad: inputs\[0\] is not a Tensor that requires gradients"),
    (lambda x, y: minigan.grad(y * x, x),
     r"backward\(\) without a gradient needs a one-element tensor"),
    (lambda x, y: minigan.grad([y, y], x, grad_outputs=[None]),
     r"grad: 1 grad_outputs for 2 outputs"),
])
def test_grad_refuses_what_it_cannot_do(call, message):
    x = minigan.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=message):
        call(x, (x * x).sum())


# --- refusals: never a silently wrong second derivative ------------------------------------------

def test_an_op_that_cannot_be_recorded_names_itself():
    from minigan.nn import BatchNorm1d
    x = Tensor(minigan.Random(1).normal((4, 3), dtype="float64"), requires_grad=True)
    bn = BatchNorm1d(3).astype("float64")
    minigan.grad(bn(x).sum(), x)                            # first order: fine
    with pytest.raises(RuntimeError, match=r"create_graph: BatchNorm\w* cannot be "
                                           r"differentiated twice"):
        minigan.grad((bn(x) ** 2).sum(), x, create_graph=True)


class SquareSavingItsDerivative(Function):
    """x^2 whose forward saves 2x, an array computed from x: not recordable."""
    twice_differentiable = True

    def forward(self, x):
        self.saved = (2 * x,)
        return x * x

    def backward(self, gy):
        (two_x,) = self.saved
        return gy * two_x


class SquareWithAConstantDerivative(Function):
    """x^2 whose backward reads 2x from a plain attribute: a wrong claim to be recordable
    (2x would be taken as a constant, and the second derivative come out 0)."""
    twice_differentiable = True

    def forward(self, x):
        self.two_x = 2 * x
        return x * x

    def backward(self, gy):
        return gy * self.two_x


def test_a_saved_array_that_is_not_an_input_or_the_output_is_refused():
    x = minigan.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="SquareSavingItsDerivative saved an array that is "
                                           "neither an input nor its output"):
        minigan.grad(SquareSavingItsDerivative()(x).sum(), x, create_graph=True)


def test_the_second_order_checker_catches_a_wrong_recorded_rule():
    x = inputs("cpu", [(4,)])
    assert check_gradients(lambda x: SquareWithAConstantDerivative()(x), x) < 1e-6
    with pytest.raises(GradientCheckError, match="backward\\(\\) gave no gradient, the numeric "
                                                 "one is not 0"):
        check_second_order(lambda x: SquareWithAConstantDerivative()(x), x)


# --- every layer a twice-differentiable op builds, with its parameters -----------------------------

def _layers():
    from minigan.nn import (Conv2d, ConvTranspose2d, Dense, Embedding, LeakyReLU, Sequential,
                            SpectralNorm, Tanh)
    return [
        ("Dense", lambda: Dense(3, 4), (5, 3)),
        ("Conv2d", lambda: Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 5, 5)),
        ("ConvTranspose2d", lambda: ConvTranspose2d(2, 3, 4, stride=2, padding=1), (2, 2, 3, 3)),
        ("Sequential of Dense, LeakyReLU, Tanh",        # (Dropout: its op is checked above)
         lambda: Sequential(Dense(3, 6), LeakyReLU(0.2), Dense(6, 2), Tanh()), (4, 3)),
        ("SpectralNorm(Dense), eval", lambda: SpectralNorm(Dense(3, 4)).eval(), (5, 3)),
        ("Embedding", lambda: Embedding(5, 3), None),
    ]


@pytest.mark.parametrize("name, make, input_shape", _layers(), ids=[c[0] for c in _layers()])
def test_every_layer_has_checked_second_derivatives(name, make, input_shape):
    minigan.manual_seed(0)
    layer = make().astype("float64")
    if input_shape is None:                      # Embedding: integer rows in, nothing to perturb
        rows = np.array([[0, 3], [3, 1]])
        assert check_second_order(lambda: F.tanh(layer(rows)), [], layer.parameters()) < 1e-5
        return
    x = Tensor(make_input("cpu", input_shape, "nonzero", 1), requires_grad=True)
    assert check_second_order(lambda x: F.tanh(layer(x)), [x], layer.parameters()) < 1e-5
