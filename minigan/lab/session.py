"""One game of the lab: the networks, the trainer that updates them, the data, and what the page
shows of them.

The buttons call the trainer's own two updates (gan/trainer.py): "D update" is
trainer.discriminator_step on a fresh real minibatch, "G update" trainer.generator_step, and
"step" is k D updates then one G update -- Algorithm 1's loop body, the same calls in the same
order as GANTrainer.train_step, so a lab run is the run the library trains (a test checks it
number for number). Around each update the session keeps the networks' weights from before, to
say what moved (the tracer's facts, minigan/trace.py) and to undo an update whose loss or
weights are not finite: the run then pauses with a message instead of drawing NaNs.
"""
import math
import warnings

from .. import backend
from ..data import Toy2D, make_2d
from ..functions import sigmoid
from ..gan import Discriminator, GANTrainer, Generator
from ..gan.losses import CRITIC_LOSSES
from ..metrics import mode_metrics
from ..optim import Adam
from ..random import Random, manual_seed
from ..trace import grad_norm, max_change, same_state
from . import views
from .settings import MAX_REPEAT, LabInputError, Settings, max_repeats, updated

G_HIDDEN, D_HIDDEN = (64, 64), (128, 128)     # examples/gan_2d.py's networks
FAKE_POINTS = 512                             # generated samples drawn, with their arrows
REAL_POINTS_SHOWN = 1000
DRAWN_NOISE = 0.02                            # std of the noise around each drawn point
MAX_EVENTS = 200                              # chart markers kept (the latest)
EMPTY_LAYERS = {"real": [], "fake": [], "arrows": {"vectors": [], "longest": 0.0},
                "heatmap": [], "latent": [], "field": {"points": [], "vectors": [],
                                                       "longest": 0.0}}
# The lab's own word on WGAN without a penalty (the trainer's warning also names spectral
# normalisation, which the page cannot set; the gradient penalty it can).
WGAN_NOTICE = ("wgan without a penalty leaves the critic unconstrained: its scores grow without "
               "bound and the Wasserstein estimate means nothing. Set 'penalty on D' to gp "
               "(WGAN-GP's gradient penalty; its paper weighs it with γ = 10)")


