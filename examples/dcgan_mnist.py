"""DCGAN on MNIST (or scikit-learn's 8x8 digits, offline), trained by Algorithm 1.

    python examples/dcgan_mnist.py --digits --epochs 100            # a few minutes on a CPU
    python examples/dcgan_mnist.py --download --device gpu          # MNIST, 28x28

Every --sample-every epochs and at the end it saves an 8x8 grid of samples from fixed latent
points, generator.npz and a full checkpoint.npz (resume with --resume); then curves.png.
The networks are in minigan/gan/dcgan.py (for 28x28, the speed benchmark's W3 pair).
"""
from image_gan_common import (claim_output, load_images, main_guard, parse_args,
                              penalty_options, run)

import minigan
from minigan.gan import DCGANDiscriminator, DCGANGenerator, GANTrainer
from minigan.optim import Adam


def main(argv=None):
    args, parser = parse_args("dcgan_mnist.py", __doc__.split("\n")[0], "mnist", argv)
    name = "dcgan_" + ("digits" if args.digits else "synthetic" if args.synthetic else "mnist")
    folder = claim_output(parser, args, name)     # checked; touched when training starts
    images, labels, names, size = load_images(args)
    minigan.manual_seed(args.seed)
    # 64: DCGAN's 28x28 pair; 32 for the 8x8 digits
    width = args.width if args.width is not None else (64 if size == 28 else 32)
    options, batch_norm = penalty_options(args)
    G = DCGANGenerator(latent_dim=100, image_size=size, width=width).to(args.device)
    D = DCGANDiscriminator(image_size=size, width=width, batch_norm=batch_norm).to(args.device)
    # Algorithm 1 as written: each D update sees m real and m generated images (two passes,
    # so BatchNorm normalises each batch on its own); non-saturating G loss; DCGAN's Adam.
    trainer = GANTrainer(G, D, Adam(G.parameters(), args.lr), Adam(D.parameters(), args.lr),
                         d_update="joint", generator_loss="non-saturating", seed=args.seed,
                         **options)
    return run(args, folder, name, trainer, images, labels, names, conditional=False)


if __name__ == "__main__":
    main_guard(main)
