"""What every minigan command line shares: arguments checked when they are parsed, a run folder
that is never lost (cli.RunFolder), and one line (not a traceback) when something goes wrong.

    parser = cli.parser("gan_2d.py", description)             # --debug, defaults in --help
    parser.add_argument("--epochs", type=cli.positive_int, default=1000)
    args = parser.parse_args(argv)
    folder = cli.RunFolder(parser, out, overwrite=args.overwrite)     # checked, not touched
    ...
    with folder.replacing():                    # the old run is kept until the new one saves
        trainer.train(...)
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
import shutil
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

# What a training run writes to its folder: all that --overwrite replaces, and nothing else.
RUN_FILES = ("checkpoint.npz", "generator.npz", "discriminator.npz", "generator_average.npz",
             "generator_e*.npz", "history.csv", "run.json", "samples.png", "curves.png",
             "samples_epoch_*.png")
PREVIOUS_RUN = ".previous_run"      # where an old run waits while a new one starts in its folder


class RunFolder:
    """A run's output folder, never lost: the old run in it is replaced only once the new run has
    started well.

        folder = cli.RunFolder(parser, out, resume=args.resume, overwrite=args.overwrite)
        ...                                 # build the data and the networks: a missing GPU or
                                            # data set stops here, and nothing was touched
        with folder.replacing():            # the old run's files wait in out/.previous_run/
            trainer.train(..., checkpoint_dir=out)

    Leaving the `with`, the old run is deleted if the new one saved its first checkpoint, and
    put back as it was if the new one failed or was stopped before that (folder.restored says
    so). Made, the folder only checks: it refuses (parser.error, before anything is built) a
    folder that holds a run's files (RUN_FILES) unless `overwrite` is set, or the run is resumed
    in its own folder (`resume`, that folder's checkpoint.npz); resuming into a folder that holds
    another run needs `overwrite` like any other write. Only RUN_FILES are moved: the user's own
    files in the folder stay where they are."""

    def __init__(self, parser, out, resume=None, overwrite=False):
        self.path, self.restored = out, False
        self.resumes_here = resume is not None and _same_folder(os.path.dirname(resume), out)
        self.aside = os.path.join(out, PREVIOUS_RUN)
        _recover_killed_replacement(out, self.aside)
        found = run_files(out)
        if found and not overwrite and not self.resumes_here:
            parser.error(_occupied_message(parser, out, found, resume))
        check_writable(parser, "--out", out)

    @contextlib.contextmanager
    def replacing(self):
        """Move the old run aside, run the body, then delete it or put it back (see above)."""
        _remove_killed_saves(self.path)
        if self.resumes_here:               # the same run goes on: nothing to set aside
            yield self
            return
        _move(run_files(self.path), self.path, self.aside)
        try:
            yield self
        except BaseException:
            if not self.holds_checkpoint():     # the new run never saved: the old one comes back
                self.restored = _put_back(self.path, self.aside)
                raise
            shutil.rmtree(self.aside)
            raise
        shutil.rmtree(self.aside)

    def holds_checkpoint(self):
        """Whether the folder holds a checkpoint.npz (to say what is on disk after a stop)."""
        return os.path.exists(os.path.join(self.path, "checkpoint.npz"))


def run_files(folder):
    """The names of the files in `folder` that a run writes (RUN_FILES), sorted."""
    return sorted({os.path.basename(path) for pattern in RUN_FILES
                   for path in glob.glob(os.path.join(folder, pattern))})


def _same_folder(a, b):
    return os.path.realpath(a or ".") == os.path.realpath(b)


def _occupied_message(parser, out, found, resume):
    """Why --out is refused, and the ways on."""
    if "checkpoint.npz" not in found:
        return (f"--out {out} holds files a run writes ({', '.join(found)}); give --overwrite "
                f"to replace them, or another --out")
    if resume is not None:
        return (f"--out {out} holds another run than --resume {resume}; give --overwrite to "
                f"replace it with the resumed run, or another --out")
    hint = "--resume " + os.path.join(out, "checkpoint.npz") + " to continue it, " if any(
        a.dest == "resume" for a in parser._actions) else ""
    return f"--out {out} holds a run already; give {hint}--overwrite to replace it, or another --out"


def _move(names, source, target):
    os.makedirs(target, exist_ok=True)
    for name in names:
        os.replace(os.path.join(source, name), os.path.join(target, name))


def _put_back(folder, aside):
    """Undo a replacement: the new run's files go, the old run's come back. True if there was
    an old run to put back."""
    for name in run_files(folder):
        os.remove(os.path.join(folder, name))
    old = os.listdir(aside)
    _move(old, aside, folder)
    os.rmdir(aside)
    return bool(old)


def _recover_killed_replacement(folder, aside):
    """A replacement that was killed outright (SIGKILL, a power cut) left the old run aside:
    keep the new run if it saved a checkpoint, else put the old one back, as `replacing` would
    have done."""
    if not os.path.isdir(aside):
        return
    if os.path.exists(os.path.join(folder, "checkpoint.npz")):
        shutil.rmtree(aside)
    elif _put_back(folder, aside):
        print(f"{folder}: a run that was replacing the one here was killed before its first "
              f"checkpoint; the old run is back in place", file=sys.stderr)


def _remove_killed_saves(folder):
    """io.atomic_write's temporaries (".<name>.<random>.tmp") left by a save that was killed."""
    for pattern in RUN_FILES:
        for path in glob.glob(os.path.join(folder, "." + pattern + ".*.tmp")):
            os.remove(path)


def check_new_file(parser, flag, path, overwrite=False, suffixes=None):
    """Stop with an error now, not after training, if the output file `path` (named by `flag`)
    would replace an existing file without `overwrite`, has the wrong ending, or cannot be
    written. Nothing is written here: the file itself is written atomically (io.atomic_write)."""
    if suffixes and os.path.splitext(path)[1].lower() not in suffixes:
        parser.error(f"{flag} {path}: expected a file name ending in one of {', '.join(suffixes)}")
    if os.path.isdir(path):
        parser.error(f"{flag} {path} is a folder; give a file name")
    if os.path.lexists(path) and not overwrite:
        parser.error(f"{flag} {path} exists; give --overwrite to replace it, or another name")
    check_writable(parser, flag, os.path.dirname(os.path.abspath(path)))


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