class LabSession:
    """The lab's one training state. act("d" | "g" | "step" | "reset"), configure(changes) and
    state() are what the server calls, one request at a time."""

    def __init__(self, settings=None, *, seed=0, device="cpu", n=1024):
        self.seed, self.device, self.n = seed, backend.check_device(device), n
        self.settings = settings or Settings()
        self.run = self.data_version = 0
        self.start()

    # --- a new game ------------------------------------------------------------------------------
    def start(self):
        """Fresh networks and optimisers from the seed (the same start every time)."""
        after = getattr(self, "updates", None)
        self.run += 1
        manual_seed(self.seed)                          # the networks' initial weights
        self.G = Generator(2, 2, hidden=G_HIDDEN).to(self.device)
        self.D = Discriminator(2, hidden=D_HIDDEN).to(self.device)
        self.g_optimizer = Adam(self.G.parameters(), lr=self.settings.lr_g)
        self.d_optimizer = Adam(self.D.parameters(), lr=self.settings.lr_d)
        self.use_data(self.settings)
        self.trainer = self.make_trainer(Random(self.seed, self.device))
        # The same latent points at every frame, so the page shows each sample moving.
        self.fixed_z = self.G.sample_latent(FAKE_POINTS, Random(self.seed + 1, self.device))
        self.z_grid = views.latent_grid(backend.xp_of_device(self.device))
        self.updates = self.d_updates = self.g_updates = 0
        self.history = []       # one row per update
        self.last = []          # what the last action's updates did, in words
        self.paused = None      # why the run is paused (a non-finite loss), else None
        self.shown_layers = None  # the last finite picture (layers())
        # Where the charts get a marker: a change of data or settings, and a reset (the
        # charts start again from update 0, so its marker stands there).
        self.events = [] if after is None else [
            {"update": 0, "kind": "reset",
             "text": f"reset after {after} updates: new networks from seed {self.seed}"}]

    def use_data(self, settings):
        self.data_version += 1              # the page asks for the real points again
        if settings.data == "drawn":
            self.data = self.drawn_data(settings.points)
            if not hasattr(self, "bounds"):         # drawn from the start: frame the points
                self.bounds = square_bounds(backend.to_numpy(self.data.points))
        else:
            self.data = make_2d(settings.data, self.n, seed=self.seed, device=self.device)
            self.bounds = square_bounds(backend.to_numpy(self.data.points))

    def drawn_data(self, points):
        """The drawn points as a data set: each one repeated to at least n points in all, with a
        little noise, so a handful of clicks still gives minibatches of distinct samples. The
        view stays where the points were drawn."""
        xp = backend.xp_of_device(self.device)
        drawn = xp.asarray(points, dtype="float32")
        copies = max(1, math.ceil(self.n / len(points)))
        rng = Random(self.seed + 3, self.device)       # its own stream: the noise
        repeated = xp.concatenate([drawn] * copies, axis=0)
        return Toy2D("drawn", repeated + rng.normal(repeated.shape, std=DRAWN_NOISE))

    def data_size(self, settings):
        if settings.data == "drawn":
            return max(1, math.ceil(self.n / len(settings.points))) * len(settings.points)
        return self.n

    def make_trainer(self, rng):
        """A GANTrainer for the current settings around the networks and optimisers (a warning
        it gives, e.g. WGAN without a penalty, becomes the page's notice)."""
        s = self.settings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            trainer = GANTrainer(self.G, self.D, self.g_optimizer, self.d_optimizer, k=s.k,
                                 generator_loss=s.loss, seed=self.seed,
                                 penalty=None if s.penalty == "none" else s.penalty,
                                 gamma=s.gamma)
        trainer.rng = rng                       # the same stream of minibatches and noise
        notices = [str(w.message) for w in caught]
        if s.loss == "wgan" and s.penalty == "none":
            notices = [n for n in notices if "wgan" not in n.lower()] + [WGAN_NOTICE]
        self.notice = "; ".join(notices) or None
        return trainer

    # --- what the controls do --------------------------------------------------------------------
    def configure(self, changes):
        """Apply settings from the page (checked in settings.py) between updates. The networks
        and optimisers keep their state: a new loss or data set takes over where the game is."""
        new = updated(self.settings, changes, self.data_size)
        data_changed = (new.data, new.points) != (self.settings.data, self.settings.points)
        self.mark(changes_in_words(self.settings, new), "data" if data_changed else "settings")
        self.settings = new
        if data_changed:
            self.use_data(new)
        self.g_optimizer.lr, self.d_optimizer.lr = new.lr_g, new.lr_d
        self.trainer = self.make_trainer(self.trainer.rng)
        self.paused = None

    def act(self, action, repeat=1):
        """"d": one D update; "g": one G update; "step": k D updates and one G update;
        "reset": start again. `repeat` runs the action that many times (for play)."""
        if action == "reset":
            self.start()
            return
        if action not in ("d", "g", "step"):
            raise LabInputError(f"action: expected one of d, g, step, reset, got {action!r}")
        if isinstance(repeat, bool) or not isinstance(repeat, int) or \
                not 1 <= repeat <= MAX_REPEAT:
            raise LabInputError(f"repeat: expected a whole number from 1 to {MAX_REPEAT}, "
                                f"got {repeat!r}")
        if self.paused:
            raise LabInputError(f"the run is paused: {self.paused}")
        for _ in range(repeat):
            self.last = []                  # the facts of the last repeat only
            phases = ["d"] * self.settings.k + ["g"] if action == "step" else [action]
            for phase in phases:
                if not self.update(phase):
                    return

    def mark(self, text, kind):
        """A marker on the charts at the current update: kind "data", "settings" or "reset".
        Changes between the same two updates share one marker ("data" if any was)."""
        if not text:
            return
        last = self.events[-1] if self.events else None
        if last and last["update"] == self.updates and last["kind"] != "reset":
            last["text"] += "; " + text
            last["kind"] = "data" if "data" in (kind, last["kind"]) else kind
        else:
            self.events.append({"update": self.updates, "kind": kind, "text": text})
            del self.events[:-MAX_EVENTS]

    def update(self, phase):
        """One D ("d") or G ("g") update through the trainer; False if it was undone."""
        before = self.keep()
        trainer, m = self.trainer, self.settings.batch_size
        if phase == "d":
            real, _ = trainer.real_batch(self.data.points, m)
            step = trainer.discriminator_step(real)
            parts = [step.real_loss, step.fake_loss, step.penalty]
            row = {"d_loss": sum(_number(p) for p in parts if p is not None),
                   "d_real": _mean_sigmoid(step.real_logits),
                   "d_fake": _mean_sigmoid(step.fake_logits)}
            scores = (_mean(step.real_logits), _mean(step.fake_logits))
        else:
            step = trainer.generator_step(m)
            trainer.steps_done += 1
            row = {"g_loss": _number(step.loss), "g_fake": _mean_sigmoid(step.logits)}
            scores = (_mean(step.logits),)
        bad = [name for name, value in row.items() if not math.isfinite(value)]
        if bad or not self.finite_weights():
            self.restore(before)
            what = f"{bad[0]} = {row[bad[0]]}" if bad else "a weight became non-finite"
            self.paused = (f"{what} in the {'D' if phase == 'd' else 'G'} update after "
                           f"{self.updates} updates: that update was undone; lower the "
                           f"learning rates, change the loss or reset, then go on")
            return False
        self.updates += 1
        if phase == "d":
            self.d_updates += 1
        else:
            self.g_updates += 1
            row.update(self.quality())
        self.history.append({"update": self.updates, "phase": phase, **_rounded_dict(row)})
        self.last.append(self.facts(phase, before, row, scores))
        return True

    # --- keeping and undoing ---------------------------------------------------------------------
    def keep(self):
        """Everything an update changes (host copies): to say what moved, and to undo it."""
        return {"G": self.G.state_dict(), "D": self.D.state_dict(),
                "g_opt": self.g_optimizer.state_dict(), "d_opt": self.d_optimizer.state_dict(),
                "rng": self.trainer.rng.get_state(), "steps_done": self.trainer.steps_done,
                "d_updates": self.trainer.d_updates}

    def restore(self, kept):
        """Undo an update: back to what keep() saw (on the GPU the random stream goes on:
        CuPy's generators do not export their state)."""
        self.G.load_state_dict(kept["G"])
        self.D.load_state_dict(kept["D"])
        self.g_optimizer.load_state_dict(kept["g_opt"])
        self.d_optimizer.load_state_dict(kept["d_opt"])
        if kept["rng"] is not None:
            self.trainer.rng.set_state(kept["rng"])
        self.trainer.steps_done, self.trainer.d_updates = kept["steps_done"], kept["d_updates"]

    def finite_weights(self):
        xp = backend.xp_of_device(self.device)
        return all(bool(xp.isfinite(p.data).all())
                   for p in self.G.parameters() + self.D.parameters())

    # --- what the page shows ---------------------------------------------------------------------
    def facts(self, phase, before, row, scores):
        """What the update did, in words: its loss, D's verdicts, the gradient's norm and which
        network moved (the tracer's checks: the G step must leave D as it was). A critic's
        verdict is its score (wgan, hinge): said as that, with the sigmoid the charts show."""
        critic = self.settings.loss in CRITIC_LOSSES
        if phase == "d":
            moved, still, name = self.D, self.G, "D"
            verdicts = (f"mean critic score: {scores[0]:.3f} on real x, {scores[1]:.3f} on G(z) "
                        f"(sigmoid: {row['d_real']:.3f}, {row['d_fake']:.3f})" if critic else
                        f"mean D(x) = {row['d_real']:.3f}, mean D(G(z)) = {row['d_fake']:.3f}")
            lines = [f"L_D = {row['d_loss']:.4f}", verdicts]
        else:
            moved, still, name = self.G, self.D, "G"
            lines = [f"L_G = {row['g_loss']:.4f} ({self.settings.loss})",
                     f"mean critic score of G(z) = {scores[0]:.3f} (sigmoid: "
                     f"{row['g_fake']:.3f})" if critic else
                     f"mean D(G(z)) = {row['g_fake']:.3f}"]
        other = "G" if name == "D" else "D"
        after_moved, after_still = moved.state_dict(), still.state_dict()
        lines += [f"|dL_{name}/d(weights of {name})| = {grad_norm(moved.parameters()):.4g}",
                  f"{name}'s weights moved by at most "
                  f"{max_change(before[name], after_moved):.3g}",
                  f"{other} unchanged in the {name} update: "
                  f"{same_state(before[other], after_still)}"]
        return {"title": f"{name} update {self.d_updates if name == 'D' else self.g_updates}",
                "lines": lines}

    def quality(self):
        """The mode figures of the drawn samples, for the ring and the grid (and their number of
        modes: a row stays readable after the data set changes)."""
        if self.data.centres is None:
            return {}
        samples = self.G.sample_with(self.fixed_z)
        return {**mode_metrics(samples, self.data.centres, self.data.std),
                "mode_total": len(self.data.centres)}

    def layers(self, wanted=None, heatmap_cells=views.HEATMAP_CELLS):
        """The layers of the plane (all, or the names in `wanted`), as lists for JSON (views.py
        computes them). Should a network give a non-finite value, the run pauses and the page
        keeps the last finite picture: JSON has no NaN, and a learner should see a message,
        not a blank plane."""
        arrays = views.plane(self.G, self.D, self.settings.loss, self.bounds, self.fixed_z,
                             self.z_grid, wanted, heatmap_cells)
        xp = backend.xp_of_device(self.device)
        if not all(bool(xp.isfinite(a).all()) for a in arrays.values()):
            self.paused = self.paused or ("the networks give non-finite values (the picture "
                                          "is the last finite one): reset, or lower the "
                                          "learning rates")
            return self.shown_layers or EMPTY_LAYERS
        layers = layers_for_json(arrays)
        if wanted is None or "real" in wanted:
            layers = {"real": rounded_list(self.data.points[:REAL_POINTS_SHOWN], 3), **layers}
        self.shown_layers = {**(self.shown_layers or {}), **layers}
        return layers

    def state(self, since=0, layers=None, heatmap_cells=views.HEATMAP_CELLS):
        """Everything the page draws: the counters, the settings, the layers (all, or those
        named in `layers`), the history rows from `since` on, the last action's facts, and the
        markers for the charts. data_version changes with the data (the page keeps the real
        points until then); max_repeat is the most steps Play may ask for in one request."""
        since = since if 0 <= since <= len(self.history) else 0
        return {"run": self.run, "updates": self.updates, "d_updates": self.d_updates,
                "g_updates": self.g_updates, "settings": self.settings.public(),
                "drawn_points": self.settings.points, "bounds": list(self.bounds),
                "modes": None if self.data.centres is None else len(self.data.centres),
                "critic": self.settings.loss in CRITIC_LOSSES,
                "data_version": self.data_version, "max_repeat": max_repeats(self.settings),
                "paused": self.paused, "notice": self.notice,
                "layers": self.layers(layers, heatmap_cells), "events": self.events,
                "history_from": since, "history": self.history[since:], "last": self.last}


