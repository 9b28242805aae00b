"""python -m minigan.lab: train a 2-D GAN in the browser, one update at a time.

    python -m minigan.lab                        # the ring, on http://127.0.0.1:8765/
    python -m minigan.lab --data grid --port 0   # any free port
    python -m minigan.lab --device gpu
    python -m minigan.lab --export ring.html --gif ring.gif --steps 1500 --every 300
                                                 # no server: a replay of a recorded run
"""
import sys
import warnings

from .. import cli
from ..data import DATASETS
from ..gan.losses import GENERATOR_LOSSES
from . import export
from .server import LabServer
from .session import LabSession
from .settings import Settings

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def parse_args(argv=None):
    p = cli.parser("python -m minigan.lab", __doc__.split("\n")[0])
    p.add_argument("--data", choices=DATASETS, default="ring", help="the data set to start on")
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--seed", type=cli.non_negative_int, default=0)
    p.add_argument("--n", type=cli.positive_int, default=1024, help="training set size")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (anything but this machine: a warning)")
    p.add_argument("--port", type=cli.non_negative_int, default=8765, help="0: any free port")
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
    replay.add_argument("--every", type=cli.positive_int, default=50,
                        help="keep the frames of step 1 and of every EVERY-th step")
    return p.parse_args(argv)


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
        raise OSError(f"cannot listen on {args.host}:{args.port} ({error.strerror or error}); "
                      f"try another --port, or --port 0 for any free one") from None
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
