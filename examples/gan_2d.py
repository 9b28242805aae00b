"""Train a GAN on 2-D toy data and watch it learn.

    python examples/gan_2d.py                      # the sine curve, on the CPU, about 30 s
    python examples/gan_2d.py --data ring          # 8 Gaussians on a circle
    python examples/gan_2d.py --data grid --device gpu
    python examples/gan_2d.py --data ring --loss lsgan --latent uniform   # LSGAN, z ~ U[-1, 1)^2

Writes to --out (default runs/gan_2d_<data>):
    samples.png     generated points (orange) over real ones (blue) at a few moments of training
    curves.png      the losses and D's mean outputs per step
    generator.npz   the trained generator, and discriminator.npz the discriminator (both
                    saved as checkpoints every tenth of the run, and at the end; with
                    --g-average also generator_average.npz, the one the figures sample;
                    with --keep-every N also generator_eNNN.npz every N epochs)
    history.csv     every step's losses and D outputs
    run.json        the settings, the networks' sizes and the final quality figures
and with --html FILE a replay of the run in the lab's page (python -m minigan.lab): D's verdict,
the samples, G's push on each and its warped latent grid at 30 moments, with a slider.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import minigan  # noqa: E402
from minigan import cli  # noqa: E402
from minigan.data import DATASETS, make_2d  # noqa: E402
from minigan.gan import GENERATOR_LOSSES, Discriminator, GANTrainer, Generator  # noqa: E402
from minigan.gan.models import LATENTS  # noqa: E402
from minigan.gan.penalties import PENALTIES  # noqa: E402
from minigan.metrics import distance_to_sine, mode_metrics, sine_coverage  # noqa: E402
from minigan.optim import Adam  # noqa: E402
from minigan.plots import plot_history, plot_snapshots  # noqa: E402


def parse_args(argv=None):
    p = cli.parser("gan_2d.py", __doc__.split("\n")[0])
    p.add_argument("--data", choices=DATASETS, default="sine",
                   help="sine: y = sin x on [0, 2 pi]; ring: 8 Gaussians (std 0.01) on the unit "
                        "circle; grid: 25 Gaussians (std 0.05) at {-4..4}^2 (PacGAN's benchmarks)")
    p.add_argument("--device", choices=("cpu", "gpu"),
                   default=os.environ.get("MINIGAN_DEVICE", "cpu"))
    p.add_argument("--n", type=cli.positive_int, default=1024, help="training set size N")
    p.add_argument("--epochs", type=cli.positive_int, default=1000,
                   help="steps = floor(N / batch size) * epochs")
    p.add_argument("--batch-size", type=cli.positive_int, default=32, help="m in Algorithm 1")
    p.add_argument("--k", type=cli.positive_int, default=1, help="discriminator updates per step")
    p.add_argument("--loss", choices=GENERATOR_LOSSES, default="non-saturating",
                   help="generator loss: -log D(G(z)), or the paper's log(1 - D(G(z))); or the "
                        "WGAN, hinge or least-squares (LSGAN) game (D's loss changes too)")
    p.add_argument("--latent", choices=LATENTS, default="normal",
                   help="the law of G's latent z: N(0, I), or uniform on [-1, 1)^2")
    p.add_argument("--penalty", choices=("none",) + PENALTIES, default="none",
                   help="gradient penalty on D: R1 (real samples), R2 (generated), or WGAN-GP")
    p.add_argument("--gamma", type=cli.non_negative_float, default=None,
                   help="the penalty's weight (default: 0.1 for r1 and r2, 10 for gp)")
    p.add_argument("--penalty-every", type=cli.positive_int, default=1, metavar="N",
                   help="apply the penalty on every N-th D update only, N times as heavy")
    p.add_argument("--spectral-norm", action="store_true",
                   help="spectral normalisation of D's layers (Miyato et al. 2018)")
    p.add_argument("--pack", type=cli.positive_int, default=1,
                   help="PacGAN: D judges this many samples at once")
    p.add_argument("--lr", type=cli.positive_float, default=2e-4,
                   help="Adam learning rate (both networks)")
    p.add_argument("--lr-decay", action="store_true",
                   help="decay both learning rates linearly to 0 over the run")
    p.add_argument("--g-average", type=cli.fraction, default=None, metavar="DECAY",
                   help="sample from an exponential moving average of G's weights with this "
                        "decay, e.g. 0.999, instead of the last iterate")
    p.add_argument("--g-hidden", type=cli.layer_widths, default=(64, 64),
                   help="generator hidden widths")
    p.add_argument("--d-hidden", type=cli.layer_widths, default=(128, 128),
                   help="discriminator hidden widths")
    p.add_argument("--seed", type=cli.non_negative_int, default=0)
    p.add_argument("--keep-every", type=cli.positive_int, default=None, metavar="EPOCHS",
                   help="also keep the generator of every EPOCHS-th epoch (generator_eNNN.npz)")
    p.add_argument("--html", default=None, metavar="FILE",
                   help="also write a replay of the run, one self-contained HTML page "
                        "(minigan.lab's page: 30 frames and the curves)")
    p.add_argument("--out", default=None, help="output folder (default: runs/gan_2d_<data>)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the run already in --out (kept until the new run's first "
                        "checkpoint, and put back if it fails before), and the --html file")
    args = p.parse_args(argv)
    if args.batch_size % args.pack:
        p.error(f"--batch-size {args.batch_size} must be a multiple of --pack {args.pack}")
    if args.gamma is not None and args.penalty == "none":
        p.error("--gamma is the weight of a penalty: give --penalty too")
    if args.gamma is None:
        args.gamma = 10.0 if args.penalty == "gp" else 0.1
    if args.batch_size > args.n:
        p.error(f"--batch-size {args.batch_size} is larger than the data set (--n {args.n})")
    args.out = args.out if args.out is not None else os.path.join("runs", f"gan_2d_{args.data}")
    if args.html is not None:
        if args.loss == "lsgan":
            # The lab's page reads D's output as a logit or a critic's score (sigmoid(score),
            # its 1/2 at score 0); LSGAN's score has its targets at 0 and 1, which it cannot say.
            p.error("--html: the lab's page does not draw the lsgan game yet (it shows D's "
                    "output as a logit or a critic's score); leave out --html, or use another "
                    "--loss")
        cli.check_new_file(p, "--html", args.html, args.overwrite, (".html", ".htm"))
    # Checked now, touched only when training starts (main's `with folder.replacing()`).
    return args, cli.RunFolder(p, args.out, overwrite=args.overwrite)


def quality(name, samples, data):
    """The run's quality figures, and one line saying them."""
    if name == "sine":
        q = {"distance_to_curve": distance_to_sine(samples), "coverage": sine_coverage(samples)}
        return q, (f"mean distance of generated points to the curve: "
                   f"{q['distance_to_curve']:.4f} (they cover {100 * q['coverage']:.0f}% "
                   f"of the period)")
    q = mode_metrics(samples, data.centres, data.std)
    return q, (f"modes covered: {q['modes']}/{len(data.centres)}, samples within 3 std of a "
               f"mode: {100 * q['hq']:.1f}%, reverse KL: {q['reverse_kl']:.3f}")