def layers_for_json(arrays):
    """views.plane()'s arrays as rounded lists (3 decimals: a thousandth of the ring's radius),
    the arrows scaled to the longest; only the layers computed."""
    layers = {"fake": rounded_list(arrays["fake"], 3)}
    if "push" in arrays:
        layers["arrows"] = _unit_scaled(arrays["push"])
    if "heatmap" in arrays:
        layers["heatmap"] = rounded_list(arrays["heatmap"], 3)
    if "latent" in arrays:
        layers["latent"] = rounded_list(arrays["latent"], 3)
    if "field" in arrays:
        layers["field"] = {"points": rounded_list(arrays["field_points"], 3),
                           **_unit_scaled(arrays["field"])}
    return layers


def changes_in_words(old, new):
    """What changed from settings `old` to `new`, for the charts' marker: "data ring → sine,
    lr_d 0.001 → 0.01" ("" if nothing did)."""
    def data_name(s):
        return f"drawn ({len(s.points)} points)" if s.data == "drawn" else s.data

    words = []
    if (old.data, old.points) != (new.data, new.points):
        words.append(f"data {data_name(old)} → {data_name(new)}" if old.data != new.data or
                     old.data != "drawn" else f"new drawn points ({len(new.points)})")
    for name in ("loss", "k", "lr_d", "lr_g", "batch_size", "penalty", "gamma"):
        was, now = getattr(old, name), getattr(new, name)
        if was != now:
            words.append(f"{name} {was:g} → {now:g}" if isinstance(was, (int, float))
                         else f"{name} {was} → {now}")
    return ", ".join(words)


