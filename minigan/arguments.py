"""Checks of the arguments people pass to minigan's classes and functions, where they pass them.

A size of 0, a learning rate of NaN or a seed of -1 kept for later fails far from where it was
given: as a ZeroDivisionError in a forward pass, a network of NaN weights after one step, an
error in whatever layer first draws a random number. Each check here raises a ValueError naming
the owner and the argument at once, e.g. "Dense: out_features must be an integer >= 1, got 0".
(The command lines check their flags with the same rules, in minigan/cli.py.)
"""
import math
import numbers


def check_int(owner, name, value, minimum=1):
    """`value` if it is an integer >= minimum; else a ValueError naming the owner and the argument,
    e.g. "Dense: out_features must be an integer >= 1, got 0". Checked where the value is given:
    a size of 0 would otherwise surface later, as a ZeroDivisionError or an empty network."""
    # A bool is refused: Python counts True as the integer 1, but it is never a size or a count.
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum:
        return value
    raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")


def check_sizes(owner, **sizes):
    """check_int on each size, by its argument's name: check_sizes("Dense", in_features=3, ...)."""
    for name, value in sizes.items():
        check_int(owner, name, value)


def check_positive(owner, name, value):
    """`value` if it is a finite number > 0; else a ValueError naming the owner and the argument.
    Not just `value <= 0`: NaN fails every comparison, and one step with lr NaN or inf makes
    every weight NaN."""
    if (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            and value > 0):
        return value
    raise ValueError(f"{owner}: {name} must be a finite number > 0, got {value!r}")


def check_seed(owner, seed):
    """`seed` if NumPy's generators take it: an integer >= 0, or None (fresh entropy from the OS).
    Checked where it is given: a bad seed kept for later fails at the first random draw, in
    whatever layer makes it."""
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)
                        and seed >= 0):
        return seed
    raise ValueError(f"{owner}: seed must be an integer >= 0 or None, got {seed!r}")
