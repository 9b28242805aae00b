"""Image quality of a saved 8x8-digit generator, as seen by a small digit classifier.

    python benchmarks/image_quality.py runs/dcgan_digits/generator.npz
    python benchmarks/image_quality.py runs/acgan_digits/generator.npz --n 2000
    python benchmarks/image_quality.py runs/dcgan_digits/generator.npz --quick     # smoke run

What it does. A small convolutional classifier, built and trained with minigan itself
(Conv2d 1->16 -> LeakyReLU -> Conv2d 16->32 stride 2 -> LeakyReLU -> Flatten -> Dense -> 10),
learns scikit-learn's 8x8 digits on a seeded 80% split; its accuracy on the other 20% is
printed (about 98%). It is cached in benchmarks/results/digit_classifier_seed<S>.npz and
retrained with --retrain. Then --n samples are drawn from the generator (seeded) and classified.

The figures, for the generator and for two baselines that show the scale (the real held-out
digits, and images of uniform noise in [-1, 1]):

- class shares: which digit the classifier assigns to each sample, as a 10-bin histogram.
- entropy of that histogram, in nats, and as a fraction of ln 10 = 2.303 (the entropy of ten
  equally filled classes). 1.0 means the samples spread evenly over the ten digits; 0 means
  every sample is called the same digit (complete mode collapse, as far as the classifier can
  tell). "classes covered" counts the classes that receive at least half their fair share
  (at least 5% of the samples for 10 classes).
- mean confidence: the classifier's mean max-softmax probability. Real digits are recognised
  with high confidence; a blurry or in-between image tends to get a lower one. A crude
  sharpness figure: compare it to the real row, not to 1.
- label agreement (class-conditional generators only): the share of samples drawn for class c
  that the classifier calls c, per class (the per-class accuracy) and overall, and the worst
  class. On real digits this is the classifier's accuracy (their true labels stand in for the
  conditioning), an upper bound in practice; for noise the labels are drawn at random, so it
  shows the chance level (about 10%).

Variety (issue 26): the figures above cannot see a generator that draws one perfect image per
class. Each sample counts for a class: the label it was drawn for (a conditional generator),
else the class the classifier calls it; noise counts for its random label.

- within-class diversity, in pixels and in features: for each class c, the mean Euclidean
  distance over the distinct pairs of the first --per-class (50) samples of class c, divided by
  the same mean over the held-out real digits of class c (all of them, 27-47 a class). The mean
  over distinct pairs does not depend on how many samples there are (only its noise does), so
  the two counts need not match. 1.0: as varied as the data; 0: every sample of the class is
  the same image. A class with fewer than 2 samples scores 0 (the user sees no variety there).
  "pixels": the 64 pixel values in [-1, 1]; "features": the classifier's second-to-last layer
  (the 512 values after its second LeakyReLU, the input of its last Dense layer). The mean
  over the ten classes and the worst class are reported.
- nearest-training ratio: each sample's Euclidean pixel distance to its nearest image of the
  training split (any class), averaged over the samples, divided by the same average for the
  held-out real digits (also per class, with the held-out digits of that class). 1.0: as far from
  the training images as new real digits are; a generator that returns training images gets 0.
  "copied share": the share of samples nearer a training image than 99% of the held-out digits
  are (below the held-out distances' 1st percentile: about 1% for real digits). A run with a
  ratio below 0.5 or a copied share above 10% is flagged: it may be copying the training set.
  A ratio a little below 1 is not copying (a smooth, average-looking image lies near many).

The real row's variety figures compare one half of the held-out digits (per class, the first
half in the seeded split's order) with the other half, so they show the figures' own noise
rather than 1.0 by construction (0.86-1.16 per class at seed 0, with 14-24 digits a half; the
generated rows, 50 samples against all the held-out digits of a class, are less noisy). Uniform
noise is "diverse" (above 1) and far from every training image: diversity alone is not quality,
read it beside the agreement. For an unconditional generator the classes are the classifier's
calls, which puts its in-between samples in some class: that can lift a class's diversity a
little above the data's.

Limits. These are one classifier's view, not a perceptual metric and not a distance between
distributions (like FID). A classifier trained only on real digits has never seen garbage:
it may call noise a digit with high confidence (see the noise row). The classifier is small and
the data set is small (360 held-out digits), so the real-digit figures carry a few percent of
sampling noise; differences of a point or two between generators mean little. Use it to compare
runs, alongside looking at the sample grids.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import minigan  # noqa: E402
from minigan import Tensor, backend, cli, no_grad  # noqa: E402
from minigan.gan import load_model  # noqa: E402
from minigan.images import batches, load_digits  # noqa: E402
from minigan.io import atomic_write, load_arrays, save_arrays  # noqa: E402
from minigan.functions import softmax_cross_entropy  # noqa: E402
from minigan.nn import Conv2d, Dense, Flatten, LeakyReLU, Sequential  # noqa: E402
from minigan.optim import Adam  # noqa: E402

NUM_CLASSES = 10
IMAGE_SHAPE = (1, 8, 8)              # scikit-learn's digits: one channel, 8x8
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
COVERED_SHARE = 0.5 / NUM_CLASSES    # a class is "covered" with at least half its fair share
EPOCHS, QUICK_EPOCHS = 20, 3         # classifier training (20 epochs: seconds on a CPU)
META_KEY = "__meta__"                # where the classifier cache keeps its settings
PER_CLASS = 50                       # samples of each class whose pairwise distances are averaged
COPY_QUANTILE = 0.01                 # "copied": nearer a training image than 99% of held-out digits
COPY_RATIO, COPY_SHARE = 0.5, 0.10   # flagged: nearest-training ratio < 0.5 or copied share > 10%


# ---------------------------------------------------------------- the classifier

def split_digits(seed, train_share=0.8):
    """(x_train, y_train, x_test, y_test): a seeded random split of the 1797 digits, as host
    arrays (images float32 (N, 1, 8, 8) in [-1, 1], labels int64)."""
    x, y = load_digits("cpu")
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(train_share * len(x))
    train, test = order[:cut], order[cut:]
    return x[train], y[train], x[test], y[test]


def build_classifier():
    """Two convolutions and a linear read-out: (N, 1, 8, 8) -> logits (N, 10)."""
    return Sequential(Conv2d(1, 16, 3, 1, 1), LeakyReLU(0.2),          # 8x8
                      Conv2d(16, 32, 3, 2, 1), LeakyReLU(0.2),         # 8x8 -> 4x4
                      Flatten(), Dense(32 * 4 * 4, NUM_CLASSES))


def train_classifier(x, y, epochs, seed, batch_size=32, lr=1e-3, log=print):
    """A freshly initialised classifier trained with softmax cross-entropy and Adam."""
    minigan.manual_seed(seed)
    net = build_classifier()
    # Adam with the usual betas (0.9, 0.999): this is plain supervised learning, not a game.
    opt = Adam(net.parameters(), lr=lr, betas=(0.9, 0.999))
    rng = minigan.Random(seed, "cpu")
    for epoch in range(1, epochs + 1):
        total, count = 0.0, 0
        for xb, yb in batches(x, y, batch_size, rng, drop_last=False):
            opt.zero_grad()
            loss = softmax_cross_entropy(net(Tensor(xb)), yb)
            loss.backward()
            opt.step()
            total, count = total + loss.item() * len(xb), count + len(xb)
        if log:
            log(f"  classifier epoch {epoch}/{epochs}: loss {total / count:.4f}")
    return net.eval()


def predict_proba(net, images, batch_size=500):
    """Softmax probabilities (N, 10), a host array, of a classifier for images (N, 1, 8, 8)."""
    images = backend.to_numpy(images.data if isinstance(images, Tensor) else images)
    out = []
    with no_grad():
        for start in range(0, len(images), batch_size):
            logits = net(Tensor(images[start:start + batch_size].astype(np.float32))).numpy()
            logits = logits.astype(np.float64)
            logits -= logits.max(axis=1, keepdims=True)                 # stable softmax
            p = np.exp(logits)
            out.append(p / p.sum(axis=1, keepdims=True))
    return np.concatenate(out) if out else np.zeros((0, NUM_CLASSES))


def classifier_features(net, images, batch_size=500):
    """The classifier's second-to-last layer for images (N, 1, 8, 8): every layer but the last
    (the input of its final Dense layer, 512 values after the second LeakyReLU), a host float32
    array (N, 512)."""
    images = backend.to_numpy(images.data if isinstance(images, Tensor) else images)
    body = net.layers[:-1]
    out = []
    with no_grad():
        for start in range(0, len(images), batch_size):
            h = Tensor(images[start:start + batch_size].astype(np.float32))
            for layer in body:
                h = layer(h)
            out.append(h.numpy().astype(np.float32))
    width = net.layers[-1].in_features
    return np.concatenate(out) if out else np.zeros((0, width), np.float32)


def classifier_path(seed, quick=False):
    return os.path.join(RESULTS, f"digit_classifier_seed{seed}{'_quick' if quick else ''}.npz")


def load_or_train_classifier(seed, quick=False, retrain=False, log=print):
    """(classifier, held-out accuracy, info dict): from the cache unless --retrain, the cache is
    missing, or it was made with other settings."""
    epochs = QUICK_EPOCHS if quick else EPOCHS
    meta = {"seed": seed, "epochs": epochs, "architecture": repr(build_classifier()),
            "train_share": 0.8}
    path = classifier_path(seed, quick)
    x_train, y_train, x_test, y_test = split_digits(seed)
    net, source = None, "cache"
    if not retrain and os.path.isfile(path):
        arrays = load_arrays(path)
        stored = json.loads(str(arrays.pop(META_KEY, "{}")))
        if stored == meta:
            net = build_classifier().load_state_dict(arrays).eval()
        elif log:
            log(f"{path} was made with other settings; retraining")
    if net is None:
        source = "trained"
        if log:
            log(f"training the digit classifier ({epochs} epochs, seed {seed}) ...")
        t0 = time.perf_counter()
        net = train_classifier(x_train, y_train, epochs, seed, log=log)
        arrays = net.state_dict()
        arrays[META_KEY] = np.asarray(json.dumps(meta))
        save_arrays(path, arrays)
        if log:
            log(f"  {time.perf_counter() - t0:.0f} s; cached in {path}")
    accuracy = float((predict_proba(net, x_test).argmax(axis=1) == y_test).mean())
    info = dict(meta, path=path, source=source, held_out=len(x_test),
                held_out_accuracy=accuracy)
    return net, accuracy, info, (x_test, y_test)


# ---------------------------------------------------------------- the figures

def class_histogram(predicted, num_classes=NUM_CLASSES):
    """Share of samples assigned to each class: (num_classes,) floats summing to 1."""
    predicted = np.asarray(predicted)
    counts = np.bincount(predicted, minlength=num_classes)[:num_classes]
    return counts / max(len(predicted), 1)


def entropy(shares):
    """Entropy in nats of a histogram of shares (0 ln 0 = 0)."""
    shares = np.asarray(shares, dtype=np.float64)
    nonzero = shares[shares > 0]
    return float(-(nonzero * np.log(nonzero)).sum()) + 0.0          # + 0.0: no -0.0


def label_agreement(predicted, labels, num_classes=NUM_CLASSES):
    """(overall share of predicted == labels, per-class shares: None for an absent class)."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    if len(predicted) != len(labels):
        raise ValueError(f"label_agreement: {len(predicted)} predictions, {len(labels)} labels")
    hit = predicted == labels
    per_class = [float(hit[labels == c].mean()) if (labels == c).any() else None
                 for c in range(num_classes)]
    return float(hit.mean()), per_class


