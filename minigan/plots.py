"""Figures of a run: samples over training, and the loss and D-output curves; and the figure of
docs/05-minimax-vs-non-saturating.md, G's two losses' gradients.

Host-only code: arrays are brought to the CPU with backend.to_numpy; files are written
atomically (a crash never leaves half a PNG).
"""
import math
import os

import matplotlib

matplotlib.use("Agg")                      # no screen needed: we only write files
import matplotlib.pyplot as plt  # noqa: E402

from .backend import to_numpy, xp_of_device  # noqa: E402
from .gan.losses import GENERATOR_LOSSES, generator_loss  # noqa: E402
from .io import atomic_write  # noqa: E402
from .tensor import Tensor  # noqa: E402


def _host(values):
    """A NumPy array from a Tensor or an array on any device."""
    return to_numpy(values.data if isinstance(values, Tensor) else values)


def _save(fig, path):
    atomic_write(path, lambda f: fig.savefig(f, format=os.path.splitext(path)[1][1:] or "png",
                                             dpi=110, bbox_inches="tight"))
    plt.close(fig)


def plot_snapshots(real, snapshots, path, title=None):
    """One panel per (label, samples) pair: generated samples (orange) over real ones (blue);
    real may be None (samples alone, e.g. from a saved generator)."""
    real = None if real is None else _host(real)
    n = len(snapshots)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 3.2), squeeze=False, sharex=True, sharey=True)
    for ax, (label, samples) in zip(axes[0], snapshots):
        fake = _host(samples)
        if real is not None:
            ax.scatter(real[:, 0], real[:, 1], s=3, alpha=0.3, color="tab:blue", label="real")
        ax.scatter(fake[:, 0], fake[:, 1], s=3, alpha=0.5, color="tab:orange", label="generated")
        ax.set_title(label, fontsize=10)
    framed = real if real is not None else _host(snapshots[-1][1])
    lo = framed.min(axis=0) - 0.5
    hi = framed.max(axis=0) + 0.5
    axes[0][0].set_xlim(lo[0], hi[0])
    axes[0][0].set_ylim(lo[1], hi[1])
    axes[0][0].legend(loc="lower left", fontsize=8, markerscale=3)
    if title:
        fig.suptitle(title, y=1.03)
    _save(fig, path)


def _smooth(values, window):
    """Moving average (the per-step curves are noisy)."""
    if window <= 1 or len(values) < window:
        return values
    out, total = [], 0.0
    for i, v in enumerate(values):
        total += v
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_history(history, path, title=None):
    """Losses (left) and mean D outputs (right) against the step, with equilibrium lines."""
    steps = history["step"]
    window = max(1, len(steps) // 100)
    d_loss = [a + b for a, b in zip(history["d_real"], history["d_fake"])]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax1.plot(steps, _smooth(d_loss, window), label="D loss (real + fake)")
    ax1.plot(steps, _smooth(history["g"], window), label="G loss")
    ax1.axhline(math.log(4), color="gray", ls="--", lw=0.8, label="D at equilibrium: ln 4")
    ax1.set_xlabel("step")
    ax1.legend(fontsize=8)
    ax2.plot(steps, _smooth(history["d_x"], window), label="D(x), real")
    ax2.plot(steps, _smooth(history["d_g_z"], window), label="D(G(z)), generated")
    ax2.axhline(0.5, color="gray", ls="--", lw=0.8, label="equilibrium: 1/2")
    ax2.set_ylim(0, 1)
    ax2.set_xlabel("step")
    ax2.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    _save(fig, path)


def plot_image_grid(images, path, columns=8, row_labels=None, title=None):
    """Images (n, C, H, W) in [-1, 1] as a grid, `columns` per row; row_labels name the rows
    (an AC-GAN's grid has one row per class)."""
    images = _host(images)
    n, c, h, w = images.shape
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(0.9 * columns + (1.2 if row_labels else 0),
                                                     0.9 * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_visible(False)
        if i < n:
            picture = (images[i].transpose(1, 2, 0) + 1) / 2          # [-1, 1] -> [0, 1], HWC
            ax.imshow(picture[:, :, 0] if c == 1 else picture.clip(0, 1), cmap="gray_r"
                      if c == 1 else None, vmin=0, vmax=1, interpolation="nearest")
    if row_labels:
        for row, label in zip(axes, row_labels):
            row[0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    if title:
        fig.suptitle(title)
    _save(fig, path)


def generator_loss_gradients(d_of_g_z):
    """|dL_G/dl| per sample for both G losses, at D(G(z)) = sigmoid(l) = each given value p
    (in (0, 1)). Returns {kind: host array}, float64.

    Computed by the library's own backward, not from the formulas: l = ln(p / (1 - p)), then
    generator_loss(l, kind).backward(). The loss is a mean over the n values, so each gradient
    is multiplied back by n. Expected (docs/05): minimax -sigmoid(l) = -p, non-saturating
    sigmoid(l) - 1 = -(1 - p)."""
    xp = xp_of_device("cpu")
    p = xp.asarray(d_of_g_z, dtype="float64").reshape(-1, 1)
    grads = {}
    for kind in GENERATOR_LOSSES:
        logits = Tensor(xp.log(p / (1 - p)), requires_grad=True)
        generator_loss(logits, kind).backward()
        grads[kind] = abs(to_numpy(logits.grad).ravel() * len(p))
    return grads


def plot_generator_loss_gradients(path, marks=(0.01, 0.5)):
    """|dL_G/dl| of the minimax and non-saturating G losses against D(G(z)), log-log, with the
    ratio of the two written at each value in `marks`. Returns the curves: {"d_of_g_z": ...,
    "minimax": ..., "non-saturating": ...} (host arrays)."""
    xp = xp_of_device("cpu")
    p = xp.logspace(-4, xp.log10(0.999), 400)       # from "D rejects every fake" to "D is fooled"
    curves = {"d_of_g_z": p, **generator_loss_gradients(p)}
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    ax.plot(p, curves["non-saturating"], color="tab:blue", label="non-saturating  -ln D(G(z)):  "
            "|dL/dl| = 1 - D(G(z))")
    ax.plot(p, curves["minimax"], color="tab:red", label="minimax  ln(1 - D(G(z))):  "
            "|dL/dl| = D(G(z))")
    for mark in marks:
        at = generator_loss_gradients([mark])
        ns, mm = float(at["non-saturating"][0]), float(at["minimax"][0])
        ax.axvline(mark, color="gray", ls="--", lw=0.8)
        ax.plot([mark, mark], [mm, ns], "o", color="black", ms=3)
        # The ratio goes beside the dashed line where no curve passes: right of it, between
        # the two curves, for a small D(G(z)); left of it and low down near D(G(z)) = 1.
        small = mark < 0.1
        ax.annotate(f"D(G(z)) = {mark:g}\nratio {ns / mm:.3g}x",
                    (mark, (mm * ns) ** 0.5 if small else 2e-3), xytext=(6 if small else -6, 0),
                    textcoords="offset points", fontsize=8, va="center",
                    ha="left" if small else "right")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("D(G(z)): D's probability that a generated sample is real")
    ax.set_ylabel("|dL_G / dl| per sample (l: D's logit)")
    ax.set_title("G's gradient at D's logit: early on, D(G(z)) ~ 0", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    _save(fig, path)
    return curves
