"""Replays without a server: a recorded lab run as one self-contained HTML file, or a GIF.

    python -m minigan.lab --export runs/lab_ring.html --gif runs/lab_ring.gif --steps 2000
    python examples/gan_2d.py --data ring --html runs/ring.html

record() plays a session and keeps frames: at chosen steps one after the D updates and one
after the G update, so the replay shows each phase's change on its own (D's field moves in the
first, G's samples in the second). write_html() puts the frames into the lab's own page (its
CSS and JavaScript inlined, the frames as a JSON object the page replays with a slider instead
of asking a server); write_gif() draws the same layers with matplotlib, one image per frame, in
the page's own colours (palette(): read from lab.css, the one place they are written).
Both write atomically (io.atomic_write).
"""
import json
import os
import re

# Host-only: a recording holds JSON lists, never a device array, so NumPy reads them for
# matplotlib (as trace.py and plots.py do with host copies).
import numpy as np

from ..gan.losses import CRITIC_LOSSES
from ..io import atomic_write
from .server import STATIC
from .session import REAL_POINTS_SHOWN, layers_for_json, rounded_list

STYLESHEET_TAG = '<link rel="stylesheet" href="/lab.css">'
SCRIPT_TAG = '<script src="/lab.js"></script>'
ARROW_LENGTH = 0.08        # the longest arrow, as a fraction of the plane's width (as lab.js)
PALETTE_BLOCK = re.compile(r":root\s*\{(.*?)\}", re.S)
PALETTE_ENTRY = re.compile(r"--([a-z0-9-]+)\s*:\s*([^;]+);")
HEX = re.compile(r"#([0-9a-fA-F]{6})")
RGBA = re.compile(r"rgba\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*([0-9.]+)\s*\)")


def palette():
    """The page's colours, {name: (r, g, b, alpha)} in [0, 1] for matplotlib: the custom
    properties of lab.css's :root block ("--real: #2166ac;"), which lab.js reads too."""
    with open(os.path.join(STATIC, "lab.css"), encoding="utf-8") as f:
        block = PALETTE_BLOCK.search(f.read())
    if block is None:
        raise RuntimeError("palette: static/lab.css lost its :root block of colours")
    colours = {}
    for name, value in PALETTE_ENTRY.findall(block.group(1)):
        value = value.strip()
        if HEX.fullmatch(value):
            rgb = [int(value[i:i + 2], 16) / 255 for i in (1, 3, 5)]
            colours[name] = (*rgb, 1.0)
        elif RGBA.fullmatch(value):
            r, g, b, alpha = RGBA.fullmatch(value).groups()
            colours[name] = (int(r) / 255, int(g) / 255, int(b) / 255, float(alpha))
        else:
            raise RuntimeError(f"palette: --{name}: expected #rrggbb or rgba(r, g, b, a), "
                               f"got {value!r}")
    return colours


def outside(points, bounds):
    """How many of `points` ([x, y] lists) lie outside bounds (xmin, xmax, ymin, ymax)."""
    xmin, xmax, ymin, ymax = bounds
    return sum(not (xmin <= x <= xmax and ymin <= y <= ymax) for x, y in points)


def record(session, steps, every):
    """Play `steps` steps of `session` (each: k D updates, then a G update); keep a frame
    before training, and after each phase of step 1 and of every `every`-th step. Stops early
    if the run pauses (a non-finite loss). Returns the recording, a dict ready for JSON."""
    frames = [frame(session, "before training")]
    for step in range(1, steps + 1):
        if session.paused:
            break
        if step == 1 or step % every == 0:
            session.act("d", repeat=session.settings.k)
            frames.append(frame(session, f"step {step}: after D's update"))
            if not session.paused:
                session.act("g")
                frames.append(frame(session, f"step {step}: after G's update"))
        else:
            session.act("step")
    if session.paused:
        frames.append(frame(session, f"paused after {session.updates} updates: "
                                     f"{session.paused}"))
    data = session.data
    return {"settings": session.settings.public(), "bounds": list(session.bounds),
            "real": rounded_list(data.points[:REAL_POINTS_SHOWN], 3),
            "modes": None if data.centres is None else len(data.centres),
            "critic": session.settings.loss in CRITIC_LOSSES, "events": session.events,
            "history": session.history, "frames": frames}


def frame(session, label):
    """The picture after the last update, with the counters and the facts of that update."""
    layers = dict(session.layers())
    layers.pop("real")                      # the same in every frame: stored once
    return {"label": label, "updates": session.updates, "d_updates": session.d_updates,
            "g_updates": session.g_updates, "layers": layers, "last": session.last}


def frame_from_networks(G, D, loss, bounds, fixed_z, z_grid, label, updates):
    """A frame of any G and D (examples/gan_2d.py's --html records its trainer's networks)."""
    from . import views
    arrays = views.plane(G, D, loss, bounds, fixed_z, z_grid)
    return {"label": label, "updates": updates, "layers": layers_for_json(arrays), "last": []}