def worst_of(per_class):
    """(class, value) of the smallest per-class figure, skipping None; (None, None) if none."""
    known = [(v, c) for c, v in enumerate(per_class or []) if v is not None]
    if not known:
        return None, None
    value, c = min(known)
    return c, value


def score_probabilities(probs, labels=None, num_classes=NUM_CLASSES):
    """Every figure from classifier probabilities (N, K) and, for conditioned samples, the
    labels (N,) they were drawn for. Returns a JSON-ready dict."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != num_classes or len(probs) == 0:
        raise ValueError(f"score_probabilities: expected probabilities of shape (N, "
                         f"{num_classes}), N >= 1, got {probs.shape}")
    predicted = probs.argmax(axis=1)
    shares = class_histogram(predicted, num_classes)
    h = entropy(shares)
    scores = {
        "n": len(probs),
        "class_shares": [float(s) for s in shares],
        "entropy": h,
        "entropy_ratio": h / math.log(num_classes),
        "classes_covered": int((shares >= 0.5 / num_classes).sum()),
        "mean_confidence": float(probs.max(axis=1).mean()),
        "agreement": None,
        "agreement_per_class": None,
        "agreement_worst_class": None,
        "agreement_worst": None,
    }
    if labels is not None:
        scores["agreement"], scores["agreement_per_class"] = label_agreement(
            predicted, labels, num_classes)
        scores["agreement_worst_class"], scores["agreement_worst"] = worst_of(
            scores["agreement_per_class"])
    return scores


def score_images(classify, images, labels=None):
    """score_probabilities of classify(images), classify: images -> probabilities (N, 10)."""
    return score_probabilities(classify(images), labels)


# ---------------------------------------------------------------- variety (issue 26)

def flat32(x):
    """Rows of x as float32 vectors: (N, ...) -> (N, D)."""
    x = np.asarray(x)
    return x.reshape(len(x), -1).astype(np.float32, copy=False)


def pairwise_distances(a, b):
    """Euclidean distances (N, M) between the rows of a (N, ...) and b (M, ...), float32.

    |a - b|^2 = |a|^2 + |b|^2 - 2 a.b, one matrix product; both sets are first shifted by b's
    mean (distances do not change) so the norms are small and the rounding too, and the square
    is clipped at 0 before the root (rounding can make it slightly negative for equal rows)."""
    a, b = flat32(a), flat32(b)
    centre = b.mean(axis=0) if len(b) else 0.0
    a, b = a - centre, b - centre
    squared = (a * a).sum(axis=1)[:, None] + (b * b).sum(axis=1)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(squared, 0.0))


def mean_pairwise_distance(x):
    """Mean Euclidean distance over the m (m - 1) / 2 distinct pairs of rows of x (m, D);
    0.0 when m < 2 (one image or none has no variety)."""
    m = len(x)
    if m < 2:
        return 0.0
    i, j = np.triu_indices(m, k=1)
    return float(pairwise_distances(x, x)[i, j].mean(dtype=np.float64))


def first_per_class(labels, per_class=None, num_classes=NUM_CLASSES):
    """For each class c, the indices of the first per_class samples labelled c (all if None)."""
    labels = np.asarray(labels)
    return [np.flatnonzero(labels == c)[:per_class] for c in range(num_classes)]


def _summary(per_class, counts):
    worst_class, worst = worst_of(per_class)
    return {"per_class": per_class, "counts": counts,
            "mean": float(np.mean(per_class)), "worst": worst, "worst_class": worst_class}


def within_class_diversity(vectors, labels, ref_vectors, ref_labels, per_class=PER_CLASS,
                           num_classes=NUM_CLASSES):
    """Per class c: mean_pairwise_distance of the first per_class vectors labelled c, over the
    same of every reference vector labelled c. Returns {"per_class": [10 ratios], "counts":
    [samples used per class], "mean", "worst", "worst_class"}. Every class needs at least 2
    reference vectors (it is the scale)."""
    vectors, ref_vectors = flat32(vectors), flat32(ref_vectors)
    ratios, counts = [], []
    groups = first_per_class(labels, per_class, num_classes)
    for c, (own, ref) in enumerate(zip(groups, first_per_class(ref_labels, None, num_classes))):
        scale = mean_pairwise_distance(ref_vectors[ref])
        if scale <= 0:
            raise ValueError(f"within_class_diversity: the reference has fewer than 2 distinct "
                             f"images of class {c}")
        ratios.append(mean_pairwise_distance(vectors[own]) / scale)
        counts.append(len(own))
    return _summary(ratios, counts)


def nearest_distances(x, train, chunk=1000):
    """Each row of x's Euclidean distance to its nearest row of train: (N,) float32 (chunks of
    rows keep the distance matrix small for a large N)."""
    x, train = flat32(x), flat32(train)
    parts = [pairwise_distances(x[s:s + chunk], train).min(axis=1)
             for s in range(0, len(x), chunk)]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def nearest_training(images, labels, train, ref_images, ref_labels, num_classes=NUM_CLASSES):
    """The nearest-training ratio: mean distance from each image to its nearest training image,
    over the same for the reference (held-out real) images; per class with the reference images
    of that class (None for a class with no image); the copied share (images nearer a training
    image than the reference's COPY_QUANTILE quantile of distances) and the flag."""
    labels, ref_labels = np.asarray(labels), np.asarray(ref_labels)
    d, d_ref = nearest_distances(images, train), nearest_distances(ref_images, train)
    threshold = float(np.quantile(d_ref, COPY_QUANTILE))
    per_class = [float(d[labels == c].mean() / d_ref[ref_labels == c].mean())
                 if (labels == c).any() else None for c in range(num_classes)]
    counts = [int((labels == c).sum()) for c in range(num_classes)]
    ratio = float(d.mean() / d_ref.mean())
    copied = float((d < threshold).mean())
    worst_class, worst = worst_of(per_class)
    return {"ratio": ratio, "per_class": per_class, "counts": counts, "worst": worst,
            "worst_class": worst_class, "mean_distance": float(d.mean()),
            "reference_mean_distance": float(d_ref.mean()), "copy_threshold": threshold,
            "copied_share": copied, "copies": bool(ratio < COPY_RATIO or copied > COPY_SHARE)}


def score_variety(embed, images, labels, ref_images, ref_labels, train, per_class=PER_CLASS):
    """The variety figures of images (N, 1, 8, 8), each counting for labels[i], against the
    reference (held-out real) images and labels and the training images: within-class diversity
    in pixels and in embed's features (embed: images -> (N, D)), and the nearest-training
    figures. Returns {"diversity_pixels", "diversity_features", "nearest_training"}."""
    return {
        "diversity_pixels": within_class_diversity(images, labels, ref_images, ref_labels,
                                                   per_class),
        "diversity_features": within_class_diversity(embed(images), labels, embed(ref_images),
                                                     ref_labels, per_class),
        "nearest_training": nearest_training(images, labels, train, ref_images, ref_labels),
    }


def split_halves(labels, num_classes=NUM_CLASSES):
    """(first, second): index arrays that split every class in two, the first half (rounded up)
    of its samples in the order given and the rest: real digits against real digits."""
    groups = first_per_class(labels, None, num_classes)
    first = np.concatenate([g[:(len(g) + 1) // 2] for g in groups])
    second = np.concatenate([g[(len(g) + 1) // 2:] for g in groups])
    return np.sort(first), np.sort(second)


# ---------------------------------------------------------------- the generator

def load_digit_generator(path, device="cpu"):
    """load_model(path), refusing anything that does not draw 1 x 8 x 8 images (and, if
    class-conditional, anything but 10 classes)."""
    G = load_model(path, device)
    channels, size = getattr(G, "channels", None), getattr(G, "image_size", None)
    if (channels, size, size) != IMAGE_SHAPE:
        what = (f"{channels} x {size} x {size} images" if size is not None
                else f"a {type(G).__name__}, not an image generator")
        raise ValueError(f"{path}: this benchmark scores generators of 8x8 digits (1 x 8 x 8 "
                         f"images, scikit-learn's digits), but this one makes {what}; the "
                         f"digit classifier cannot judge them")
    if G.num_classes not in (0, NUM_CLASSES):
        raise ValueError(f"{path}: a conditional generator of {G.num_classes} classes; the "
                         f"digit classifier knows {NUM_CLASSES}")
    return G


def draw_samples(G, n, seed):
    """(n images as a host array, their conditioning labels or None). A conditional generator
    gets balanced labels (n // 10 or n // 10 + 1 of each class) so every class is scored."""
    rng = minigan.Random(seed, G.device)
    labels = None
    if G.num_classes:
        labels = np.arange(n, dtype=np.int64) % G.num_classes
        images = G.sample(n, rng, labels=Tensor(backend.to_device(labels, G.device)))
    else:
        images = G.sample(n, rng)
    images = images.numpy()
    if images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"the generator made images of shape {images.shape[1:]}, expected "
                         f"{IMAGE_SHAPE}")
    return images, labels


def noise_images(n, seed):
    """n images of uniform noise in [-1, 1] and uniformly random labels (the chance level)."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(-1.0, 1.0, (n,) + IMAGE_SHAPE).astype(np.float32),
            rng.integers(0, NUM_CLASSES, n))


# ---------------------------------------------------------------- tables

def _pct(x):
    return "n/a" if x is None else f"{100 * x:.1f}%"


ROW_LABELS = {"generated": "generated", "real": "real held-out digits",
              "noise": "uniform noise in [-1, 1]"}


def _worst(value, c, fmt):
    return "n/a" if value is None else f"{fmt(value)} ({c})"


def _ratio(x):
    return "n/a" if x is None else f"{x:.2f}"


def markdown_tables(name, rows, classifier_info):
    """The summary table, the variety table (when the rows carry score_variety's figures) and
    the per-class table, as Markdown text.

    rows: {"generated": scores, "real": scores, "noise": scores} (score_probabilities dicts,
    updated with score_variety's). Per-class agreement is shown for a conditional generator,
    beside the classifier's per-class accuracy on real digits; the noise row's (chance)
    agreement is in the summary only."""
    lines = [f"### Image quality: {name}", "",
             f"Classifier: held-out accuracy {_pct(classifier_info['held_out_accuracy'])} on "
             f"{classifier_info['held_out']} real digits (seed {classifier_info['seed']}, "
             f"{classifier_info['epochs']} epochs). Entropy in nats; ln 10 = "
             f"{math.log(NUM_CLASSES):.3f}.", "",
             "| images | n | classes covered | entropy | entropy / ln 10 | mean confidence "
             "| label agreement | worst-class agreement |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for key, s in rows.items():
        lines.append(f"| {ROW_LABELS.get(key, key)} | {s['n']} | "
                     f"{s['classes_covered']}/{NUM_CLASSES} | {s['entropy']:.3f} | "
                     f"{s['entropy_ratio']:.3f} | {s['mean_confidence']:.3f} | "
                     f"{_pct(s['agreement'])} | "
                     f"{_worst(s.get('agreement_worst'), s.get('agreement_worst_class'), _pct)} |")
    generated = rows["generated"]
    variety = "diversity_pixels" in generated
    if variety:
        lines += ["", "Variety: within-class diversity (mean pairwise distance of up to "
                  f"{max(generated['diversity_pixels']['counts'])} samples a class, over the "
                  "held-out real digits'; 1 = as varied as the data, 0 = one image per class) "
                  "in pixels and in the classifier's second-to-last layer, the mean over the "
                  "classes and the worst class; nearest-training ratio (mean distance to the "
                  "nearest training image, over the held-out digits'; 0 = copies) and the "
                  "share of samples nearer a training image than 99% of held-out digits are. "
                  "The real row compares one half of the held-out digits with the other.", "",
                  "| images | diversity, pixels | worst class | diversity, features "
                  "| worst class | nearest-training ratio | worst class | copied share |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for key, s in rows.items():
            px, ft, nn = s["diversity_pixels"], s["diversity_features"], s["nearest_training"]
            flag = " **copies?**" if nn["copies"] else ""
            lines.append(f"| {ROW_LABELS.get(key, key)} | {px['mean']:.2f} | "
                         f"{_worst(px['worst'], px['worst_class'], _ratio)} | "
                         f"{ft['mean']:.2f} | {_worst(ft['worst'], ft['worst_class'], _ratio)} "
                         f"| {nn['ratio']:.2f}{flag} | "
                         f"{_worst(nn['worst'], nn['worst_class'], _ratio)} | "
                         f"{_pct(nn['copied_share'])} |")
    conditional = generated["agreement_per_class"] is not None
    lines += ["", "Share of the images that the classifier assigns to each class"
              + (", and the share of each class's images that it calls that class "
                 "(agreement; for real digits, its per-class accuracy)" if conditional
                 else "")
              + (", and the generated samples' diversity and nearest-training ratio per "
                 "class" if variety else "") + ":", ""]
    header = ["class"] + [f"{key} share" for key in rows]
    if conditional:
        header += ["generated agreement", "real agreement"]
    if variety:
        header += ["generated diversity, pixels", "generated diversity, features",
                   "generated nearest-training ratio"]
    lines += ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for c in range(NUM_CLASSES):
        cells = [str(c)] + [_pct(s["class_shares"][c]) for s in rows.values()]
        if conditional:
            cells += [_pct(rows[key]["agreement_per_class"][c]) for key in ("generated", "real")]
        if variety:
            cells += [_ratio(generated[key]["per_class"][c]) for key in
                      ("diversity_pixels", "diversity_features", "nearest_training")]
        lines.append("| " + " | ".join(cells) + " |")
    if variety:
        lines += ["", worst_line(generated)]
        if generated["nearest_training"]["copies"]:
            lines += ["", copy_warning(generated["nearest_training"])]
    return "\n".join(lines) + "\n"


def worst_line(scores):
    """One sentence naming the generated samples' worst class for each figure."""
    px, ft, nn = (scores[k] for k in ("diversity_pixels", "diversity_features",
                                       "nearest_training"))
    return ("Worst class of the generated samples: label agreement "
            f"{_worst(scores['agreement_worst'], scores['agreement_worst_class'], _pct)}, "
            f"diversity in pixels {_worst(px['worst'], px['worst_class'], _ratio)}, "
            f"in features {_worst(ft['worst'], ft['worst_class'], _ratio)}, "
            f"nearest-training ratio {_worst(nn['worst'], nn['worst_class'], _ratio)}.")


def copy_warning(nn):
    return (f"**Warning: the samples may copy the training set**: nearest-training ratio "
            f"{nn['ratio']:.2f} (flagged below {COPY_RATIO}), {_pct(nn['copied_share'])} of "
            f"them nearer a training image than 99% of held-out digits are (flagged above "
            f"{_pct(COPY_SHARE)}).")


def write_text(path, text):
    atomic_write(path, lambda f: f.write(text.encode()))


# ---------------------------------------------------------------- main

def run(generator, n=1000, seed=0, name=None, quick=False, retrain=False, device="cpu",
        out=RESULTS, log=print, per_class=PER_CLASS):
    """Score the generator saved at `generator`; write the .md and .json; return the record."""
    G = load_digit_generator(generator, device)
    name = name or os.path.basename(os.path.dirname(os.path.abspath(generator))) or "generator"
    if quick:
        name += "_quick"
    net, accuracy, info, (x_test, y_test) = load_or_train_classifier(seed, quick, retrain, log)
    x_train = split_digits(seed)[0]
    if accuracy < 0.95 and log:
        log(f"warning: the classifier's held-out accuracy is only {_pct(accuracy)}"
            + (" (a --quick classifier)" if quick else "; try --retrain"))

    def classify(images):
        return predict_proba(net, images)

    def embed(images):
        return classifier_features(net, images)

    t0 = time.perf_counter()
    images, labels = draw_samples(G, n, seed)
    noise, noise_labels = noise_images(n, seed + 1)
    probs = classify(images)
    rows = {"generated": score_probabilities(probs, labels),
            "real": score_images(classify, x_test, y_test),
            "noise": score_images(classify, noise, noise_labels)}
    # Variety: a sample counts for the class it was drawn for, else the class it is called.
    groups = labels if labels is not None else probs.argmax(axis=1)
    first, second = split_halves(y_test)
    rows["generated"].update(score_variety(embed, images, groups, x_test, y_test, x_train,
                                           per_class))
    rows["real"].update(score_variety(embed, x_test[first], y_test[first], x_test[second],
                                      y_test[second], x_train, per_class))
    rows["noise"].update(score_variety(embed, noise, noise_labels, x_test, y_test, x_train,
                                       per_class))
    seconds = time.perf_counter() - t0
    text = markdown_tables(name, rows, info)
    record = {"name": name, "generator": os.path.abspath(generator),
              "generator_config": G.config,
              "conditional": bool(G.num_classes), "n": n, "seed": seed, "quick": quick,
              "classifier": info, "row_labels": ROW_LABELS,
              "covered_share_threshold": COVERED_SHARE,
              "variety": {"per_class": per_class,
                          "classes_from": ("conditioning labels" if labels is not None
                                           else "the classifier's prediction"),
                          "real_row": "first half of each class of the held-out digits "
                                      "against the second half",
                          "copy_quantile": COPY_QUANTILE, "copy_ratio_below": COPY_RATIO,
                          "copied_share_above": COPY_SHARE},
              "seconds": seconds, "rows": rows}
    base = os.path.join(out, f"image_quality_{name}")
    replaced = [p for p in (base + ".md", base + ".json") if os.path.exists(p)]
    write_text(base + ".md", text)
    write_text(base + ".json", json.dumps(record, indent=2) + "\n")
    if log:
        log("")
        log(text)
        if rows["generated"]["nearest_training"]["copies"]:
            log("warning: " + copy_warning(rows["generated"]["nearest_training"]).replace("**", ""))
        log(f"scored in {seconds:.1f} s; written: {base}.md and {base}.json"
            + (f" (replacing the earlier {' and '.join(map(os.path.basename, replaced))}; "
               f"--name keeps both)" if replaced else ""))
    return record


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("generator", help="a generator.npz of 8x8 digits (DCGAN or AC-GAN, --digits)")
    p.add_argument("--n", type=cli.positive_int, default=None, help="samples to draw (default 1000; 200 "
                   "with --quick)")
    p.add_argument("--seed", type=cli.non_negative_int, default=0, help="data split, classifier and samples")
    p.add_argument("--name", default=None, help="name of the result files (default: the "
                   "generator's folder name)")
    p.add_argument("--quick", action="store_true", help="smoke run: a 3-epoch classifier "
                   "(cached separately), 200 samples, results named <name>_quick")
    p.add_argument("--retrain", action="store_true", help="retrain the cached classifier")
    p.add_argument("--per-class", type=cli.positive_int, default=PER_CLASS,
                   help="samples of each class in the within-class diversity")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                   help="where the generator runs")
    p.add_argument("--out", default=RESULTS, help="folder for the .md and .json")
    args = p.parse_args(argv)
    n = args.n if args.n is not None else (200 if args.quick else 1000)
    try:
        run(args.generator, n, args.seed, args.name, args.quick, args.retrain, args.device,
            args.out, per_class=args.per_class)
    except (OSError, ValueError, KeyError, minigan.DeviceError) as error:
        sys.exit(f"image_quality.py: error: {error}")


if __name__ == "__main__":
    main()
