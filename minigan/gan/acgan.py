"""AC-GAN (Odena et al. 2017), as in the Keras tutorial on Fashion-MNIST this project follows.

G is told which class to draw; D says both "real or fake" and "which class". For 28 x 28:

    G  label -> Embedding(10, 50) -> Dense(50 -> 7*7) -> a 1 x 7 x 7 map
       z (100) -> Dense(100 -> 384*7*7) -> ReLU -> 384 x 7 x 7
       concatenate -> 385 x 7 x 7
       -> ConvTranspose2d(385 -> 192, 5, s2, p2, output_padding 1) -> BatchNorm2d -> ReLU   7 -> 14
       -> ConvTranspose2d(192 -> 1, 5, s2, p2, output_padding 1) -> tanh                    14 -> 28
    D  Conv2d(1 -> 32, 3, s2, p1) -> LeakyReLU 0.2 -> Dropout 0.5                          28 -> 14
       -> Conv2d(32 -> 64, 3, s1, p1) -> BatchNorm2d -> LeakyReLU -> Dropout
       -> Conv2d(64 -> 128, 3, s2, p1) -> BatchNorm2d -> LeakyReLU -> Dropout              14 -> 7
       -> Conv2d(128 -> 256, 3, s1, p1) -> BatchNorm2d -> LeakyReLU -> Dropout
       -> Flatten -> two heads: Dense -> 1 logit (real/fake), Dense -> 10 logits (class)

For 8 x 8 digits the label map is 2 x 2, G's first feature map size (2 -> 4 -> 8); `width`
scales every channel count (width 32 gives the numbers above; D's 32, 64, 128, 256 and G's
384 = 12 width, 192 = 6 width).
"""
from ..arguments import check_sizes
from ..functions import concatenate
from ..nn import (BatchNorm2d, Conv2d, ConvTranspose2d, Dense, Dropout, Embedding, Flatten,
                  LeakyReLU, ReLU, Reshape, Sequential, Tanh, rebuildable)
from .dcgan import first_map_size
from .models import DiscriminatorBase, GeneratorBase


@rebuildable
class ACGANGenerator(GeneratorBase):
    """(z (m, latent_dim), labels (m,)) -> images (m, channels, image_size, image_size)."""

    def __init__(self, latent_dim=100, num_classes=10, image_size=28, channels=1, width=32,
                 embed_dim=50, init="default"):
        s = first_map_size("ACGANGenerator", image_size)
        check_sizes("ACGANGenerator", latent_dim=latent_dim, num_classes=num_classes,
                    channels=channels, width=width, embed_dim=embed_dim)
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.image_size, self.channels = image_size, channels
        c0, c1 = 12 * width, 6 * width
        self.label_map = Sequential(Embedding(num_classes, embed_dim),
                                    Dense(embed_dim, s * s, init=init), Reshape(1, s, s))
        self.latent_map = Sequential(Dense(latent_dim, c0 * s * s, init=init), ReLU(),
                                     Reshape(c0, s, s))
        self.upsample = Sequential(
            ConvTranspose2d(c0 + 1, c1, 5, 2, 2, output_padding=1, init=init), BatchNorm2d(c1),
            ReLU(),
            ConvTranspose2d(c1, channels, 5, 2, 2, output_padding=1, init=init), Tanh())

    def forward(self, z, labels):
        # The class enters as one extra feature map beside the 384 made from z.
        maps = concatenate([self.latent_map(z), self.label_map(labels)], axis=1)
        return self.upsample(maps)


@rebuildable
class ACGANDiscriminator(DiscriminatorBase):
    """images -> (logits (m, 1) real vs fake, class_logits (m, num_classes)).

    twin_head=True adds TAC-GAN's second class head, `twin`, for GANTrainer(conditioning="tac")
    (conditioning.py): judge() then returns (logits, (class_logits, twin_logits))."""

    def __init__(self, num_classes=10, image_size=28, channels=1, width=32, dropout=0.5,
                 init="default", batch_norm=True, twin_head=False):
        s = first_map_size("ACGANDiscriminator", image_size)
        check_sizes("ACGANDiscriminator", num_classes=num_classes, channels=channels, width=width)
        self.num_classes, self.image_size, self.channels = num_classes, image_size, channels
        self.twin_head = twin_head
        self.features = discriminator_features(channels, width, dropout, init, batch_norm)
        n = 8 * width * s * s                       # h: the last conv's maps, flattened
        self.real_fake = Dense(n, 1, init=init)
        self.classes = Dense(n, num_classes, init=init)
        if twin_head:
            self.twin = Dense(n, num_classes, init=init)

    def forward(self, x):
        h = self.features(x)
        if self.twin_head:
            return self.real_fake(h), self.classes(h), self.twin(h)
        return self.real_fake(h), self.classes(h)

    def judge(self, x, labels=None):
        """(logits, class_logits): both heads (the labels are not needed: D names the class).
        With the twin head, class_logits is the pair (class_logits, twin_logits)."""
        if self.twin_head:
            logits, classes, twin = self(x)
            return logits, (classes, twin)
        return self(x)


def discriminator_features(channels, width, dropout=0.5, init="default", batch_norm=True):
    """D's feature stack phi (shared with the projection D, projection.py): four 3x3 convs of
    width, 2, 4 and 8 times width channels, strides 2, 1, 2, 1, each followed by BatchNorm (not
    the first; none with batch_norm=False, for a gradient penalty, see DCGAN's D), LeakyReLU 0.2
    and Dropout; then Flatten: x (m, channels, S, S) -> h (m, 8 width (S / 4)^2)."""
    widths = [width, 2 * width, 4 * width, 8 * width]
    strides = [2, 1, 2, 1]
    layers, c_in = [], channels
    for i, (c_out, stride) in enumerate(zip(widths, strides)):
        layers.append(Conv2d(c_in, c_out, 3, stride, 1, init=init))
        if i > 0 and batch_norm:
            layers.append(BatchNorm2d(c_out))
        layers += [LeakyReLU(0.2), Dropout(dropout)]
        c_in = c_out
    return Sequential(*layers, Flatten())
