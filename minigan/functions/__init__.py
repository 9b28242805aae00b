"""Every differentiable operation: a Function class with its forward, its backward and the
derivation in a comment, followed by the lowercase function that calls it. Read in this order:

    arithmetic.py      add sub mul div neg pow exp log, and sum_to (broadcasting's gradient)
    matmul.py          matmul, linear (x W + b)
    shapes.py          sum mean reshape transpose concatenate broadcast_to get_item
    activations.py     tanh sigmoid relu leaky_relu dropout
    embedding.py       embedding (rows of a table by integer index)
    cross_entropy.py   sigmoid_binary_cross_entropy (from logits), binary_cross_entropy,
                       softmax_cross_entropy: the losses
    batch_norm.py      batch_norm_train, batch_norm_eval
    convolution.py     conv2d, conv_transpose2d, by im2col and col2im

``from minigan import functions as F`` gives all of them: ``F.tanh(x)``, ``F.linear(x, W, b)``.

A forward or backward may return the NumPy scalar that NumPy gives for a 0-d result (a loss's
mean, any op on a 0-d array): tensor.py makes it a 0-d array of its dtype, in one place.
"""
from .activations import dropout, leaky_relu, relu, sigmoid, stable_sigmoid, tanh
from .arithmetic import add, div, exp, log, mul, neg, pow, sub, sum_to
from .batch_norm import batch_norm_eval, batch_norm_train
from .convolution import conv2d, conv_transpose2d
from .cross_entropy import (binary_cross_entropy, sigmoid_binary_cross_entropy,
                            softmax_cross_entropy)
from .embedding import check_indices, embedding
from .matmul import linear, matmul
from .shapes import broadcast_to, concatenate, get_item, mean, reshape, sum, transpose

__all__ = ["add", "sub", "mul", "div", "neg", "pow", "exp", "log", "matmul", "linear", "sum",
           "mean", "reshape", "transpose", "concatenate", "tanh", "sigmoid", "relu",
           "leaky_relu", "dropout", "embedding", "sigmoid_binary_cross_entropy",
           "binary_cross_entropy", "softmax_cross_entropy", "batch_norm_train",
           "batch_norm_eval", "conv2d", "conv_transpose2d", "sum_to", "stable_sigmoid",
           "check_indices", "broadcast_to", "get_item"]
