"""AC-GAN on Fashion-MNIST (or the 8x8 digits, offline): a GAN you can ask for a class.

    python examples/acgan_fashion_mnist.py --digits --epochs 100
    python examples/acgan_fashion_mnist.py --download --device gpu      # the tutorial's run

The recipe of the Keras tutorial this project follows: batch 64 means D is updated twice per
step, on 32 real images (label "real", their true classes) and then on 32 generated ones
(label "fake", the classes they were drawn for); then G is updated once on 64 latent points with
random classes, target "real" and those classes, through a D that does not change. Every
--sample-every epochs (10 by default) it saves a grid with one named row per class, the
generator and a full checkpoint. The networks are in minigan/gan/acgan.py.
"""
from image_gan_common import (claim_output, load_images, main_guard, parse_args,
                              penalty_options, run)

import minigan
from minigan.gan import ACGANDiscriminator, ACGANGenerator, GANTrainer
from minigan.optim import Adam


def main(argv=None):
    args, parser = parse_args("acgan_fashion_mnist.py", __doc__.split("\n")[0], "fashion", argv,
                              conditional=True)
    name = "acgan_" + ("digits" if args.digits else "synthetic" if args.synthetic else "fashion")
    folder = claim_output(parser, args, name)     # checked; touched when training starts
    images, labels, names, size = load_images(args)
    minigan.manual_seed(args.seed)
    # 32: the tutorial's channel counts; 8 for the 8x8 digits
    width = args.width if args.width is not None else (32 if size == 28 else 8)
    options, batch_norm = penalty_options(args)
    G = ACGANGenerator(latent_dim=100, num_classes=10, image_size=size, width=width)
    D = ACGANDiscriminator(num_classes=10, image_size=size, width=width, batch_norm=batch_norm)
    G, D = G.to(args.device), D.to(args.device)
    trainer = GANTrainer(G, D, Adam(G.parameters(), args.lr), Adam(D.parameters(), args.lr),
                         d_update="split", generator_loss="non-saturating", seed=args.seed,
                         **options)
    return run(args, folder, name, trainer, images, labels, names, conditional=True)


if __name__ == "__main__":
    main_guard(main)
