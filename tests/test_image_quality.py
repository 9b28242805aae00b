"""benchmarks/image_quality.py: its figures on hand-made inputs with known answers, a
nearest-centroid stand-in for the classifier on real digits, and its refusal of generators that
do not draw 8x8 digits. No classifier is trained here (that takes a minute)."""
import math

import numpy as np
import pytest
from conftest import load_script

from minigan.gan import ACGANGenerator, DCGANGenerator


@pytest.fixture(scope="module")
def iq():
    return load_script("benchmarks/image_quality.py")


def one_hot(classes, k=10, confidence=1.0):
    """Probabilities putting `confidence` on each given class, the rest spread evenly."""
    classes = np.asarray(classes)
    p = np.full((len(classes), k), (1.0 - confidence) / (k - 1))
    p[np.arange(len(classes)), classes] = confidence
    return p


def test_one_class_gives_entropy_zero_and_one_class_covered(iq):
    s = iq.score_probabilities(one_hot([3] * 50, confidence=0.7))
    assert s["class_shares"] == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert s["entropy"] == 0.0 and s["entropy_ratio"] == 0.0
    assert s["classes_covered"] == 1
    assert s["mean_confidence"] == pytest.approx(0.7)
    assert s["agreement"] is None and s["agreement_per_class"] is None


def test_balanced_classes_give_entropy_ln10(iq):
    s = iq.score_probabilities(one_hot(np.arange(100) % 10))
    assert s["class_shares"] == [0.1] * 10
    assert s["entropy"] == pytest.approx(math.log(10))
    assert s["entropy_ratio"] == pytest.approx(1.0)
    assert s["classes_covered"] == 10 and s["mean_confidence"] == pytest.approx(1.0)


def test_entropy_and_coverage_of_an_uneven_histogram(iq):
    assert iq.entropy([0.5, 0.5, 0.0]) == pytest.approx(math.log(2))
    # 96 samples of class 0, 4 of class 1: class 1 gets 4% < 5% (half of 1/10): not covered.
    s = iq.score_probabilities(one_hot([0] * 96 + [1] * 4))
    assert s["classes_covered"] == 1
    assert s["entropy"] == pytest.approx(-(0.96 * math.log(0.96) + 0.04 * math.log(0.04)))


def test_label_agreement_overall_and_per_class(iq):
    labels = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    predicted = np.array([0, 0, 1, 5, 2, 2, 7, 7])
    overall, per_class = iq.label_agreement(predicted, labels)
    assert overall == pytest.approx(5 / 8)
    assert per_class[:3] == [1.0, 0.5, 0.5] and per_class[3:] == [None] * 7
    s = iq.score_probabilities(one_hot(predicted), labels)
    assert s["agreement"] == pytest.approx(5 / 8) and s["agreement_per_class"] == per_class


def test_score_probabilities_rejects_wrong_shapes(iq):
    with pytest.raises(ValueError, match="shape"):
        iq.score_probabilities(np.ones((4, 3)) / 3)


def test_real_digits_score_high_with_a_nearest_centroid_classifier(iq):
    """A stand-in classifier (softmax of minus squared distances to the class means of the
    training split): the held-out real digits agree with their labels and fill all classes."""
    x_train, y_train, x_test, y_test = iq.split_digits(seed=0)
    assert len(x_train) == 1437 and len(x_test) == 360 and x_test.shape[1:] == (1, 8, 8)
    centres = np.stack([x_train[y_train == c].reshape(-1, 64).mean(axis=0) for c in range(10)])

    def classify(images):
        d = ((images.reshape(len(images), 1, 64) - centres) ** 2).sum(axis=2)
        logits = -(d - d.min(axis=1, keepdims=True))
        return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)

    real = iq.score_images(classify, x_test, y_test)
    assert real["agreement"] > 0.85
    assert real["classes_covered"] == 10 and real["entropy_ratio"] > 0.98
    noise, noise_labels = iq.noise_images(500, seed=1)
    assert noise.min() >= -1 and noise.max() <= 1
    chance = iq.score_images(classify, noise, noise_labels)
    assert chance["agreement"] < 0.3                       # about 1/10: the labels are random


