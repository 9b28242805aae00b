"""DCGAN (Radford et al. 2015): convolutional G and D for small square images.

For 28 x 28 images (width 64) this is exactly the speed benchmark's W3 network:

    G  z (100) -> Dense(100 -> 128*7*7) -> BatchNorm1d -> ReLU -> Reshape(128, 7, 7)
       -> ConvTranspose2d(128 -> 64, 4, s2, p1) -> BatchNorm2d -> ReLU         7 -> 14
       -> ConvTranspose2d(64 -> 1, 4, s2, p1) -> tanh                          14 -> 28
    D  x (1, 28, 28) -> Conv2d(1 -> 64, 4, s2, p1) -> LeakyReLU 0.2             28 -> 14
       -> Conv2d(64 -> 128, 4, s2, p1) -> BatchNorm2d -> LeakyReLU 0.2          14 -> 7
       -> Flatten -> Dense(128*7*7 -> 1)                                       a logit

image_size=8, width=32 gives the smaller pair for scikit-learn's 8 x 8 digits (2 -> 4 -> 8).
Kernel 4 with stride 2 upsamples evenly (see docs/08-convolution.md on checkerboard artifacts).
Weights start as DCGAN's: N(0, 0.02) for conv and dense weights, N(1, 0.02) for BatchNorm scales.
The G ends in tanh, so images are scaled to [-1, 1].
"""
from ..arguments import check_int, check_sizes
from ..nn import (BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Dense, Flatten, LeakyReLU,
                  ReLU, Reshape, Sequential, Tanh, rebuildable)
from .models import DiscriminatorBase, GeneratorBase


def first_map_size(owner, image_size):
    """image_size / 4, the side of the first feature map: two stride-2 layers double it twice."""
    check_int(owner, "image_size", image_size)
    if image_size % 4:
        raise ValueError(f"{owner}: image_size must be divisible by 4 (two stride-2 layers), "
                         f"got {image_size}")
    return image_size // 4


@rebuildable
class DCGANGenerator(GeneratorBase):
    """z (m, latent_dim) -> images (m, channels, image_size, image_size) in [-1, 1]."""

    def __init__(self, latent_dim=100, image_size=28, channels=1, width=64, init="dcgan"):
        s = first_map_size("DCGANGenerator", image_size)
        check_sizes("DCGANGenerator", latent_dim=latent_dim, channels=channels, width=width)
        self.latent_dim, self.image_size, self.channels = latent_dim, image_size, channels
        wide = 2 * width
        self.net = Sequential(
            Dense(latent_dim, wide * s * s, init=init), BatchNorm1d(wide * s * s, init=init),
            ReLU(), Reshape(wide, s, s),
            ConvTranspose2d(wide, width, 4, 2, 1, init=init), BatchNorm2d(width, init=init),
            ReLU(),
            ConvTranspose2d(width, channels, 4, 2, 1, init=init), Tanh())

    def forward(self, z):
        return self.net(z)


@rebuildable
class DCGANDiscriminator(DiscriminatorBase):
    """images (m, channels, image_size, image_size) -> logits (m, 1).

    batch_norm=False leaves out the BatchNorm, which mixes the samples of a batch: a gradient
    penalty needs each sample's own gradient (GANTrainer(penalty=...) refuses it otherwise)."""

    def __init__(self, image_size=28, channels=1, width=64, init="dcgan", batch_norm=True):
        s = first_map_size("DCGANDiscriminator", image_size)
        check_sizes("DCGANDiscriminator", channels=channels, width=width)
        self.image_size, self.channels = image_size, channels
        wide = 2 * width
        # Built in this order: the layers draw their initial weights as they are made.
        layers = [Conv2d(channels, width, 4, 2, 1, init=init), LeakyReLU(0.2),
                  Conv2d(width, wide, 4, 2, 1, init=init)]
        layers += [BatchNorm2d(wide, init=init)] if batch_norm else []
        layers += [LeakyReLU(0.2), Flatten(), Dense(wide * s * s, 1, init=init)]
        self.net = Sequential(*layers)

    def forward(self, x):
        return self.net(x)
