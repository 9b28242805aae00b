"""The trainer's input checks: every bad setting or data set gets one clear line naming it."""
import math
import warnings

from .. import backend
from ..arguments import check_int
from ..optim import Optimizer
from ..random import check_seed
from ..tensor import Tensor
from ..nn.norm_layers import _BatchNorm
from ..nn.spectral_norm import SpectralNorm
from .conditioning import CONDITIONINGS, what_it_needs
from .losses import GENERATOR_LOSSES
from .penalties import PENALTIES
from .models import DiscriminatorBase, GeneratorBase

D_UPDATES = ("joint", "split")


def check_players(generator, discriminator, g_optimizer, d_optimizer):
    """GANTrainer's networks and optimisers: G and D of their kinds, drawing the same classes,
    on one device; each optimiser given holding only its own network's parameters."""
    if isinstance(generator, DiscriminatorBase) and isinstance(discriminator, GeneratorBase):
        raise TypeError(f"GANTrainer: the generator and the discriminator are swapped: got a "
                        f"{type(generator).__name__} as the generator and a "
                        f"{type(discriminator).__name__} as the discriminator; pass G first")
    for name, network, kind in (("generator", generator, GeneratorBase),
                                ("discriminator", discriminator, DiscriminatorBase)):
        if not isinstance(network, kind):
            raise TypeError(f"GANTrainer: {name} must be a {kind.__name__} (see "
                            f"minigan/gan/models.py), got {type(network).__name__}")
    if generator.num_classes != discriminator.num_classes:
        raise ValueError(f"GANTrainer: the generator draws {generator.num_classes} classes, "
                         f"the discriminator's class head has {discriminator.num_classes}")
    if generator.device != discriminator.device:
        raise backend.DeviceError(f"GANTrainer: the generator is on {generator.device}, the "
                                  f"discriminator on {discriminator.device}; move both")
    check_optimizer("g_optimizer", g_optimizer, generator, "generator")
    check_optimizer("d_optimizer", d_optimizer, discriminator, "discriminator")


def check_optimizer(name, optimizer, network, role):
    """An optimiser (or None, for the default) that updates `network` and nothing else: G's
    optimiser given as D's would leave D untrained, without a word."""
    if optimizer is None:
        return
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"GANTrainer: {name} must be a minigan optimiser (minigan.optim.Adam, "
                        f"SGD), got {type(optimizer).__name__}")
    own = {id(p) for p in network.parameters()}
    for p in optimizer.params:
        if id(p) not in own:
            raise ValueError(f"GANTrainer: {name} holds {p.name or 'a parameter'} (shape "
                             f"{p.shape}), which is not the {role}'s: give it the {role}'s "
                             f"parameters, e.g. Adam({role}.parameters())")


def check_conditioning(generator, discriminator, conditioning):
    """The class terms' recipe (conditioning.py): a known one, for a class-conditional pair (an
    unconditional one keeps the default), with the D it needs."""
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"GANTrainer: unknown conditioning {conditioning!r}: expected one of "
                         f"{CONDITIONINGS}")
    if not generator.num_classes:
        if conditioning != "acgan":
            raise ValueError(f"GANTrainer: conditioning {conditioning!r} is for a "
                             f"class-conditional pair, and these networks have no classes "
                             f"(num_classes is 0)")
        return
    needs = what_it_needs(conditioning, discriminator)
    if needs is not None:
        got = type(discriminator).__name__ + (
            "(twin_head=True)" if getattr(discriminator, "twin_head", False) else "")
        raise ValueError(f"GANTrainer: conditioning {conditioning!r} needs {needs}, got a "
                         f"{got}; conditioning.discriminator_for({conditioning!r}, ...) builds "
                         f"one")


def check_settings(k, generator_loss, d_update, seed, lr_decay_steps, g_average):
    """GANTrainer's other constructor arguments."""
    check_int("GANTrainer", "k (discriminator updates per step)", k)
    check_seed("GANTrainer", seed)
    if generator_loss not in GENERATOR_LOSSES:
        raise ValueError(f"GANTrainer: unknown generator_loss {generator_loss!r}: "
                         f"expected one of {GENERATOR_LOSSES}")
    if d_update not in D_UPDATES:
        raise ValueError(f"GANTrainer: unknown d_update {d_update!r}: expected one of "
                         f"{D_UPDATES}")
    if lr_decay_steps is not None:
        check_int("GANTrainer", "lr_decay_steps (steps to decay the learning rates to 0 over)",
                  lr_decay_steps)
    if g_average is not None and not 0.0 < g_average < 1.0:
        raise ValueError(f"GANTrainer: g_average (the decay of the average of G's weights) "
                         f"must be None or in (0, 1), e.g. 0.999, got {g_average!r}")


