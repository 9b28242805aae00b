"""The two players: what every generator and discriminator offers, and the MLP pair.

Generator G maps a latent point z ~ N(0, I) to a sample; Discriminator D maps a sample to a
*logit* l, with D(x) = sigmoid(l) the probability that x is real. D returns the logit, not the
probability, so that the loss can be computed stably from it (see minigan/functions/cross_entropy.py).

Every pair offers the trainer the same two calls, whatever its networks: ``G.generate(z,
labels)`` and ``D.judge(x, labels) -> (logits, class_logits)``. A class-conditional pair (the
AC-GAN, gan/acgan.py) has ``num_classes > 0``: its G is told the classes to draw and its D has a
second head naming the class (or takes the labels into its logit: gan/projection.py; the
recipes are in gan/conditioning.py); for the others labels are None and class_logits is None.
DCGAN's convolutional pair is in gan/dcgan.py.

From the trainer to the layers: generate() and judge() call the network (forward), which for the
MLP pair is ``self.net``, a Sequential of the layers in nn/layers.py (Dense: functions/matmul.py,
the activations: functions/activations.py), built by mlp() below.

The latent law is G's to say: N(0, I) for every generator, or, for the MLP G,
``Generator(latent="uniform")``: z uniform on [-1, 1)^d, the prior of some papers (DCGAN's).
It is part of G's saved config, so a generator loaded from a file draws the noise it was
trained on; everything that draws z (the trainer, the lab, the examples) calls
G.sample_latent().

Two switches reproduce PacGAN's 2-D benchmark nets (Lin et al. 2018; benchmarks/quality_2d.py):
``Generator(batch_norm=True)`` puts a BatchNorm1d after every hidden Dense layer, and
``Discriminator(pack=p)`` judges p samples at once ("packing", see the class).
"""
from .. import functions as F
from ..arguments import check_int, check_sizes
from ..nn import (BatchNorm1d, Dense, Dropout, Module, Sequential, SpectralNorm, activation,
                  rebuildable)
from ..random import default_random
from ..tensor import Tensor, no_grad


def mlp(sizes, hidden_activation, output_activation=None, dropout=0.0, init="default",
        batch_norm=False, spectral_norm=False):
    """Dense layers of the given sizes, an activation (and dropout) after each hidden one.

    batch_norm: Dense -> BatchNorm1d -> activation for each hidden layer. Those Dense layers
    get no bias: BatchNorm subtracts the batch mean right after, which cancels any constant
    added before it (its gradient would be exactly 0); BatchNorm's own shift beta replaces it.
    spectral_norm: every Dense wrapped in SpectralNorm (nn/spectral_norm.py)."""
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        dense = Dense(n_in, n_out, bias=last or not batch_norm, init=init)
        layers.append(SpectralNorm(dense) if spectral_norm else dense)
        if not last:
            if batch_norm:
                layers.append(BatchNorm1d(n_out))
            layers.append(activation(hidden_activation))
            if dropout:
                layers.append(Dropout(dropout))
        elif output_activation is not None:
            layers.append(activation(output_activation))
    return Sequential(*layers)


LATENTS = ("normal", "uniform")      # the laws of z that sample_latent draws


def check_latent(owner, latent):
    """latent: the name of the law of z, one of LATENTS."""
    if not isinstance(latent, str) or latent not in LATENTS:
        raise ValueError(f"{owner}: unknown latent distribution {latent!r}: expected one of "
                         f"{LATENTS}")


def check_hidden(owner, hidden):
    """hidden: the hidden layers' sizes, a tuple or list of integers >= 1 (empty: none)."""
    if not isinstance(hidden, (tuple, list)):
        raise ValueError(f"{owner}: hidden must be a tuple of layer sizes, e.g. (128, 128), "
                         f"got {hidden!r}")
    for i, size in enumerate(hidden):
        check_int(owner, f"hidden[{i}]", size)


class GeneratorBase(Module):
    """What the trainer needs of a generator: latent_dim, num_classes, sample_latent(),
    generate()."""

    latent_dim = None
    latent = "normal"            # the law of z: "normal", N(0, I), or "uniform", U[-1, 1)^d
    num_classes = 0              # > 0: forward(z, labels) makes samples of the given classes

    def generate(self, z, labels=None):
        """G(z), or G(z, labels) for a class-conditional G."""
        if self.num_classes:
            return self(z, labels)
        if labels is not None:
            raise ValueError(f"{type(self).__name__}.generate: labels were given, but this "
                             f"generator is not class-conditional")
        return self(z)

    def sample_latent(self, m, rng=None):
        """m latent points z ~ N(0, I), or uniform on [-1, 1)^latent_dim for a G built with
        latent="uniform", drawn on the generator's device."""
        check_int(f"{type(self).__name__}.sample_latent", "m (points to draw)", m)
        rng = rng or default_random(self.device)
        if self.latent == "uniform":
            return Tensor(rng.uniform((m, self.latent_dim), low=-1.0, high=1.0))
        return Tensor(rng.normal((m, self.latent_dim)))

    def sample_labels(self, m, rng=None):
        """m class labels drawn uniformly, as the conditional G's second input."""
        check_int(f"{type(self).__name__}.sample_labels", "m (labels to draw)", m)
        rng = rng or default_random(self.device)
        return Tensor(rng.integers(0, self.num_classes, m))

    def sample(self, n, rng=None, labels=None):
        """n generated samples (of the given classes, for a conditional G; random classes if
        labels is None), in eval mode and without building a graph."""
        # Checked here, by its own name: -1 would otherwise fail deep in NumPy, and 1.5 or True
        # would be taken as a size.
        check_int(f"{type(self).__name__}.sample", "n (samples to draw)", n)
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
                return self.generate(z, labels)
        finally:
            self.train(was_training)


