"""Checkpoints: everything a run needs to continue where it stopped.

checkpoint.npz holds both networks, both optimisers' states (Adam's moments and step counts),
the step and epoch, the history, the positions of the random generators (the trainer's, for
noise and minibatches, and the device's default one, for dropout masks), and the trainer's
options' states (the average of G's weights, the learning-rate decay's step), the two
networks' configurations and, for a class-conditional pair, the class terms' recipe (its
conditioning: conditioning.py), so that the file says what it holds. On the CPU a resumed run
then reproduces the uninterrupted one exactly. Every file is written atomically. (A checkpoint
saved before the recipe was recorded holds none: it was trained with the AC-GAN's terms, and
loads as "acgan".)

A file is not trusted: before a checkpoint changes anything, load_checkpoint checks all of it.
First its metadata, the small members that say what it is (metadata() checks each field's
type and range: counts are integers >= 0, configs are {"class": ..., "kwargs": {...}}), to
refuse another kind of file, or other networks or options, in words. Then its arrays, read
expecting this trainer's shapes (io.load_arrays compares each header before inflating the
data): every weight, buffer and optimiser moment of the right shape and finite, the history's
columns consistent with the step count. A bad file is refused in one line that names it and
the field; a half-restored trainer would be worse than none. describe() and load_model use the
same checks.
"""
import inspect
import json
import os
import re

from .. import backend
from ..io import load_arrays, save_arrays
from ..nn.module import CONFIG_KEY, TRAINED_KEY, check_finite, check_weights
from ..random import Random, default_random
from .conditioning import CONDITIONINGS

NETWORKS_KEY = "__networks__"     # {"G": G.config, "D": D.config} as JSON
CONDITIONING_KEY = "conditioning"  # a conditional pair's recipe, one of CONDITIONINGS
COUNTS = ("steps_done", "epoch", "seed", "g_average_updates", "lr_decay_step")  # integers >= 0
# The small members that say what a file is: read first, and alone (load_arrays' `only`).
METADATA = COUNTS + (NETWORKS_KEY, CONFIG_KEY, TRAINED_KEY, CONDITIONING_KEY)


def save_checkpoint(trainer, folder, epoch, keep=False):
    """Write to `folder`, each file atomically (a crash mid-save leaves the previous file):
    generator.npz and discriminator.npz (the networks, for sampling; generator_average.npz too
    with the g_average option; with `keep`, a copy of G as generator_eNNN.npz that later saves
    leave alone), history.csv, and
    checkpoint.npz: everything needed to resume (both networks, both optimisers' states,
    the step and epoch, the history and the random generator's position).

    checkpoint.npz is written last. A kill between the files leaves the others one save ahead
    of it; each network file records its epoch and step (describe() says them), and a run
    resumed from the checkpoint rewrites them at its next save."""
    trained = {"epoch": epoch, "step": trainer.steps_done}
    trainer.G.save(os.path.join(folder, "generator.npz"), trained)
    if keep:
        trainer.G.save(os.path.join(folder, f"generator_e{epoch:03d}.npz"), trained)
    trainer.D.save(os.path.join(folder, "discriminator.npz"), trained)
    if trainer.g_average is not None:
        trainer.g_average.model.save(os.path.join(folder, "generator_average.npz"), trained)
    trainer.history.save_csv(os.path.join(folder, "history.csv"))
    arrays = {"steps_done": trainer.steps_done, "epoch": epoch, "seed": trainer.rng.seed or 0,
              NETWORKS_KEY: json.dumps({"G": trainer.G.config, "D": trainer.D.config})}
    if trainer.num_classes:
        arrays[CONDITIONING_KEY] = trainer.conditioning
    parts = {"G": trainer.G.state_dict(), "D": trainer.D.state_dict(),
             "g_optimizer": trainer.g_optimizer.state_dict(),
             "d_optimizer": trainer.d_optimizer.state_dict(), "history": trainer.history.columns}
    if trainer.g_average is not None:
        parts["g_average"] = trainer.g_average.model.state_dict()
        arrays["g_average_updates"] = trainer.g_average.updates
    if trainer.lr_schedules:
        arrays["lr_decay_step"] = trainer.lr_schedules[0].t
    for prefix, part in parts.items():
        arrays.update({f"{prefix}/{name}": value for name, value in part.items()})
    # Two generators: the trainer's (noise, minibatches) and the device's default one, which
    # draws the dropout masks of layers given no generator of their own.
    generators = (("rng_state", trainer.rng), ("default_rng_state", default_random(trainer.device)))
    for name, rng in generators:
        state = rng.get_state()
        if state is not None:
            arrays[name] = state
    save_arrays(os.path.join(folder, "checkpoint.npz"),
                {name: backend.to_numpy(value) for name, value in arrays.items()})


