"""The lab's honest views and light replies (issue 24), without a browser: the markers of a change
of data or settings and of a reset, the words for a critic's verdict and the WGAN notice, the
most steps Play may ask for, the picture a request asks for (its layers, the heat map's grid),
Play's "playing" requests on a paused run, and the colours the page, the replay and the GIF share.
The page itself is tested in test_lab_browser.py."""
import json
import os
import re
import urllib.error
import urllib.request

import numpy as np
import pytest
from conftest import serving

from minigan.lab import LabInputError, LabSession, Settings, export
from minigan.lab.settings import MAX_REPEAT, TooMuchWork, check_work, max_repeats

STATIC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "minigan",
                      "lab", "static")


# --- markers -------------------------------------------------------------------------------------

def test_a_data_change_a_setting_change_and_a_reset_leave_markers():
    session = LabSession(seed=0, n=256)
    assert session.state()["events"] == []
    session.act("step", repeat=2)
    session.configure({"data": "sine"})
    session.act("step")
    session.configure({"lr_d": 0.01, "k": 2})
    assert session.state()["events"] == [
        {"update": 4, "kind": "data", "text": "data ring → sine"},
        {"update": 6, "kind": "settings", "text": "k 1 → 2, lr_d 0.001 → 0.01"}]
    session.act("step")
    session.act("reset")
    assert session.state()["events"] == [
        {"update": 0, "kind": "reset", "text": "reset after 9 updates: new networks from seed 0"}]


def test_changes_between_the_same_two_updates_share_one_marker_and_no_change_leaves_none():
    session = LabSession(seed=0, n=256)
    session.act("d")
    session.configure({"loss": "non-saturating", "k": 1})         # the values it has
    assert session.events == []
    session.configure({"loss": "minimax"})
    session.configure({"data": "grid"})
    session.configure({"data": "drawn", "points": [[0.0, 0.0], [1.0, 1.0]]})
    session.configure({"data": "drawn", "points": [[0.0, 0.0]]})
    assert session.events == [{"update": 1, "kind": "data", "text": (
        "loss non-saturating → minimax; data ring → grid; data grid → drawn (2 points); "
        "new drawn points (1)")}]


def test_the_markers_and_the_critic_reach_the_replay():
    session = LabSession(Settings(loss="hinge"), seed=0, n=128)
    session.act("step")
    session.configure({"lr_g": 0.002})
    recording = export.record(session, steps=2, every=1)
    assert recording["critic"] is True
    assert recording["events"] == [{"update": 2, "kind": "settings", "text": "lr_g 0.001 → 0.002"}]


# --- the words for D's verdict, the notice ---------------------------------------------------------

@pytest.mark.parametrize("loss", ["wgan", "hinge"])
def test_a_critics_facts_say_critic_score_not_d_of_x(loss):
    session = LabSession(Settings(loss=loss, penalty="gp", gamma=10.0), seed=0, n=128)
    session.act("step")
    d_facts, g_facts = (" ".join(f["lines"]) for f in session.last)
    assert "D(x)" not in d_facts and "D(G(z))" not in g_facts
    assert re.search(r"mean critic score: -?\d+\.\d{3} on real x, -?\d+\.\d{3} on G\(z\) "
                     r"\(sigmoid: \d\.\d{3}, \d\.\d{3}\)", d_facts)
    assert re.search(r"mean critic score of G\(z\) = -?\d+\.\d{3} \(sigmoid: \d\.\d{3}\)",
                     g_facts)
    assert session.state()["critic"] is True


def test_a_probabilitys_facts_still_say_d_of_x():
    session = LabSession(seed=0, n=128)
    session.act("step")
    assert session.last[0]["lines"][1].startswith("mean D(x) = ")
    assert session.last[1]["lines"][1].startswith("mean D(G(z)) = ")
    assert session.state()["critic"] is False


def test_the_wgan_notice_suggests_the_gradient_penalty_the_page_can_set():
    session = LabSession(Settings(loss="wgan"), seed=0, n=128)
    notice = session.state()["notice"]
    assert "unconstrained" in notice and "gp" in notice
    assert "spectral" not in notice.lower()
    session.configure({"penalty": "gp", "gamma": 10})
    assert session.state()["notice"] is None


# --- Play's requests -------------------------------------------------------------------------------

