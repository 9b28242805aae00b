"""The lab (minigan/lab/): its updates are the trainer's, its layers are what they say they are,
and the server refuses bad input with a message and keeps running. The page itself is tested in
a real browser in test_lab_browser.py."""
import json
import math
import os
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import numpy as np
import pytest
from conftest import serving

import minigan
from minigan.data import make_2d
from minigan.gan import Discriminator, GANTrainer, Generator
from minigan.lab import LabInputError, LabSession, Settings
from minigan.lab import views
from minigan.lab.server import LabServer
from minigan.lab.session import D_HIDDEN, G_HIDDEN
from minigan.optim import Adam
from minigan.tensor import Tensor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- the updates are the trainer's ----------------------------------------------------------------

def test_a_lab_step_is_the_trainers_train_step():
    """k D updates then a G update, through the lab, leave the networks exactly where
    GANTrainer.train_step leaves the same networks from the same seed."""
    session = LabSession(Settings(k=2, batch_size=32), seed=3)
    for _ in range(4):
        session.act("step")
    minigan.manual_seed(3)
    G, D = Generator(2, 2, hidden=G_HIDDEN), Discriminator(2, hidden=D_HIDDEN)
    trainer = GANTrainer(G, D, Adam(G.parameters(), lr=1e-3), Adam(D.parameters(), lr=1e-3),
                         k=2, seed=3)
    data = make_2d("ring", 1024, seed=3)
    for _ in range(4):
        trainer.train_step(data.points, 32)
    for mine, theirs in ((session.G, G), (session.D, D)):
        for name, value in theirs.state_dict().items():
            np.testing.assert_array_equal(mine.state_dict()[name], value, err_msg=name)
    assert (session.d_updates, session.g_updates, session.updates) == (8, 4, 12)


def test_each_update_moves_its_own_network_only():
    session = LabSession(seed=1)
    g_before, d_before = session.G.state_dict(), session.D.state_dict()
    session.act("g")
    assert all(np.array_equal(v, session.D.state_dict()[k]) for k, v in d_before.items())
    assert any(not np.array_equal(v, session.G.state_dict()[k]) for k, v in g_before.items())
    g_before, d_before = session.G.state_dict(), session.D.state_dict()
    session.act("d")
    assert all(np.array_equal(v, session.G.state_dict()[k]) for k, v in g_before.items())
    assert any(not np.array_equal(v, session.D.state_dict()[k]) for k, v in d_before.items())
    [facts] = session.last
    assert facts["title"] == "D update 1" and "G unchanged in the D update: True" in facts["lines"]
    session.act("step")
    assert [f["title"] for f in session.last] == ["D update 2", "G update 2"]
    assert "D unchanged in the G update: True" in session.last[1]["lines"]


def test_same_seed_same_numbers_and_reset_starts_over():
    one, two = LabSession(seed=5), LabSession(seed=5)
    for session in (one, two):
        session.act("step", repeat=3)
        session.configure({"loss": "minimax", "k": 2})
        session.act("step", repeat=2)
    assert json.dumps(one.state()) == json.dumps(two.state())
    first = LabSession(Settings(loss="minimax", k=2), seed=5).state()
    one.act("reset")                    # the same start, with the settings chosen since
    assert one.run == 2 and one.updates == 0 and one.history == []
    assert one.state()["layers"] == first["layers"]


def test_settings_change_between_updates_and_keep_the_game():
    session = LabSession(seed=2)
    session.act("step", repeat=2)
    weights = session.G.state_dict()
    session.configure({"loss": "minimax", "k": 3, "lr_d": 5e-4, "penalty": "r1", "gamma": 1})
    assert session.trainer.generator_loss == "minimax" and session.trainer.k == 3
    assert session.trainer.penalty == "r1" and session.trainer.gamma == 1.0
    assert session.d_optimizer.lr == 5e-4 and session.g_optimizer.lr == 1e-3
    assert all(np.array_equal(v, session.G.state_dict()[k]) for k, v in weights.items())
    session.act("step")
    assert [row["phase"] for row in session.history[-4:]] == ["d", "d", "d", "g"]
    session.configure({"loss": "wgan", "penalty": "none"})
    assert "unconstrained" in session.state()["notice"]