def square_bounds(points, margin=1.3, smallest=0.5):
    """(xmin, xmax, ymin, ymax): a square around the points, `margin` times their extent."""
    low, high = points.min(axis=0), points.max(axis=0)
    centre = (low + high) / 2
    half = max(float((high - low).max()) / 2 * margin, smallest)
    return (float(centre[0]) - half, float(centre[0]) + half,
            float(centre[1]) - half, float(centre[1]) + half)


def _number(t):
    return float(t.data)


def _mean_sigmoid(logits):
    return float(sigmoid(logits).data.mean())


def _mean(logits):
    return float(logits.data.mean())


def rounded_list(array, decimals):
    return backend.to_numpy(array).astype("float64").round(decimals).tolist()


def _rounded_dict(row):
    return {k: round(v, 5) if isinstance(v, float) else v for k, v in row.items()}


def _unit_scaled(vectors):
    """{"vectors": the vectors divided by the longest one's length, "longest": that length}: the
    page draws directions and relative sizes; the scale is printed beside the layer."""
    host = backend.to_numpy(vectors).astype("float64")
    longest = float(((host ** 2).sum(axis=1) ** 0.5).max()) if len(host) else 0.0
    scaled = host / longest if longest > 0 else host
    return {"vectors": scaled.round(4).tolist(), "longest": longest}
