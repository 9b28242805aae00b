"""python -m minigan.lab: train a 2-D GAN in the browser, one update at a time.

    python -m minigan.lab                        # the ring, on http://127.0.0.1:8765/
    python -m minigan.lab --data grid --port 0   # any free port
    python -m minigan.lab --host ::1             # IPv6: http://[::1]:8765/
    python -m minigan.lab --device gpu
    python -m minigan.lab --export ring.html --gif ring.gif --steps 1500 --every 300
                                                 # no server: a replay of a recorded run
"""
import argparse
import errno
import socket
import sys
import warnings

from .. import cli
from ..data import DATASETS
from ..gan.losses import GENERATOR_LOSSES
from . import export
from .server import LabServer, host_port
from .session import LabSession
from .settings import Settings

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def port_number(text):
    """A TCP port, 0 to 65535 (0: any free one), checked when parsed: one line, no traceback."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535 (0: any free "
                                         f"one), got {text!r}")
    return value


def parse_args(argv=None):
    p = cli.parser("python -m minigan.lab", __doc__.split("\n")[0])
    p.add_argument("--data", choices=DATASETS, default="ring", help="the data set to start on")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--seed", type=cli.non_negative_int, default=0)
    p.add_argument("--n", type=cli.positive_int, default=1024, help="training set size")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (anything but this machine: a warning)")
    p.add_argument("--port", type=port_number, default=8765, help="0: any free port")
    p.add_argument("--k", type=cli.positive_int, default=1,
                   help="D updates per step, to start with (the page changes it)")
    p.add_argument("--loss", choices=GENERATOR_LOSSES, default="non-saturating",
                   help="G's loss, to start with (the page changes it)")
    replay = p.add_argument_group("replay without a server (export.py)")
    replay.add_argument("--export", metavar="HTML", default=None,
                        help="record a run and write it as one self-contained HTML page")
    replay.add_argument("--gif", metavar="GIF", default=None,
                        help="record a run and write it as an animated GIF")
    replay.add_argument("--steps", type=cli.positive_int, default=1000,
                        help="steps to record (each: k D updates and a G update)")
    replay.add_argument("--overwrite", action="store_true",
                        help="replace --export or --gif if the file exists")
    replay.add_argument("--every", type=cli.positive_int, default=50,
                        help="keep the frames of step 1 and of every EVERY-th step")
    args = p.parse_args(argv)
    # Checked now, not after the recording: a replay never replaces a file unasked.
    if args.export is not None:
        cli.check_new_file(p, "--export", args.export, args.overwrite, (".html", ".htm"))
    if args.gif is not None:
        cli.check_new_file(p, "--gif", args.gif, args.overwrite, (".gif",))
    return args


def new_session(args):
    return LabSession(Settings(data=args.data, k=args.k, loss=args.loss), seed=args.seed,
                      device=args.device, n=args.n)


def export_replay(args):
    session = new_session(args)
    print(f"minigan lab: recording {args.steps} steps on {args.data} "
          f"(frames at step 1 and every {args.every})", flush=True)
    recording = export.record(session, args.steps, args.every)
    if args.export:
        export.write_html(recording, args.export)
        print(f"wrote {args.export} ({len(recording['frames'])} frames)")
    if args.gif:
        export.write_gif(recording, args.gif)
        print(f"wrote {args.gif} ({len(recording['frames'])} frames)")
    if session.paused:
        print(f"minigan lab: the run paused: {session.paused}", file=sys.stderr)


def why_not(error, host):
    """What a failed bind means, in words: only a port in use asks for another port."""
    if isinstance(error, socket.gaierror):     # the name did not resolve (its errno is EAI_*)
        return f"no such host {host!r} ({error.strerror})"
    if error.errno == errno.EADDRINUSE:
        return "the port is in use; try another --port, or --port 0 for any free one"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"{host} is not an address of this machine"
    if error.errno == errno.EACCES:
        return "permission denied (ports below 1024 need administrator rights)"
    return error.strerror or str(error)


def main(argv=None):
    args = parse_args(argv)
    if args.export or args.gif:
        return export_replay(args)
    if args.host not in LOCAL_HOSTS:
        warnings.warn(f"--host {args.host}: the lab has no login; anyone who can reach this "
                      f"address can drive it (and use this machine's CPU)", stacklevel=1)
    session = new_session(args)
    try:
        server = LabServer(session, args.host, args.port)
    except OSError as error:
        raise OSError(f"cannot listen on {host_port(args.host, args.port)}: "
                      f"{why_not(error, args.host)}") from None
    print(f"minigan lab: {args.data} data on {args.device}; open {server.url} "
          f"(Ctrl-C stops it)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("minigan lab: stopped", file=sys.stderr)
    finally:
        server.server_close()


if __name__ == "__main__":
    cli.run(main, "python -m minigan.lab")