def test_history_rows_and_mode_figures():
    session = LabSession(seed=0)
    session.act("step", repeat=3)
    rows = session.history
    assert [r["phase"] for r in rows] == ["d", "g"] * 3
    assert set(rows[0]) == {"update", "phase", "d_loss", "d_real", "d_fake"}
    assert set(rows[1]) == {"update", "phase", "g_loss", "g_fake", "modes", "hq", "reverse_kl",
                           "mode_total"}
    state = session.state(since=4)
    assert state["history_from"] == 4 and state["history"] == rows[4:]
    assert state["modes"] == 8
    json.dumps(state, allow_nan=False)


# --- the layers ----------------------------------------------------------------------------------

@pytest.fixture
def d64():
    minigan.manual_seed(7)
    return Discriminator(2, hidden=(16, 16)).astype("float64")


def test_heatmap_rows_start_at_the_bottom(d64):
    bounds = (-2.0, 2.0, -1.0, 3.0)
    heat = views.heatmap(d64, bounds, cells=4)
    # cell (row 1, column 3): x = -2 + 3.5 * 1, y = -1 + 1.5 * 1
    logit = views.d_output(d64, np.array([[1.5, 0.5]]))
    assert heat[1, 3] == pytest.approx(1 / (1 + math.exp(-logit[0])), rel=1e-6)


def central_difference(f, x, h=1e-6):
    """d f(x_i) / d x_i for each row, f a per-row function (n, 2) -> (n,)."""
    out = np.zeros_like(x)
    for axis in range(2):
        step = np.zeros_like(x)
        step[:, axis] = h
        out[:, axis] = (f(x + step) - f(x - step)) / (2 * h)
    return out


@pytest.mark.parametrize("loss", ["non-saturating", "minimax", "wgan"])
def test_generator_push_is_minus_each_samples_loss_gradient(d64, loss):
    """views.generator_push against central differences of each sample's own G loss."""
    x = np.random.default_rng(0).normal(size=(6, 2))
    per_sample = {"non-saturating": lambda l: np.logaddexp(0, -l),    # -ln sigmoid(l)
                  "minimax": lambda l: -np.logaddexp(0, l),           # ln(1 - sigmoid(l))
                  "wgan": lambda l: -l}[loss]
    numeric = central_difference(lambda p: per_sample(views.d_output(d64, p)), x)
    push = views.generator_push(d64, x, loss)
    np.testing.assert_allclose(push, -numeric, rtol=1e-6, atol=1e-9)


def test_input_gradient_field_against_central_differences(d64):
    bounds = (-1.0, 1.0, -1.0, 1.0)
    points, field = views.input_gradient_field(d64, bounds, cells=3)
    numeric = central_difference(lambda p: views.d_output(d64, p), points.astype(np.float64))
    np.testing.assert_allclose(field, numeric, rtol=1e-6, atol=1e-9)


def test_latent_grid_lines_are_g_of_straight_latent_lines():
    minigan.manual_seed(0)
    G = Generator(2, 2, hidden=(8,))
    z = views.latent_grid(np, lines=3, points=5, extent=1.0)
    lines = views.warped_latent_grid(G, z, lines=3, points=5)
    assert lines.shape == (6, 5, 2)
    along = np.linspace(-1, 1, 5, dtype="float32")
    first = np.stack([along, np.full(5, -1.0, "float32")], 1)   # z_2 = -1, z_1 rising
    last = np.stack([np.full(5, 1.0, "float32"), along], 1)     # z_1 = 1, z_2 rising
    np.testing.assert_array_equal(lines[0], G.sample_with(Tensor(first)).data)
    np.testing.assert_array_equal(lines[5], G.sample_with(Tensor(last)).data)


def test_drawing_the_layers_changes_nothing():
    session = LabSession(seed=0)
    session.act("step")
    grads = [p.grad for p in session.D.parameters()]
    g_state, d_state = session.G.state_dict(), session.D.state_dict()
    session.state()
    assert [p.grad for p in session.D.parameters()] == grads
    for before, net in ((g_state, session.G), (d_state, session.D)):
        assert all(np.array_equal(v, net.state_dict()[k]) for k, v in before.items())


def test_drawn_points_become_the_data_in_the_same_view():
    session = LabSession(seed=0, n=100)
    bounds = session.bounds
    session.configure({"data": "drawn", "points": [[0.5, 0.5], [-0.5, 0.0], [0.0, -0.8]]})
    points = session.data.points
    assert len(points) == 102 and session.bounds == bounds
    centres = np.array([[0.5, 0.5], [-0.5, 0.0], [0.0, -0.8]])
    nearest = np.sqrt(((points[:, None] - centres[None]) ** 2).sum(-1)).min(1)
    assert nearest.max() < 0.15
    session.act("step")
    assert session.state()["modes"] is None and "modes" not in session.history[-1]


