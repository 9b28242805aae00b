"""The GAN: the two players, their losses, and the training loop (Algorithm 1)."""

from ..io import load_arrays
from ..nn.module import CONFIG_KEY
from ..random import default_random
from .acgan import ACGANDiscriminator, ACGANGenerator
from .checkpoint import METADATA, describe, metadata
from .checks import D_UPDATES
from .conditioning import CONDITIONINGS
from .dcgan import DCGANDiscriminator, DCGANGenerator
from .history import History
from .losses import GENERATOR_LOSSES, discriminator_loss, generator_loss
from .models import Discriminator, DiscriminatorBase, Generator, GeneratorBase
from .monitor import NonFiniteLossError, Timing
from .projection import ProjectionDiscriminator
from .trainer import DiscriminatorStep, GANTrainer, GeneratorStep

MODELS = {cls.__name__: cls for cls in (Generator, Discriminator, DCGANGenerator,
                                        DCGANDiscriminator, ACGANGenerator, ACGANDiscriminator,
                                        ProjectionDiscriminator)}


def load_model(path, device="cpu"):
    """Rebuild a network saved with .save() (its class and sizes are stored in the file) and
    load its weights: e.g. load_model("runs/dcgan_digits/generator.npz").sample(16).

    The file is checked before it is trusted: first its config (checkpoint.metadata), then its
    arrays against the shapes of the network that config builds (Module.load)."""
    head = load_arrays(path, only=METADATA)
    config = metadata(head, path).get(CONFIG_KEY)
    if config is None:
        hint = ("its run folder has generator.npz" if "steps_done" in head else
                "build the network yourself and call .load(path)")
        raise ValueError(f"load_model: {path} is {describe(head)}, not a saved network: "
                         f"{hint}")
    if config["class"] not in MODELS:
        raise ValueError(f"load_model: {path} holds an unknown network {config['class']!r}; "
                         f"known: {sorted(MODELS)}")
    # Building a network draws initial weights from the default generator; put its position
    # back afterwards, so that loading a model does not change the random numbers that follow.
    rng = default_random("cpu")
    position = rng.get_state()
    try:
        model = MODELS[config["class"]](**config["kwargs"])
    except (TypeError, ValueError) as error:       # arguments the class does not take
        raise ValueError(f"load_model: {path}: {CONFIG_KEY} does not build a "
                         f"{config['class']} ({error})") from None
    finally:
        rng.set_state(position)
    return model.load(path).to(device)
