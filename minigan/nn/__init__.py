"""Layers: Module (the base), Dense, Conv2d, ConvTranspose2d, BatchNorm, Embedding, activations,
Dropout, Flatten/Reshape, Sequential, SpectralNorm, and initialisers."""
from . import init
from .conv_layers import Conv2d, ConvTranspose2d
from .layers import (Dense, Dropout, Embedding, Flatten, Identity, LeakyReLU, ReLU, Reshape,
                     Sequential, Sigmoid, Tanh, activation)
from .module import Module, Parameter, rebuildable
from .norm_layers import BatchNorm1d, BatchNorm2d
from .spectral_norm import SpectralNorm
