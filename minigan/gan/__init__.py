"""The GAN: the two players, their losses, and the training loop (Algorithm 1)."""
from .history import History
from .losses import GENERATOR_LOSSES, discriminator_loss, generator_loss
from .models import Discriminator, Generator
from .trainer import GANTrainer, NonFiniteLossError
