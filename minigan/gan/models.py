"""The two players, as multilayer perceptrons.

Generator G maps a latent point z ~ N(0, I) to a sample; Discriminator D maps a sample to a
*logit* l, with D(x) = sigmoid(l) the probability that x is real. D returns the logit, not the
probability, so that the loss can be computed stably from it (see minigan/losses.py).
"""
from ..nn import Dense, Dropout, Module, Sequential, activation
from ..random import default_random
from ..tensor import Tensor, no_grad


def mlp(sizes, hidden_activation, output_activation=None, dropout=0.0, init="default"):
    """Dense layers of the given sizes, an activation (and dropout) after each hidden one."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(n_in, n_out, init=init))
        last = i == len(sizes) - 2
        if not last:
            layers.append(activation(hidden_activation))
            if dropout:
                layers.append(Dropout(dropout))
        elif output_activation is not None:
            layers.append(activation(output_activation))
    return Sequential(*layers)


class Generator(Module):
    """G: z (m, latent_dim) -> x (m, data_dim)."""

    def __init__(self, latent_dim=2, data_dim=2, hidden=(128, 128), activation="relu",
                 output_activation=None, init="default"):
        self.latent_dim, self.data_dim = latent_dim, data_dim
        self.net = mlp([latent_dim, *hidden, data_dim], activation, output_activation, init=init)

    def forward(self, z):
        return self.net(z)

    def sample_latent(self, m, rng=None):
        """m latent points z ~ N(0, I), drawn on the generator's device."""
        rng = rng or default_random(self.device)
        return Tensor(rng.normal((m, self.latent_dim)))

    def sample(self, n, rng=None):
        """n generated samples, in eval mode and without building a graph."""
        return self.sample_with(self.sample_latent(n, rng))

    def sample_with(self, z):
        """G(z) for given latent points, in eval mode and without building a graph."""
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                return self(z)
        finally:
            self.train(was_training)


class Discriminator(Module):
    """D: x (m, data_dim) -> logit (m, 1). D(x) = sigmoid(logit)."""

    def __init__(self, data_dim=2, hidden=(128, 128), activation="leaky_relu", dropout=0.0,
                 init="default"):
        self.data_dim = data_dim
        self.net = mlp([data_dim, *hidden, 1], activation, dropout=dropout, init=init)

    def forward(self, x):
        return self.net(x)
