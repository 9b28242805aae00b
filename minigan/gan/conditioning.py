"""How a class-conditional D is told the class, and each player's class term.

G is asked for class c and draws x~ = G(z, c); a real image x has its class y. CE(q, y) is the
softmax cross-entropy of class logits q (functions/cross_entropy.py). GANTrainer(conditioning=...)
picks one of three recipes; everything else in the step (the real/fake terms, the update) is
the same:

                 D's class terms, added to L_D           G's class term, added to L_G
  "acgan"        CE(D_c(x), y) + CE(D_c(x~), c)           CE(D_c(x~), c)
  "tac"          CE(D_c(x), y) + CE(D_t(x~), c)           CE(D_c(x~), c) - CE(D_t(x~), c)
  "projection"   none: the class is in D's logit,          none
                 l(x, y) = psi(phi(x)) + embed(y) . phi(x)  (projection.py)

D_c is the AC-GAN's class head (acgan.py); D_t, TAC-GAN's twin head (ACGANDiscriminator(
twin_head=True)), is a second class head on the same features.

Why "acgan" collapses a class. Take D_c at its best on the data: softmax(D_c(x)) = P(. | x),
the data's class given the image. With G(. | x) for how often G draws each class at the image
x, G's term E[-ln P(c | x~)], averaged over G's samples, is at each x~

    sum_k G(k | x~) (-ln P(k | x~))  =  H(G(. | x~)) + KL(G(. | x~) || P(. | x~)).

The KL asks G's classes to match the data's; the entropy H asks for images whose class is
certain, for every class the images D_c is surest of, and it does not vanish when G draws the
data (G(. | x) = P(. | x)). Per sample, with p = softmax(q) and q = D_c(x~) the class logits,
the gradient that does it is (page 9, sections 3 and 7)

    d(-ln p_c)/dx~ = sum_k (p_k - [k = c]) dq_k/dx~,

non-zero until p_c = 1, largest for the samples D_c hesitates on, and much the same direction
for every sample of the class: the samples of a class climb towards the images D_c is surest
of. D's own term on generated images (its fourth) teaches D_c what G draws, so the cooperation
runs both ways (Gong et al. 2019, TAC-GAN, section 3).

The fixes. "tac": D_c learns the data only, the twin D_t learns G's samples only, an estimate of
G(k | x~); G's term CE(D_c) - CE(D_t) is then E[KL(G(. | x~) || P(. | x~))] alone: the entropy
cancels, and when G draws the data (D_t = D_c) the term and its gradient are 0. "projection":
D learns no class at all; its logit holds the difference of two classifiers' weights, one of
the data and one of G's samples (projection.py), so it weighs the same KL inside the real/fake
game.
"""
from ..functions import softmax_cross_entropy as cross_entropy
from .acgan import ACGANDiscriminator
from .projection import ProjectionDiscriminator

CONDITIONINGS = ("acgan", "tac", "projection")


class ACGANClassTerms:
    """Odena et al. 2017: one class head, D_c, trained on real and generated images; G asks
    it for c. class_logits: D_c's logits (m, K)."""

    has_terms = True

    def real(self, class_logits, y):               # D:  CE(D_c(x), y)
        return cross_entropy(class_logits, y)

    def fake(self, class_logits, c):               # D:  CE(D_c(x~), c)
        return cross_entropy(class_logits, c)

    def generator(self, class_logits, c):          # G:  CE(D_c(x~), c)
        return cross_entropy(class_logits, c)


class TACClassTerms:
    """Gong et al. 2019: D_c learns real images only, the twin D_t generated ones only; G
    plays D_c against D_t. class_logits: the pair (D_c's logits, D_t's logits)."""

    has_terms = True

    def real(self, class_logits, y):               # D:  CE(D_c(x), y)
        classes, _ = class_logits
        return cross_entropy(classes, y)

    def fake(self, class_logits, c):               # D:  CE(D_t(x~), c)
        _, twin = class_logits
        return cross_entropy(twin, c)

    def generator(self, class_logits, c):          # G:  CE(D_c(x~), c) - CE(D_t(x~), c)
        classes, twin = class_logits
        return cross_entropy(classes, c) - cross_entropy(twin, c)


class ProjectionClassTerms:
    """Miyato and Koyama 2018: no class terms; D's logit takes the class (projection.py)."""

    has_terms = False            # the history has no class columns

    def real(self, class_logits, y):
        return None

    fake = generator = real


CLASS_TERMS = {"acgan": ACGANClassTerms, "tac": TACClassTerms,
               "projection": ProjectionClassTerms}


def class_terms(conditioning):
    """The class terms of a recipe (one of CONDITIONINGS)."""
    return CLASS_TERMS[conditioning]()


def discriminator_for(conditioning, **kwargs):
    """The D a recipe needs, built from ACGANDiscriminator's arguments (num_classes,
    image_size, channels, width, dropout, init, batch_norm): an ACGANDiscriminator ("acgan"),
    one with the twin head ("tac"), a ProjectionDiscriminator ("projection")."""
    if conditioning == "projection":
        return ProjectionDiscriminator(**kwargs)
    return ACGANDiscriminator(twin_head=conditioning == "tac", **kwargs)


def what_it_needs(conditioning, discriminator):
    """None if `discriminator` fits the recipe, else what it needs, in words."""
    takes_labels = getattr(discriminator, "takes_labels", False)
    twin = getattr(discriminator, "twin_head", False)
    if conditioning == "projection" and not takes_labels:
        return "a D that takes the labels (ProjectionDiscriminator)"
    if conditioning == "tac" and not twin:
        return "a D with a twin class head (ACGANDiscriminator(twin_head=True))"
    if conditioning == "acgan" and (twin or takes_labels):
        return "a D with one class head (ACGANDiscriminator(twin_head=False))"
    return None