def interrupted_folder_text(folder):
    """What a stopped run left in its folder, as it really is on disk."""
    if folder.restored:
        return f"nothing was saved; the run that was in {folder.path}/ is back as it was"
    if folder.holds_checkpoint():
        return f"{folder.path}/ holds the last checkpoint (no figures were drawn)"
    return "nothing was saved (the first checkpoint comes after a tenth of the epochs)"


def options_text(args):
    """The options beyond Algorithm 1's, for the first line of the run."""
    every = f", every {args.penalty_every} D updates" if args.penalty_every > 1 else ""
    parts = [", lr decaying to 0" if args.lr_decay else "",
             f", sampling G's weight average (decay {args.g_average})" if args.g_average else "",
             f", {args.penalty} penalty (gamma {args.gamma}{every})" if args.penalty != "none"
             else "",
             f", D packs {args.pack} samples" if args.pack > 1 else "",
             ", spectral norm in D" if args.spectral_norm else "",
             ", z uniform on [-1, 1)^2" if args.latent == "uniform" else ""]
    return "".join(parts)


class Replay:
    """--html: frames of the lab's plane at 30 moments of the run (minigan/lab/export.py)."""

    FRAMES = 30

    def __init__(self, args, data, sampler, D):
        from minigan.lab import export, session, views
        self.export, self.args, self.data, self.sampler, self.D = export, args, data, sampler, D
        self.bounds = session.square_bounds(minigan.backend.to_numpy(data.points))
        rng = minigan.Random(args.seed + 1, args.device)
        self.z = sampler.sample_latent(session.FAKE_POINTS, rng)
        # The latent grid spans the prior: +-2.5 standard deviations of N(0, I), or all of
        # uniform's [-1, 1)^2.
        self.z_grid = views.latent_grid(minigan.backend.xp_of_device(args.device),
                                        extent=1.0 if args.latent == "uniform" else
                                        views.LATENT_EXTENT)
        self.epochs = {max(1, round(args.epochs * i / self.FRAMES))
                       for i in range(1, self.FRAMES + 1)}
        self.frames = [self.frame("before training", 0)]

    def frame(self, label, steps):
        return self.export.frame_from_networks(self.sampler, self.D, self.args.loss,
                                               self.bounds, self.z, self.z_grid, label,
                                               steps * (self.args.k + 1))

    def on_epoch(self, trainer, epoch):
        if epoch in self.epochs:
            self.frames.append(self.frame(f"epoch {epoch} (step {trainer.steps_done})",
                                          trainer.steps_done))

    def write(self, history, path):
        settings = {"data": self.args.data, "loss": self.args.loss, "k": self.args.k,
                    "lr_d": self.args.lr, "lr_g": self.args.lr,
                    "batch_size": self.args.batch_size, "penalty": self.args.penalty,
                    "gamma": self.args.gamma}
        recording = self.export.training_recording(self.frames, history, self.args.k,
                                                   self.data, self.bounds, settings)
        self.export.write_html(recording, path)
        print(f"wrote {path}: a replay of the run ({len(self.frames)} frames)")


