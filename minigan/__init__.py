"""minigan: GANs from scratch on NumPy (CPU) or CuPy (GPU).

Read it bottom-up, one idea per file:

    backend.py      the one place that picks NumPy or CuPy
    random.py       seeded random numbers on a device
    tensor.py       Tensor, Function and backward(): the autograd
    inplace.py      why backward() refuses a graph an optimiser step has changed
    functions/      every op, its backward beside its forward (arithmetic, matmul, shapes,
                    activations, embedding, cross_entropy, batch_norm, convolution)
    gradcheck.py    every backward checked against finite differences
    nn/             Module and the layers (module, init, layers, conv_layers, norm_layers)
    optim.py        SGD and Adam, each parameter's update as the paper writes it
    fast/           speed tricks, tested against the plain rules (the same numbers, or within
                    float32 rounding where the algorithm differs: fast/__init__.py says which)
    gan/            the GAN: losses, models (MLP, dcgan, acgan), trainer (Algorithm 1), and the
                    loop's monitor, collapse guard, history, checks, checkpoints, lr decay and
                    weight average
    data.py, images.py, metrics.py, plots.py, io.py, progress.py, sample.py, trace.py
                    data sets, quality figures, files, and the tools around training
    lab/            the browser lab: watch a 2-D GAN train, one update at a time

The README's "Reading the source" says more of each.
"""
from . import backend, functions
from .backend import DeviceError, default_device, gpu_available, set_default_device
from .random import Random, manual_seed
from .tensor import Function, Tensor, enable_grad, grad, no_grad, tensor

__version__ = "0.1.0"
