"""The GAN: the two players, their losses, and the training loop (Algorithm 1)."""
import json

from ..io import load_arrays
from ..nn.module import CONFIG_KEY, weights_only
from ..random import default_random
from .acgan import ACGANDiscriminator, ACGANGenerator
from .checkpoint import describe
from .checks import D_UPDATES
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .history import History
from .losses import GENERATOR_LOSSES, discriminator_loss, generator_loss
from .models import Discriminator, DiscriminatorBase, Generator, GeneratorBase
from .monitor import NonFiniteLossError, Timing
from .trainer import DiscriminatorStep, GANTrainer, GeneratorStep

MODELS = {cls.__name__: cls for cls in (Generator, Discriminator, DCGANGenerator,
                                        DCGANDiscriminator, ACGANGenerator, ACGANDiscriminator)}


def load_model(path, device="cpu"):
    """Rebuild a network saved with .save() (its class and sizes are stored in the file) and
    load its weights: e.g. load_model("runs/dcgan_digits/generator.npz").sample(16)."""
    arrays = load_arrays(path)
    if CONFIG_KEY not in arrays:
        hint = ("its run folder has generator.npz" if "steps_done" in arrays else
                "build the network yourself and call .load(path)")
        raise ValueError(f"load_model: {path} is {describe(arrays)}, not a saved network: "
                         f"{hint}")
    config = json.loads(str(arrays[CONFIG_KEY]))
    if config.get("class") not in MODELS:
        raise ValueError(f"load_model: {path} holds an unknown network {config.get('class')!r}; "
                         f"known: {sorted(MODELS)}")
    # Building a network draws initial weights from the default generator; put its position
    # back afterwards, so that loading a model does not change the random numbers that follow.
    rng = default_random("cpu")
    position = rng.get_state()
    model = MODELS[config["class"]](**config["kwargs"])
    rng.set_state(position)
    return model.load_state_dict(weights_only(arrays)).to(device)
