"""The lab's settings, and the checks every value from the browser passes before it is used.

A request that fails a check changes nothing: the server answers 400 with the message, which
the page shows. The limits keep a click from starting something that would take the server
down (a learning rate of 1e9, a million drawn points); they are wide enough for any experiment
the 2-D GANs make sense for.

The work one request may ask for is bounded too (check_work, the server's 413): an update costs
about its batch size plus a fixed share (copies of both networks to undo it, the mode figures),
so `updates x (batch size + UPDATE_ROWS)` must stay under MAX_WORK. The lab's networks have a
fixed size, so this is all a request can vary. The largest requests allowed took 0.3 to 1.6 s
on a 2-core CPU that was busy with other work (any batch size, k and penalty); the 2100 updates
of batch 1024 that the bound refuses took 25 s there. One step at the largest k and batch size
always fits; the page's Play asks for at most max_repeats(settings, "step") steps a request
(the state says how many), so it is never refused either.

A request for updates may also say which layers of the plane it wants drawn back, and on how
fine a heat map grid (check_picture): the page's Play asks for the layers it shows, on a coarser
heat map, so that its replies are small. Less to draw is never more work.
"""
import dataclasses
import math

from ..data import DATASETS
from ..gan.losses import GENERATOR_LOSSES
from ..gan.penalties import PENALTIES
from .views import HEATMAP_CELLS, LAYERS, MIN_HEATMAP_CELLS

DATA_CHOICES = DATASETS + ("drawn",)
# The games the page can draw: it reads D's output as a logit (D(x) = sigmoid) or a critic's
# score (sigmoid(score), its 1/2 at score 0). LSGAN's score has targets 0 (fake) and 1 (real)
# and its boundary at 1/2, which neither reading says: the lab refuses it (gan_2d.py trains it).
LAB_LOSSES = tuple(kind for kind in GENERATOR_LOSSES if kind != "lsgan")
NOT_IN_LAB = ("loss 'lsgan': the lab does not draw the least-squares game yet (its views read "
              "D's output as a logit or a critic's score); train it with "
              "examples/gan_2d.py --loss lsgan")
PENALTY_CHOICES = ("none",) + PENALTIES
MAX_K = 20
MAX_LR = 1.0
MAX_BATCH = 1024
MAX_GAMMA = 1000.0
MAX_DRAWN = 10_000           # drawn points
MAX_COORDINATE = 100.0       # |x|, |y| of a drawn point
MAX_WORK = 100_000           # updates x (batch size + UPDATE_ROWS) in one request
UPDATE_ROWS = 256            # an update's fixed cost, counted as that many more samples
MAX_REPEAT = 100             # repeats of an action in one request


class LabInputError(ValueError):
    """A value from the browser that the lab refuses (the server's 400)."""
    status = 400


class TooMuchWork(LabInputError):
    """A request that asks for more training than one request may (the server's 413)."""
    status = 413


@dataclasses.dataclass
class Settings:
    """What the controls set. data "drawn" trains on `points`, the points clicked on the plane."""
    data: str = "ring"
    loss: str = "non-saturating"
    k: int = 1
    lr_d: float = 1e-3
    lr_g: float = 1e-3
    batch_size: int = 64
    penalty: str = "none"
    gamma: float = 0.1
    points: list = None

    def __post_init__(self):
        # Settings made in code (python -m minigan.lab --loss ...) pass here, not through CHECKS.
        if self.loss == "lsgan":
            raise LabInputError(NOT_IN_LAB)

    def public(self):
        """The settings as the page shows them (the drawn points are sent with the data)."""
        values = dataclasses.asdict(self)
        values.pop("points")
        return values


def _loss(value):
    if value == "lsgan":
        raise LabInputError(NOT_IN_LAB)
    return _choice("loss", value, LAB_LOSSES)


def _choice(name, value, choices):
    if value not in choices:
        raise LabInputError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def _is_number(value):
    """A finite int or float, not a bool. Not math.isfinite alone: it raises on an int too large
    for a float (JSON allows 1 followed by 400 zeros), and int() raises on NaN and infinity."""
    return not isinstance(value, bool) and (isinstance(value, int) or (
        isinstance(value, float) and math.isfinite(value)))


def _integer(name, value, low, high):
    if not _is_number(value) or value != int(value) or not low <= value <= high:
        raise LabInputError(f"{name}: expected a whole number from {low} to {high}, "
                            f"got {value!r}")
    return int(value)


def _number(name, value, low, high, low_included=False):
    ok = (_is_number(value) and (low <= value if low_included else low < value)
          and value <= high)
    if not ok:
        bracket = "[" if low_included else "("
        raise LabInputError(f"{name}: expected a number in {bracket}{low:g}, {high:g}], "
                            f"got {value!r}")
    return float(value)


