"""Make the saved-format fixtures of tests/test_file_trust.py: files as minigan writes them
today, kept so that every later minigan must still load them (issue 21, part 6).

    python tests/data/formats/make_fixtures.py      # from the repository root; NOT run by tests

Made once, at commit f31819d (with issue 21's loader checks), on the CPU, and committed:

- checkpoint.npz, generator.npz: a 2-D GAN, Generator(2, 2, hidden=(4,)) against
  Discriminator(2, hidden=(4,)), trained 2 epochs of 4 steps on 32 ring points, with both
  trainer options that add keys (g_average=0.9, lr_decay_steps=100): the checkpoint of epoch 2
  and the generator saved beside it;
- acgan_generator.npz: a tiny class-conditional image generator (ACGANGenerator, 8 x 8 images,
  3 classes, width 1: BatchNorm buffers and an embedding), after 2 training steps on noise;
- expected.json: what they give today -- samples for fixed seeds, the checkpoint's step, epoch
  and history, and the losses and G's outputs of one training step after resuming -- which
  the test compares to 1e-6.

Do not remake them to make the test pass: a test that fails says old files no longer load as
they did. Add new fixtures beside these when the format changes on purpose.
"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(HERE))))

import minigan  # noqa: E402
from minigan.data import make_2d  # noqa: E402
from minigan.gan import (ACGANDiscriminator, ACGANGenerator, Discriminator,  # noqa: E402
                         GANTrainer, Generator)
from minigan.sample import sample  # noqa: E402

TRAINER_2D = {"seed": 0, "g_average": 0.9, "lr_decay_steps": 100}   # GANTrainer's options
Z = [[0.1, -0.2], [0.3, 0.4], [-1.0, 0.5]]       # latent points G's outputs are recorded for


def one_step_after_resuming(folder, data):
    """What one training step gives after loading the checkpoint (as the test does it)."""
    from minigan.gan import MODELS
    from minigan.gan.checkpoint import NETWORKS_KEY
    from minigan.io import load_arrays
    networks = json.loads(str(load_arrays(os.path.join(folder, "checkpoint.npz"))[NETWORKS_KEY]))
    G, D = (MODELS[c["class"]](**c["kwargs"]) for c in (networks["G"], networks["D"]))
    trainer = GANTrainer(G, D, **TRAINER_2D)
    trainer.load_checkpoint(os.path.join(folder, "checkpoint.npz"))
    d_steps, g_step = trainer.train_step(np.asarray(data, np.float32), 8)
    return {"d_real": float(d_steps[-1].real_loss.item()),
            "d_fake": float(d_steps[-1].fake_loss.item()),
            "g": float(g_step.loss.item()),
            "G(Z)": G.sample_with(minigan.Tensor(np.asarray(Z, np.float32))).numpy().tolist()}


def make_2d_run(folder):
    minigan.manual_seed(0)
    data = make_2d("ring", 32, seed=0).points
    trainer = GANTrainer(Generator(2, 2, hidden=(4,)), Discriminator(2, hidden=(4,)),
                         **TRAINER_2D)
    with tempfile.TemporaryDirectory() as run:
        trainer.train(data, epochs=2, batch_size=8, log_every=0, checkpoint_dir=run)
        for name in ("checkpoint.npz", "generator.npz"):
            shutil.copy(os.path.join(run, name), os.path.join(folder, name))
    return {"data": np.asarray(data).tolist(), "trainer": TRAINER_2D, "epoch": 2,
            "steps_done": trainer.steps_done,
            "history": {k: list(map(float, v)) for k, v in trainer.history.columns.items()},
            "after_one_step": one_step_after_resuming(folder, data),
            "Z": Z}


def make_acgan(folder):
    minigan.manual_seed(1)
    G = ACGANGenerator(latent_dim=4, num_classes=3, image_size=8, channels=1, width=1,
                       embed_dim=2)
    D = ACGANDiscriminator(num_classes=3, image_size=8, channels=1, width=1)
    rng = np.random.default_rng(1)
    images = rng.uniform(-1, 1, size=(16, 1, 8, 8)).astype(np.float32)
    labels = rng.integers(0, 3, size=16)
    trainer = GANTrainer(G, D, seed=1)
    trainer.train(images, epochs=1, batch_size=8, labels=labels, log_every=0)
    G.save(os.path.join(folder, "acgan_generator.npz"), trained={"epoch": 1, "step": 2})


def main():
    expected = {"made_by": "tests/data/formats/make_fixtures.py, at commit f31819d, CPU",
                "checkpoint.npz": make_2d_run(HERE)}
    make_acgan(HERE)
    expected["generator.npz"] = {
        "sample(n=5, seed=0)": sample(os.path.join(HERE, "generator.npz"), 5).numpy().tolist()}
    expected["acgan_generator.npz"] = {
        "sample(n=2, label=2, seed=3)":
            sample(os.path.join(HERE, "acgan_generator.npz"), 2, label=2, seed=3).numpy().tolist(),
        "sample(n=3, seed=4)":
            sample(os.path.join(HERE, "acgan_generator.npz"), 3, seed=4).numpy().tolist()}
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    for name in sorted(os.listdir(HERE)):
        print(f"{name}: {os.path.getsize(os.path.join(HERE, name))} bytes")


if __name__ == "__main__":
    main()