def main(argv=None):
    args, folder = parse_args(argv)
    out = args.out
    minigan.manual_seed(args.seed)                     # the networks' initial weights
    data = make_2d(args.data, args.n, seed=args.seed, device=args.device)
    G = Generator(latent_dim=2, data_dim=2, hidden=args.g_hidden,
                  latent=args.latent).to(args.device)
    D = Discriminator(data_dim=2, hidden=args.d_hidden, pack=args.pack,
                      spectral_norm=args.spectral_norm).to(args.device)
    steps = (args.n // args.batch_size) * args.epochs
    trainer = GANTrainer(G, D, Adam(G.parameters(), lr=args.lr), Adam(D.parameters(), lr=args.lr),
                         k=args.k, generator_loss=args.loss, seed=args.seed,
                         lr_decay_steps=steps if args.lr_decay else None, g_average=args.g_average,
                         penalty=None if args.penalty == "none" else args.penalty,
                         gamma=args.gamma, penalty_every=args.penalty_every)
    # The generator the figures sample: G itself, or the average of its weights.
    sampler = G if trainer.g_average is None else trainer.g_average.model
    print(f"minigan: {args.data} data (N={args.n}) on {args.device}; {steps} steps of Algorithm 1 "
          f"(k={args.k}, m={args.batch_size}, {args.loss} G loss, Adam lr {args.lr}"
          f"{options_text(args)})")
    print(f"G: {G.num_parameters()} parameters, D: {D.num_parameters()} parameters; writing to {out}/")

    # The same latent points at every snapshot, so the panels show the samples moving.
    fixed_z = G.sample_latent(1000, minigan.Random(args.seed + 1, args.device))
    snapshot_epochs = sorted({max(1, round(args.epochs * f)) for f in (0.02, 0.1, 0.3, 1.0)})
    snapshots = [("before training", sampler.sample_with(fixed_z))]

    replay = Replay(args, data, sampler, D) if args.html else None

    def on_epoch(trainer, epoch):
        if epoch in snapshot_epochs:
            snapshots.append((f"epoch {epoch} (step {trainer.steps_done})",
                              sampler.sample_with(fixed_z)))
        if replay is not None:
            replay.on_epoch(trainer, epoch)

    t0 = time.perf_counter()
    try:
        # The data, the device and the networks are ready: only now may an old run in --out
        # make way (it is put back if this one stops before its first checkpoint).
        with folder.replacing():
            history = trainer.train(data.points, args.epochs, args.batch_size, on_epoch=on_epoch,
                                    checkpoint_dir=out, checkpoint_every=max(1, args.epochs // 10),
                                    keep_every=args.keep_every)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(f"at step {trainer.steps_done} of {steps}; "
                                f"{interrupted_folder_text(folder)}") from None
    seconds = time.perf_counter() - t0

    title = f"{args.data}, {args.loss} loss, k={args.k}"
    plot_snapshots(data.points, snapshots, os.path.join(out, "samples.png"), title)
    plot_history(history, os.path.join(out, "curves.png"), title)
    figures, line = quality(args.data,
                            sampler.sample(2500, minigan.Random(args.seed + 2, args.device)), data)
    settings = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(args).items()}
    timing = trainer.timing
    record = {"args": settings, "steps": steps, "seconds": round(seconds, 2),
              "seconds_saving": round(timing.other_seconds, 2),
              "ms_per_step": round(timing.ms_per_step, 3), "quality": figures}
    cli.write_json(os.path.join(out, "run.json"), record)
    print(f"done in {seconds:.1f} s ({timing.ms_per_step:.2f} ms/step; "
          f"{timing.other_seconds:.1f} s of it saving). Quality on 2500 samples:")
    print("  " + line)
    if replay is not None:
        replay.write(history, args.html)
    return record


if __name__ == "__main__":
    cli.run(main, "gan_2d.py")
