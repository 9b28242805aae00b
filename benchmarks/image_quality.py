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
  that the classifier calls c, per class and overall. On real digits this is the classifier's
  accuracy (their true labels stand in for the conditioning), an upper bound in practice; for
  noise the labels are drawn at random, so it shows the chance level (about 10%).

Limits. These are one classifier's view, not a perceptual metric and not a distance between
distributions (like FID). A classifier trained only on real digits has never seen garbage:
it may call noise a digit with high confidence (see the noise row), and it says nothing about
diversity *within* a class (a generator repeating one perfect "3" per class would score
perfectly). The classifier is small and the data set is small (360 held-out digits), so the
real-digit figures carry a few percent of sampling noise; differences of a point or two between
generators mean little. Use it to compare runs, alongside looking at the sample grids.
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
    }
    if labels is not None:
        scores["agreement"], scores["agreement_per_class"] = label_agreement(
            predicted, labels, num_classes)
    return scores


def score_images(classify, images, labels=None):
    """score_probabilities of classify(images), classify: images -> probabilities (N, 10)."""
    return score_probabilities(classify(images), labels)


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


def markdown_tables(name, rows, classifier_info):
    """The summary table and the per-class table, as Markdown text.

    rows: {"generated": scores, "real": scores, "noise": scores} (score_probabilities dicts).
    Per-class agreement is shown for a conditional generator, beside the classifier's per-class
    accuracy on real digits; the noise row's (chance) agreement is in the summary only."""
    lines = [f"### Image quality: {name}", "",
             f"Classifier: held-out accuracy {_pct(classifier_info['held_out_accuracy'])} on "
             f"{classifier_info['held_out']} real digits (seed {classifier_info['seed']}, "
             f"{classifier_info['epochs']} epochs). Entropy in nats; ln 10 = "
             f"{math.log(NUM_CLASSES):.3f}.", "",
             "| images | n | classes covered | entropy | entropy / ln 10 | mean confidence "
             "| label agreement |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for key, s in rows.items():
        lines.append(f"| {ROW_LABELS.get(key, key)} | {s['n']} | "
                     f"{s['classes_covered']}/{NUM_CLASSES} | {s['entropy']:.3f} | "
                     f"{s['entropy_ratio']:.3f} | {s['mean_confidence']:.3f} | "
                     f"{_pct(s['agreement'])} |")
    conditional = rows["generated"]["agreement_per_class"] is not None
    lines += ["", "Share of the images that the classifier assigns to each class"
              + (", and the share of each class's images that it calls that class "
                 "(agreement; for real digits, its per-class accuracy):" if conditional
                 else ":"), ""]
    header = ["class"] + [f"{key} share" for key in rows]
    if conditional:
        header += ["generated agreement", "real agreement"]
    lines += ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    for c in range(NUM_CLASSES):
        cells = [str(c)] + [_pct(s["class_shares"][c]) for s in rows.values()]
        if conditional:
            cells += [_pct(rows[key]["agreement_per_class"][c]) for key in ("generated", "real")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_text(path, text):
    atomic_write(path, lambda f: f.write(text.encode()))


# ---------------------------------------------------------------- main

def run(generator, n=1000, seed=0, name=None, quick=False, retrain=False, device="cpu",
        out=RESULTS, log=print):
    """Score the generator saved at `generator`; write the .md and .json; return the record."""
    G = load_digit_generator(generator, device)
    name = name or os.path.basename(os.path.dirname(os.path.abspath(generator))) or "generator"
    if quick:
        name += "_quick"
    net, accuracy, info, (x_test, y_test) = load_or_train_classifier(seed, quick, retrain, log)
    if accuracy < 0.95 and log:
        log(f"warning: the classifier's held-out accuracy is only {_pct(accuracy)}"
            + (" (a --quick classifier)" if quick else "; try --retrain"))

    def classify(images):
        return predict_proba(net, images)

    images, labels = draw_samples(G, n, seed)
    noise, noise_labels = noise_images(n, seed + 1)
    rows = {"generated": score_images(classify, images, labels),
            "real": score_images(classify, x_test, y_test),
            "noise": score_images(classify, noise, noise_labels)}
    text = markdown_tables(name, rows, info)
    record = {"name": name, "generator": os.path.abspath(generator),
              "generator_config": G.config,
              "conditional": bool(G.num_classes), "n": n, "seed": seed, "quick": quick,
              "classifier": info, "row_labels": ROW_LABELS,
              "covered_share_threshold": COVERED_SHARE, "rows": rows}
    base = os.path.join(out, f"image_quality_{name}")
    write_text(base + ".md", text)
    write_text(base + ".json", json.dumps(record, indent=2) + "\n")
    if log:
        log("")
        log(text)
        log(f"written: {base}.md and {base}.json")
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
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                   help="where the generator runs")
    p.add_argument("--out", default=RESULTS, help="folder for the .md and .json")
    args = p.parse_args(argv)
    n = args.n if args.n is not None else (200 if args.quick else 1000)
    try:
        run(args.generator, n, args.seed, args.name, args.quick, args.retrain, args.device,
            args.out)
    except (OSError, ValueError, KeyError, minigan.DeviceError) as error:
        sys.exit(f"image_quality.py: error: {error}")


if __name__ == "__main__":
    main()
