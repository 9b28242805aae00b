"""What the two image-GAN examples share: the command line, the data, and the run's outputs.

dcgan_mnist.py and acgan_fashion_mnist.py differ only in their networks and training recipe;
everything else is here, so each example reads as "which G, which D, which loop settings".
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import minigan  # noqa: E402
from minigan import cli  # noqa: E402
from minigan import images as image_data  # noqa: E402
from minigan.plots import plot_history, plot_image_grid  # noqa: E402
from minigan.gan.checkpoint import saved_conditioning  # noqa: E402
from minigan.gan.conditioning import CONDITIONINGS  # noqa: E402
from minigan.gan.penalties import PENALTIES  # noqa: E402
from minigan.tensor import Tensor  # noqa: E402


def parse_args(prog, description, kind, argv=None, epochs=100, batch_size=64,
               conditional=False, lr=2e-4):
    p = cli.parser(prog, description)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--data", default=os.path.join("data", kind),
                        help=f"folder with the {kind} IDX files (train-images-idx3-ubyte.gz...)")
    source.add_argument("--digits", action="store_true",
                        help="use scikit-learn's 8x8 digits instead (offline, 1797 images)")
    source.add_argument("--synthetic", type=cli.positive_int, metavar="N",
                        help="N random 28x28 images with random labels: for timing only")
    p.add_argument("--download", action="store_true",
                   help="download the IDX files into --data first (digests are checked)")
    p.add_argument("--subset", type=cli.positive_int, metavar="N",
                   help="train on a random N images only")
    if conditional:
        p.add_argument("--class-names", type=class_name_list, default=None, metavar="A,B,...",
                       help="the ten names for the grid's rows (default: Fashion-MNIST's names "
                            "for its files, else the class numbers 0..9)")
        p.add_argument("--conditioning", choices=CONDITIONINGS, default=None,
                       help="how D is told the class (minigan/gan/conditioning.py): the AC-GAN's "
                            "class head, TAC-GAN's twin heads, or a projection D (default: "
                            "the resumed checkpoint's, else the example's)")
    p.add_argument("--device", choices=("cpu", "gpu"),
                   default=os.environ.get("MINIGAN_DEVICE", "cpu"))
    p.add_argument("--epochs", type=cli.positive_int, default=epochs)
    p.add_argument("--batch-size", type=cli.positive_int, default=batch_size)
    p.add_argument("--lr", type=cli.positive_float, default=lr,
                   help="Adam learning rate, betas (0.5, 0.999)" + (
                       "" if lr is not None else " (default: the recipe's, see --conditioning)"))
    p.add_argument("--width", type=cli.positive_int, default=None,
                   help="channel width of both networks (default: the paper's for 28x28 images, "
                        "a smaller one for 8x8)")
    p.add_argument("--seed", type=cli.non_negative_int, default=0)
    p.add_argument("--penalty", choices=("none",) + PENALTIES, default="none",
                   help="a gradient penalty on D (R1 on real images, R2 on generated, WGAN-GP); "
                        "D is then built without BatchNorm")
    p.add_argument("--gamma", type=cli.non_negative_float, default=1.0,
                   help="the penalty's weight")
    p.add_argument("--g-average", type=cli.fraction, default=None, metavar="DECAY",
                   help="also keep a moving average of G's weights (generator_average.npz; "
                        "the grids sample it)")
    if conditional:
        p.add_argument("--no-g-average", action="store_true",
                       help="keep no average of G's weights, even where the recipe has one")
    p.add_argument("--sample-every", type=cli.positive_int, default=10, metavar="EPOCHS",
                   help="save an image grid, the generator and a full checkpoint this often")
    p.add_argument("--keep-every", type=cli.positive_int, default=None, metavar="EPOCHS",
                   help="also keep the generator of every EPOCHS-th epoch (generator_eNNN.npz)")
    p.add_argument("--log-every", type=cli.positive_int, default=None, metavar="STEPS",
                   help="steps between log lines (default: about 20 per run)")
    p.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue from a checkpoint.npz written by an earlier run")
    p.add_argument("--out", default=None, help=f"output folder (default: runs/{kind}_<data>)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (kept until the new run's first "
                        "checkpoint, and put back if it fails before)")
    args = p.parse_args(argv)
    if args.synthetic is not None and args.synthetic * 28 * 28 * 4 > 8 * 2 ** 30:
        p.error(f"--synthetic {args.synthetic}: {args.synthetic * 28 * 28 * 4 / 2 ** 30:.0f} GiB "
                f"of images; at most {8 * 2 ** 30 // (28 * 28 * 4):,} images (8 GiB)")
    if args.resume is not None and os.path.isdir(args.resume):
        p.error(f"--resume {args.resume} is a folder; give the checkpoint.npz in it")
    if args.resume is not None and not os.path.isfile(args.resume):
        p.error(f"--resume {args.resume}: no such file")
    args.kind = kind
    return args, p


def class_name_list(text):
    """--class-names: ten comma-separated names."""
    names = [name.strip() for name in text.split(",")]
    if len(names) != 10 or not all(names):
        raise argparse.ArgumentTypeError(f"expected ten comma-separated names, got {len(names)}: "
                                         f"{text!r}")
    return tuple(names)


def claim_output(parser, args, name):
    """The run's folder (--out, or runs/<name>), a cli.RunFolder: checked now, before the data
    are loaded; an old run in it makes way only when training starts (run, below)."""
    out = args.out if args.out is not None else os.path.join("runs", name)
    return cli.RunFolder(parser, out, resume=args.resume, overwrite=args.overwrite)


def load_images(args):
    """(images, labels, class names, image size) on args.device, as the arguments ask."""
    if args.digits:
        x, y = image_data.load_digits(args.device)
        names = image_data.DIGIT_CLASSES
    elif args.synthetic:
        rng = minigan.Random(args.seed, args.device)
        x, y = rng.uniform((args.synthetic, 1, 28, 28), -1.0, 1.0), rng.integers(0, 10, args.synthetic)
        names = image_data.DIGIT_CLASSES
    else:
        if args.download:
            image_data.download_mnist(args.data, kind=args.kind)
        x, y = image_data.load_mnist(args.data, "train", kind=args.kind, device=args.device)
        names = image_data.class_names(args.data)        # known from the files' digests
    names = getattr(args, "class_names", None) or names
    if args.subset is not None:
        if args.subset > len(x):
            raise ValueError(f"--subset must be at most the {len(x)} images, got {args.subset}")
        rng = minigan.Random(args.seed, args.device)
        keep = rng.xp.argsort(rng.uniform((len(x),), dtype="float64"))[:args.subset]
        x, y = x[keep], y[keep]
    return x, y, names, x.shape[-1]


def conditioning_of(args, default):
    """--conditioning, else the one the checkpoint of --resume was trained with, else
    `default`."""
    if args.conditioning is not None:
        return args.conditioning
    return saved_conditioning(args.resume) if args.resume else default


def apply_recipe(args, recipe):
    """Fill in --lr and --g-average from `recipe` ({"lr": ..., "g_average": ...}) where the
    command line left them out (--no-g-average: no average, whatever the recipe)."""
    if args.lr is None:
        args.lr = recipe["lr"]
    if args.no_g_average:
        if args.g_average is not None:
            raise ValueError("--g-average and --no-g-average contradict each other: give one")
    elif args.g_average is None:
        args.g_average = recipe["g_average"]


def penalty_options(args):
    """GANTrainer's options from --penalty, --gamma and --g-average, and D's batch_norm."""
    penalty = None if args.penalty == "none" else args.penalty
    return dict(penalty=penalty, gamma=args.gamma, g_average=args.g_average), penalty is None


def run(args, folder, name, trainer, images, labels, class_names, conditional):
    """Train, saving an image grid, the generator and a full checkpoint every --sample-every
    epochs and at the end, in folder.path; then the loss curves and run.json. Returns the run's
    record."""
    out = folder.path
    # The grids sample G itself, or the average of its weights (--g-average).
    G = trainer.G if trainer.g_average is None else trainer.g_average.model
    start_epoch = 1
    if args.resume:
        start_epoch = trainer.load_checkpoint(args.resume) + 1
        if start_epoch > args.epochs:
            raise ValueError(f"--resume {args.resume} is at epoch {start_epoch - 1} already: "
                             f"give --epochs larger than that to train more")
        print(f"resumed from {args.resume}: epoch {start_epoch - 1} done, "
              f"step {trainer.steps_done}")
    steps = (len(images) // args.batch_size) * (args.epochs - start_epoch + 1)
    print(f"minigan: {name} on {len(images)} images {tuple(images.shape[1:])}, device "
          f"{args.device}; G {G.num_parameters():,} and D {trainer.D.num_parameters():,} "
          f"parameters; epochs {start_epoch}..{args.epochs}, {steps} steps; writing to {out}/")

    # Fixed inputs for every grid, so grids at different epochs are comparable.
    rng = minigan.Random(args.seed + 1, args.device)
    if conditional:              # one row per class, the same z along each column
        columns = 10
        z = Tensor(rng.xp.tile(G.sample_latent(columns, rng).data, (G.num_classes, 1)))
        grid_labels = Tensor(rng.xp.repeat(rng.xp.arange(G.num_classes), columns))
        row_labels = list(class_names)
    else:
        columns, z, grid_labels, row_labels = 8, G.sample_latent(64, rng), None, None

    def save_grid(trainer, epoch):
        if epoch % args.sample_every == 0 or epoch == args.epochs:
            plot_image_grid(G.sample_with(z, grid_labels),
                            os.path.join(out, f"samples_epoch_{epoch:03d}.png"), columns,
                            row_labels, title=f"{name}, epoch {epoch}")

    t0 = time.perf_counter()
    log_every = args.log_every if args.log_every is not None else max(1, steps // 20)
    try:
        # The data, the device, the networks and a resumed checkpoint are ready: only now may an
        # old run in --out make way (it is put back if this one stops before its first save).
        with folder.replacing():
            trainer.train(images, args.epochs, args.batch_size,
                          labels=labels if conditional else None, log_every=log_every,
                          on_epoch=save_grid, checkpoint_dir=out,
                          checkpoint_every=args.sample_every, keep_every=args.keep_every,
                          start_epoch=start_epoch, progress=True)
    except KeyboardInterrupt:
        checkpoint = os.path.join(out, "checkpoint.npz")
        raise KeyboardInterrupt(
            f"at step {trainer.steps_done}; resume with --resume {checkpoint}" if
            folder.holds_checkpoint() and not folder.restored else f"at step {trainer.steps_done}, before the first "
            f"checkpoint (epoch {args.sample_every}): nothing was saved"
            + (f"; the run that was in {out}/ is back as it was" if folder.restored else "")
        ) from None
    seconds = time.perf_counter() - t0
    plot_history(trainer.history, os.path.join(out, "curves.png"), title=name)
    epochs_run = args.epochs - start_epoch + 1
    timing = trainer.timing              # ms/step leaves out the time spent saving
    sampled = "generator.npz" if trainer.g_average is None else "generator_average.npz"
    record = {"args": vars(args), "steps": steps, "seconds": round(seconds, 1),
              "seconds_saving": round(timing.other_seconds, 1),
              "seconds_per_epoch": round(timing.train_seconds / max(epochs_run, 1), 2),
              "ms_per_step": round(timing.ms_per_step, 2)}
    cli.write_json(os.path.join(out, "run.json"), record)
    print(f"done: {seconds:.1f} s ({timing.other_seconds:.1f} s of it saving grids and "
          f"checkpoints), {record['seconds_per_epoch']} s/epoch, {record['ms_per_step']} "
          f"ms/step. Grids, generator.npz, checkpoint.npz and curves.png are in {out}/; sample "
          f"with: python -m minigan.sample {out}/{sampled}")
    return record


def main_guard(main):
    """Run main() as a command: bad settings, missing files and Ctrl-C give one clear line."""
    cli.run(main, os.path.basename(sys.argv[0]))
