"""The three conditionings of a class-conditional GAN (minigan/gan/conditioning.py, issue 26).

Gradient checks (float64, finite differences) of each recipe's new parts: the projection layer and
D, the TAC twin terms; the TAC term's gradient in closed form, and 0 when the twin equals the class
head; R1 on a projection D (closed form on a linear one, finite differences on the real one); a
short seeded run of each; save, rebuild and sample by label; a TAC checkpoint round trip, and a
checkpoint without a recipe loading as "acgan"; the refusals. That "acgan" gives today's numbers
is tests/test_same_numbers.py, unchanged."""
import os

import numpy as np
import pytest

import minigan
from minigan import Tensor
from minigan import functions as F
from minigan.gan import (ACGANDiscriminator, ACGANGenerator, GANTrainer, ProjectionDiscriminator,
                         load_model, penalties)
from minigan.gan.checkpoint import describe, metadata, saved_conditioning
from minigan.gan.conditioning import (CONDITIONINGS, ACGANClassTerms, TACClassTerms,
                                      discriminator_for)
from minigan.gan.models import DiscriminatorBase
from minigan.gan.projection import Projection
from minigan.gradcheck import check_gradients
from minigan.io import load_arrays, save_arrays
from minigan.sample import sample

K = 4          # classes in the tiny pairs


def f64(shape, seed, std=1.0):
    return Tensor(minigan.Random(seed).normal(shape, std=std, dtype="float64"),
                  requires_grad=True)


def labels_of(*values):
    return Tensor(np.array(values, dtype=np.int64))


def onehot(labels, k):
    return np.eye(k)[labels]


