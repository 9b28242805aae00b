"""Sample from a saved generator: a function, and a small command line.

    python -m minigan.sample runs/dcgan_digits/generator.npz --n 64 --out samples.png
    python -m minigan.sample runs/acgan_fashion/generator.npz --label 7 --n 16   # sneakers

The file holds the generator's class and sizes beside its weights (Module.save), so nothing else
is needed. Sampling runs in eval mode: BatchNorm uses its running statistics.
"""
import argparse
import sys

from . import backend
from .gan import load_model
from .io import save_array
from .plots import plot_image_grid, plot_snapshots
from .random import Random
from .tensor import Tensor


def sample(path, n, label=None, seed=0, device="cpu"):
    """n samples (a Tensor on `device`) from the generator saved at `path`; for a conditional
    generator, all of class `label` (random classes when label is None)."""
    G = load_model(path, device)
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
    return G.sample(n, rng, labels=labels)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m minigan.sample", description=__doc__.split("\n")[0])
    p.add_argument("generator", help="a generator.npz written by training")
    p.add_argument("--n", type=int, default=64, help="how many samples")
    p.add_argument("--label", type=int, default=None, help="class to draw (conditional G)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=("cpu", "gpu"), default="cpu")
    p.add_argument("--out", default="samples.png", help="image grid (.png) or array file (.npy)")
    args = p.parse_args(argv)
    try:
        samples = sample(args.generator, args.n, args.label, args.seed, args.device)
    except (OSError, ValueError, KeyError) as error:
        sys.exit(f"minigan.sample: error: {error}")
    if args.out.endswith(".npy"):
        save_array(args.out, samples.numpy())
    elif samples.ndim == 4:
        plot_image_grid(samples, args.out, columns=min(args.n, 8))
    else:
        plot_snapshots(samples, [("samples", samples)], args.out)
    print(f"{args.n} samples of shape {samples.shape[1:]} written to {args.out}")


if __name__ == "__main__":
    main()
