"""Bad arguments to the Python API are refused where they are given (issue 13, point 6), each
with one line naming the class or function, the argument, what was expected and what came;
not later, as a ZeroDivisionError, a math domain error or a network that never trains."""
import re

import numpy
import pytest

import minigan
from minigan import Tensor
from minigan.gan import (ACGANDiscriminator, ACGANGenerator, DCGANDiscriminator, DCGANGenerator,
                         Discriminator, GANTrainer, Generator)
from minigan.nn import BatchNorm1d, Conv2d, ConvTranspose2d, Dense, Embedding
from minigan.data import make_2d
from minigan.gan.schedule import LinearDecay
from minigan.images import batches
from minigan.nn import Parameter
from minigan.optim import SGD, Adam

DATA = numpy.random.default_rng(0).normal(size=(32, 2)).astype("float32")


def G():
    return Generator(2, 2, (8,))


def D():
    return Discriminator(2, (8,))


def train(**options):
    """GANTrainer(G, D).train(DATA, ...) with the given options over quiet defaults."""
    settings = dict(epochs=1, batch_size=8, log_every=0)
    settings.update(options)
    return GANTrainer(G(), D()).train(DATA, **settings)


def trainer_with_optimizers(g_params, d_params):
    g, d = G(), D()
    chosen = {"G": g.parameters, "D": d.parameters}
    return GANTrainer(g, d, Adam(chosen[g_params]()), Adam(chosen[d_params]()))


NAN, INF = float("nan"), float("inf")
V, T = ValueError, TypeError

