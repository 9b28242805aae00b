"""Every differentiable operation, each a Function with its forward, backward and derivation."""
from .arithmetic import *  # noqa: F401,F403
from .arithmetic import check_indices, stable_sigmoid, sum_to  # noqa: F401
from .batch_norm import batch_norm_eval, batch_norm_train  # noqa: F401
from .convolution import conv2d, conv_transpose2d  # noqa: F401
from .cross_entropy import (binary_cross_entropy, sigmoid_binary_cross_entropy,  # noqa: F401
                            softmax_cross_entropy)
