"""Checkpoints: everything a run needs to continue where it stopped.

checkpoint.npz holds both networks, both optimisers' states (Adam's moments and step counts),
the step and epoch, the history, the positions of the random generators (the trainer's, for
noise and minibatches, and the device's default one, for dropout masks), and the trainer's
options' states (the average of G's weights, the learning-rate decay's step), and the two
networks' configurations, so that the file says what it holds. On the CPU a resumed run then
reproduces the uninterrupted one exactly. Every file is written atomically.

Before a checkpoint changes anything, load_checkpoint checks that it is one, of these networks,
with these options: a wrong file is refused with what it is and what was expected.
"""
import json
import os

from .. import backend
from ..io import load_arrays, save_arrays
from ..nn.module import CONFIG_KEY, TRAINED_KEY
from ..random import default_random

NETWORKS_KEY = "__networks__"     # {"G": G.config, "D": D.config} as JSON


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
    at, so that train(..., start_epoch=epoch + 1) continues the run."""
    arrays = load_arrays(path)
    _check_checkpoint(trainer, arrays, path)

    def part(prefix):
        return {name[len(prefix) + 1:]: value for name, value in arrays.items()
                if name.startswith(prefix + "/")}

    try:
        trainer.G.load_state_dict(part("G"))
        trainer.D.load_state_dict(part("D"))
    except KeyError as error:                   # a checkpoint from before configs were saved
        raise ValueError(f"GANTrainer.load_checkpoint: {path} holds other networks than this "
                         f"trainer's ({error.args[0]})") from None
    trainer.g_optimizer.load_state_dict(part("g_optimizer"))
    trainer.d_optimizer.load_state_dict(part("d_optimizer"))
    trainer.steps_done = int(arrays["steps_done"])
    trainer.d_updates = trainer.steps_done * trainer.k      # for the penalty's penalty_every
    history = part("history")
    for name in trainer.history.names:
        trainer.history.columns[name] = history[name].tolist()
    _load_options(trainer, arrays, part)
    # Without a saved position (a GPU run), reseed from the seed and the step: different
    # draws from an uninterrupted run, but reproducible for the same checkpoint.
    for name, rng, salt in (("rng_state", trainer.rng, 0),
                            ("default_rng_state", default_random(trainer.device), 1)):
        state = str(arrays[name]) if name in arrays else None
        rng.set_state(state, fallback_seed=(int(arrays["seed"]), trainer.steps_done, salt))
    return int(arrays["epoch"])


def describe(arrays):
    """What a minigan .npz file holds, in words, read from its keys."""
    if "steps_done" in arrays:
        networks = json.loads(str(arrays[NETWORKS_KEY])) if NETWORKS_KEY in arrays else {}
        names = [_config_text(networks.get(k)) for k in ("G", "D")]
        when = f" after epoch {int(arrays['epoch'])} (step {int(arrays['steps_done'])})"
        return (f"a checkpoint of {names[0]} and {names[1]}{when}" if all(names) else
                f"a training checkpoint{when}")
    if CONFIG_KEY in arrays:
        config = json.loads(str(arrays[CONFIG_KEY]))
        kind = ("generator" if "Generator" in config["class"] else
                "discriminator" if "Discriminator" in config["class"] else "network")
        trained = json.loads(str(arrays[TRAINED_KEY])) if TRAINED_KEY in arrays else None
        when = f", after epoch {trained['epoch']} (step {trained['step']})" if trained else ""
        return f"a saved {kind}, {_config_text(config)}{when}"
    return "weights saved without a configuration"


def _config_text(config):
    """Generator(latent_dim=2, ...) from a module's config; None without one."""
    if not config:
        return None
    arguments = ", ".join(f"{k}={v!r}" for k, v in config["kwargs"].items())
    return f"{config['class']}({arguments})"


def _check_checkpoint(trainer, arrays, path):
    """Refuse a file that is not a checkpoint of this trainer's networks and options, before
    anything is loaded: a half-restored trainer would be worse than none."""
    where = f"GANTrainer.load_checkpoint: {path}"
    if "steps_done" not in arrays:
        raise ValueError(f"{where} is {describe(arrays)}, not a checkpoint: resume from the "
                         f"checkpoint.npz of a run")
    if NETWORKS_KEY in arrays:
        saved = json.loads(str(arrays[NETWORKS_KEY]))
        for key, net in (("G", trainer.G), ("D", trainer.D)):
            if net.config is not None and saved.get(key) not in (None, net.config):
                raise ValueError(f"{where} is {describe(arrays)}; this trainer's "
                                 f"{'generator' if key == 'G' else 'discriminator'} is "
                                 f"{_config_text(net.config)}")
    columns = {name.split("/", 1)[1] for name in arrays if name.startswith("history/")}
    if columns != set(trainer.history.names):
        raise ValueError(f"{where} holds the history columns {sorted(columns)}, this trainer "
                         f"records {list(trainer.history.names)}")
    for option, key, flag in (("g_average", "g_average_updates", "g_average"),
                              ("lr_schedules", "lr_decay_step", "lr_decay_steps")):
        if getattr(trainer, option) and key not in arrays:
            raise ValueError(f"{where} was saved by a trainer without {flag}, this one has "
                             f"it: resume with the settings of that run")
    if "lr_decay_step" in arrays and not trainer.lr_schedules:
        raise ValueError(f"{where} was saved by a trainer with lr_decay_steps, this one has "
                         f"none: resume with the settings of that run")


def _load_options(trainer, arrays, part):
    """The average of G's weights and the learning-rate decay's step (checked above: a run
    without the average may resume one that kept it; the average takes no part in training)."""
    if trainer.g_average is not None:
        trainer.g_average.model.load_state_dict(part("g_average"))
        trainer.g_average.updates = int(arrays["g_average_updates"])
    for schedule in trainer.lr_schedules:
        schedule.step_to(int(arrays["lr_decay_step"]))