def training_recording(frames, history, k, data, bounds, settings, max_rows=2000):
    """A recording of a run of GANTrainer.train (examples/gan_2d.py --html): its frames, and its
    history as the lab's rows (a D row and a G row per step, thinned to about max_rows)."""
    steps = len(history)
    every = max(1, steps // max_rows)
    rows = []
    for i in range(0, steps, every):
        step = history["step"][i]
        first_update = (step - 1) * (k + 1)          # k D updates, then G's, per step
        rows.append({"update": first_update + k, "phase": "d",
                     "d_loss": round(history["d_real"][i] + history["d_fake"][i], 5),
                     "d_real": round(history["d_x"][i], 5),
                     "d_fake": round(history["d_g_z"][i], 5)})
        rows.append({"update": first_update + k + 1, "phase": "g",
                     "g_loss": round(history["g"][i], 5)})
    return {"settings": settings, "bounds": list(bounds),
            "real": rounded_list(data.points[:REAL_POINTS_SHOWN], 3),
            "modes": None if data.centres is None else len(data.centres),
            "critic": settings.get("loss") in CRITIC_LOSSES, "history": rows, "frames": frames}


def write_html(recording, path):
    """The lab's page with the recording inlined: open it in any browser, no server."""
    def read(name):
        with open(os.path.join(STATIC, name), encoding="utf-8") as f:
            return f.read()
    page, css, script = read("index.html"), read("lab.css"), read("lab.js")
    for tag in (STYLESHEET_TAG, SCRIPT_TAG):
        if tag not in page:
            raise RuntimeError(f"write_html: static/index.html lost its {tag!r}")
    # "</" inside a <script> would end it early: JSON allows "<\/" for "</".
    frames = json.dumps(recording, allow_nan=False, separators=(",", ":")).replace("</", "<\\/")
    page = page.replace(STYLESHEET_TAG, f"<style>\n{css}\n</style>")
    page = page.replace(SCRIPT_TAG, f"<script>window.LAB_REPLAY = {frames};</script>\n"
                                    f"<script>\n{script}\n</script>")
    atomic_write(path, lambda f: f.write(page.encode("utf-8")))


def write_gif(recording, path, fps=4):
    """The recording as an animated GIF (matplotlib and Pillow), one image per frame."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation, PillowWriter

    fig, ax = plt.subplots(figsize=(4.8, 4.8), dpi=90)
    colours = palette()
    animation = FuncAnimation(fig, lambda i: draw_frame(ax, recording, i, colours),
                              frames=len(recording["frames"]))
    # PillowWriter wants a file name: write beside the target, then rename (atomic).
    partial = os.path.join(os.path.dirname(os.path.abspath(path)),
                           "." + os.path.basename(path) + ".partial.gif")
    try:
        animation.save(partial, writer=PillowWriter(fps=fps))
        os.replace(partial, path)
    finally:
        plt.close(fig)
        if os.path.exists(partial):
            os.remove(partial)


def draw_frame(ax, recording, i, colours=None):
    """Frame i on a matplotlib axis, in the page's colours (palette()): D's heat map and its
    1/2 contour, the real samples, G's samples and the push of G's loss on each; the title
    counts G's samples outside the frame, as the page does."""
    from matplotlib.colors import LinearSegmentedColormap
    colours = colours or palette()
    xmin, xmax, ymin, ymax = recording["bounds"]
    layers = recording["frames"][i]["layers"]
    ax.clear()
    heat = np.asarray(layers["heatmap"])            # row 0 at the bottom (views.heatmap)
    if heat.size:                                   # (none: no finite picture yet)
        shades = LinearSegmentedColormap.from_list("lab", [
            colours["heat-fake"], colours["heat-middle"], colours["heat-real"]])
        ax.imshow(heat, origin="lower", extent=(xmin, xmax, ymin, ymax), cmap=shades,
                  vmin=0, vmax=1, interpolation="bilinear")
        cells = heat.shape[0]                       # values at the cells' centres
        centres_x = xmin + (np.arange(cells) + 0.5) * (xmax - xmin) / cells
        centres_y = ymin + (np.arange(cells) + 0.5) * (ymax - ymin) / cells
        if heat.min() < 0.5 < heat.max():
            ax.contour(centres_x, centres_y, heat, levels=[0.5], colors=[colours["contour"]],
                       linewidths=1, linestyles="dashed")
    real = np.asarray(recording["real"]).reshape(-1, 2)
    fake = np.asarray(layers["fake"]).reshape(-1, 2)
    arrows = np.asarray(layers["arrows"]["vectors"]).reshape(-1, 2) * (
        ARROW_LENGTH * (xmax - xmin))
    ax.scatter(real[:, 0], real[:, 1], s=3, color=colours["real"], alpha=0.75, linewidths=0)
    ax.scatter(fake[:, 0], fake[:, 1], s=4, color=colours["fake"], alpha=0.75, linewidths=0)
    ax.quiver(fake[:, 0], fake[:, 1], arrows[:, 0], arrows[:, 1], angles="xy",
              scale_units="xy", scale=1, width=0.002, color=colours["arrow"])
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(ymin, ymax)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    out = outside(layers["fake"], recording["bounds"])
    title = recording["frames"][i]["label"]
    ax.set_title(title + (f"\n{out} of {len(fake)} generated samples outside the frame"
                          if out else ""), fontsize=9)
