"""Layers: Module (the base), Dense, Conv2d, ConvTranspose2d, BatchNorm, Embedding, activations,
Dropout, Flatten/Reshape, Sequential, initialisers, and the size checks (check_int, check_sizes)
that the networks of minigan/gan/ share."""
from . import init
from .conv_layers import Conv2d, ConvTranspose2d
from .layers import (Dense, Dropout, Embedding, Flatten, Identity, LeakyReLU, ReLU, Reshape,
                     Sequential, Sigmoid, Tanh, activation, check_int, check_sizes)
from .module import Module, Parameter, rebuildable
from .norm_layers import BatchNorm1d, BatchNorm2d
