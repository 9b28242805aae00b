"""Sample from a saved generator: a function, and a small command line.

    python -m minigan.sample runs/dcgan_digits/generator.npz --n 64 --out samples.png
    python -m minigan.sample runs/acgan_fashion/generator.npz --label 7 --n 16   # sneakers

The file holds the generator's class and sizes beside its weights (Module.save), so nothing else
is needed. Sampling runs in eval mode: BatchNorm uses its running statistics.
"""
import os
import warnings

from . import backend, cli
from .gan import GeneratorBase, describe, load_model
from .io import load_arrays, save_array
from .plots import plot_image_grid, plot_snapshots
from .random import Random
from .tensor import Tensor


def sample(path, n, label=None, seed=0, device="cpu"):
    """n samples (a Tensor on `device`) from the generator saved at `path`; for a conditional
    generator, all of class `label` (random classes when label is None). Samples that are not
    finite are refused (ValueError), not returned."""
    G = load_model(path, device)
    if not isinstance(G, GeneratorBase):
        raise ValueError(f"{path} holds a {type(G).__name__}, not a generator: give the "
                         f"generator.npz of a run")
    rng = Random(seed, device)
    labels = None
    if G.num_classes:
        if label is not None and not 0 <= label < G.num_classes:
            raise ValueError(f"sample: label {label} is not a class of this generator "
                             f"(0 to {G.num_classes - 1})")
        if label is None:
            labels = G.sample_labels(n, rng)
        else:
            labels = Tensor(backend.xp_of_device(device).full((n,), label, dtype="int64"))
    elif label is not None:
        raise ValueError("sample: --label given, but this generator is not class-conditional")
    with warnings.catch_warnings():
        # NumPy's "overflow encountered in matmul" would name minigan's insides; the check
        # below names the file instead.
        warnings.filterwarnings("ignore", "(overflow|invalid value) encountered", RuntimeWarning)
        samples = G.sample(n, rng, labels=labels)
    # load_model refuses non-finite weights, so only an overflow gets here (finite weights
    # too large for float32). One pass over the samples: cheap next to the network that made them.
    xp = backend.get_array_module(samples.data)
    if not bool(xp.isfinite(samples.data).all()):
        raise ValueError(f"{path}: the generator's samples are not finite (NaN or infinity): "
                         f"its weights are finite but overflow float32")
    return samples


OUTPUTS = (".png", ".pdf", ".svg", ".jpg", ".npy")    # an image grid, or the samples' array


def main(argv=None):
    """The command line; errors give one line ("minigan.sample: error: ...")."""
    return cli.run(_main, "python -m minigan.sample", argv)


def _main(argv):
    p = cli.parser("python -m minigan.sample", __doc__.split("\n")[0])
    p.add_argument("generator", help="a generator.npz written by training")
    p.add_argument("--n", type=cli.positive_int, default=64, help="how many samples")
    p.add_argument("--label", type=cli.non_negative_int, default=None,
                   help="class to draw (conditional G)")
    p.add_argument("--seed", type=cli.non_negative_int, default=0)
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--out", default="samples.png",
                   help=f"image grid or 2-D scatter plot, or array file: one of {OUTPUTS}")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    args = p.parse_args(argv)
    if os.path.isdir(args.generator):
        p.error(f"{args.generator} is a folder; give the generator.npz in it")
    if not os.path.isfile(args.generator):
        p.error(f"{args.generator}: no such file")
    cli.check_new_file(p, "--out", args.out, args.overwrite, OUTPUTS)
    samples = sample(args.generator, args.n, args.label, args.seed, args.device)
    if args.out.lower().endswith(".npy"):
        save_array(args.out, samples.numpy())
    elif samples.ndim == 4:
        plot_image_grid(samples, args.out, columns=min(args.n, 8))
    else:
        plot_snapshots(None, [(f"{args.n} samples", samples)], args.out)
    print(f"{args.n} samples of shape {samples.shape[1:]} written to {args.out}, from "
          f"{args.generator}: {describe(load_arrays(args.generator))}")


if __name__ == "__main__":
    main()
