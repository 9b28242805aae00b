"""Module: the base class of layers and networks.

A Module finds its parameters by looking at its own attributes: a :class:`Parameter`, another
Module, or a list/tuple of Modules. No registration calls, no metaclass: ``self.weight =
Parameter(...)`` in ``__init__`` is all a layer does. Attribute order (insertion order) fixes the
order of ``parameters()`` and the names in ``state_dict()`` ("layers.0.weight", ...).

Buffers are arrays that belong to the state but are not trained (BatchNorm's running
statistics): a layer lists their attribute names in ``self.buffers``.

``save()`` writes the state to an .npz file; ``load()`` trusts no file: it checks that the file
holds this module's arrays, of its shapes, with finite values, before it copies any of them.
"""
import contextlib
import functools
import inspect
import json

from .. import backend
from ..io import load_arrays, save_arrays
from ..tensor import Tensor


CONFIG_KEY = "__config__"   # where save() stores a module's config (JSON) beside its arrays
TRAINED_KEY = "__trained__"  # and how far it was trained (JSON), when the trainer saved it


def weights_only(arrays):
    """The arrays of a saved file without what save() keeps beside them (config, trained)."""
    return {name: value for name, value in arrays.items()
            if name not in (CONFIG_KEY, TRAINED_KEY)}


def check_weights(arrays, expected, path):
    """Refuse (one ValueError naming the file and the array) arrays that the module does not
    have, and values that are not finite: NaN weights would load, and training would fail steps
    later with advice about the learning rate; sampling would give NaN images."""
    unexpected = sorted(set(arrays) - set(expected))
    if unexpected:
        raise ValueError(f"{path}: holds {unexpected[0]!r}, an array this network does not have "
                         f"({len(unexpected)} in all): it was saved from another network")
    for name, array in arrays.items():
        check_finite(array, name, path)


def check_finite(array, name, path):
    """Refuse an array that holds NaN or infinity (a damaged file, or a diverged run's)."""
    xp = backend.get_array_module(array)
    bad = array.size - int(xp.count_nonzero(xp.isfinite(array)))
    if bad:
        raise ValueError(f"{path}: {name} is not finite ({bad} of its {array.size} values are "
                         f"NaN or infinity): the file is damaged, or was saved from a run that "
                         f"diverged")


class Parameter(Tensor):
    """A Tensor that a Module owns and an optimiser updates (requires_grad=True)."""

    def __init__(self, data, name=None):
        super().__init__(data, requires_grad=True, name=name)