@pytest.mark.parametrize("k, batch_size", [(1, 64), (1, 1024), (5, 256), (20, 1024), (1, 1)])
def test_max_repeat_is_the_most_work_one_request_may_ask_for(k, batch_size):
    settings = Settings(k=k, batch_size=batch_size)
    most = max_repeats(settings)
    check_work(settings, "step", most)
    if most < MAX_REPEAT:
        with pytest.raises(TooMuchWork):
            check_work(settings, "step", most + 1)
    session = LabSession(settings, seed=0, n=1024)
    assert session.state()["max_repeat"] == most


def test_a_picture_holds_the_layers_asked_for_on_the_grid_asked_for():
    session = LabSession(seed=0, n=256)
    session.act("step")
    full = session.state()
    assert set(full["layers"]) == {"real", "fake", "arrows", "heatmap", "latent", "field"}
    assert len(full["layers"]["heatmap"]) == 48
    light = session.state(layers=("heatmap", "arrows"), heatmap_cells=32)
    assert set(light["layers"]) == {"fake", "heatmap", "arrows"}      # G's samples always
    assert np.asarray(light["layers"]["heatmap"]).shape == (32, 32)
    assert light["layers"]["fake"] == full["layers"]["fake"]
    assert light["layers"]["arrows"] == full["layers"]["arrows"]
    # Drawing only a part changes nothing either: the full picture is the same after it.
    assert session.state()["layers"] == full["layers"]


def test_data_version_changes_with_the_data_only():
    session = LabSession(seed=0, n=256)
    version = session.state()["data_version"]
    session.configure({"lr_d": 0.002})
    assert session.state()["data_version"] == version
    session.configure({"data": "grid"})
    assert session.state()["data_version"] == version + 1
    session.act("reset")
    assert session.state()["data_version"] == version + 2


@pytest.fixture
def server():
    with serving(LabSession(seed=0, n=256)) as lab:
        yield lab


def post(server, path, body):
    """(status, JSON, reply size in bytes) of a POST with the page's headers."""
    req = urllib.request.Request(server.url.rstrip("/") + path, data=json.dumps(body).encode(),
                                 method="POST", headers={"Content-Type": "application/json",
                                                         "X-Lab-Token": server.token})
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:
            text = reply.read()
            return reply.status, json.loads(text), len(text)
    except urllib.error.HTTPError as error:
        text = error.read()
        return error.code, json.loads(text), len(text)


def test_plays_request_gets_its_picture_and_the_servers_time(server):
    status, state, full_size = post(server, "/api/act", {"action": "step", "since": 0})
    assert status == 200 and set(state["layers"]) >= {"real", "latent", "field"}
    status, state, play_size = post(server, "/api/act", {
        "action": "step", "repeat": 3, "since": 2, "layers": ["fake", "heatmap", "arrows"],
        "heatmap_cells": 32, "playing": True})
    assert status == 200 and state["updates"] == 8 and len(state["history"]) == 6
    assert set(state["layers"]) == {"fake", "heatmap", "arrows"}
    assert len(state["layers"]["heatmap"]) == 32
    assert 0 < state["took_ms"] < 60_000
    assert play_size < 0.5 * full_size, (play_size, full_size)     # 23 of 57 KB


@pytest.mark.parametrize("body, message", [
    ({"layers": "heatmap"}, "layers: expected a list of layer names"),
    ({"layers": ["heatmap", "contour"]}, "layers: unknown layer 'contour'"),
    ({"layers": [1]}, "layers: expected a list of layer names"),
    ({"heatmap_cells": 49}, "heatmap_cells: expected a whole number from 8 to 48, got 49"),
    ({"heatmap_cells": 7}, "got 7"),
    ({"heatmap_cells": 16.5}, "got 16.5"),
    ({"playing": "yes"}, "playing: expected true or false, got 'yes'"),
])
def test_a_bad_picture_is_refused_before_any_update(server, body, message):
    status, reply, _ = post(server, "/api/act", {"action": "step", **body})
    assert status == 400 and message in reply["error"], reply
    assert server.session.updates == 0


def test_a_play_request_on_a_paused_run_gets_the_state(server):
    server.session.G.parameters()[0].data[...] = float("nan")
    status, state, _ = post(server, "/api/act", {"action": "step", "playing": True})
    assert status == 200 and "d_loss = nan" in state["paused"] and state["updates"] == 0
    status, state, _ = post(server, "/api/act", {"action": "step", "playing": True})
    assert status == 200 and state["paused"] and state["updates"] == 0     # nothing done
    status, reply, _ = post(server, "/api/act", {"action": "step"})        # a button's: refused
    assert status == 400 and "the run is paused" in reply["error"]


