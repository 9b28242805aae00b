"""Layers: Module (the base), Dense, activations, Dropout, Sequential, and initialisers."""
from . import init
from .layers import (Dense, Dropout, Identity, LeakyReLU, ReLU, Sequential, Sigmoid, Tanh,
                     activation)
from .module import Module, Parameter
