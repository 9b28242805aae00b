"""Gradient penalties: terms of D's loss made of D's gradient with respect to its input.

    R1 (Mescheder et al. 2018)        gamma/2 * E_{x ~ data} ||dD(x)/dx||^2
    R2                                 gamma/2 * E_{x ~ G}    ||dD(x)/dx||^2
    WGAN-GP (Gulrajani et al. 2017)   lambda  * E_{x^} (||dD(x^)/dx^|| - 1)^2,
                                      x^ = e x + (1 - e) G(z), e ~ U[0, 1] per sample pair

D(x) is D's logit (the critic's score, for the WGAN loss); for a D that takes the class
(projection.py), D(x, y), with each sample's class y (the `labels` of each function below).
R1 keeps D flat on the data: where D has no slope, G's samples that land on the data get no
push away from it, and the game can settle there instead of circling (Mescheder et al.,
Theorem 4.1). WGAN-GP asks for slope 1 on the lines between real and generated samples: the
1-Lipschitz critic the Wasserstein distance needs.

gamma (and WGAN-GP's lambda, `weight` below) is the penalty's weight, not BatchNorm's scale
(nn/norm_layers.py also calls that gamma). From the trainer it arrives as gamma * penalty_every:
a lazy penalty, on one D update in n, weighs n times as much (GANTrainer.penalty_term).

Why the second backward. The penalty depends on D's weights theta through the gradient
g(theta) = dD(x; theta)/dx, itself the output of a backward pass. Its gradient,
d||g||^2/dtheta = 2 g^T dg/dtheta, differentiates that backward pass: minigan.grad(...,
create_graph=True) records it as a graph (tensor.py), and the loss's backward() walks through it.
"""
from .. import functions as F
from ..tensor import Tensor, grad

PENALTIES = ("r1", "r2", "gp")


def squared_input_gradient_norms(D, x, labels=None):
    """||dD(x_i)/dx_i||^2 for each of D's verdicts on the batch x (one per sample; one per pack
    of samples for a packing D), differentiable in D's weights. labels: the samples' classes,
    for a D that takes them (projection.py: the logit, and its slope, depend on the class).

    The gradient of the sum of the logits gives every verdict's own gradient at once: each
    depends on its own input only (no BatchNorm: checks.py refuses a penalty on a D with it)."""
    x = Tensor(x.data, requires_grad=True)      # a leaf of its own, to differentiate at
    logits, _ = D.judge(x, labels)
    g = grad(logits.sum(), x, create_graph=True)
    return F.sum((g * g).reshape(len(logits), -1), axis=1)


def r1(D, real, gamma, labels=None):
    """gamma/2 E_data ||dD(x)/dx||^2 (gamma: the weight, as the module docstring says)."""
    return (gamma / 2) * F.mean(squared_input_gradient_norms(D, real, labels))


def r2(D, fake, gamma, labels=None):
    """gamma/2 E_G ||dD(x)/dx||^2: R1 on the generated samples (gamma: as for r1)."""
    return (gamma / 2) * F.mean(squared_input_gradient_norms(D, fake, labels))


def gradient_penalty(D, real, fake, weight, rng, labels=None):
    """WGAN-GP: weight * E (||dD(x^)/dx^|| - 1)^2 on random points x^ between pairs of samples
    (weight: the paper's lambda; from the trainer, gamma * penalty_every). labels: for a D
    that takes them, the classes x^ is judged as (the trainer passes the real samples')."""
    shape = (len(real),) + (1,) * (real.ndim - 1)          # one e per pair, broadcast
    e = rng.uniform(shape, dtype=real.dtype)
    between = Tensor(e * real.data + (1 - e) * fake.data)
    # + 1e-12: the norm's derivative g/||g|| is 0/0 where the gradient is exactly 0.
    norms = (squared_input_gradient_norms(D, between, labels) + 1e-12) ** 0.5
    return weight * F.mean((norms - 1.0) ** 2)