def test_refuses_generators_that_do_not_draw_8x8_digits(iq, tmp_path):
    path = str(tmp_path / "g12.npz")
    DCGANGenerator(latent_dim=4, image_size=12, width=2).save(path)
    with pytest.raises(ValueError, match="8x8 digits.*1 x 12 x 12"):
        iq.load_digit_generator(path)
    path = str(tmp_path / "g8.npz")
    DCGANGenerator(latent_dim=4, image_size=8, width=2).save(path)
    assert iq.load_digit_generator(path).image_size == 8


def test_a_conditional_generator_is_scored_per_class(iq, tmp_path):
    """End to end through draw_samples with an untrained AC-GAN generator and a stand-in
    classifier that calls every image a 4: agreement is 1 for class 4, 0 elsewhere."""
    path = str(tmp_path / "ac8.npz")
    ACGANGenerator(latent_dim=4, num_classes=10, image_size=8, width=1, embed_dim=2).save(path)
    G = iq.load_digit_generator(path)
    images, labels = iq.draw_samples(G, 30, seed=0)
    assert images.shape == (30, 1, 8, 8) and np.bincount(labels).tolist() == [3] * 10
    s = iq.score_images(lambda x: one_hot([4] * len(x), confidence=0.9), images, labels)
    assert s["agreement"] == pytest.approx(0.1)
    assert s["agreement_per_class"] == [0.0] * 4 + [1.0] + [0.0] * 5
    assert s["classes_covered"] == 1 and s["mean_confidence"] == pytest.approx(0.9)
    text = iq.markdown_tables("t", {"generated": s, "real": s, "noise": s},
                              {"held_out_accuracy": 1.0, "held_out": 30, "seed": 0, "epochs": 1})
    assert "| 4 | 100.0% | 100.0% | 100.0% | 100.0% | 100.0% |" in text


# ---------------------------------------------------------------- variety (issue 26)

@pytest.fixture(scope="module")
def digits(iq):
    """The seed-0 split: (x_train, y_train, x_test, y_test)."""
    return iq.split_digits(seed=0)


def projection_features(images):
    """A fixed stand-in for the classifier's second-to-last layer: a seeded random linear map
    of the 64 pixels to 128 values and a LeakyReLU (no classifier is trained here)."""
    W = np.random.default_rng(123).normal(0, 0.125, (64, 128)).astype(np.float32)
    h = images.reshape(len(images), 64).astype(np.float32) @ W
    return np.where(h > 0, h, 0.2 * h)


def test_distances_against_a_loop(iq):
    # A 3-4-5 triangle: the three pairwise distances 3, 4, 5, their mean 4.
    assert iq.mean_pairwise_distance(np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 4.0]])) == \
        pytest.approx(4.0, abs=1e-5)
    assert iq.mean_pairwise_distance(np.ones((1, 5))) == 0.0         # one image: no variety
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 1, 8, 8)), rng.normal(size=(5, 1, 8, 8)) + 3.0
    loop = [[np.linalg.norm(x - y) for y in b] for x in a]
    assert iq.pairwise_distances(a, b).dtype == np.float32
    assert np.allclose(iq.pairwise_distances(a, b), loop, rtol=1e-5)
    assert np.allclose(iq.nearest_distances(a, b), np.min(loop, axis=1), rtol=1e-5)
    assert np.allclose(iq.nearest_distances(a, b, chunk=3), np.min(loop, axis=1), rtol=1e-5)
    assert iq.nearest_distances(b[:2], b) == pytest.approx([0.0, 0.0], abs=2e-3)


def test_classifier_features_are_the_input_of_the_last_layer(iq, digits):
    net = iq.build_classifier().eval()
    x = digits[2][:20]
    h = iq.classifier_features(net, x)
    assert h.shape == (20, 512) and h.dtype == np.float32
    last = net.layers[-1]
    logits = h @ last.weight.numpy() + last.bias.numpy()
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    assert np.allclose(p / p.sum(axis=1, keepdims=True), iq.predict_proba(net, x), atol=1e-5)


