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