class DiscriminatorBase(Module):
    """What the trainer needs of a discriminator: num_classes and judge()."""

    num_classes = 0              # > 0: a second head gives class logits
    takes_labels = False         # True: the labels are part of the verdict (projection.py)

    def judge(self, x, labels=None):
        """D's verdict on a batch: (logits (m, 1), class_logits (m, num_classes) or None).
        labels: the batch's classes, for a D that takes them; others ignore them."""
        return self(x), None


@rebuildable
class Generator(GeneratorBase):
    """G: z (m, latent_dim) -> x (m, data_dim).

    batch_norm=True: BatchNorm1d after each hidden Dense layer (PacGAN's 2-D generator is
    Generator(2, 2, (400,) * 4, "relu", batch_norm=True)). G then normalises each training
    batch by its own statistics, and sample() (eval mode) by the running ones.
    latent: the law of z that sample_latent() draws, "normal" (N(0, I)) or "uniform"
    (U[-1, 1)^latent_dim)."""

    def __init__(self, latent_dim=2, data_dim=2, hidden=(128, 128), activation="relu",
                 output_activation=None, init="default", batch_norm=False, latent="normal"):
        check_sizes("Generator", latent_dim=latent_dim, data_dim=data_dim)
        check_hidden("Generator", hidden)
        check_latent("Generator", latent)
        self.latent_dim, self.data_dim, self.latent = latent_dim, data_dim, latent
        self.net = mlp([latent_dim, *hidden, data_dim], activation, output_activation, init=init,
                       batch_norm=batch_norm)

    def forward(self, z):
        return self.net(z)


@rebuildable
class Discriminator(DiscriminatorBase):
    """D: x (m, data_dim) -> logit (m / pack, 1). D(x) = sigmoid(logit).

    pack = p > 1 is PacGAN's packing (Lin et al. 2018): D judges p samples at once. Rows
    p j, ..., p j + p - 1 of the batch are concatenated into one input of p * data_dim values,

        x (m, data_dim)  ->  packs (m / p, p * data_dim)  ->  logits (m / p, 1),

    and each pack gets one label: 1 when its p samples are real, 0 when they are generated (the
    trainer's real and generated batches are separate, so no pack mixes the two; the losses are
    unchanged, averaged over m / p packs). Why it helps against mode collapse: D now compares
    the joint laws P^p of p real samples and Q^p of p generated ones. A G that drops modes of
    total mass e in P draws no sample from them, while a real pack holds at least one with
    probability 1 - (1 - e)^p, about p e: the difference D can see grows with p (PacGAN shows
    that packing enlarges the total-variation distance much more for a Q with such a collapse
    than for one without), and a pack of p near-identical samples -- the signature of a
    collapsed G -- is itself unlike any real pack. The batch size m must be divisible by p:
    m samples make m / p packs, so for PacGAN's recipe of 100 packs per step use
    batch_size = 100 p.

    The gradient needs no new rule: the packing is a reshape, whose backward reshapes each
    pack's gradient back onto its p samples, so G still receives one gradient per sample.
    """

    def __init__(self, data_dim=2, hidden=(128, 128), activation="leaky_relu", dropout=0.0,
                 init="default", pack=1, spectral_norm=False):
        check_sizes("Discriminator", data_dim=data_dim)
        check_hidden("Discriminator", hidden)
        check_int("Discriminator", "pack (samples per D input)", pack)
        self.data_dim, self.pack = data_dim, pack
        self.net = mlp([pack * data_dim, *hidden, 1], activation, dropout=dropout, init=init,
                       spectral_norm=spectral_norm)

    def forward(self, x):
        if self.pack > 1:
            x = self.packed(x)
        return self.net(x)

    def packed(self, x):
        """x (m, data_dim) -> (m / pack, pack * data_dim): row j holds samples pack j .. pack j +
        pack - 1 side by side (a row-major reshape: no values move)."""
        if x.ndim != 2 or x.shape[1] != self.data_dim:
            raise ValueError(f"Discriminator(pack={self.pack}): expected input of shape (batch, "
                             f"{self.data_dim}), got {x.shape}")
        m = x.shape[0]
        if m % self.pack:
            raise ValueError(f"Discriminator(pack={self.pack}): a batch of {m} samples cannot be "
                             f"cut into packs of {self.pack}; use a batch size divisible by "
                             f"{self.pack} (PacGAN's recipe: 100 packs, batch_size = "
                             f"{100 * self.pack})")
        return F.reshape(x, (m // self.pack, self.pack * self.data_dim))