def test_real_digits_are_as_varied_as_other_real_digits(iq, digits):
    """Another split of real digits scores about 1 in every class: the training digits (50 a
    class) against the held-out ones, and one half of the held-out digits against the other
    (the script's real row); their nearest-training ratio is about 1 and is not flagged."""
    x_train, y_train, x_test, y_test = digits
    pixels = iq.within_class_diversity(x_train, y_train, x_test, y_test, per_class=50)
    assert pixels["counts"] == [50] * 10
    assert all(0.85 < r < 1.15 for r in pixels["per_class"]), pixels["per_class"]
    assert pixels["mean"] == pytest.approx(1.0, abs=0.05)
    first, second = iq.split_halves(y_test)
    assert len(np.intersect1d(first, second)) == 0 and len(first) + len(second) == len(y_test)
    s = iq.score_variety(projection_features, x_test[first], y_test[first], x_test[second],
                         y_test[second], x_train)
    for key in ("diversity_pixels", "diversity_features"):
        assert all(0.8 < r < 1.2 for r in s[key]["per_class"]), (key, s[key]["per_class"])
        assert s[key]["mean"] == pytest.approx(1.0, abs=0.05)
    nn = s["nearest_training"]
    assert nn["ratio"] == pytest.approx(1.0, abs=0.1) and not nn["copies"]
    assert all(0.8 < r < 1.2 for r in nn["per_class"]) and nn["copied_share"] < 0.05


def one_image_per_class(x, y, classes=range(10), per_class=50):
    """Training digits, 50 a class, with each class in `classes` replaced by one image of it."""
    idx = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(10)])
    images, labels = x[idx].copy(), y[idx]
    for c in classes:
        images[labels == c] = x[np.flatnonzero(y == c)[0]]
    return images, labels


def test_one_image_per_class_scores_zero_and_is_named_worst(iq, digits):
    x_train, y_train, x_test, y_test = digits
    images, labels = one_image_per_class(x_train, y_train)
    s = iq.score_variety(projection_features, images, labels, x_test, y_test, x_train)
    for key in ("diversity_pixels", "diversity_features"):
        assert max(s[key]["per_class"]) < 0.005 and s[key]["mean"] < 0.005
    # A little noise on the one image (std 0.01 a pixel) is still about no variety.
    noisy = images + np.random.default_rng(0).normal(0, 0.01, images.shape).astype(np.float32)
    assert iq.within_class_diversity(noisy, labels, x_test, y_test)["mean"] < 0.05
    # Only the sevens collapsed: 7 is the worst class, the others stay near the data's 1.
    images, labels = one_image_per_class(x_train, y_train, classes=[7])
    s = iq.score_variety(projection_features, images, labels, x_test, y_test, x_train)
    for key in ("diversity_pixels", "diversity_features"):
        d = s[key]
        assert d["worst_class"] == 7 and d["worst"] < 0.005, d
        assert min(r for c, r in enumerate(d["per_class"]) if c != 7) > 0.8
    rows = scored_rows(iq, labels, s)
    assert "diversity in pixels 0.00 (7), in features 0.00 (7)" in iq.worst_line(
        rows["generated"])
    # A class drawn once or never (an unconditional generator's rare class) scores 0.
    d = iq.within_class_diversity(x_train[:30], np.r_[np.zeros(29, int), 1], x_test, y_test)
    assert d["counts"][:3] == [29, 1, 0] and d["per_class"][1:3] == [0.0, 0.0]


def test_copying_the_training_set_is_flagged(iq, digits):
    x_train, y_train, x_test, y_test = digits
    pick = np.random.default_rng(0).choice(len(x_train), 500, replace=False)
    copies, labels = x_train[pick], y_train[pick]
    s = iq.score_variety(projection_features, copies, labels, x_test, y_test, x_train)
    nn = s["nearest_training"]
    assert nn["ratio"] < 0.01 and nn["copied_share"] == 1.0 and nn["copies"]
    assert max(nn["per_class"]) < 0.01
    assert s["diversity_pixels"]["mean"] > 0.9            # varied: diversity alone would pass it
    text = iq.markdown_tables("copier", scored_rows(iq, labels, s), CLASSIFIER_INFO)
    assert "**copies?**" in text and "Warning: the samples may copy the training set" in text
    # Copies with a little noise (std 0.05 a pixel) are flagged too, and 30% copies among new
    # digits: their ratio (0.7) passes, their copied share does not ...
    noisy = copies + np.random.default_rng(1).normal(0, 0.05, copies.shape).astype(np.float32)
    assert iq.nearest_training(noisy, labels, x_train, x_test, y_test)["copies"]
    some = np.concatenate([copies[:108], x_test[:252]])
    nn = iq.nearest_training(some, np.r_[labels[:108], y_test[:252]], x_train, x_test, y_test)
    assert nn["ratio"] > 0.5 and nn["copied_share"] > 0.25 and nn["copies"]
    # ... and new real digits are not.
    first, second = iq.split_halves(y_test)
    nn = iq.nearest_training(x_test[first], y_test[first], x_train, x_test[second],
                             y_test[second])
    assert not nn["copies"]


