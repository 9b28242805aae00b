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
"""
from ..functions import sigmoid_binary_cross_entropy as bce

GENERATOR_LOSSES = ("non-saturating", "minimax")


def discriminator_loss(real_logits, fake_logits):
    """(L_D, its real part, its fake part): L_D = BCE(D(x), 1) + BCE(D(G(z)), 0)."""
    loss_real, loss_fake = real_part(real_logits), fake_part(fake_logits)
    return loss_real + loss_fake, loss_real, loss_fake


def real_part(real_logits):
    """L_D's term on real samples: BCE(D(x), 1) = -mean ln D(x)."""
    return bce(real_logits, 1.0)


def fake_part(fake_logits):
    """L_D's term on generated samples: BCE(D(G(z)), 0) = -mean ln(1 - D(G(z)))."""
    return bce(fake_logits, 0.0)


def generator_loss(fake_logits, kind="non-saturating"):
    """L_G for D's logits on generated samples; kind is "non-saturating" or "minimax"."""
    if kind == "non-saturating":
        return bce(fake_logits, 1.0)        # -mean ln D(G(z))
    if kind == "minimax":
        return -bce(fake_logits, 0.0)       # mean ln(1 - D(G(z)))
    raise ValueError(f"unknown generator loss {kind!r}: expected one of {GENERATOR_LOSSES}")
