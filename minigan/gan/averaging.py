"""A running average of a network's weights, to sample from instead of the last iterate.

GAN training does not settle at a point: with a fixed step size the two players' weights keep
circling and jittering around an equilibrium (schedule.py says why). The last iterate is one
point of that orbit; an average of the recent iterates lies nearer its centre. Yazici et al.
(2019, "The Unusual Effectiveness of Averaging in GAN Training") sample from an exponential
moving average (EMA) of G's weights and get better samples at no cost to training: the
average is never trained and never fed back into the game, only read.

    trainer = GANTrainer(G, D, g_average=0.999)     # updates the average after every step
    trainer.train(data, epochs, batch_size)
    samples = trainer.g_average.model.sample(2500)  # a copy of G with the averaged weights

(``python examples/gan_2d.py --g-average 0.999`` samples and saves it.) By hand:
``average = WeightAverage(G, 0.999)``, then ``average.update()`` after each step.

After update number t, for each parameter with live value w:

    a <- beta_t a + (1 - beta_t) w,     beta_t = min(decay, (1 + t) / (10 + t))

so a is a weighted mean of the iterates, weight (1 - decay) decay^s on the one s updates ago:
an average over the last ~1 / (1 - decay) updates. The warm-up (beta_t small at first, as in
TensorFlow's ExponentialMovingAverage with num_updates) keeps the random initial weights from
lingering: with beta_t = 0.999 from the start they would still weigh e^-1 after 1 000 updates.
BatchNorm's running statistics are averaged the same way; they are what the averaged copy
normalises with in eval mode, where samples are drawn.

The average is plain array arithmetic on copies, outside any graph: nothing here has a
gradient, so there is no backward rule to check (tests/test_averaging.py checks the formula).
"""
import copy


class WeightAverage:
    """An exponential moving average of `model`'s parameters and buffers, kept in a copy."""

    def __init__(self, model, decay=0.999):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"WeightAverage: decay must be in (0, 1), got {decay}")
        self.source, self.decay, self.updates = model, decay, 0
        self.model = copy.deepcopy(model)          # same architecture, arrays of its own
        for p in self.model.parameters():
            p.requires_grad = False                # read only: never trained
            p.grad = None
        # (average, live) Tensor pairs, walked once: update() runs every training step.
        self._pairs = list(zip(self.model.parameters(), model.parameters()))

    def update(self):
        """Fold the source's current weights into the average; returns beta_t."""
        self.updates += 1
        t = self.updates
        beta = min(self.decay, (1 + t) / (10 + t))
        for average, live in self._pairs:
            average.data *= beta
            average.data += (1 - beta) * live.data
            average.mark_modified()
        for (_, average), (_, live) in zip(self.model.named_buffers(),
                                           self.source.named_buffers()):
            average *= beta                        # in place: the module's own buffer array
            average += (1 - beta) * live
        return beta