# (id, the call, the exception, a regex of its message: who, the argument, what came)
CASES = [
    # --- layers ---
    ("Dense-out-0", lambda: Dense(3, 0), V,
     r"^Dense: out_features must be an integer >= 1, got 0$"),
    ("Dense-in-negative", lambda: Dense(-3, 4), V, r"^Dense: in_features .* >= 1, got -3$"),
    ("Dense-in-float", lambda: Dense(2.5, 3), V, r"^Dense: in_features .* integer .*, got 2\.5$"),
    ("Dense-in-bool", lambda: Dense(True, 3), V, r"^Dense: in_features .* integer .*, got True$"),
    ("Conv2d-kernel-0", lambda: Conv2d(1, 2, 0), V, r"^Conv2d: kernel_size .* >= 1, got 0$"),
    ("Conv2d-stride-0", lambda: Conv2d(1, 2, 3, stride=0), V, r"^Conv2d: stride .* >= 1, got 0$"),
    ("Conv2d-padding-negative", lambda: Conv2d(1, 2, 3, padding=-1), V,
     r"^Conv2d: padding must be an integer >= 0, got -1$"),
    ("Conv2d-in-channels-0", lambda: Conv2d(0, 2, 3), V, r"^Conv2d: in_channels .* got 0$"),
    ("Conv2d-out-channels-0", lambda: Conv2d(1, 0, 3), V, r"^Conv2d: out_channels .* got 0$"),
    ("Conv2d-kernel-pair", lambda: Conv2d(1, 2, (3, 3)), T,
     r"^Conv2d: kernel_size must be an int \(square kernels.*got \(3, 3\)$"),
    ("ConvT-kernel-0", lambda: ConvTranspose2d(1, 2, 0), V,
     r"^ConvTranspose2d: kernel_size .* >= 1, got 0$"),
    ("ConvT-stride-0", lambda: ConvTranspose2d(1, 2, 3, stride=0), V,
     r"^ConvTranspose2d: stride .* >= 1, got 0$"),
    ("ConvT-padding-negative", lambda: ConvTranspose2d(1, 2, 3, padding=-1), V,
     r"^ConvTranspose2d: padding must be an integer >= 0, got -1$"),
    ("ConvT-in-channels-0", lambda: ConvTranspose2d(0, 2, 3), V,
     r"^ConvTranspose2d: in_channels .* got 0$"),
    ("ConvT-out-channels-0", lambda: ConvTranspose2d(1, 0, 3), V,
     r"^ConvTranspose2d: out_channels .* got 0$"),
    ("ConvT-output-padding-negative", lambda: ConvTranspose2d(1, 2, 3, 2, output_padding=-1), V,
     r"^ConvTranspose2d: output_padding must be an integer >= 0, got -1$"),
    ("Embedding-0", lambda: Embedding(0, 3), V, r"^Embedding: num_embeddings .* >= 1, got 0$"),
    ("Embedding-dim-bool", lambda: Embedding(3, False), V, r"^Embedding: dim .*, got False$"),
    ("BatchNorm1d-0", lambda: BatchNorm1d(0), V, r"^BatchNorm1d: num_features .* >= 1, got 0$"),
    # --- tensors and seeds ---
    ("Tensor-str", lambda: Tensor("abc"), T,
     r"^Tensor: data must be a NumPy or CuPy array, got str; use minigan\.tensor\(\)"),
    ("Tensor-list", lambda: Tensor([1, 2]), T,
     r"^Tensor: data must be a NumPy or CuPy array, got list; use minigan\.tensor\(\)"),
    ("tensor-str", lambda: minigan.tensor("abc"), T,
     r"^tensor: cannot make a float32 array of str 'abc' \(could not convert string"),
    ("tensor-ragged", lambda: minigan.tensor([[1, 2], [3]]), T,
     r"^tensor: cannot make a float32 array of list '\[\[1, 2\], \[3\]\]'"),
    ("manual_seed-negative", lambda: minigan.manual_seed(-1), V,
     r"^manual_seed: seed must be an integer >= 0 or None, got -1$"),
    ("manual_seed-float", lambda: minigan.manual_seed(1.5), V, r"^manual_seed: seed .* got 1\.5$"),
    ("manual_seed-bool", lambda: minigan.manual_seed(True), V, r"^manual_seed: seed .* got True$"),
    ("Random-negative", lambda: minigan.Random(-1), V, r"^Random: seed .* or None, got -1$"),
    ("Random-str", lambda: minigan.Random("7"), V, r"^Random: seed .* got '7'$"),
    # --- optimisers ---
    ("Adam-lr-nan", lambda: Adam(G().parameters(), lr=NAN), V,
     r"^Adam: lr must be a finite number > 0, got nan$"),
    ("Adam-lr-inf", lambda: Adam(G().parameters(), lr=INF), V, r"^Adam: lr .* finite .* got inf$"),
    ("Adam-lr-0", lambda: Adam(G().parameters(), lr=0), V, r"^Adam: lr .* > 0, got 0$"),
    ("SGD-lr-negative", lambda: SGD(G().parameters(), lr=-1), V, r"^SGD: lr .* > 0, got -1$"),
    ("Adam-eps-0", lambda: Adam(G().parameters(), eps=0), V,
     r"^Adam: eps must be a finite number > 0, got 0$"),
    ("Adam-eps-negative", lambda: Adam(G().parameters(), eps=-1e-8), V,
     r"^Adam: eps .* got -1e-08$"),
    # --- the MLP pair ---
    ("Generator-latent-0", lambda: Generator(latent_dim=0), V,
     r"^Generator: latent_dim must be an integer >= 1, got 0$"),
    ("Generator-data-dim-float", lambda: Generator(data_dim=2.0), V,
     r"^Generator: data_dim .* got 2\.0$"),
    ("Generator-hidden-int", lambda: Generator(hidden=64), V,
     r"^Generator: hidden must be a tuple of layer sizes, .* got 64$"),
    ("Discriminator-hidden-0", lambda: Discriminator(hidden=(0, 64)), V,
     r"^Discriminator: hidden\[0\] must be an integer >= 1, got 0$"),
    ("Discriminator-pack-bool", lambda: Discriminator(pack=True), V,
     r"^Discriminator: pack .* must be an integer >= 1, got True$"),
    # --- the image pairs ---
    ("DCGAN-G-image-size-0", lambda: DCGANGenerator(image_size=0), V,
     r"^DCGANGenerator: image_size must be an integer >= 1, got 0$"),
    ("DCGAN-G-image-size-float", lambda: DCGANGenerator(image_size=8.0), V,
     r"^DCGANGenerator: image_size .* got 8\.0$"),
    ("DCGAN-G-image-size-6", lambda: DCGANGenerator(image_size=6), V,
     r"^DCGANGenerator: image_size must be divisible by 4 .* got 6$"),
    ("DCGAN-G-width-0", lambda: DCGANGenerator(image_size=8, width=0), V,
     r"^DCGANGenerator: width .* got 0$"),
    ("DCGAN-G-latent-0", lambda: DCGANGenerator(latent_dim=0, image_size=8), V,
     r"^DCGANGenerator: latent_dim .* got 0$"),
    ("DCGAN-G-channels-0", lambda: DCGANGenerator(image_size=8, channels=0), V,
     r"^DCGANGenerator: channels .* got 0$"),
    ("DCGAN-D-width-negative", lambda: DCGANDiscriminator(image_size=8, width=-2), V,
     r"^DCGANDiscriminator: width .* got -2$"),
    ("DCGAN-D-image-size-bool", lambda: DCGANDiscriminator(image_size=True), V,
     r"^DCGANDiscriminator: image_size .* got True$"),
    ("ACGAN-G-classes-0", lambda: ACGANGenerator(num_classes=0, image_size=8), V,
     r"^ACGANGenerator: num_classes must be an integer >= 1, got 0$"),
    ("ACGAN-G-image-size-negative", lambda: ACGANGenerator(image_size=-4), V,
     r"^ACGANGenerator: image_size .* got -4$"),
    ("ACGAN-G-width-float", lambda: ACGANGenerator(image_size=8, width=1.5), V,
     r"^ACGANGenerator: width .* got 1\.5$"),
    ("ACGAN-G-latent-0", lambda: ACGANGenerator(latent_dim=0, image_size=8), V,
     r"^ACGANGenerator: latent_dim .* got 0$"),
    ("ACGAN-D-classes-0", lambda: ACGANDiscriminator(num_classes=0, image_size=8), V,
     r"^ACGANDiscriminator: num_classes .* got 0$"),
    ("ACGAN-D-width-0", lambda: ACGANDiscriminator(image_size=8, width=0), V,
     r"^ACGANDiscriminator: width .* got 0$"),
    # --- the trainer ---
    ("GANTrainer-swapped", lambda: GANTrainer(D(), G()), T,
     r"^GANTrainer: the generator and the discriminator are swapped: got a Discriminator as "
     r"the generator and a Generator as the discriminator"),
    ("GANTrainer-two-generators", lambda: GANTrainer(G(), G()), T,
     r"^GANTrainer: discriminator must be a DiscriminatorBase .* got Generator$"),
    ("GANTrainer-not-a-network", lambda: GANTrainer(Dense(2, 2), D()), T,
     r"^GANTrainer: generator must be a GeneratorBase .* got Dense$"),
    ("GANTrainer-G-optimiser-as-D", lambda: trainer_with_optimizers("G", "G"), V,
     r"^GANTrainer: d_optimizer holds Generator\.net\.layers\.0\.weight \(shape \(2, 8\)\), "
     r"which is not the discriminator's"),
    ("GANTrainer-optimisers-swapped", lambda: trainer_with_optimizers("D", "G"), V,
     r"^GANTrainer: g_optimizer holds Discriminator\..* which is not the generator's"),
    ("GANTrainer-optimiser-not-minigan", lambda: GANTrainer(G(), D(), g_optimizer="adam"), T,
     r"^GANTrainer: g_optimizer must be a minigan optimiser .* got str$"),
    ("GANTrainer-k-True", lambda: GANTrainer(G(), D(), k=True), V,
     r"^GANTrainer: k \(discriminator updates per step\) must be an integer >= 1, got True$"),
    ("GANTrainer-k-0", lambda: GANTrainer(G(), D(), k=0), V, r"^GANTrainer: k .* got 0$"),
    ("GANTrainer-seed-negative", lambda: GANTrainer(G(), D(), seed=-1), V,
     r"^GANTrainer: seed must be an integer >= 0 or None, got -1$"),
    ("GANTrainer-lr-decay-steps-0", lambda: GANTrainer(G(), D(), lr_decay_steps=0), V,
     r"^GANTrainer: lr_decay_steps .* must be an integer >= 1, got 0$"),
    ("train-epochs-negative", lambda: train(epochs=-1), V,
     r"^GANTrainer\.train: epochs must be an integer >= 1, got -1$"),
    ("train-epochs-0", lambda: train(epochs=0), V, r"^GANTrainer\.train: epochs .* got 0$"),
    ("train-epochs-float", lambda: train(epochs=2.0), V,
     r"^GANTrainer\.train: epochs .* got 2\.0$"),
    ("train-start-after-last", lambda: train(epochs=2, start_epoch=3), V,
     r"^GANTrainer\.train: start_epoch 3 is after the last epoch \(epochs=2\): nothing to train"),
    ("train-start-epoch-0", lambda: train(start_epoch=0), V,
     r"^GANTrainer\.train: start_epoch must be an integer >= 1, got 0$"),
    ("train-callback-every-0", lambda: train(callback_every=0, on_epoch=print), V,
     r"^GANTrainer\.train: callback_every must be an integer >= 1, got 0$"),
    ("train-checkpoint-every-0", lambda: train(checkpoint_every=0), V,
     r"^GANTrainer\.train: checkpoint_every must be an integer >= 1, got 0$"),
    ("train-log-every-negative", lambda: train(log_every=-1), V,
     r"^GANTrainer\.train: log_every .* must be an integer >= 0, got -1$"),
    ("train-batch-size-bool", lambda: train(batch_size=True), V,
     r"^GANTrainer\.train: batch_size must be an integer >= 1, got True$"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_a_bad_argument_is_refused_where_it_is_given(call, error, message):
    with pytest.raises(error, match=message) as info:
        call()
    assert type(info.value) is error
    assert "\n" not in str(info.value)              # one line


def test_the_limits_themselves_are_accepted():
    Dense(1, 1)
    Conv2d(1, 1, 1, stride=1, padding=0)
    ConvTranspose2d(1, 1, 1, stride=1, padding=0, output_padding=0)
    Embedding(1, 1)
    BatchNorm1d(1)
    Generator(1, 1, ())                              # no hidden layer: a linear G
    Discriminator(1, [4], pack=1)
    DCGANGenerator(latent_dim=1, image_size=4, channels=1, width=1)
    ACGANDiscriminator(num_classes=1, image_size=4, channels=1, width=1)
    Adam(G().parameters(), lr=1e-12, eps=1e-30)
    minigan.manual_seed(None)
    minigan.manual_seed(numpy.int64(3))              # NumPy's integers are integers too
    minigan.Random(0)
    Dense(numpy.int64(3), 2)
    g, d = G(), D()
    trainer = GANTrainer(g, d, Adam(g.parameters()[:2]), None, seed=None)   # part of G: allowed
    history = trainer.train(DATA, epochs=2, batch_size=8, start_epoch=2, log_every=0,
                            callback_every=1, checkpoint_every=None)
    assert len(history) == 4                         # epoch 2 only: 32 / 8 steps


@pytest.mark.parametrize("call, message", [
    (lambda: make_2d("ring", True), "make_2d: n must be an integer >= 1, got True"),
    (lambda: list(batches(numpy.zeros((4, 2)), None, True, minigan.Random(0))),
     "batches: batch_size must be an integer >= 1, got True"),
    (lambda: LinearDecay(SGD([Parameter(numpy.zeros(1))], lr=0.1), 0),
     "LinearDecay: total_steps must be an integer >= 1, got 0"),
])
def test_counts_elsewhere_are_checked_the_same_way(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()