def load_checkpoint(trainer, path):
    """Restore a checkpoint.npz written by save_checkpoint; returns the epoch it was saved
    at, so that train(..., start_epoch=epoch + 1) continues the run. Nothing changes unless
    the whole file passes the checks (the module's docstring)."""
    head = load_arrays(path, only=METADATA)
    info = metadata(head, path)
    _check_kind(trainer, head, info, path)
    arrays = load_arrays(path, expected=_expected_arrays(trainer))
    _check_arrays(trainer, arrays, info, path)

    trainer.G.load_state_dict(_part(arrays, "G"))
    trainer.D.load_state_dict(_part(arrays, "D"))
    trainer.g_optimizer.load_state_dict(_part(arrays, "g_optimizer"))
    trainer.d_optimizer.load_state_dict(_part(arrays, "d_optimizer"))
    trainer.steps_done = info["steps_done"]
    trainer.d_updates = trainer.steps_done * trainer.k      # for the penalty's penalty_every
    history = _part(arrays, "history")
    for name in trainer.history.names:
        trainer.history.columns[name] = history[name].tolist()
    _load_options(trainer, arrays, info)
    # Without a saved position (a GPU run), reseed from the seed and the step: different
    # draws from an uninterrupted run, but reproducible for the same checkpoint.
    for name, rng, salt in (("rng_state", trainer.rng, 0),
                            ("default_rng_state", default_random(trainer.device), 1)):
        state = str(arrays[name]) if name in arrays else None
        rng.set_state(state, fallback_seed=(info["seed"], trainer.steps_done, salt))
    return info["epoch"]


def _part(arrays, prefix):
    """The arrays under "prefix/", without it: _part(arrays, "G") is G's state_dict."""
    return {name[len(prefix) + 1:]: value for name, value in arrays.items()
            if name.startswith(prefix + "/")}


# --- metadata: what a file says it is ----------------------------------------------------------

def metadata(arrays, path=None):
    """The metadata fields of a loaded file (those of METADATA it has), checked, as Python
    values: {"steps_done": 8, "epoch": 2, "__networks__": {"G": {...}, "D": {...}}, ...}.

    The rules: COUNTS are integers >= 0, and a checkpoint (a file with steps_done) has epoch
    and seed too; __config__ and each network of __networks__ (which has G and D; a network
    built without a config is null) are {"class": a name, "kwargs": {argument: value}};
    __trained__ is {"epoch": integer >= 0, "step": integer >= 0}; conditioning is one of
    CONDITIONINGS. A field that breaks them raises one ValueError naming `path` (when given)
    and the field."""
    where = "" if path is None else f"{path}: "
    info = {key: _count(arrays[key], key, where) for key in COUNTS if key in arrays}
    if "steps_done" in info:
        for key in ("epoch", "seed"):
            if key not in info:
                raise ValueError(f"{where}{key} is missing: a checkpoint holds steps_done, "
                                 f"epoch and seed")
    if NETWORKS_KEY in arrays:
        networks = _json(arrays[NETWORKS_KEY], NETWORKS_KEY, where)
        if not (isinstance(networks, dict) and sorted(networks) == ["D", "G"]):
            raise ValueError(f'{where}{NETWORKS_KEY} must be {{"G": a config, "D": a config}}, '
                             f"got {_shown_json(networks)}")
        for key, config in networks.items():
            if config is not None:
                _check_config(config, f"{NETWORKS_KEY}.{key}", where)
        info[NETWORKS_KEY] = networks
    if CONFIG_KEY in arrays:
        info[CONFIG_KEY] = _check_config(_json(arrays[CONFIG_KEY], CONFIG_KEY, where),
                                         CONFIG_KEY, where)
    if TRAINED_KEY in arrays:
        info[TRAINED_KEY] = _check_trained(_json(arrays[TRAINED_KEY], TRAINED_KEY, where), where)
    if CONDITIONING_KEY in arrays:
        value = arrays[CONDITIONING_KEY]
        if value.ndim != 0 or value.dtype.kind != "U" or str(value) not in CONDITIONINGS:
            raise ValueError(f"{where}{CONDITIONING_KEY} must be one of {CONDITIONINGS}, got "
                             f"{_shown(value)}")
        info[CONDITIONING_KEY] = str(value)
    return info