def test_nearest_training_ratio_on_a_constructed_case(iq):
    """One training point at the origin; reference points of class 0 at distance 1 and of
    class 1 at distance 2; samples of class 0 at 0.5 and of class 1 at 4: per-class ratios 0.5
    and 2, overall (0.5 + 4) / 2 over (1 + 2) / 2 = 1.5; class 0 is the worst. The reference's
    1st percentile is 1.01, so the sample at 0.5 counts as copied: share 1/2, flagged (over
    10%) though the overall ratio is above 1."""
    train = np.zeros((1, 2))
    ref, ref_labels = np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([0, 1])
    x, labels = np.array([[0.0, 0.5], [4.0, 0.0]]), np.array([0, 1])
    nn = iq.nearest_training(x, labels, train, ref, ref_labels, num_classes=3)
    assert nn["per_class"][:2] == pytest.approx([0.5, 2.0]) and nn["per_class"][2] is None
    assert nn["ratio"] == pytest.approx(1.5) and (nn["worst_class"], nn["worst"]) == (0, 0.5)
    assert nn["copy_threshold"] == pytest.approx(1.01)
    assert nn["copied_share"] == 0.5 and nn["copies"]
    x[0] = [0.0, 1.02]                                         # just beyond the threshold
    nn = iq.nearest_training(x, labels, train, ref, ref_labels, num_classes=3)
    assert nn["copied_share"] == 0.0 and not nn["copies"]


def test_per_class_accuracy_and_its_worst_class(iq):
    """Ten samples a class; class c has min(c, 6) of them called something else, except class
    3, which has 6 wrong as well (ties go to the lower class): per-class accuracy 1, 0.9, 0.8,
    0.4, 0.6, 0.5, 0.4, ...; the worst is class 3 at 40%."""
    labels = np.repeat(np.arange(10), 10)
    wrong = [0, 1, 2, 6, 4, 5, 6, 6, 6, 6]
    predicted = labels.copy()
    for c, k in enumerate(wrong):
        predicted[c * 10:c * 10 + k] = (c + 1) % 10
    s = iq.score_probabilities(one_hot(predicted), labels)
    assert s["agreement_per_class"] == pytest.approx([1 - k / 10 for k in wrong])
    assert s["agreement"] == pytest.approx(1 - sum(wrong) / 100)
    assert (s["agreement_worst_class"], s["agreement_worst"]) == (3, pytest.approx(0.4))
    text = iq.markdown_tables("t", {"generated": s, "real": s, "noise": s}, CLASSIFIER_INFO)
    assert "| 58.0% | 40.0% (3) |" in text
    assert iq.worst_of([None, 0.5, 0.2, 0.2]) == (2, 0.2) and iq.worst_of([None]) == (None, None)


CLASSIFIER_INFO = {"held_out_accuracy": 1.0, "held_out": 30, "seed": 0, "epochs": 1}


def scored_rows(iq, labels, variety):
    """Rows for markdown_tables: every sample called its label, with the variety figures."""
    s = dict(iq.score_probabilities(one_hot(labels), labels), **variety)
    return {"generated": s, "real": s, "noise": s}


def test_the_variety_table_and_the_worst_classes_are_printed(iq, digits):
    x_train, y_train, x_test, y_test = digits
    images, labels = one_image_per_class(x_train, y_train, classes=[2])
    rows = scored_rows(iq, labels, iq.score_variety(projection_features, images, labels,
                                                    x_test, y_test, x_train))
    text = iq.markdown_tables("t", rows, CLASSIFIER_INFO)
    assert "| images | diversity, pixels | worst class | diversity, features |" in text
    line = [t for t in text.splitlines() if t.startswith("| generated | 0.")][0]
    # Nine classes of training digits and one image of a 2: varied elsewhere, and copies.
    assert line.startswith("| generated | 0.89 | 0.00 (2) | 0.89 | 0.00 (2) | 0.00 **copies?**")
    assert "generated diversity, pixels | generated diversity, features" in text
    assert "| 2 | 10.0% | 10.0% | 10.0% | 100.0% | 100.0% | 0.00 | 0.00 |" in text
    assert "Worst class of the generated samples: label agreement 100.0% (0)" in text
