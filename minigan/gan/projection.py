"""The projection discriminator (Miyato and Koyama 2018, "cGANs with Projection Discriminator").

D is told the class y and puts it into its one logit, with no class head and no class loss:

    l(x, y) = psi(phi(x)) + embed(y) . phi(x)

phi(x): D's features (the AC-GAN's conv stack, acgan.discriminator_features), a vector h;
psi:    a Dense layer, h -> one number, the part of the logit that ignores the class;
embed:  a table with one learned vector e_y per class, as long as h; e_y . h is the class's
        say in the verdict: "does x look real *as a y*?"

Why this form. The best logit of a conditional GAN is ln P(x, y) / G(x, y) (P the data's joint
law of images and classes, G the generator's), and

    ln P(x, y) / G(x, y) = ln P(y | x) / G(y | x) + ln P(x) / G(x).

Model each class posterior as a softmax on the features, P(y | x) = softmax(V_P h)[y] and
G(y | x) = softmax(V_G h)[y]. The first term is then (v_P,y - v_G,y) . h minus the two
softmaxes' log-normalisers, which depend on x alone: e_y = v_P,y - v_G,y, and psi absorbs the
rest with ln P(x) / G(x). So the projection holds *two* classifiers, one of the data and one of
G's samples, folded into one difference: TAC-GAN's pair of heads (conditioning.py) in one
logit. The losses are the unconditional game's (losses.py), with l(x, y) as the logit: D
calls (x, y) real, (G(z, c), c) fake; G wants (G(z, c), c) called real.

The backward needs no new rule: a Dense layer, an Embedding lookup, a product and a sum, each
with its own; tests/test_conditioning.py gradient-checks the assembled layer.
"""
from .. import functions as F
from ..arguments import check_sizes
from ..nn import Dense, Embedding, Module, rebuildable
from .acgan import discriminator_features
from .dcgan import first_map_size
from .models import DiscriminatorBase


class Projection(Module):
    """(h (m, num_features), labels (m,)) -> psi(h) + embed(labels) . h, logits (m, 1).

    The embedding starts small (N(0, 0.02^2), about psi's weights' scale): D starts as an
    unconditional one and learns the classes' say from there."""

    def __init__(self, num_features, num_classes, init="default"):
        check_sizes("Projection", num_features=num_features, num_classes=num_classes)
        self.psi = Dense(num_features, 1, init=init)
        self.embed = Embedding(num_classes, num_features, init="dcgan")

    def forward(self, h, labels):
        return self.psi(h) + F.sum(self.embed(labels) * h, axis=1, keepdims=True)


@rebuildable
class ProjectionDiscriminator(DiscriminatorBase):
    """(images, labels) -> logits (m, 1): the AC-GAN's feature stack, then a Projection.

    judge(x, labels) needs the labels (of real images, their classes; of generated ones, the
    classes asked for), and returns (logits, None): there is no class head. For
    GANTrainer(conditioning="projection")."""

    takes_labels = True

    def __init__(self, num_classes=10, image_size=28, channels=1, width=32, dropout=0.5,
                 init="default", batch_norm=True):
        s = first_map_size("ProjectionDiscriminator", image_size)
        check_sizes("ProjectionDiscriminator", num_classes=num_classes, channels=channels,
                    width=width)
        self.num_classes, self.image_size, self.channels = num_classes, image_size, channels
        self.features = discriminator_features(channels, width, dropout, init, batch_norm)
        self.projection = Projection(8 * width * s * s, num_classes, init=init)

    def forward(self, x, labels):
        return self.projection(self.features(x), labels)

    def judge(self, x, labels=None):
        if labels is None:
            raise ValueError("ProjectionDiscriminator.judge: a projection D needs the labels, "
                             "judge(x, labels): the class is part of its verdict")
        return self(x, labels), None
