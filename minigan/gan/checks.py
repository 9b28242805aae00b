"""The trainer's input checks: every bad setting or data set gets one clear line naming it."""
from .. import backend
from ..tensor import Tensor
from .losses import GENERATOR_LOSSES

D_UPDATES = ("joint", "split")


def check_settings(generator, discriminator, k, generator_loss, d_update, lr_decay_steps,
                   g_average):
    """GANTrainer's constructor arguments."""
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"GANTrainer: k (discriminator updates per step) must be an "
                         f"integer >= 1, got {k!r}")
    if generator_loss not in GENERATOR_LOSSES:
        raise ValueError(f"GANTrainer: unknown generator_loss {generator_loss!r}: "
                         f"expected one of {GENERATOR_LOSSES}")
    if d_update not in D_UPDATES:
        raise ValueError(f"GANTrainer: unknown d_update {d_update!r}: expected one of "
                         f"{D_UPDATES}")
    if lr_decay_steps is not None and (not isinstance(lr_decay_steps, int)
                                       or isinstance(lr_decay_steps, bool) or lr_decay_steps < 1):
        raise ValueError(f"GANTrainer: lr_decay_steps (steps to decay the learning rates to 0 "
                         f"over) must be None or a positive integer, got {lr_decay_steps!r}")
    if g_average is not None and not 0.0 < g_average < 1.0:
        raise ValueError(f"GANTrainer: g_average (the decay of the average of G's weights) "
                         f"must be None or in (0, 1), e.g. 0.999, got {g_average!r}")
    if generator.num_classes != discriminator.num_classes:
        raise ValueError(f"GANTrainer: the generator draws {generator.num_classes} classes, "
                         f"the discriminator's class head has {discriminator.num_classes}")
    if generator.device != discriminator.device:
        raise backend.DeviceError(f"GANTrainer: the generator is on {generator.device}, the "
                                  f"discriminator on {discriminator.device}; move both")


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
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"GANTrainer.train: batch_size must be a positive integer, "
                         f"got {batch_size!r}")
    if trainer.d_update == "split" and batch_size < 2:
        raise ValueError("GANTrainer.train: d_update 'split' needs batch_size >= 2 (it gives "
                         "D half a batch of real and half of generated samples)")
    if batch_size > len(data):
        raise ValueError(f"GANTrainer.train: batch_size {batch_size} is larger than the data "
                         f"set ({len(data)} samples)")
    if backend.device_of(data) != trainer.device:
        raise backend.DeviceError(f"GANTrainer.train: data is on {backend.device_of(data)}, "
                                  f"the networks on {trainer.device}; use data on one device")
    return data.astype("float32", copy=False)


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
