"""minigan: GANs from scratch on NumPy (CPU) or CuPy (GPU).

Read it bottom-up: backend -> random -> tensor (autograd) -> functions -> losses -> nn -> optim
-> gan -> data -> metrics -> plots. The README has the map.
"""
from . import backend, functions
from .backend import DeviceError, default_device, gpu_available, set_default_device
from .random import Random, manual_seed
from .tensor import Function, Tensor, no_grad, tensor

__version__ = "0.1.0"