def softmax(q):
    e = np.exp(q - q.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


# --- gradient checks of each recipe's new parts --------------------------------------------------

def test_the_projection_layer_gradient_check():
    minigan.manual_seed(0)
    layer = Projection(6, K).astype("float64")
    layer.embed.weight.data[...] = minigan.Random(3).normal((K, 6), dtype="float64")  # not tiny
    y = labels_of(2, 0, 2, 3, 1)                         # class 2 twice: its row gets both
    assert check_gradients(lambda h: layer(h, y), [f64((5, 6), 1)],
                           params=layer.parameters()) < 1e-6


def test_the_projection_is_psi_plus_the_class_embedding_dot_the_features():
    minigan.manual_seed(0)
    layer = Projection(3, K).astype("float64")
    h, y = f64((4, 3), 1), labels_of(3, 1, 1, 0)
    w, b = layer.psi.weight.numpy(), layer.psi.bias.numpy()
    e = layer.embed.weight.numpy()
    want = h.numpy() @ w + b + (e[[3, 1, 1, 0]] * h.numpy()).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(layer(h, y).numpy(), want, rtol=1e-12)


def tiny_projection_d():
    minigan.manual_seed(1)
    return ProjectionDiscriminator(num_classes=K, image_size=4, width=1, dropout=0.0,
                                   batch_norm=False).astype("float64")


def test_the_projection_discriminator_gradient_check_through_its_convs():
    D = tiny_projection_d()
    D.projection.embed.weight.data *= 20                 # the class's say, not tiny
    y = labels_of(0, 3, 3)
    assert check_gradients(lambda x: D.judge(x, y)[0], [f64((3, 1, 4, 4), 2)],
                           params=D.parameters()) < 1e-5


def test_a_projection_d_needs_the_labels_and_their_class_changes_the_verdict():
    D = tiny_projection_d()
    D.projection.embed.weight.data *= 20
    x = f64((2, 1, 4, 4), 2)
    with pytest.raises(ValueError, match=r"a projection D needs the labels, judge\(x, labels\)"):
        D.judge(x)
    logits, class_logits = D.judge(x, labels_of(0, 0))
    assert class_logits is None                          # no class head
    assert not np.allclose(logits.numpy(), D.judge(x, labels_of(1, 2))[0].numpy())


@pytest.mark.parametrize("terms", [ACGANClassTerms(), TACClassTerms()], ids=["acgan", "tac"])
@pytest.mark.parametrize("role", ["real", "fake", "generator"])
def test_the_class_terms_gradient_check(terms, role):
    y = labels_of(1, 3, 3, 0, 2)
    fn = (lambda q: getattr(terms, role)(q, y)) if isinstance(terms, ACGANClassTerms) else (
        lambda q, t: getattr(terms, role)((q, t), y))
    inputs = [f64((5, K), 1, std=2.0)] + ([f64((5, K), 2, std=2.0)]
                                           if isinstance(terms, TACClassTerms) else [])
    assert check_gradients(fn, inputs) < 1e-6


def test_the_tac_generator_terms_gradient_is_the_class_heads_minus_the_twins():
    q, t, c = f64((5, K), 1, std=2.0), f64((5, K), 2, std=2.0), labels_of(1, 3, 3, 0, 2)
    TACClassTerms().generator((q, t), c).backward()
    target = onehot(c.numpy(), K)
    np.testing.assert_allclose(q.grad, (softmax(q.numpy()) - target) / 5, rtol=1e-10)
    np.testing.assert_allclose(t.grad, -(softmax(t.numpy()) - target) / 5, rtol=1e-10)


def tiny_twin_d():
    minigan.manual_seed(2)
    return ACGANDiscriminator(num_classes=K, image_size=4, width=1, dropout=0.0,
                              batch_norm=False, twin_head=True).astype("float64")


def test_when_the_twin_equals_the_class_head_gs_tac_term_pushes_nothing():
    """G drawing the data: the twin, which learns G's samples, learns what the class head
    learned. Then G's TAC gradient is exactly 0, the AC-GAN's is not."""
    D = tiny_twin_d()
    D.twin.weight.data[...] = D.classes.weight.data
    D.twin.bias.data[...] = D.classes.bias.data
    x, c = f64((6, 1, 4, 4), 3), labels_of(0, 1, 2, 3, 0, 1)
    _, heads = D.judge(x, c)
    TACClassTerms().generator(heads, c).backward()
    assert np.abs(x.grad).max() == 0.0
    x.grad = None
    _, (classes, _) = D.judge(x, c)
    ACGANClassTerms().generator(classes, c).backward()
    assert np.abs(x.grad).max() > 1e-4


def test_the_twin_heads_gradient_check_through_the_whole_d():
    D = tiny_twin_d()
    c = labels_of(0, 3, 1)
    assert check_gradients(lambda x: TACClassTerms().generator(D.judge(x)[1], c),
                           [f64((3, 1, 4, 4), 4)], params=D.parameters()) < 1e-5


# --- R1 on a projection D ------------------------------------------------------------------------

class LinearProjectionD(DiscriminatorBase):
    """l(x, y) = x . w + b + e_y . x: dl/dx = w + e_y, a closed form for R1."""
    num_classes, takes_labels = K, True

    def __init__(self, w, e):
        self.w = minigan.nn.Parameter(np.asarray(w, dtype="float64").reshape(-1, 1))
        self.e = minigan.nn.Parameter(np.asarray(e, dtype="float64"))

    def forward(self, x, labels):
        return F.matmul(x, self.w) + 0.3 + F.sum(F.embedding(labels, self.e) * x, axis=1,
                                                 keepdims=True)

    def judge(self, x, labels=None):
        return self(x, labels), None


def test_r1_of_a_linear_projection_d_is_gamma_half_the_mean_of_w_plus_e_y_squared():
    e = np.arange(K * 2, dtype="float64").reshape(K, 2)
    D = LinearProjectionD([3.0, -4.0], e)
    y = labels_of(0, 2, 2, 3)
    x = Tensor(np.random.default_rng(0).normal(size=(4, 2)))
    want = 0.5 * np.mean([np.sum((np.array([3.0, -4.0]) + e[i]) ** 2) for i in (0, 2, 2, 3)])
    assert penalties.r1(D, x, 1.0, y).item() == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("which", ["r1", "r2", "gp"])
def test_the_penalties_on_a_projection_d_match_finite_differences(which):
    D = tiny_projection_d()
    D.projection.embed.weight.data *= 20
    real, fake, y = f64((3, 1, 4, 4), 5), f64((3, 1, 4, 4), 6), labels_of(1, 0, 3)

    def penalty():
        with minigan.enable_grad():
            if which == "r1":
                return penalties.r1(D, real, 2.0, y)
            if which == "r2":
                return penalties.r2(D, fake, 2.0, y)
            return penalties.gradient_penalty(D, real, fake, 2.0, minigan.Random(7), y)

    assert check_gradients(penalty, [], params=D.parameters()) < 1e-5


# --- the trainer: a short seeded run of each, and the refusals -----------------------------------

def digits_like(seed=5, n=64):
    rng = minigan.Random(seed)
    return rng.uniform((n, 1, 8, 8), -1.0, 1.0), rng.integers(0, K, n)


def tiny_trainer(conditioning, seed=0, **options):
    minigan.manual_seed(seed)
    G = ACGANGenerator(latent_dim=8, num_classes=K, image_size=8, width=2, embed_dim=4)
    D = discriminator_for(conditioning, num_classes=K, image_size=8, width=2,
                          batch_norm=options.get("penalty") is None)
    return GANTrainer(G, D, seed=seed, conditioning=conditioning, **options)


@pytest.mark.parametrize("d_update", ["joint", "split"])
@pytest.mark.parametrize("conditioning", CONDITIONINGS)
def test_a_short_seeded_run_of_each_conditioning(conditioning, d_update):
    images, labels = digits_like()
    runs = []
    for _ in range(2):
        trainer = tiny_trainer(conditioning, d_update=d_update)
        history = trainer.train(images, 2, 16, labels=labels, log_every=0)
        runs.append(history.columns)
    assert runs[0] == runs[1]                            # same seed, same numbers
    names = set(runs[0])
    assert ("g_class" in names) == (conditioning != "projection")
    for column in runs[0].values():
        assert len(column) == 8 and np.isfinite(column).all()
    if conditioning == "tac":                            # CE - CE: either sign
        assert abs(np.mean(runs[0]["g_class"])) < 1.0


@pytest.mark.parametrize("conditioning", CONDITIONINGS)
def test_each_conditioning_trains_on_the_device_with_r1(conditioning, device):
    minigan.manual_seed(0)
    G = ACGANGenerator(latent_dim=8, num_classes=K, image_size=8, width=2).to(device)
    D = discriminator_for(conditioning, num_classes=K, image_size=8, width=2,
                          batch_norm=False).to(device)
    rng = minigan.Random(5, device)
    images, labels = rng.uniform((32, 1, 8, 8), -1.0, 1.0), rng.integers(0, K, 32)
    trainer = GANTrainer(G, D, seed=0, conditioning=conditioning, penalty="r1", gamma=1.0,
                         d_update="split")
    history = trainer.train(images, 1, 16, labels=labels, log_every=0)
    assert len(history) == 2 and np.isfinite(history["d_real"]).all()
    assert G.sample(3, labels=Tensor(labels[:3])).device == device


def test_acgan_named_is_the_default():
    images, labels = digits_like()
    named = tiny_trainer("acgan")
    named.train(images, 1, 16, labels=labels, log_every=0)
    minigan.manual_seed(0)              # the default generator draws the dropout masks too
    G = ACGANGenerator(latent_dim=8, num_classes=K, image_size=8, width=2, embed_dim=4)
    default = GANTrainer(G, ACGANDiscriminator(num_classes=K, image_size=8, width=2), seed=0)
    default.train(images, 1, 16, labels=labels, log_every=0)
    assert default.conditioning == "acgan"
    assert named.history.columns == default.history.columns


def test_tac_trains_the_class_head_on_real_images_and_the_twin_on_generated_ones():
    images, labels = digits_like()
    trainer = tiny_trainer("tac", d_update="split")
    real, real_labels = trainer.real_batch(images, 16, labels)
    before = {name: p.numpy().copy() for name, p in trainer.D.named_parameters()}
    trainer.d_optimizer.zero_grad()
    # the real update touches the class head, not the twin; the fake one the twin, not the head
    real_logits, heads = trainer.D.judge(real, real_labels)
    trainer.class_loss(heads, real_labels, "real").backward()
    assert trainer.D.twin.weight.grad is None and trainer.D.classes.weight.grad is not None
    trainer.d_optimizer.zero_grad()
    z, c = trainer.latent(16)
    _, heads = trainer.D.judge(trainer.G.generate(z, c).detach(), c)
    trainer.class_loss(heads, c, "fake").backward()
    assert trainer.D.classes.weight.grad is None and trainer.D.twin.weight.grad is not None
    assert all(np.array_equal(before[n], p.numpy()) for n, p in trainer.D.named_parameters())


@pytest.mark.parametrize("conditioning", CONDITIONINGS)
def test_r1_trains_with_each_conditioning(conditioning):
    images, labels = digits_like()
    trainer = tiny_trainer(conditioning, penalty="r1", gamma=1.0, d_update="split")
    trainer.train(images, 1, 16, labels=labels, log_every=0)
    assert np.isfinite(trainer.history["d_real"]).all()


def test_the_penalty_gets_the_labels_of_its_batch(monkeypatch):
    seen = []
    monkeypatch.setattr(penalties, "r1", lambda D, real, gamma, labels=None:
                        seen.append((len(real), labels)) or None)
    images, labels = digits_like()
    trainer = tiny_trainer("projection", penalty="r1", gamma=1.0)
    trainer.train_step(images, 16, labels)
    assert seen[0][0] == 16 and seen[0][1] is not None and len(seen[0][1]) == 16


@pytest.mark.parametrize("conditioning, d, message", [
    ("tac", "plain", r"conditioning 'tac' needs a D with a twin class head \(ACGANDiscriminator"
                     r"\(twin_head=True\)\), got a ACGANDiscriminator; conditioning"
                     r".discriminator_for\('tac', \.\.\.\) builds one"),
    ("acgan", "twin", r"conditioning 'acgan' needs a D with one class head .* got a "
                      r"ACGANDiscriminator\(twin_head=True\)"),
    ("acgan", "projection", r"needs a D with one class head .* got a ProjectionDiscriminator"),
    ("projection", "plain", r"conditioning 'projection' needs a D that takes the labels"),
    ("cgan", "plain", r"unknown conditioning 'cgan': expected one of \('acgan', 'tac', "
                      r"'projection'\)"),
])
def test_a_d_that_does_not_fit_the_conditioning_is_refused(conditioning, d, message):
    G = ACGANGenerator(latent_dim=8, num_classes=K, image_size=8, width=2)
    D = (ProjectionDiscriminator(num_classes=K, image_size=8, width=2) if d == "projection" else
         ACGANDiscriminator(num_classes=K, image_size=8, width=2, twin_head=d == "twin"))
    with pytest.raises(ValueError, match=message):
        GANTrainer(G, D, conditioning=conditioning)


def test_an_unconditional_pair_takes_no_conditioning():
    from minigan.gan import Discriminator, Generator
    with pytest.raises(ValueError, match=r"conditioning 'tac' is for a class-conditional pair"):
        GANTrainer(Generator(), Discriminator(), conditioning="tac")


# --- saved with the networks: rebuild, sample by label, checkpoints -----------------------------

@pytest.mark.parametrize("conditioning", CONDITIONINGS)
def test_each_saves_rebuilds_and_samples_by_label(conditioning, tmp_path):
    images, labels = digits_like()
    trainer = tiny_trainer(conditioning)
    trainer.train(images, 1, 16, labels=labels, log_every=0, checkpoint_dir=tmp_path)
    D = load_model(tmp_path / "discriminator.npz")
    assert D.config == trainer.D.config and type(D) is type(trainer.D)
    x = Tensor(images[:3])
    D.eval()
    trainer.D.eval()
    y = labels[:3]
    np.testing.assert_array_equal(D.judge(x, y)[0].numpy(), trainer.D.judge(x, y)[0].numpy())
    sevens = sample(str(tmp_path / "generator.npz"), 5, label=K - 1, seed=1)
    want = trainer.G.sample(5, minigan.Random(1), labels=labels_of(*[K - 1] * 5))
    np.testing.assert_array_equal(sevens.numpy(), want.numpy())
    assert saved_conditioning(tmp_path / "checkpoint.npz") == conditioning


def test_a_tac_checkpoint_resumes_the_run_exactly(tmp_path):
    images, labels = digits_like()
    straight = tiny_trainer("tac", d_update="split")
    straight.train(images, 2, 16, labels=labels, log_every=0)
    first = tiny_trainer("tac", d_update="split")
    first.train(images, 1, 16, labels=labels, log_every=0, checkpoint_dir=tmp_path)
    path = tmp_path / "checkpoint.npz"
    assert describe(load_arrays(path)).startswith("a checkpoint of ACGANGenerator(")
    assert "twin_head=True), conditioning 'tac', after epoch 1" in describe(load_arrays(path))
    resumed = tiny_trainer("tac", d_update="split", seed=9)      # other weights, other noise
    epoch = resumed.load_checkpoint(path)
    resumed.train(images, 2, 16, labels=labels, log_every=0, start_epoch=epoch + 1)
    assert resumed.history.columns == straight.history.columns
    for a, b in zip(resumed.D.parameters(), straight.D.parameters()):
        assert np.array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match=r"was trained with conditioning 'tac', this trainer has "
                                         r"'acgan': resume with the settings of that run"):
        tiny_trainer("acgan", d_update="split").load_checkpoint(path)