def _points(value):
    """Drawn points: a list of 1 to MAX_DRAWN pairs of finite numbers within the plane."""
    if not isinstance(value, list) or not value:
        raise LabInputError("points: expected a list of [x, y] pairs (click on the plane to "
                            "draw some), got " + ("an empty list" if value == [] else
                                                  type(value).__name__))
    if len(value) > MAX_DRAWN:
        raise LabInputError(f"points: at most {MAX_DRAWN} drawn points, got {len(value)}")
    for i, p in enumerate(value):
        if not (isinstance(p, list) and len(p) == 2 and all(
                _is_number(v) and abs(v) <= MAX_COORDINATE for v in p)):
            raise LabInputError(f"points[{i}]: expected [x, y] with |x|, |y| <= "
                                f"{MAX_COORDINATE:g}, got {p!r}")
    return [[float(x), float(y)] for x, y in value]


CHECKS = {
    "data": lambda v: _choice("data", v, DATA_CHOICES),
    "loss": _loss,
    "k": lambda v: _integer("k (D updates per step)", v, 1, MAX_K),
    "lr_d": lambda v: _number("lr_d (D's learning rate)", v, 0.0, MAX_LR),
    "lr_g": lambda v: _number("lr_g (G's learning rate)", v, 0.0, MAX_LR),
    "batch_size": lambda v: _integer("batch_size", v, 1, MAX_BATCH),
    "penalty": lambda v: _choice("penalty", v, PENALTY_CHOICES),
    "gamma": lambda v: _number("gamma (the penalty's weight)", v, 0.0, MAX_GAMMA,
                               low_included=True),
    "points": _points,
}


def updated(settings, changes, data_size):
    """A copy of `settings` with `changes` (a dict from the browser) applied, every value
    checked; `data_size(settings)` gives the size of the data set the new settings train on."""
    if not isinstance(changes, dict):
        raise LabInputError(f"settings: expected a JSON object, got {type(changes).__name__}")
    unknown = sorted(set(changes) - set(CHECKS))
    if unknown:
        raise LabInputError(f"unknown setting {unknown[0]!r}: expected some of "
                            f"{', '.join(CHECKS)}")
    values = {name: CHECKS[name](value) for name, value in changes.items()}
    new = dataclasses.replace(settings, **values)
    if new.data == "drawn" and new.points is None:
        raise LabInputError("data 'drawn' needs points: click on the plane to draw some")
    if new.data != "drawn":
        new.points = None
    n = data_size(new)
    if new.batch_size > n:
        raise LabInputError(f"batch_size {new.batch_size} is larger than the data set "
                            f"({n} points)")
    return new


def _work(settings, action):
    """The work of one "d", "g" or "step" (k D updates and a G update) at these settings."""
    per_repeat = settings.k + 1 if action == "step" else 1
    return per_repeat * (settings.batch_size + UPDATE_ROWS)


def max_repeats(settings, action="step"):
    """The most repeats of `action` one request may ask for at these settings (check_work's
    bound, and MAX_REPEAT): what the page's Play may send."""
    return max(1, min(MAX_REPEAT, MAX_WORK // _work(settings, action)))


def check_work(settings, action, repeat):
    """Refuse (TooMuchWork) an action that would hold the session longer than about a second:
    `repeat` times "d", "g" or "step" (k D updates and a G update) at these settings."""
    if action not in ("d", "g", "step") or isinstance(repeat, bool) or not isinstance(repeat, int):
        return                      # not work: session.act refuses it with its own message
    per_repeat = settings.k + 1 if action == "step" else 1
    work = repeat * _work(settings, action)
    if work > MAX_WORK:
        raise TooMuchWork(
            f"act: {repeat} x {action} at k {settings.k}, batch size {settings.batch_size} is "
            f"{repeat * per_repeat} updates, {work} units of work (updates x (batch size + "
            f"{UPDATE_ROWS})); one request may ask for at most {MAX_WORK} (about 1 s): send at "
            f"most {MAX_WORK // _work(settings, action)} repeats at these settings")


def check_picture(layers, heatmap_cells):
    """The layers a request wants drawn back (None: all of them) and the heat map's grid (a
    whole number from MIN_HEATMAP_CELLS to HEATMAP_CELLS): checked, as (tuple or None, int)."""
    if layers is not None:
        if not isinstance(layers, list) or not all(isinstance(name, str) for name in layers):
            raise LabInputError(f"layers: expected a list of layer names (some of "
                                f"{', '.join(LAYERS)}), got {layers!r}"[:300])
        unknown = sorted(set(layers) - set(LAYERS))
        if unknown:
            raise LabInputError(f"layers: unknown layer {unknown[0]!r}"[:200] +
                                f": expected some of {', '.join(LAYERS)}")
        layers = tuple(name for name in LAYERS if name in layers)
    cells = _integer("heatmap_cells", heatmap_cells, MIN_HEATMAP_CELLS, HEATMAP_CELLS)
    return layers, cells