# --- refused input and a diverged run -------------------------------------------------------------

BAD_SETTINGS = [
    ({"lr_d": "abc"}, "lr_d (D's learning rate): expected a number in (0, 1], got 'abc'"),
    ({"lr_g": -1}, "lr_g (G's learning rate): expected a number in (0, 1], got -1"),
    ({"lr_d": 1e9}, "got 1000000000.0"),
    ({"lr_g": float("nan")}, "got nan"),
    ({"k": 0}, "k (D updates per step): expected a whole number from 1 to 20, got 0"),
    ({"k": 1.5}, "got 1.5"),
    ({"k": True}, "got True"),
    ({"batch_size": 200}, "batch_size 200 is larger than the data set (100 points)"),
    ({"data": "spiral"}, "data: expected one of sine, ring, grid, drawn, got 'spiral'"),
    ({"data": "drawn"}, "data 'drawn' needs points"),
    ({"data": "drawn", "points": []}, "got an empty list"),
    ({"data": "drawn", "points": [[0, 0]] * 100_000}, "at most 10000 drawn points, got 100000"),
    ({"data": "drawn", "points": [[0, 0], [1, "x"]]}, "points[1]: expected [x, y]"),
    ({"data": "drawn", "points": [[0, 1e6]]}, "points[0]"),
    ({"loss": "least-squares"}, "loss: expected one of non-saturating, minimax, wgan, hinge"),
    ({"penalty": "r3"}, "penalty: expected one of none, r1, r2, gp"),
    ({"gamma": -0.5}, "gamma (the penalty's weight): expected a number in [0, 1000]"),
    ({"seed": 3}, "unknown setting 'seed'"),
    ([1, 2], "settings: expected a JSON object, got list"),
]


@pytest.mark.parametrize("changes, message", BAD_SETTINGS)
def test_bad_settings_are_refused_and_change_nothing(changes, message):
    session = LabSession(seed=0, n=100, settings=Settings(batch_size=32))
    before = session.settings
    with pytest.raises(LabInputError) as error:
        session.configure(changes)
    assert message in str(error.value)
    assert session.settings == before and session.settings.data == "ring"


def test_bad_actions_are_refused():
    session = LabSession(seed=0)
    for action, repeat, message in [("jump", 1, "action: expected one of d, g, step, reset"),
                                    ("step", 0, "repeat: expected a whole number from 1 to 100"),
                                    ("step", 101, "got 101"), ("step", "2", "got '2'")]:
        with pytest.raises(LabInputError, match=message):
            session.act(action, repeat)
    assert session.updates == 0


def test_a_non_finite_loss_is_undone_and_pauses_the_run():
    session = LabSession(seed=0)
    session.act("step", repeat=2)
    layers = session.state()["layers"]
    G_state = session.G.state_dict()
    session.G.parameters()[0].data[...] = float("nan")       # as if G had diverged
    broken = session.G.state_dict()
    session.act("step")
    assert "d_loss = nan in the D update after 4 updates: that update was undone" in session.paused
    assert session.updates == 4 and len(session.history) == 4
    for name, value in session.D.state_dict().items():          # D's update was undone
        assert np.isfinite(value).all(), name
    assert all(np.array_equal(v, session.G.state_dict()[k], equal_nan=True)
               for k, v in broken.items())
    with pytest.raises(LabInputError, match="the run is paused: d_loss = nan"):
        session.act("g")
    state = session.state()
    json.dumps(state, allow_nan=False)                          # no NaN reaches the page
    assert state["paused"] and state["layers"] == layers        # the last finite picture
    session.act("reset")
    assert session.paused is None and np.isfinite(session.G.state_dict()[next(iter(G_state))]).all()


# --- the server -----------------------------------------------------------------------------------

@pytest.fixture
def server():
    with serving(LabSession(seed=0, n=100, settings=Settings(batch_size=32))) as lab:
        yield lab


def request(server, path, body=None, raw=None, method=None):
    """(status, JSON or text) of one request to the lab, with the headers its page sends (the
    gate's rules are tested in test_lab_gate.py)."""
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Lab-Token": server.token}
    req = urllib.request.Request(server.url.rstrip("/") + path, data=data, method=method,
                                 headers=headers if data is not None else {})
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:
            status, text, kind = reply.status, reply.read(), reply.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        status, text, kind = error.code, error.read(), error.headers["Content-Type"]
    return status, json.loads(text) if kind == "application/json" else text.decode()