def test_a_checkpoint_without_a_conditioning_loads_as_acgan(tmp_path):
    images, labels = digits_like()
    tiny_trainer("acgan").train(images, 1, 16, labels=labels, log_every=0,
                                checkpoint_dir=tmp_path)
    arrays = load_arrays(tmp_path / "checkpoint.npz")
    assert str(arrays.pop("conditioning")) == "acgan"
    old = tmp_path / "old.npz"                       # as written before the field existed
    save_arrays(old, arrays)
    assert saved_conditioning(old) == "acgan"
    assert tiny_trainer("acgan").load_checkpoint(old) == 1
    with pytest.raises(ValueError, match=r"was trained with conditioning 'acgan', this trainer "
                                         r"has 'tac'"):
        tiny_trainer("tac").load_checkpoint(old)


@pytest.mark.parametrize("value, shown", [("tic", "'tic'"), (3, "3"),
                                          (np.array(["tac", "tac"]), "an array of shape")])
def test_a_bad_conditioning_in_a_file_is_refused_by_name(value, shown):
    with pytest.raises(ValueError, match=rf"f.npz: conditioning must be one of \('acgan', 'tac', "
                                         rf"'projection'\), got {shown}"):
        metadata({"conditioning": np.asarray(value)}, "f.npz")


def test_the_example_takes_the_conditioning_and_resumes_with_the_checkpoints(tmp_path, capsys):
    pytest.importorskip("sklearn")
    from conftest import load_script
    example = load_script("examples/acgan_fashion_mnist.py")
    out = str(tmp_path / "run")
    common = ["--digits", "--subset", "64", "--batch-size", "32", "--width", "2", "--out", out]
    record = example.main(common + ["--epochs", "1", "--conditioning", "projection"])
    assert record["args"]["conditioning"] == "projection"
    assert type(load_model(os.path.join(out, "discriminator.npz"))) is ProjectionDiscriminator
    resumed = example.main(common + ["--epochs", "2", "--resume",
                                     os.path.join(out, "checkpoint.npz")])
    assert resumed["args"]["conditioning"] == "projection"      # from the checkpoint
    assert "d_real=" in capsys.readouterr().out                  # no class terms to print