def saved_conditioning(path):
    """The class terms' recipe a checkpoint was trained with (its metadata, checked): "acgan"
    for a checkpoint saved before the recipe was recorded."""
    return metadata(load_arrays(path, only=METADATA), path).get(CONDITIONING_KEY, "acgan")


def _count(value, field, where):
    """A 0-d integer array >= 0 (a step, an epoch, a seed) as a Python int."""
    if value.ndim == 0 and value.dtype.kind in "iu" and int(value) >= 0:
        return int(value)
    raise ValueError(f"{where}{field} must be an integer >= 0, got {_shown(value)}")


def _shown(value, limit=60):
    """What a field holds, for a message: its value, cut short, or its shape."""
    if value.ndim != 0:
        return f"an array of shape {value.shape}"
    text = repr(value.item())
    return text if len(text) <= limit else text[:limit] + "..."


def _json(value, field, where):
    """A 0-d string array holding JSON, parsed."""
    if value.ndim != 0 or value.dtype.kind != "U":
        raise ValueError(f"{where}{field} must be JSON text, got {_shown(value)}")
    try:
        return json.loads(str(value))
    except (ValueError, RecursionError) as error:   # RecursionError: "[[[[..." nested too deep
        raise ValueError(f"{where}{field} is not valid JSON ({type(error).__name__}: "
                         f"{str(error)[:80]})") from None


def _shown_json(value, limit=60):
    """A JSON value, for a message, cut short."""
    text = json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _check_config(config, field, where):
    if (isinstance(config, dict) and isinstance(config.get("class"), str)
            and isinstance(config.get("kwargs"), dict)):
        return config
    raise ValueError(f'{where}{field} must be a network\'s config, {{"class": a name, '
                     f'"kwargs": {{...}}}}, got {_shown_json(config)}')


def _check_trained(trained, where):
    if not isinstance(trained, dict):
        raise ValueError(f'{where}{TRAINED_KEY} must be {{"epoch": ..., "step": ...}}, got '
                         f"{_shown_json(trained)}")
    for key in ("epoch", "step"):
        value = trained.get(key)
        if not (type(value) is int and value >= 0):       # not bool, not float: type() is
            shown = "nothing" if key not in trained else _shown_json(value)
            raise ValueError(f"{where}{TRAINED_KEY}.{key} must be an integer >= 0, got {shown}")
    return trained


def describe(arrays):
    """What a minigan .npz file holds, in words, read from its metadata. Never raises: a file
    whose metadata break the rules (metadata()) is described as such."""
    try:
        info = metadata(arrays)
    except ValueError as error:
        return f"a minigan file with damaged metadata ({error})"
    if "steps_done" in info:
        networks = info.get(NETWORKS_KEY, {})
        names = [_config_text(networks.get(k)) for k in ("G", "D")]
        when = f" after epoch {info['epoch']} (step {info['steps_done']})"
        if info.get(CONDITIONING_KEY, "acgan") != "acgan":
            when = f", conditioning {info[CONDITIONING_KEY]!r},{when}"
        return (f"a checkpoint of {names[0]} and {names[1]}{when}" if all(names) else
                f"a training checkpoint{when}")
    if CONFIG_KEY in info:
        config = info[CONFIG_KEY]
        kind = ("generator" if "Generator" in config["class"] else
                "discriminator" if "Discriminator" in config["class"] else "network")
        trained = info.get(TRAINED_KEY)
        when = f", after epoch {trained['epoch']} (step {trained['step']})" if trained else ""
        return f"a saved {kind}, {_config_text(config)}{when}"
    return "weights saved without a configuration"