def check_penalty(discriminator, generator_loss, penalty, gamma, penalty_every):
    """The gradient penalty's settings, and a D it can be computed on."""
    if penalty is not None and penalty not in PENALTIES:
        raise ValueError(f"GANTrainer: unknown penalty {penalty!r}: expected None or one of "
                         f"{PENALTIES}")
    if not isinstance(gamma, (int, float)) or isinstance(gamma, bool) or not gamma >= 0 \
            or math.isinf(gamma):
        raise ValueError(f"GANTrainer: gamma (the penalty's weight) must be a finite number "
                         f">= 0, got {gamma!r}")
    check_int("GANTrainer", "penalty_every", penalty_every)
    if penalty is not None:
        for module in discriminator.modules():
            if isinstance(module, _BatchNorm):
                raise ValueError(
                    f"GANTrainer: penalty {penalty!r} needs D's gradient with respect to each "
                    f"sample, but D has a {type(module).__name__} layer, which mixes the "
                    f"samples of a batch (and cannot be differentiated twice): use a D without "
                    f"BatchNorm (DCGANDiscriminator and ACGANDiscriminator take "
                    f"batch_norm=False; spectral normalisation, nn.SpectralNorm, is a "
                    f"per-sample alternative), or no penalty")
    elif generator_loss == "wgan" and not any(isinstance(m, SpectralNorm)
                                              for m in discriminator.modules()):
        warnings.warn("GANTrainer: the wgan loss without a penalty or spectral normalisation "
                      "leaves the critic unconstrained: its scores grow without bound and the "
                      "Wasserstein estimate means nothing; use penalty=\"gp\" (WGAN-GP) or a "
                      "D with spectral_norm=True", stacklevel=3)


def check_schedule(epochs, start_epoch, callback_every, checkpoint_every, log_every,
                   keep_every=None, checkpoint_dir=None):
    """train()'s epochs and intervals: epochs is the number of the last epoch, counted from 1."""
    owner = "GANTrainer.train"
    check_int(owner, "epochs", epochs)
    check_int(owner, "start_epoch", start_epoch)
    if start_epoch > epochs:
        raise ValueError(f"{owner}: start_epoch {start_epoch} is after the last epoch (epochs="
                         f"{epochs}): nothing to train; epochs is the last epoch's number, not "
                         f"how many to run")
    check_int(owner, "callback_every", callback_every)
    if checkpoint_every is not None:
        check_int(owner, "checkpoint_every", checkpoint_every)
    if keep_every is not None:
        check_int(owner, "keep_every", keep_every)
        if checkpoint_dir is None:
            raise ValueError(f"{owner}: keep_every keeps generators in checkpoint_dir: give "
                             f"checkpoint_dir too")
    if log_every is not None:
        check_int(owner, "log_every (0: no progress lines)", log_every, minimum=0)


def check_data(trainer, data, batch_size):
    """The training set of train(): a float array (N, ...) on the networks' device; returns it
    as float32."""
    if isinstance(data, Tensor):
        data = data.data
    if not backend.is_array(data) or data.ndim < 2:
        raise ValueError(f"GANTrainer.train: data must be an array of shape (N, features) "
                         f"or (N, C, H, W), got {getattr(data, 'shape', type(data).__name__)}")
    if data.dtype.kind != "f":
        raise TypeError(f"GANTrainer.train: data must be floating point, got {data.dtype}")
    check_int("GANTrainer.train", "batch_size", batch_size)
    if trainer.d_update == "split" and batch_size < 2:
        raise ValueError("GANTrainer.train: d_update 'split' needs batch_size >= 2 (it gives "
                         "D half a batch of real and half of generated samples)")
    if batch_size > len(data):
        raise ValueError(f"GANTrainer.train: batch_size {batch_size} is larger than the data "
                         f"set ({len(data)} samples)")
    if backend.device_of(data) != trainer.device:
        raise backend.DeviceError(f"GANTrainer.train: data is on {backend.device_of(data)}, "
                                  f"the networks on {trainer.device}; use data on one device")
    data = data.astype("float32", copy=False)
    check_finite("GANTrainer.train: data", data)
    return data


def check_finite(what, array):
    """Refuse an array (N, ...) with NaN or inf in it, naming the first such row: the losses
    would go non-finite in the first step that draws that row, and the error would then blame
    the learning rate."""
    xp = backend.get_array_module(array)
    finite_rows = xp.isfinite(array.reshape(len(array), -1)).all(axis=1)
    if not bool(finite_rows.all()):                    # one host sync per train() call
        row = int(xp.argmin(finite_rows))
        bad = next(v for v in backend.to_numpy(array[row]).ravel().tolist()
                   if not math.isfinite(v))
        raise ValueError(f"{what} row {row} holds {bad} ({int((~finite_rows).sum())} of "
                         f"{len(array)} rows are not finite): the data must be finite")


def check_labels(trainer, labels, n):
    """The class labels of train(): None for an unconditional pair, else n integers."""
    if isinstance(labels, Tensor):
        labels = labels.data
    if not trainer.num_classes:
        if labels is not None:
            raise ValueError("GANTrainer.train: labels were given, but the networks are not "
                             "class-conditional (num_classes is 0)")
        return None
    if labels is None:
        raise ValueError(f"GANTrainer.train: the networks are class-conditional "
                         f"({trainer.num_classes} classes): pass labels=")
    if not backend.is_array(labels) or labels.shape != (n,) or labels.dtype.kind not in "iu":
        raise ValueError(f"GANTrainer.train: labels must be integers of shape ({n},), got "
                         f"{getattr(labels, 'dtype', type(labels).__name__)} "
                         f"{getattr(labels, 'shape', '')}")
    if backend.device_of(labels) != trainer.device:
        raise backend.DeviceError(f"GANTrainer.train: labels are on "
                                  f"{backend.device_of(labels)}, the networks on {trainer.device}")
    return labels
