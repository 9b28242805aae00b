"""What happened at every training step, kept on the host for logs, plots and CSV files."""
import math

from ..functions import stable_sigmoid
from ..io import atomic_write

COLUMNS = ("step", "d_real", "d_fake", "g", "d_x", "d_g_z")
# d_real, d_fake: the two parts of D's loss, BCE(D(x), 1) and BCE(D(G(z)), 0), at the last of
#                 the step's k discriminator updates (before it was applied);
# g:              the generator's loss at its update;
# d_x, d_g_z:     mean D(x) and mean D(G(z)) on that discriminator batch. At the game's
#                 equilibrium both are 1/2, and D's loss is ln 4 = 1.386.
CLASS_COLUMNS = ("d_real_class", "d_fake_class", "g_class")
# For a class-conditional GAN (AC-GAN): the class cross-entropy terms of the same three losses
# (D's class head on real samples, on generated ones, and G's "be recognised as your class").


def row_of(d_step, g_step):
    """One step's figures, in the order of the columns after "step", as device scalars: reading
    them on the host would wait for the GPU at every step. d_step is the step's last D update
    (a trainer.DiscriminatorStep), g_step its G update (a trainer.GeneratorStep)."""
    row = [d_step.real_loss.data, d_step.fake_loss.data, g_step.loss.data,
           stable_sigmoid(d_step.real_logits.data).mean(),
           stable_sigmoid(d_step.fake_logits.data).mean()]
    if g_step.class_loss is not None:
        row += [d_step.real_class_loss.data, d_step.fake_class_loss.data, g_step.class_loss.data]
    return row


class History:
    def __init__(self, conditional=False):
        names = COLUMNS + (CLASS_COLUMNS if conditional else ())
        self.columns = {name: [] for name in names}

    def __len__(self):
        return len(self.columns["step"])

    def __getitem__(self, name):
        return self.columns[name]

    @property
    def names(self):
        return tuple(self.columns)

    def append_rows(self, first_step, rows):
        """rows: one list of values per step from first_step, in the order of names[1:]."""
        names = self.names[1:]
        for i, row in enumerate(rows):
            self.columns["step"].append(first_step + i)
            for name, value in zip(names, row):
                self.columns[name].append(value)

    def last(self, name, n=1):
        """Mean of the last n values of a column."""
        values = self.columns[name][-n:]
        return sum(values) / len(values) if values else math.nan

    def save_csv(self, path):
        def write(f):
            f.write((",".join(self.names) + "\n").encode())
            for row in zip(*self.columns.values()):
                f.write((f"{row[0]}," + ",".join(f"{v:.6g}" for v in row[1:]) + "\n").encode())
        atomic_write(path, write)