def _config_text(config):
    """Generator(latent_dim=2, ...) from a module's config; None without one."""
    if not config:
        return None
    arguments = ", ".join(f"{k}={v!r}" for k, v in config["kwargs"].items())
    return f"{config['class']}({arguments})"


# --- checks before a checkpoint is loaded --------------------------------------------------------

def _check_kind(trainer, head, info, path):
    """Refuse a file that is not a checkpoint of this trainer's networks and options, from its
    metadata alone."""
    where = f"GANTrainer.load_checkpoint: {path}"
    if "steps_done" not in info:
        raise ValueError(f"{where} is {describe(head)}, not a checkpoint: resume from the "
                         f"checkpoint.npz of a run")
    saved_recipe = info.get(CONDITIONING_KEY, "acgan")     # none saved: the AC-GAN's
    if trainer.num_classes and saved_recipe != trainer.conditioning:
        raise ValueError(f"{where} was trained with conditioning {saved_recipe!r}, this trainer "
                         f"has {trainer.conditioning!r}: resume with the settings of that run")
    saved = info.get(NETWORKS_KEY, {})
    for key, net in (("G", trainer.G), ("D", trainer.D)):
        if net.config is not None and saved.get(key) is not None and not _same_network(
                saved[key], net):
            raise ValueError(f"{where} is {describe(head)}; this trainer's "
                             f"{'generator' if key == 'G' else 'discriminator'} is "
                             f"{_config_text(net.config)}")
    for option, key, flag in (("g_average", "g_average_updates", "g_average"),
                              ("lr_schedules", "lr_decay_step", "lr_decay_steps")):
        if getattr(trainer, option) and key not in info:
            raise ValueError(f"{where} was saved by a trainer without {flag}, this one has "
                             f"it: resume with the settings of that run")
    if "lr_decay_step" in info and not trainer.lr_schedules:
        raise ValueError(f"{where} was saved by a trainer with lr_decay_steps, this one has "
                         f"none: resume with the settings of that run")


def _same_network(saved, network):
    """Whether a saved config is `network`'s: the same class and arguments, where an argument
    the file does not name counts as its default value. Such a file was saved before the class
    took that argument (Generator's latent, added after the first checkpoints), and built the
    network that the default builds today."""
    config = network.config
    if saved["class"] != config["class"] or not set(saved["kwargs"]) <= set(config["kwargs"]):
        return False
    parameters = inspect.signature(type(network).__init__).parameters
    for name, value in config["kwargs"].items():
        if name in saved["kwargs"]:
            if saved["kwargs"][name] != value:
                return False
        # The default as the config keeps it (JSON's: a tuple default is a list there).
        elif (parameters[name].default is inspect.Parameter.empty
              or json.loads(json.dumps(parameters[name].default)) != value):
            return False
    return True


def _networks(trainer):
    """(prefix, network) of what a checkpoint restores: G, D, and G's average when kept (a run
    without the average may resume one that kept it: the average takes no part in training)."""
    average = [("g_average", trainer.g_average.model)] if trainer.g_average is not None else []
    return [("G", trainer.G), ("D", trainer.D)] + average


def _expected_arrays(trainer):
    """{"G/<name>": (shape, dtype), ...}: the arrays the checkpoint must hold for this trainer."""
    return {f"{prefix}/{name}": spec for prefix, net in _networks(trainer)
            for name, spec in net.expected_arrays().items()}


