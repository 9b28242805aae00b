"""Why backward() refuses a graph whose saved arrays were changed in place.

Functions keep their input *arrays* for backward: Linear keeps W to compute dL/dx = gy W^T. An
optimiser step updates ``p.data`` in place, so a step taken between a forward pass and its
backward() changes the very arrays the graph saved: the gradient would be computed from the new
weights, not from those that produced the loss, and nothing would look wrong. The classic GAN
mistake of this kind: calling ``d_optimizer.step()`` before ``loss_g.backward()`` on a graph that
went through D.

So every in-place update minigan makes (optimiser steps, ``Module.load_state_dict``, ``to``,
``astype``) calls ``Tensor.mark_modified()``, and backward() checks every Function on the graph
before any backward rule runs (tensor.py's _check_saved_arrays_unchanged).

How, cheaply: one **version** number for the whole program, raised by every in-place update.
"version" means that number in three places:

    inplace.version     the program's version now (this module's counter)
    tensor.version      the program's version at the tensor's last in-place update (0: never)
    function.version    the program's version when the Function recorded the graph

An input was changed after the Function used it iff ``input.version > function.version``.
backward() compares one number per Function, its version against the current one, and looks at
the inputs only when something was updated since; in a correct loop nothing was, so the guard
costs one comparison per operation.

Writing into ``t.data`` yourself (``t.data += 1``) cannot be seen: minigan does not watch the
array. Code that does so between a forward pass and its backward() should call
``t.mark_modified()`` after, as the optimisers do.
"""

version = 0     # the program's version: raised by every in-place update, never lowered


def mark_modified(tensor):
    """Record that ``tensor.data`` was just changed in place (or replaced)."""
    global version
    version += 1
    tensor.version = version


def check_inputs_unchanged(function):
    """Raise if an input of `function` was modified in place after it recorded the graph.

    Every Tensor input counts, not only those needing a gradient: a frozen D's weights get no
    gradient, but Linear still uses them to compute dL/dx for G."""
    for i, x in enumerate(function.inputs):
        if getattr(x, "version", 0) > function.version:
            break
    else:
        return                              # the updates were to other tensors
    what = (x.name if x.name is not None else f"an unnamed {type(x).__name__}") + \
        f" (shape {x.shape})"
    raise RuntimeError(
        f"backward(): {what} was modified in place after it was used by "
        f"{type(function).__name__} (its input {i}) in the forward pass. The gradient would be "
        f"computed from the new values, not from those that produced this loss. Usually an "
        f"optimiser step came between a forward pass and its backward(): check the "
        f"zero_grad/step order: call optimizer.step() after backward(), e.g. in a GAN, "
        f"d_optimizer.step() only after every backward() through D's weights, or compute the "
        f"G loss again after D's step.")