def test_a_paused_runs_partial_picture_falls_back_to_the_last_finite_one():
    session = LabSession(seed=0, n=128)
    session.act("step")
    last = session.state()["layers"]
    session.G.parameters()[0].data[...] = float("nan")
    layers = session.layers(("heatmap",), 32)
    assert session.paused and layers == last


# --- one palette ---------------------------------------------------------------------------------

def read(name):
    with open(os.path.join(STATIC, name), encoding="utf-8") as f:
        return f.read()


def test_the_palette_is_written_once_in_lab_css():
    colours = export.palette()
    assert colours["real"] == pytest.approx((0x21 / 255, 0x66 / 255, 0xac / 255, 1.0))
    assert colours["arrow"] == pytest.approx((84 / 255, 39 / 255, 143 / 255, 0.75))
    used = set(re.findall(r"colour\('([a-z-]+)'\)", read("lab.js")))
    assert used and used <= set(colours), used - set(colours)
    # No colour written anywhere else: not in lab.js, not in export.py.
    for name in ("lab.js",):
        assert not re.search(r"#[0-9a-fA-F]{3,8}\b|rgba?\(", read(name).replace(
            "'#rrggbb'", "")), name
    with open(export.__file__, encoding="utf-8") as f:
        assert not re.search(r"""["']#[0-9a-fA-F]{3,8}["']|cmap=["']""", f.read())


def draw(recording, at=(0.0, 0.0)):
    """Frame 0 of `recording` as export.draw_frame draws it for the GIF: (the RGB of the pixel
    at data point `at`, the frame's title)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(3, 3), dpi=50)
    try:
        export.draw_frame(ax, recording, 0)
        fig.canvas.draw()
        image = np.asarray(fig.canvas.buffer_rgba())[..., :3]
        x, y = ax.transData.transform(at)
        return image[image.shape[0] - 1 - int(round(y)), int(round(x))].tolist(), ax.get_title()
    finally:
        plt.close(fig)


@pytest.mark.parametrize("value, tint", [(1.0, "heat-real"), (0.0, "heat-fake"),
                                         (0.5, "heat-middle")])
def test_the_gif_draws_in_the_pages_colours(value, tint):
    """A frame whose D says `value` everywhere: the GIF's plane is the page's tint for it."""
    frame = {"label": "f", "layers": {"heatmap": [[value] * 4] * 4, "fake": [[-0.9, -0.9]],
                                      "arrows": {"vectors": [[0.0, 0.0]], "longest": 0.0}}}
    recording = {"bounds": [-1.0, 1.0, -1.0, 1.0], "real": [[0.9, 0.9]], "frames": [frame]}
    colour, title = draw(recording, at=(0.2, -0.3))
    want = [round(255 * c) for c in export.palette()[tint][:3]]
    assert all(abs(a - b) <= 2 for a, b in zip(colour, want)), (colour, want)
    assert "outside the frame" not in title


def test_the_gif_counts_gs_samples_outside_the_frame():
    fake = [[0.0, 0.0], [2.0, 0.0], [0.0, -1.5], [0.9, 0.9]]
    frame = {"label": "step 1", "layers": {
        "heatmap": [[0.5] * 4] * 4, "fake": fake,
        "arrows": {"vectors": [[0.0, 0.0]] * 4, "longest": 0.0}}}
    recording = {"bounds": [-1.0, 1.0, -1.0, 1.0], "real": [[0.5, 0.5]], "frames": [frame]}
    assert export.outside(fake, recording["bounds"]) == 2
    _, title = draw(recording)
    assert title == "step 1\n2 of 4 generated samples outside the frame"


def test_a_layer_name_the_page_sends_is_one_the_server_knows():
    """lab.js asks for layers by name (picture()): each is one check_picture accepts."""
    from minigan.lab.views import LAYERS
    script = read("lab.js")
    body = script[script.index("function picture("):]
    body = body[:body.index("\n}\n")]
    asked = set(re.findall(r"'([a-z]+)'", body))
    assert asked and asked <= set(LAYERS), asked - set(LAYERS)


def test_refused_settings_still_leave_no_marker():
    session = LabSession(seed=0, n=100, settings=Settings(batch_size=32))
    with pytest.raises(LabInputError):
        session.configure({"lr_d": 0.01, "k": 0})
    assert session.events == []
