"""What happened at every training step, kept on the host for logs, plots and CSV files."""
import math

from ..io import atomic_write

COLUMNS = ("step", "d_real", "d_fake", "g", "d_x", "d_g_z")
# d_real, d_fake: the two parts of D's loss, BCE(D(x), 1) and BCE(D(G(z)), 0), at the last of
#                 the step's k discriminator updates (before it was applied);
# g:              the generator's loss at its update;
# d_x, d_g_z:     mean D(x) and mean D(G(z)) on that discriminator batch. At the game's
#                 equilibrium both are 1/2, and D's loss is ln 4 = 1.386.


class History:
    def __init__(self):
        self.columns = {name: [] for name in COLUMNS}

    def __len__(self):
        return len(self.columns["step"])

    def __getitem__(self, name):
        return self.columns[name]

    def append_rows(self, first_step, rows):
        """rows: a list of [d_real, d_fake, g, d_x, d_g_z] lists, one per step from first_step."""
        for i, row in enumerate(rows):
            self.columns["step"].append(first_step + i)
            for name, value in zip(COLUMNS[1:], row):
                self.columns[name].append(value)

    def last(self, name, n=1):
        """Mean of the last n values of a column."""
        values = self.columns[name][-n:]
        return sum(values) / len(values) if values else math.nan

    def save_csv(self, path):
        def write(f):
            f.write((",".join(COLUMNS) + "\n").encode())
            for row in zip(*(self.columns[c] for c in COLUMNS)):
                f.write((f"{row[0]}," + ",".join(f"{v:.6g}" for v in row[1:]) + "\n").encode())
        atomic_write(path, write)