def test_server_binds_this_machine_and_serves_the_page(server):
    assert server.server_address[0] == "127.0.0.1"
    status, page = request(server, "/")
    assert status == 200 and "<html" in page.lower()
    assert request(server, "/lab.js")[0] == 200 and request(server, "/lab.css")[0] == 200
    status, state = request(server, "/api/state")
    assert status == 200 and state["updates"] == 0 and state["settings"]["data"] == "ring"


def test_server_plays_the_game(server):
    status, state = request(server, "/api/act", {"action": "step", "repeat": 3})
    assert status == 200 and state["updates"] == 6 and len(state["history"]) == 6
    status, state = request(server, "/api/act", {"action": "g", "since": 6})
    assert state["history_from"] == 6 and [r["update"] for r in state["history"]] == [7]
    status, state = request(server, "/api/settings", {"loss": "minimax", "since": 7})
    assert status == 200 and state["settings"]["loss"] == "minimax" and state["history"] == []


@pytest.mark.parametrize("path, body, raw, message", [
    ("/api/settings", {"lr_d": "abc"}, None, "lr_d (D's learning rate): expected a number"),
    ("/api/settings", {"lr_g": 1e9}, None, "got 1000000000.0"),
    ("/api/settings", {"k": 0}, None, "k (D updates per step)"),
    ("/api/settings", {"batch_size": 101}, None, "larger than the data set (100 points)"),
    ("/api/settings", {"data": "drawn", "points": []}, None, "points"),
    ("/api/settings", None, b"{\"k\": 2", "the request body is not valid JSON"),
    ("/api/settings", None, b"\xff\xfe", "the request body is not valid JSON"),
    ("/api/act", {"action": "fly"}, None, "action: expected one of"),
    ("/api/act", {"action": "step", "path": "/etc/passwd"}, None, "act: unknown field 'path'"),
    ("/api/act", ["step"], None, "act: expected a JSON object"),
    ("/api/state?since=-1", None, None, "since: expected a whole number >= 0"),
])
def test_server_refuses_bad_requests_and_keeps_running(server, path, body, raw, message):
    status, reply = request(server, path, body, raw)
    assert status == 400 and message in reply["error"]
    status, state = request(server, "/api/act", {"action": "step"})
    assert status == 200 and state["updates"] == 2


def test_server_refuses_a_huge_body_and_unknown_paths(server):
    status, reply = request(server, "/api/settings", raw=b" " * (2 ** 20 + 1))
    assert status == 413 and "1 byte to 1048576 bytes" in reply["error"]
    for path in ("/../minigan/lab/server.py", "/static/lab.js", "/etc/passwd", "/api/nothing"):
        status, reply = request(server, path)
        assert status == 404 and "no such page" in reply["error"]
    status, reply = request(server, "/api/state", raw=b"{}", method="PUT")
    assert status == 501


