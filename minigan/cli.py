"""What every minigan command line shares: arguments checked when they are parsed, a run folder
that is never silently overwritten, and one line (not a traceback) when something goes wrong.

    parser = cli.parser("gan_2d.py", description)             # --debug, defaults in --help
    parser.add_argument("--epochs", type=cli.positive_int, default=1000)
    args = parser.parse_args(argv)
    cli.claim_run_folder(parser, out, resume=None, overwrite=args.overwrite)
    ...
    if __name__ == "__main__":
        cli.run(main, "gan_2d.py")        # errors -> "gan_2d.py: error: ...", exit 1

The argument types raise argparse's own error, so a bad value is refused before anything runs,
with the flag's name: "gan_2d.py: error: argument --epochs: expected an integer >= 1, got '0'".
"""
import argparse
import contextlib
import glob
import json
import math
import os
import signal
import sys
import tempfile
import warnings

from .backend import DeviceError
from .gan.monitor import Monitor, NonFiniteLossError


# --- argument types --------------------------------------------------------------------------------

def _integer(text, low):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
    return value


def positive_int(text):
    """An integer >= 1: a size, a count of steps or epochs."""
    return _integer(text, 1)


def non_negative_int(text):
    """An integer >= 0: a seed, a class label."""
    return _integer(text, 0)


def positive_float(text):
    """A finite number > 0: a learning rate."""
    return _finite_float(text, "> 0", lambda v: v > 0)


def non_negative_float(text):
    """A finite number >= 0: a penalty's weight."""
    return _finite_float(text, ">= 0", lambda v: v >= 0)


def _finite_float(text, bound, within):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number {bound}, got {text!r}") from None
    if not (math.isfinite(value) and within(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number {bound}, got {text!r}")
    return value


def fraction(text):
    """A number strictly between 0 and 1: a decay."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1 (both excluded), "
                                         f"got {text!r}")
    return value


def layer_widths(text):
    """Comma-separated layer widths, each >= 1, e.g. "64,64"."""
    try:
        widths = tuple(int(v) for v in text.split(","))
    except ValueError:
        widths = ()
    if not widths or min(widths) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer widths >= 1, e.g. "
                                         f"64,64, got {text!r}")
    return widths


# --- the parser -------------------------------------------------------------------------------------

class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """--help shows each default, except an empty one ("(default: None)" says nothing)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def parser(prog, description):
    p = argparse.ArgumentParser(prog=prog, description=description, formatter_class=HelpFormatter)
    p.add_argument("--debug", action="store_true",
                   help="on an error, show Python's traceback instead of one line")
    return p


# --- the run folder ---------------------------------------------------------------------------------

# What a training run writes to its folder: what --overwrite removes, and nothing else.
RUN_FILES = ("checkpoint.npz", "generator.npz", "discriminator.npz", "generator_average.npz",
             "generator_e*.npz", "history.csv", "run.json", "samples.png", "curves.png",
             "samples_epoch_*.png")


def claim_run_folder(parser, out, resume=None, overwrite=False):
    """Make `out` ready for a run, or stop with an error before anything is trained.

    A folder that holds a run (its checkpoint.npz) is refused unless the run is resumed
    (`resume`, a checkpoint path) or `overwrite` is set, which first removes the old run's files
    (RUN_FILES, nothing else). Temporary files left by a save that was killed are removed. The
    folder must be writable: found now, not at the first checkpoint."""
    holds_run = os.path.exists(os.path.join(out, "checkpoint.npz"))
    if holds_run and not resume and not overwrite:
        hint = "--resume " + os.path.join(out, "checkpoint.npz") + " to continue it, " if any(
            a.dest == "resume" for a in parser._actions) else ""
        parser.error(f"--out {out} holds a run already; give {hint}--overwrite to replace it, "
                     f"or another --out")
    check_writable(parser, "--out", out)
    for pattern in (RUN_FILES if overwrite and not resume else ()):
        for path in glob.glob(os.path.join(out, pattern)):
            os.remove(path)
    for pattern in RUN_FILES:       # io.atomic_write's temporaries: ".<name>.<random>.tmp"
        for path in glob.glob(os.path.join(out, "." + pattern + ".*.tmp")):
            os.remove(path)


def check_writable(parser, flag, folder):
    """Stop with an error now, not after training, if files cannot be written in `folder`
    (made if missing)."""
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        parser.error(f"{flag} {folder}: cannot write there ({error.strerror or error})")


def write_json(path, record):
    """Write `record` as JSON, atomically; a value that is not a finite number (a quality figure
    of a run that diverged) is written as null, with a warning: JSON has no NaN or Infinity."""
    from .io import atomic_write

    def finite(value, where):
        if isinstance(value, float) and not math.isfinite(value):
            warnings.warn(f"{path}: {where} is {value}, written as null", stacklevel=3)
            return None
        if isinstance(value, dict):
            return {k: finite(v, f"{where}.{k}" if where else k) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [finite(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    text = json.dumps(finite(record, ""), indent=2, allow_nan=False)
    atomic_write(path, lambda f: f.write(text.encode()))


# --- one line, not a traceback ----------------------------------------------------------------------

# Errors that come from what the user asked for (settings, files, data, a diverging run): they
# get one line. Anything else is a bug in minigan, and keeps its traceback.
USER_ERRORS = (ValueError, TypeError, OSError, ImportError, MemoryError, DeviceError,
               NonFiniteLossError)


def run(main, prog, argv=None):
    """Call main(argv): an error from USER_ERRORS becomes "prog: error: ...", exit 1; Ctrl-C
    becomes "prog: interrupted ..." (with what the KeyboardInterrupt says: the training loops
    add the step and the checkpoint to resume from), exit 130. With --debug, the traceback."""
    args = sys.argv[1:] if argv is None else argv
    try:
        with _ctrl_c_noted():
            return main(argv)
    except KeyboardInterrupt as interrupt:
        if "--debug" in args:
            raise
        print(f"{prog}: interrupted{' ' + str(interrupt) if str(interrupt) else ''}",
              file=sys.stderr)
        sys.exit(130)
    except USER_ERRORS as error:
        if "--debug" in args:
            raise
        what = str(error) or type(error).__name__
        if isinstance(error, MemoryError):
            what = f"out of memory{': ' + str(error) if str(error) else ''}"
        sys.exit(f"{prog}: error: {what}")


@contextlib.contextmanager
def _ctrl_c_noted():
    """Ctrl-C raises KeyboardInterrupt, as always, and also sets Monitor.interrupted, which the
    training loop checks after every step. Python drops an exception raised while a garbage
    collector callback runs (it prints "Exception ignored in ..." and goes on): matplotlib's
    figures have such callbacks, so without the flag an unlucky Ctrl-C is lost."""
    def on_ctrl_c(signum, frame):
        Monitor.interrupted = True
        raise KeyboardInterrupt
    try:
        previous = signal.signal(signal.SIGINT, on_ctrl_c)
    except ValueError:                 # not the main thread: leave the signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        Monitor.interrupted = False
