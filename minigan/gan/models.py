"""The two players: what every generator and discriminator offers, and the MLP pair.

Generator G maps a latent point z ~ N(0, I) to a sample; Discriminator D maps a sample to a
*logit* l, with D(x) = sigmoid(l) the probability that x is real. D returns the logit, not the
probability, so that the loss can be computed stably from it (see minigan/losses.py).

A class-conditional pair (the AC-GAN, gan/acgan.py) has ``num_classes > 0``: its G takes
(z, labels) and its D returns (logit, class_logits). The trainer asks ``num_classes`` and
does the rest; DCGAN's convolutional pair is in gan/dcgan.py.
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


class GeneratorBase(Module):
    """What the trainer needs of a generator: latent_dim, num_classes, sample_latent()."""

    latent_dim = None
    num_classes = 0              # > 0: forward(z, labels) makes samples of the given classes

    def sample_latent(self, m, rng=None):
        """m latent points z ~ N(0, I), drawn on the generator's device."""
        rng = rng or default_random(self.device)
        return Tensor(rng.normal((m, self.latent_dim)))

    def sample_labels(self, m, rng=None):
        """m class labels drawn uniformly, as the conditional G's second input."""
        rng = rng or default_random(self.device)
        return Tensor(rng.integers(0, self.num_classes, m))

    def sample(self, n, rng=None, labels=None):
        """n generated samples (of the given classes, for a conditional G; random classes if
        labels is None), in eval mode and without building a graph."""
        z = self.sample_latent(n, rng)
        if self.num_classes and labels is None:
            labels = self.sample_labels(n, rng)
        return self.sample_with(z, labels)

    def sample_with(self, z, labels=None):
        """G(z) (or G(z, labels)) for given inputs, in eval mode, without building a graph.

        Eval mode matters once G has BatchNorm: samples are normalised with the running
        statistics, so each sample no longer depends on the others in its batch."""
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                return self(z) if labels is None else self(z, labels)
        finally:
            self.train(was_training)


class Generator(GeneratorBase):
    """G: z (m, latent_dim) -> x (m, data_dim)."""

    def __init__(self, latent_dim=2, data_dim=2, hidden=(128, 128), activation="relu",
                 output_activation=None, init="default"):
        self.latent_dim, self.data_dim = latent_dim, data_dim
        self.net = mlp([latent_dim, *hidden, data_dim], activation, output_activation, init=init)
        self.config = {"class": "Generator", "kwargs": dict(
            latent_dim=latent_dim, data_dim=data_dim, hidden=list(hidden), activation=activation,
            output_activation=output_activation, init=init)}

    def forward(self, z):
        return self.net(z)


class Discriminator(Module):
    """D: x (m, data_dim) -> logit (m, 1). D(x) = sigmoid(logit)."""

    num_classes = 0

    def __init__(self, data_dim=2, hidden=(128, 128), activation="leaky_relu", dropout=0.0,
                 init="default"):
        self.data_dim = data_dim
        self.net = mlp([data_dim, *hidden, 1], activation, dropout=dropout, init=init)
        self.config = {"class": "Discriminator", "kwargs": dict(
            data_dim=data_dim, hidden=list(hidden), activation=activation, dropout=dropout,
            init=init)}

    def forward(self, x):
        return self.net(x)
