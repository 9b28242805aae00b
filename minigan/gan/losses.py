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

A fifth game keeps the labels 1 and 0 but drops the log: D fits them by least squares. D's
output l is again a score, not a logit (no sigmoid reads it), but one with targets:

    lsgan  (Mao et al. 2017, "Least Squares Generative Adversarial Networks"; their a = 0,
           b = 1, c = 1 coding: fake 0, real 1, and G wants its samples scored 1)
           L_D = 1/2 mean (l(x) - 1)^2 + 1/2 mean l(G(z))^2,  L_G = 1/2 mean (l(G(z)) - 1)^2.

Why: the BCE saturates. A generated sample that D already scores on the real side of its
decision boundary, but far from the data, gets almost no gradient from -ln sigmoid(l) (it is
sigmoid(l) - 1 ~ 0 for a large l): it is left where it is. The least-squares loss penalises
a sample by its distance from the target, on either side of the boundary: G's gradient per
score is l(G(z)) - 1, about -1 where D rejects a sample (l ~ 0, as non-saturating) and
non-zero until the score is 1 (beyond it, l > 1, it pulls back). Samples are moved towards
the boundary, and with it the data; gradients vanish less, and training is steadier. For a
fixed G the best D is l(x) = p_data(x) / (p_data(x) + p_G(x)), the BCE game's D(x); at the
equilibrium l = 1/2 everywhere, L_D = 1/4 and L_G = 1/8. (With the coding a = -1, b = 1,
c = 0 the paper shows that G minimises the Pearson chi^2 divergence between p_data + p_G and
2 p_G; the 0-1 coding here is its other proposal, in which G asks for the real label, c = b,
as the non-saturating loss does.)

What the records say under lsgan. The history's d_x and d_g_z columns (and D(x), D(G(z)) in
the log lines and curves.png) are mean sigmoid(D's output) for every game; under lsgan they
squash the score: sigmoid(1) = 0.731 where D scores a sample real, sigmoid(0) = 0.5 where it
scores it fake, sigmoid(1/2) = 0.622 at the equilibrium. D's fit is in the losses: d_real =
1/2 mean (l(x) - 1)^2, d_fake = 1/2 mean l(G(z))^2. What collapse.py's guards watch under
lsgan is said there.
"""
from ..functions import mean, relu
from ..functions import sigmoid_binary_cross_entropy as bce

GENERATOR_LOSSES = ("non-saturating", "minimax", "wgan", "hinge", "lsgan")
CRITIC_LOSSES = ("wgan", "hinge")       # D is a critic: a score of no fixed scale, no targets
SCORE_LOSSES = CRITIC_LOSSES + ("lsgan",)   # D's output is a score, not a logit: not the BCE


def discriminator_loss(real_logits, fake_logits, kind="non-saturating"):
    """(L_D, its real part, its fake part). For the two BCE games ("non-saturating" and
    "minimax" differ only in G's loss) L_D = BCE(D(x), 1) + BCE(D(G(z)), 0)."""
    loss_real, loss_fake = real_part(real_logits, kind), fake_part(fake_logits, kind)
    return loss_real + loss_fake, loss_real, loss_fake


def real_part(real_logits, kind="non-saturating"):
    """L_D's term on real samples: BCE(D(x), 1) = -mean ln D(x)."""
    if kind == "lsgan":
        return 0.5 * mean((real_logits - 1.0) ** 2)     # 1/2 mean (l(x) - 1)^2
    if kind == "wgan":
        return -mean(real_logits)                       # -mean f(x)
    if kind == "hinge":
        return mean(relu(1.0 - real_logits))            # mean max(0, 1 - f(x))
    return bce(real_logits, 1.0)


def fake_part(fake_logits, kind="non-saturating"):
    """L_D's term on generated samples: BCE(D(G(z)), 0) = -mean ln(1 - D(G(z)))."""
    if kind == "lsgan":
        return 0.5 * mean(fake_logits ** 2)             # 1/2 mean l(G(z))^2
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
    if kind == "lsgan":
        return 0.5 * mean((fake_logits - 1.0) ** 2)     # 1/2 mean (l(G(z)) - 1)^2
    raise ValueError(f"unknown generator loss {kind!r}: expected one of {GENERATOR_LOSSES}")
