"""The GAN value function of Goodfellow et al. 2014, as losses to minimise.

    V(D, G) = E_x[ln D(x)] + E_z[ln(1 - D(G(z)))]

D ascends V; as a loss, D minimises -V, which is binary cross-entropy with label 1 for real and
0 for generated samples:

    L_D = BCE(D(x), 1) + BCE(D(G(z)), 0) = -mean ln D(x) - mean ln(1 - D(G(z)))

G descends V; only the second term depends on G:

    minimax         L_G = mean ln(1 - D(G(z)))  = -BCE(D(G(z)), 0)   (the paper's game)
    non-saturating  L_G = -mean ln D(G(z))      =  BCE(D(G(z)), 1)   (the paper's advice)

Why two: with l the logit, d/dl ln(1 - sigmoid(l)) = -sigmoid(l) = -D(G(z)). Early in training
D rejects fakes, D(G(z)) ~ 0, and the minimax gradient vanishes: G cannot learn. The
non-saturating loss has d/dl [-ln sigmoid(l)] = sigmoid(l) - 1 ~ -1 there: a strong gradient.
Both have the same fixed point.

Two later games change D's loss too; D's output f is then a score (a "critic"), not a logit:

    wgan   (Arjovsky et al. 2017)  L_D = mean f(G(z)) - mean f(x),  L_G = -mean f(G(z)):
           D estimates the Wasserstein distance, if it is kept 1-Lipschitz (a gradient
           penalty, penalties.py, or spectral normalisation); unconstrained, f grows without end.
    hinge  (Lim & Ye 2017; Miyato et al. 2018)
           L_D = mean relu(1 - f(x)) + mean relu(1 + f(G(z))),  L_G = -mean f(G(z)):
           D stops pushing a sample once it is past its margin.
"""
from ..functions import mean, relu
from ..functions import sigmoid_binary_cross_entropy as bce

GENERATOR_LOSSES = ("non-saturating", "minimax", "wgan", "hinge")
CRITIC_LOSSES = ("wgan", "hinge")       # the games whose D's loss is not the BCE


def discriminator_loss(real_logits, fake_logits, kind="non-saturating"):
    """(L_D, its real part, its fake part). For the two BCE games ("non-saturating" and
    "minimax" differ only in G's loss) L_D = BCE(D(x), 1) + BCE(D(G(z)), 0)."""
    loss_real, loss_fake = real_part(real_logits, kind), fake_part(fake_logits, kind)
    return loss_real + loss_fake, loss_real, loss_fake


def real_part(real_logits, kind="non-saturating"):
    """L_D's term on real samples: BCE(D(x), 1) = -mean ln D(x)."""
    if kind == "wgan":
        return -mean(real_logits)                       # -mean f(x)
    if kind == "hinge":
        return mean(relu(1.0 - real_logits))            # mean max(0, 1 - f(x))
    return bce(real_logits, 1.0)


def fake_part(fake_logits, kind="non-saturating"):
    """L_D's term on generated samples: BCE(D(G(z)), 0) = -mean ln(1 - D(G(z)))."""
    if kind == "wgan":
        return mean(fake_logits)                        # mean f(G(z))
    if kind == "hinge":
        return mean(relu(1.0 + fake_logits))            # mean max(0, 1 + f(G(z)))
    return bce(fake_logits, 0.0)


def generator_loss(fake_logits, kind="non-saturating"):
    """L_G for D's logits on generated samples, for each kind of GENERATOR_LOSSES."""
    if kind == "non-saturating":
        return bce(fake_logits, 1.0)        # -mean ln D(G(z))
    if kind == "minimax":
        return -bce(fake_logits, 0.0)       # mean ln(1 - D(G(z)))
    if kind in CRITIC_LOSSES:
        return -mean(fake_logits)           # -mean f(G(z)): raise the critic's score
    raise ValueError(f"unknown generator loss {kind!r}: expected one of {GENERATOR_LOSSES}")
