"""AC-GAN on Fashion-MNIST (or the 8x8 digits, offline): a GAN you can ask for a class.

    python examples/acgan_fashion_mnist.py --digits --epochs 100
    python examples/acgan_fashion_mnist.py --download --device gpu      # Fashion-MNIST
    python examples/acgan_fashion_mnist.py --digits --conditioning acgan  # the tutorial's recipe

The loop of the Keras tutorial this project follows: batch 64 means D is updated twice per
step, on 32 real images (label "real", their true classes) and then on 32 generated ones
(label "fake", the classes they were drawn for); then G is updated once on 64 latent points with
random classes, target "real" and those classes, through a D that does not change. Every
--sample-every epochs (10 by default) it saves a grid with one named row per class, the
generator and a full checkpoint. The networks are in minigan/gan/acgan.py.

--conditioning picks how D is told the class (minigan/gan/conditioning.py): "acgan", the
tutorial's class head, trained on real and generated images (each class collapses to nearly
one image); "tac", TAC-GAN's twin class heads; "projection", a D that takes the class into its
logit (minigan/gan/projection.py). Each comes with the learning rate and the average of G's
weights it was measured with (RECIPES); --lr, --g-average and --no-g-average override them.
With an average, the grids sample it, and generator_average.npz is the generator to sample.
"""
from image_gan_common import (apply_recipe, claim_output, conditioning_of, load_images,
                              main_guard, parse_args, penalty_options, run)

import minigan
from minigan.gan import ACGANGenerator, GANTrainer
from minigan.gan.conditioning import discriminator_for
from minigan.optim import Adam

# Measured on the 8x8 digits, 100 epochs, seeds 0-2 (benchmarks/results/
# acgan_conditioning_digits.md): the default kept the label agreement above 95 % in every seed
# with the most variety within each class.
CONDITIONING = "projection"
RECIPES = {"acgan": dict(lr=2e-4, g_average=None),          # the Keras tutorial's
           "tac": dict(lr=2e-4, g_average=None),
           "projection": dict(lr=6e-4, g_average=0.999)}


def main(argv=None):
    args, parser = parse_args("acgan_fashion_mnist.py", __doc__.split("\n")[0], "fashion", argv,
                              conditional=True, lr=None)
    name = "acgan_" + ("digits" if args.digits else "synthetic" if args.synthetic else "fashion")
    folder = claim_output(parser, args, name)     # checked; touched when training starts
    conditioning = args.conditioning = conditioning_of(args, CONDITIONING)   # for run.json
    apply_recipe(args, RECIPES[conditioning])     # --lr and --g-average, where not given
    images, labels, names, size = load_images(args)
    minigan.manual_seed(args.seed)
    # 32: the tutorial's channel counts; 8 for the 8x8 digits
    width = args.width if args.width is not None else (32 if size == 28 else 8)
    options, batch_norm = penalty_options(args)
    G = ACGANGenerator(latent_dim=100, num_classes=10, image_size=size, width=width)
    D = discriminator_for(conditioning, num_classes=10, image_size=size, width=width,
                          batch_norm=batch_norm)
    G, D = G.to(args.device), D.to(args.device)
    trainer = GANTrainer(G, D, Adam(G.parameters(), args.lr), Adam(D.parameters(), args.lr),
                         d_update="split", generator_loss="non-saturating", seed=args.seed,
                         conditioning=conditioning, **options)
    return run(args, folder, name, trainer, images, labels, names, conditional=True)


if __name__ == "__main__":
    main_guard(main)