class Module:
    training = True
    is_frozen = False  # inside frozen(): buffers (BatchNorm's running statistics) stay as they are
    buffers = ()       # names of array attributes saved with the state but not trained

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # --- walking the tree --------------------------------------------------------------------
    def named_children(self):
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def modules(self):
        """This module and all below it, depth first."""
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    def named_parameters(self, prefix=""):
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.named_children():
            yield from child.named_parameters(prefix + name + ".")

    def parameters(self):
        """The parameters, in named_parameters() order. Each one without a name gets its full
        dotted name under this module's class, e.g. "Discriminator.net.layers.0.weight", so
        that errors (backward()'s check for in-place changes) can say which one they mean.
        Naming happens here, once per parameter, not on the forward/backward hot path."""
        params = []
        for name, p in self.named_parameters():
            if p.name is None:
                p.name = f"{type(self).__name__}.{name}"
            params.append(p)
        return params

    def num_parameters(self):
        return sum(p.size for p in self.parameters())

    def named_buffers(self, prefix=""):
        for name in self.buffers:
            yield prefix + name, getattr(self, name)
        for name, child in self.named_children():
            yield from child.named_buffers(prefix + name + ".")

    # --- modes and gradients -------------------------------------------------------------------
    def train(self, mode=True):
        """Training mode (dropout active, BatchNorm on batch statistics); returns self."""
        for m in self.modules():
            m.training = mode
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self):
        """Forget accumulated gradients (set .grad to None) of every parameter."""
        for p in self.parameters():
            p.grad = None

    @contextlib.contextmanager
    def frozen(self):
        """Within the block, this module's parameters do not require gradients and its
        buffers do not change.

        What it does. Each op records, as it runs, which of its inputs need a gradient; so the
        graph built inside the block asks for none for these parameters, and its backward()
        computes none for them -- even when backward() runs after the block has ended, as the
        trainer's G step does. Gradients still flow *through* the module to its inputs (that is
        how G learns from D). A BatchNorm in training mode still normalises by the batch's
        statistics but does not update its running ones. This is Keras' ``trainable = False``,
        for one block only.

        What it does not do. It leaves .grad as it was (D keeps the gradient of its own last
        update) and does not stop an optimiser: an optimiser that holds these parameters would
        still move them by that gradient. What keeps D still in the G step is that the G
        optimiser holds only G's parameters.
        """
        # One walk, no names: this runs at every G step (the trainer freezes D there).
        modules = list(self.modules())
        params = [v for m in modules for v in vars(m).values() if isinstance(v, Parameter)]
        before = [p.requires_grad for p in params]
        was_frozen = [m.is_frozen for m in modules]
        for p in params:
            p.requires_grad = False
        for m in modules:
            m.is_frozen = True
        try:
            yield self
        finally:
            for p, flag in zip(params, before):
                p.requires_grad = flag
            for m, flag in zip(modules, was_frozen):
                m.is_frozen = flag

    # --- devices and dtypes --------------------------------------------------------------------
    @property
    def device(self):
        params = self.parameters()
        return params[0].device if params else "cpu"

    def to(self, device):
        """Move every parameter and buffer to `device` ("cpu" or "gpu") in place; returns self.

        Create optimisers after moving: they keep state on the parameters' device."""
        device = backend.check_device(device)
        return self._map_arrays(lambda a: backend.to_device(a, device))

    def astype(self, dtype):
        """Cast parameters and buffers (e.g. to float64 for gradient checks); returns self."""
        return self._map_arrays(lambda a: a.astype(dtype))

    def _map_arrays(self, fn):
        for m in self.modules():
            for value in vars(m).values():
                if isinstance(value, Parameter):
                    new = fn(value.data)
                    if new is not value.data:
                        # New data under the same Tensor: a graph built before holds the old
                        # array, and its gradient would not fit this one (dtype, device).
                        value.data = new
                        value.mark_modified()
                    value.grad = None
            for name in m.buffers:
                setattr(m, name, fn(getattr(m, name)))
        return self

    # --- state ---------------------------------------------------------------------------------
    def state_dict(self):
        """{name: host NumPy copy} of every parameter and buffer."""
        state = {name: backend.to_numpy(p.data).copy() for name, p in self.named_parameters()}
        state.update({name: backend.to_numpy(b).copy() for name, b in self.named_buffers()})
        return state

    def load_state_dict(self, state):
        """Copy arrays into the parameters and buffers, checking names and shapes."""
        own = dict(self.named_parameters())
        own_buffers = dict(self.named_buffers())
        expected = set(own) | set(own_buffers)
        missing, unexpected = expected - set(state), set(state) - expected
        if missing or unexpected:
            raise KeyError(f"{type(self).__name__}.load_state_dict: missing {sorted(missing)}, "
                           f"unexpected {sorted(unexpected)}")
        for name, value in state.items():
            current = own[name].data if name in own else own_buffers[name]
            if tuple(value.shape) != tuple(current.shape):
                raise ValueError(f"{type(self).__name__}.load_state_dict: {name} has shape "
                                 f"{tuple(value.shape)}, the module expects {current.shape}")
        device = self.device
        for name, p in own.items():
            p.data = backend.to_device(state[name].astype(p.dtype), device)
            p.mark_modified()   # new values: a graph built before the load is stale
        for name, current in own_buffers.items():
            # Like parameters: the module's own dtype and device, and a copy (astype copies),
            # so editing `state` afterwards cannot change the module.
            module, attr = self._owner(name)
            setattr(module, attr, backend.to_device(state[name].astype(current.dtype),
                                                    backend.device_of(current)))
        return self

    def _owner(self, dotted):
        """The module holding the attribute named "a.0.b" and the attribute's own name."""
        *path, attr = dotted.split(".")
        module = self
        for part in path:
            module = module[int(part)] if isinstance(module, (list, tuple)) else getattr(module, part)
        return module, attr

    config = None       # {"class": ..., "kwargs": ...} for a @rebuildable module's instances

    def save(self, path, trained=None):
        """Write state_dict() (and the config, if any) to an .npz file, atomically: the old
        file survives a crash. trained: a dict such as {"epoch": 5, "step": 320}, kept in the
        file so that it says how far its weights were trained."""
        arrays = self.state_dict()
        if self.config is not None:
            arrays[CONFIG_KEY] = backend.to_numpy(json.dumps(self.config))
        if trained is not None:
            arrays[TRAINED_KEY] = backend.to_numpy(json.dumps(trained))
        save_arrays(path, arrays)

    def load(self, path):
        """Load parameters saved with save(); returns self.

        The file is checked before anything is copied: it must hold every parameter and buffer
        with this module's shape (load_arrays reads each array's header before its data, so a
        wrong or oversized array is never inflated), nothing else beside the config, and only
        finite numbers. A bad file raises one ValueError naming it and the array."""
        expected = self.expected_arrays()
        arrays = weights_only(load_arrays(path, expected))
        check_weights(arrays, expected, path)
        return self.load_state_dict(arrays)

    def expected_arrays(self):
        """{name: (shape, dtype)} of every parameter and buffer: what a saved file must hold."""
        arrays = {name: p.data for name, p in self.named_parameters()}
        arrays.update(self.named_buffers())
        return {name: (tuple(a.shape), a.dtype) for name, a in arrays.items()}

    def __repr__(self):
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in children]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    def extra_repr(self):
        return ""


def rebuildable(cls):
    """Class decorator: each instance remembers the arguments it was built with, as
    ``self.config = {"class": name, "kwargs": {argument: value}}``, which save() writes beside
    the weights, so that the file alone can rebuild the network (minigan.gan.load_model).
    Values are kept as JSON will give them back (_plain)."""
    signature = inspect.signature(cls.__init__)
    build = cls.__init__

    @functools.wraps(build)
    def __init__(self, *args, **kwargs):
        build(self, *args, **kwargs)
        if type(self) is cls:                    # a subclass has arguments of its own
            bound = signature.bind(self, *args, **kwargs)
            bound.apply_defaults()
            arguments = {name: _plain(value) for name, value in bound.arguments.items()
                         if name != "self"}
            self.config = {"class": cls.__name__, "kwargs": arguments}

    cls.__init__ = __init__
    return cls


def _plain(value):
    """An argument as JSON keeps it: tuples as lists, NumPy numbers (np.int64(3)) as Python's."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value.item() if hasattr(value, "item") and hasattr(value, "dtype") else value