def test_requests_from_many_threads_are_served_one_at_a_time(server):
    replies = []

    def play():
        replies.append(request(server, "/api/act", {"action": "step"}))

    threads = [threading.Thread(target=play) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(state["updates"] for _, state in replies) == list(range(2, 17, 2))
    history = request(server, "/api/state")[1]["history"]
    assert [r["update"] for r in history] == list(range(1, 17))


def test_command_line_warns_off_this_machine_and_stops_on_ctrl_c():
    process = subprocess.Popen(
        [sys.executable, "-m", "minigan.lab", "--port", "0", "--host", "0.0.0.0", "--n", "64",
         "--loss", "minimax", "--k", "2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "minigan lab: ring data on cpu; open http://0.0.0.0:" in line
        port = int(line.split(":")[-1].split("/")[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/state", timeout=30) as reply:
            settings = json.loads(reply.read())["settings"]
        assert (settings["data"], settings["loss"], settings["k"]) == ("ring", "minimax", 2)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0
    assert "--host 0.0.0.0: the lab has no login" in err and "minigan lab: stopped" in err
    assert "Traceback" not in err


def test_command_line_refuses_a_port_in_use():
    with LabServer(LabSession(seed=0, n=64), port=0) as taken:
        port = taken.server_address[1]
        result = subprocess.run([sys.executable, "-m", "minigan.lab", "--port", str(port)],
                                cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "--port 0" in result.stderr


# --- replays -------------------------------------------------------------------------------------

def test_record_keeps_a_frame_after_each_phase_of_the_chosen_steps():
    from minigan.lab import export
    session = LabSession(Settings(k=2), seed=0)
    recording = export.record(session, steps=10, every=4)
    labels = [f["label"] for f in recording["frames"]]
    assert labels == ["before training"] + [f"step {s}: after {who}'s update"
                                            for s in (1, 4, 8) for who in ("D", "G")]
    assert [f["updates"] for f in recording["frames"]] == [0, 2, 3, 11, 12, 23, 24]
    assert len(recording["history"]) == 30 and recording["modes"] == 8
    after_d, after_g = recording["frames"][3], recording["frames"][4]
    assert after_d["layers"]["fake"] != recording["frames"][2]["layers"]["fake"]  # G moved since
    assert after_d["layers"]["fake"] != after_g["layers"]["fake"]                 # G's update
    assert after_d["layers"]["heatmap"] == after_g["layers"]["heatmap"]           # D held still
    assert after_g["last"][0]["title"] == "G update 4"
    # The same run as playing it through the lab: step 4's last frame is its picture.
    twin = LabSession(Settings(k=2), seed=0)
    twin.act("step", repeat=4)
    assert twin.layers()["fake"] == after_g["layers"]["fake"]


def test_write_html_inlines_everything_and_escapes_script_ends(tmp_path):
    from minigan.lab import export
    recording = export.record(LabSession(seed=0, n=64), steps=2, every=1)
    recording["label_test"] = "</script><script>alert(1)</script>"
    path = tmp_path / "run.html"
    export.write_html(recording, str(path))
    page = path.read_text()
    assert page.count("window.LAB_REPLAY = ") == 1
    assert 'src="/lab.js"' not in page and 'href="/lab.css"' not in page
    assert "<\\/script><script>alert(1)<\\/script>" in page
    start = page.index("window.LAB_REPLAY = ") + len("window.LAB_REPLAY = ")
    replay = json.loads(page[start:page.index(";</script>", start)])
    assert [f["label"] for f in replay["frames"]] == [f["label"] for f in recording["frames"]]
    assert list(tmp_path.iterdir()) == [path]              # no temporary file left behind


def test_write_gif_has_one_image_per_frame(tmp_path):
    from PIL import Image
    from minigan.lab import export
    recording = export.record(LabSession(seed=0, n=64), steps=3, every=2)
    path = tmp_path / "run.gif"
    export.write_gif(recording, str(path))
    with Image.open(path) as gif:
        assert gif.n_frames == len(recording["frames"]) == 5
    assert list(tmp_path.iterdir()) == [path]


def test_record_stops_at_a_pause_with_a_frame_saying_why():
    from minigan.lab import export
    session = LabSession(seed=0, n=64)
    session.D.parameters()[0].data[...] = float("nan")
    recording = export.record(session, steps=5, every=1)
    labels = [f["label"] for f in recording["frames"]]
    assert labels[0] == "before training" and len(labels) == 2
    assert labels[1].startswith("paused after 0 updates: the networks give non-finite values")
    json.dumps(recording, allow_nan=False)


def test_the_last_step_panel_holds_the_last_repeat_only():
    session = LabSession(Settings(k=2), seed=0)
    session.act("step", repeat=3)
    assert [f["title"] for f in session.last] == ["D update 5", "D update 6", "G update 3"]


def test_a_page_that_leaves_before_its_answer_is_no_error(server, capsys):
    import socket
    import time
    body = json.dumps({"action": "step", "repeat": 20}).encode()
    host, port = server.server_address[:2]
    with socket.create_connection((host, port)) as s:
        s.sendall(f"POST /api/act HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                  f"Content-Type: application/json\r\nX-Lab-Token: {server.token}\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        # Close at once, with RST: the server finds the socket gone when it answers.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    for _ in range(200):
        if server.session.updates == 40:
            break
        time.sleep(0.05)
    status, state = request(server, "/api/state")
    assert status == 200 and state["updates"] == 40
    assert "Traceback" not in capsys.readouterr().err


def test_a_session_can_start_on_drawn_points():
    session = LabSession(Settings(data="drawn", points=[[0.0, 0.0], [2.0, 1.0]]), seed=0, n=64)
    xmin, xmax, ymin, ymax = session.bounds
    assert xmin < 0 < 2 < xmax and ymin < 0 < 1 < ymax
    session.act("step")
    assert session.updates == 2 and session.state()["modes"] is None