def _check_arrays(trainer, arrays, info, path):
    """Everything load_checkpoint will copy, checked before it copies anything."""
    expected = _expected_arrays(trainer)
    for prefix, _ in _networks(trainer):
        mine = {name: value for name, value in arrays.items() if name.startswith(prefix + "/")}
        check_weights(mine, expected, path)
    _check_history(trainer, _part(arrays, "history"), info["steps_done"], path)
    _check_optimizer(trainer.g_optimizer, _part(arrays, "g_optimizer"), "g_optimizer", path)
    _check_optimizer(trainer.d_optimizer, _part(arrays, "d_optimizer"), "d_optimizer", path)
    _check_random(arrays, path)


def _check_history(trainer, columns, steps_done, path):
    """One row per recorded step: columns of finite numbers, all as long, at most steps_done
    rows, and the step column counting up within 1..steps_done (rows are recorded at flushes
    during train(): steps run outside it leave none)."""
    if set(columns) != set(trainer.history.names):
        raise ValueError(f"GANTrainer.load_checkpoint: {path} holds the history columns "
                         f"{sorted(columns)}, this trainer records {list(trainer.history.names)}")
    steps = columns["step"]
    rows = len(steps) if steps.ndim == 1 else None
    for name, column in columns.items():
        if column.ndim != 1 or column.dtype.kind not in "iuf" or len(column) != rows:
            raise ValueError(f"{path}: history/{name} must be a column of numbers as long as "
                             f"history/step, got a {column.shape} {column.dtype} array")
        check_finite(column, f"history/{name}", path)
    if rows > steps_done or rows and (steps.dtype.kind not in "iu" or steps[0] < 1 or
                                      steps[-1] > steps_done or (steps[1:] <= steps[:-1]).any()):
        shown = f"{steps[0]}..{steps[-1]}" if rows else "none"
        raise ValueError(f"{path}: history/step must count up within 1..{steps_done} "
                         f"(steps_done), got {rows} rows, steps {shown}")


def _check_optimizer(optimizer, state, prefix, path):
    """An optimiser's state as optim.state_dict writes it: "steps", and item j of parameter
    i's state as "i.j" -- a count (Adam's t) or an array of the parameter's shape (Adam's
    moments), finite: NaN moments would load, and the steps after would fail."""
    where = f"{path}: "
    if "steps" not in state:
        raise ValueError(f"{where}{prefix}/steps is missing")
    _count(state["steps"], f"{prefix}/steps", where)
    params = optimizer.params
    for key, value in state.items():
        if key == "steps":
            continue
        field, found = f"{prefix}/{key}", re.fullmatch(r"(\d+)\.\d+", key, re.ASCII)
        if not found or int(found.group(1)) >= len(params):
            raise ValueError(f"{where}{field} is not the state of one of this optimiser's "
                             f"{len(params)} parameters")
        param = params[int(found.group(1))]
        if value.ndim == 0:
            _count(value, field, where)
        elif tuple(value.shape) != tuple(param.shape) or value.dtype.kind != "f":
            raise ValueError(f"{where}{field} is a {value.shape} {value.dtype} array, its "
                             f"parameter a {tuple(param.shape)} {param.dtype} one")
        else:
            check_finite(value, field, path)


def _check_random(arrays, path):
    """The random generators' positions: JSON that a CPU generator accepts."""
    for name in ("rng_state", "default_rng_state"):
        if name in arrays:
            _json(arrays[name], name, f"{path}: ")
            try:
                Random(0, "cpu").set_state(str(arrays[name]))
            except (ValueError, TypeError, KeyError, OverflowError) as error:
                raise ValueError(f"{path}: {name} is not a random generator's position "
                                 f"({type(error).__name__}: {error})") from None


def _load_options(trainer, arrays, info):
    """The average of G's weights and the learning-rate decay's step (checked above)."""
    if trainer.g_average is not None:
        trainer.g_average.model.load_state_dict(_part(arrays, "g_average"))
        trainer.g_average.updates = info["g_average_updates"]
    for schedule in trainer.lr_schedules:
        schedule.step_to(info["lr_decay_step"])
