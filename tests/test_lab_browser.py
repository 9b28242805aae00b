"""The lab's page in a real browser: Debian's Chromium driven by Selenium (ChromeDriver).

Marked `browser`; each test skips, saying why, where Chromium, ChromeDriver or Selenium is
missing. .ci/run installs all three and sets MINIGAN_REQUIRE_BROWSER=1, so in CI a missing
piece fails them instead. The server runs in this process, on a
free port of 127.0.0.1, and the page talks to it as a learner's would.
"""
import json
import os
import re
import shutil
import threading
import time

import numpy as np
import pytest

from minigan.lab import LabSession, Settings
from minigan.lab.server import LabServer

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# Chromium's own services would try the network at every start; the machine has none.
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--disable-dev-shm-usage", "--window-size=1400,1000")


def _missing():
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "needs selenium (pip install -e \".[test]\")"
    if not CHROMIUM or not CHROMEDRIVER:
        return "needs Chromium and ChromeDriver (Debian: apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def chrome():
    reason = _missing()
    if reason and os.environ.get("MINIGAN_REQUIRE_BROWSER"):
        pytest.fail(f"MINIGAN_REQUIRE_BROWSER is set, but the browser tests {reason}")
    if reason:
        pytest.skip(reason)
    from selenium import webdriver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER),
                              options=options)
    yield driver
    driver.quit()


@pytest.fixture
def lab():
    server = LabServer(LabSession(Settings(), seed=0, n=512), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def wait_for(condition, what, timeout=30.0):
    """Poll until condition() is true; fail naming `what` after `timeout` seconds."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def open_page(chrome, lab):
    chrome.get(lab.url)
    wait_for(lambda: chrome.execute_script("return window.labDebug && window.labDebug.frames"),
             "the page's first frame")
    chrome.get_log("browser")          # start each test with an empty console


def picture(chrome, canvas_id):
    return chrome.execute_script(f"return document.getElementById('{canvas_id}').toDataURL()")


def updates_shown(chrome):
    return chrome.execute_script("return window.labDebug.lastState.updates")


def console_errors(chrome):
    return [entry for entry in chrome.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


def click(chrome, element_id):
    """Click a control once the page has no request in flight (it ignores clicks until then)."""
    wait_for(lambda: not chrome.execute_script("return window.labDebug.requestsInFlight"),
             "the page's last request")
    chrome.find_element("id", element_id).click()


def test_g_update_then_play_trains_and_draws(chrome, lab):
    open_page(chrome, lab)
    counter = chrome.find_element("id", "step-counter").text
    plane, losses = picture(chrome, "plane"), picture(chrome, "chart-loss")

    click(chrome, "g-update")
    wait_for(lambda: updates_shown(chrome) == 1, "the G update")
    wait_for(lambda: chrome.find_element("id", "step-counter").text != counter, "the counter")
    assert lab.session.g_updates == 1 and lab.session.d_updates == 0
    assert wait_for(lambda: picture(chrome, "plane") != plane, "G's samples to move")

    click(chrome, "play")
    wait_for(lambda: updates_shown(chrome) >= 41, "20 steps of play", timeout=60)
    chrome.find_element("id", "play").click()                   # pause
    wait_for(lambda: not chrome.execute_script("return window.labDebug.requestsInFlight"),
             "the last request")
    paused_at = lab.session.updates
    time.sleep(0.5)
    assert lab.session.updates == paused_at, "the page went on training after Pause"
    assert picture(chrome, "chart-loss") != losses
    assert "G update" in chrome.find_element("id", "last-step").text
    assert "D unchanged in the G update: True" in chrome.find_element("id", "last-step").text
    assert console_errors(chrome) == []


def test_d_update_step_and_reset(chrome, lab):
    open_page(chrome, lab)
    click(chrome, "d-update")
    wait_for(lambda: updates_shown(chrome) == 1, "the D update")
    click(chrome, "step")
    wait_for(lambda: updates_shown(chrome) == 3, "one step (k = 1: a D and a G update)")
    assert [r["phase"] for r in lab.session.history] == ["d", "d", "g"]
    charts = picture(chrome, "chart-d")
    click(chrome, "reset")
    wait_for(lambda: updates_shown(chrome) == 0, "the reset")
    assert lab.session.run == 2
    wait_for(lambda: picture(chrome, "chart-d") != charts, "the charts to clear")
    assert console_errors(chrome) == []


def set_value(chrome, element_id, value):
    """Type a value into an input (or choose it in a select) and fire its change event."""
    chrome.execute_script(
        "const e = document.getElementById(arguments[0]); e.value = arguments[1];"
        "e.dispatchEvent(new Event('change', {bubbles: true}));", element_id, value)


def test_a_refused_setting_shows_the_servers_message(chrome, lab):
    open_page(chrome, lab)
    set_value(chrome, "lr-d", "abc")
    message = wait_for(lambda: chrome.find_element("id", "message").text, "the message")
    assert "lr_d (D's learning rate): expected a number in (0, 1]" in message
    assert lab.session.settings.lr_d == 1e-3
    set_value(chrome, "k", "3")
    wait_for(lambda: lab.session.settings.k == 3, "k = 3 to reach the server")
    wait_for(lambda: "expected" not in chrome.find_element("id", "message").text,
             "the message to clear")
    click(chrome, "step")
    wait_for(lambda: updates_shown(chrome) == 4, "a step of 3 D updates and a G update")
    # The refused request was answered with 400: Chromium logs that as a failed resource.
    assert all("400" in e["message"] for e in console_errors(chrome))


def test_drawing_data_on_the_plane(chrome, lab):
    open_page(chrome, lab)
    set_value(chrome, "data", "drawn")
    plane = chrome.find_element("id", "plane")
    from selenium.webdriver.common.action_chains import ActionChains
    for dx, dy in ((-100, -100), (100, -60), (0, 120)):
        ActionChains(chrome).move_to_element_with_offset(plane, dx, dy).click().perform()
    click(chrome, "use-drawn")
    wait_for(lambda: chrome.execute_script(
        "return window.labDebug.lastState.settings.data") == "drawn", "the drawn data set")
    drawn = lab.session.settings.points
    assert len(drawn) >= 3
    xmin, xmax, ymin, ymax = lab.session.bounds
    assert all(xmin <= x <= xmax and ymin <= y <= ymax for x, y in drawn)
    # Left clicks land left of the centre, the lower click (dy > 0) lower in the data's y.
    first_x, first_y = drawn[0]
    assert first_x < (xmin + xmax) / 2 and first_y > (ymin + ymax) / 2
    click(chrome, "step")
    wait_for(lambda: updates_shown(chrome) == 2, "a step on the drawn data")
    assert console_errors(chrome) == []


def test_a_diverged_run_pauses_with_a_message(chrome, lab):
    open_page(chrome, lab)
    with lab.lock:
        lab.session.G.parameters()[0].data[...] = float("nan")
    click(chrome, "play")
    message = wait_for(lambda: chrome.find_element("id", "message").text, "the pause message")
    assert "d_loss = nan" in message and "undone" in message
    assert chrome.find_element("id", "play").text.lower() == "play"
    state = chrome.execute_script("return window.labDebug.lastState")
    assert json.dumps(state, allow_nan=False) and state["paused"]


def test_the_exported_replay_loads_without_a_server_and_its_slider_changes_the_frame(
        chrome, tmp_path):
    from minigan.lab import export
    recording = export.record(LabSession(Settings(), seed=0, n=256), steps=40, every=20)
    path = tmp_path / "replay.html"
    export.write_html(recording, str(path))
    chrome.get(path.as_uri())
    wait_for(lambda: chrome.execute_script("return window.labDebug && window.labDebug.frames"),
             "the replay's first frame")
    assert chrome.find_element("id", "frame-slider").get_attribute("max") == "6"
    first_label = chrome.find_element("id", "frame-label").text
    plane, losses = picture(chrome, "plane"), picture(chrome, "chart-loss")
    assert "before training" in first_label
    chrome.execute_script(
        "const s = document.getElementById('frame-slider'); s.value = 4;"
        "s.dispatchEvent(new Event('input', {bubbles: true}));")
    wait_for(lambda: chrome.execute_script("return window.labDebug.replayFrame") == 4,
             "frame 4")
    assert "step 20: after G's update" in chrome.find_element("id", "frame-label").text
    assert chrome.execute_script("return window.labDebug.lastState.updates") == 40
    assert picture(chrome, "plane") != plane and picture(chrome, "chart-loss") != losses
    assert not chrome.find_element("id", "d-update").is_displayed()   # no live controls
    assert console_errors(chrome) == []


# --- issue 24: honest views, any screen and keyboard, Play as fast as the server ------------------

def press(chrome, *keys):
    """Key presses as a keyboard sends them, to whatever has the focus."""
    from selenium.webdriver.common.action_chains import ActionChains
    ActionChains(chrome).send_keys(*keys).perform()


def focused(chrome):
    return chrome.execute_script("return document.activeElement.id")


def tab_to(chrome, element_id, most=40):
    """Press Tab until `element_id` has the focus (from wherever the focus is)."""
    from selenium.webdriver.common.keys import Keys
    for _ in range(most):
        if focused(chrome) == element_id:
            return
        press(chrome, Keys.TAB)
    raise AssertionError(f"Tab never reached #{element_id}")


def idle(chrome):
    """Wait until the page has settled: no request on its way, and not between two (Play's loop
    answers one request, then sends the next or fetches the full picture), nothing left to draw."""
    wait_for(lambda: not chrome.execute_script("return window.labDebug.busy"),
             "the page's last request")


def test_keyboard_only_d_update_twice_in_a_row_and_play_and_pause(chrome, lab):
    from selenium.webdriver.common.keys import Keys
    open_page(chrome, lab)
    tab_to(chrome, "d-update")
    press(chrome, Keys.ENTER)
    wait_for(lambda: lab.session.d_updates == 1, "the first D update")
    idle(chrome)
    assert focused(chrome) == "d-update", "the focus left the button that was pressed"
    press(chrome, Keys.ENTER)                        # the same key again: the same button
    wait_for(lambda: lab.session.d_updates == 2, "the second D update", timeout=10)
    wait_for(lambda: updates_shown(chrome) == 2, "the page to show both")
    tab_to(chrome, "play")
    press(chrome, Keys.ENTER)
    wait_for(lambda: lab.session.updates >= 12, "Play, started by the keyboard")
    assert focused(chrome) == "play"
    press(chrome, Keys.ENTER)                        # Pause, with the same key
    idle(chrome)
    paused_at = lab.session.updates
    time.sleep(0.3)
    assert lab.session.updates == paused_at and chrome.find_element("id", "play").text == "Play"
    assert console_errors(chrome) == []


def test_the_plane_takes_the_keyboard_to_draw_points(chrome, lab):
    from selenium.webdriver.common.keys import Keys
    open_page(chrome, lab)
    set_value(chrome, "data", "drawn")
    tab_to(chrome, "plane")
    assert "arrow keys" in chrome.find_element("id", "plane").accessible_name
    press(chrome, *[Keys.ARROW_LEFT] * 10, Keys.ENTER, *[Keys.ARROW_UP] * 20, Keys.ENTER)
    assert chrome.execute_script("return document.getElementById('drawn-count').textContent") \
        .startswith("16 points drawn")
    tab_to(chrome, "use-drawn")
    press(chrome, Keys.ENTER)
    wait_for(lambda: lab.session.settings.data == "drawn", "the drawn data set")
    points = np.array(lab.session.settings.points)
    xmin, xmax, ymin, ymax = lab.session.bounds
    centre_x, centre_y, width = (xmin + xmax) / 2, (ymin + ymax) / 2, xmax - xmin
    first, second = points[:8].mean(0), points[8:].mean(0)        # the two presses of Enter
    assert first[0] == pytest.approx(centre_x - width / 4, abs=0.03 * width)
    assert first[1] == pytest.approx(centre_y, abs=0.03 * width)
    assert second[1] == pytest.approx(centre_y + width / 2, abs=0.03 * width)
    assert console_errors(chrome) == []


class window_of:
    """The page's viewport set to width x height CSS pixels for the block (Chromium's device
    metrics), then back."""

    def __init__(self, chrome, width, height):
        self.chrome, self.size = chrome, (width, height)

    def __enter__(self):
        width, height = self.size
        self.chrome.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def __exit__(self, *exc):
        self.chrome.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def box(chrome, element_id):
    return chrome.execute_script(
        "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
        "return {left: r.left, right: r.right, top: r.top, bottom: r.bottom};", element_id)


def test_the_layout_at_1000x700_has_no_horizontal_scroll_and_the_charts_under_the_plane(
        chrome, lab):
    with window_of(chrome, 1000, 700):
        open_page(chrome, lab)
        click(chrome, "step")
        wait_for(lambda: updates_shown(chrome) == 2, "a step")
        width, client = chrome.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert chrome.execute_script("return innerWidth") == 1000
        assert width <= client, f"a horizontal scroll bar: {width} px of page in {client}"
        plane, chart = box(chrome, "plane"), box(chrome, "chart-loss")
        assert chart["top"] >= plane["bottom"], "the charts are not under the plane"
        assert plane["right"] <= 1000 and box(chrome, "chart-modes")["right"] <= 1000
        for element_id in ("d-update", "play", "speed", "loss", "last-step", "layers"):
            assert box(chrome, element_id)["right"] <= client, element_id
    with window_of(chrome, 1400, 1000):              # wide: the charts beside the plane
        wait_for(lambda: box(chrome, "chart-loss")["left"] >= box(chrome, "plane")["right"],
                 "the charts beside the plane at 1400 px")
    assert console_errors(chrome) == []


def marker_pixels(chrome, canvas_id, x):
    """How many pixels of the chart's column at CSS x have the data-change marker's colour."""
    return chrome.execute_script("""
        const canvas = document.getElementById(arguments[0]), ratio = canvas.width / canvas.clientWidth;
        const column = Math.floor(arguments[1] * ratio);
        const data = canvas.getContext('2d').getImageData(column, 0, 1, canvas.height).data;
        const want = getComputedStyle(document.documentElement).getPropertyValue('--marker-data')
          .trim().match(/[0-9a-f]{2}/gi).map(h => parseInt(h, 16));
        let count = 0;
        for (let i = 0; i < data.length; i += 4) {
          if (want.every((v, c) => Math.abs(data[i + c] - v) <= 30)) count += 1;
        }
        return count;""", canvas_id, x)


def test_markers_after_a_data_change_and_the_modes_chart_only_with_modes(chrome, lab):
    open_page(chrome, lab)
    assert chrome.find_element("id", "chart-modes").is_displayed()
    assert "HQ share" in chrome.find_element("id", "modes-note").text
    assert "0 = evenly" in chrome.find_element("id", "modes-note").text
    click(chrome, "step")
    wait_for(lambda: updates_shown(chrome) == 2, "a step")
    click(chrome, "step")
    wait_for(lambda: updates_shown(chrome) == 4, "a second step")
    assert chrome.execute_script("return window.labDebug.markers")["chart-loss"] == []
    set_value(chrome, "data", "sine")
    wait_for(lambda: lab.session.settings.data == "sine", "the sine")
    click(chrome, "step")
    wait_for(lambda: updates_shown(chrome) == 6, "a step on the sine")
    markers = chrome.execute_script("return window.labDebug.markers")
    for chart in ("chart-loss", "chart-d"):
        assert [(m["update"], m["kind"]) for m in markers[chart]] == [(4, "data")], chart
        assert marker_pixels(chrome, chart, markers[chart][0]["x"]) >= 20, chart
    assert "update 4: data ring → sine" in chrome.find_element("id", "events").text
    assert "the data set changed" in chrome.find_element("id", "markers-box").text
    # The sine has no modes: no chart with the ring's legend, a line that says why.
    assert not chrome.find_element("id", "chart-modes").is_displayed()
    assert not chrome.find_element("id", "modes-note").is_displayed()
    assert "the ring and the grid" in chrome.find_element("id", "modes-none").text
    set_value(chrome, "lr-d", "0.002")
    wait_for(lambda: lab.session.settings.lr_d == 0.002, "lr_d")
    click(chrome, "reset")
    wait_for(lambda: chrome.execute_script("return window.labDebug.lastState.run") == 2,
             "the reset")
    wait_for(lambda: [(m["update"], m["kind"]) for m in chrome.execute_script(
        "return window.labDebug.markers")["chart-loss"]] == [(0, "reset")], "the reset's marker")
    set_value(chrome, "data", "grid")
    wait_for(lambda: chrome.find_element("id", "chart-modes").is_displayed(), "the grid's modes")
    assert console_errors(chrome) == []


CONTROLS = "button, input, select, textarea, a[href], [tabindex]"


def test_every_control_has_a_name_and_the_keyboard_reaches_it(chrome, lab):
    from selenium.webdriver.common.keys import Keys
    open_page(chrome, lab)
    controls = [e for e in chrome.find_elements("css selector", CONTROLS) if e.is_displayed()]
    assert len(controls) >= 20
    for element in controls:
        assert element.get_attribute("id"), element.get_attribute("outerHTML")
        assert element.accessible_name.strip(), element.get_attribute("outerHTML")
    for canvas_id in ("plane", "chart-loss", "chart-d", "chart-modes"):    # pictures, named
        canvas = chrome.find_element("id", canvas_id)
        assert canvas.aria_role in ("img", "image") and len(canvas.accessible_name) > 20, \
            canvas_id
    reached = set()
    chrome.execute_script("document.activeElement.blur()")
    for _ in range(3 * len(controls)):
        press(chrome, Keys.TAB)
        reached.add(focused(chrome))
    assert {e.get_attribute("id") for e in controls} <= reached
    assert console_errors(chrome) == []


def test_the_canvases_say_what_they_show(chrome, lab):
    open_page(chrome, lab)
    click(chrome, "step")
    wait_for(lambda: updates_shown(chrome) == 2, "a step")
    summary = chrome.find_element("id", "plane-summary").text
    assert re.fullmatch(r"512 generated samples, \d+ outside the frame; D says real on \d+ % "
                        r"of the plane", summary), summary
    assert chrome.find_element("id", "plane").accessible_name == f"The plane: {summary}"
    losses = chrome.find_element("id", "chart-loss").accessible_name
    assert losses.startswith("Losses, over 2 updates: latest D's loss ") and "G's loss" in losses
    assert console_errors(chrome) == []


def test_the_out_of_frame_count(chrome, lab):
    open_page(chrome, lab)
    with lab.lock:                      # spread G's samples 4 times wider: some leave the frame
        last_weight = [p for p in lab.session.G.parameters() if p.data.ndim == 2][-1]
        last_weight.data[...] *= 4.0
    click(chrome, "d-update")           # D moves, G does not: the samples are those moved
    wait_for(lambda: updates_shown(chrome) == 1, "the D update")
    fake = np.array(lab.session.state()["layers"]["fake"])
    xmin, xmax, ymin, ymax = lab.session.bounds
    out = int((~((fake[:, 0] >= xmin) & (fake[:, 0] <= xmax) & (fake[:, 1] >= ymin)
                 & (fake[:, 1] <= ymax))).sum())
    assert 20 < out < 512
    assert f"512 generated samples, {out} outside the frame" in \
        chrome.find_element("id", "plane-summary").text
    assert chrome.find_element("id", "fake-outside").text == f"({out} outside the frame)"
    assert console_errors(chrome) == []


def test_the_critic_labels_under_wgan(chrome, lab):
    open_page(chrome, lab)
    text = lambda: chrome.execute_script("return document.body.innerText")    # noqa: E731
    assert "D(x) = ½" in text()
    set_value(chrome, "loss", "wgan")
    wait_for(lambda: lab.session.settings.loss == "wgan", "the wgan loss")
    click(chrome, "step")
    wait_for(lambda: updates_shown(chrome) == 2, "a step under wgan")
    wait_for(lambda: "sigmoid(critic score)" in text(), "the critic's words")
    page = text()
    assert "D(x)" not in page and "D(G(z))" not in page, page
    assert "critic score = 0" in page and "mean critic score" in page
    verdicts = chrome.find_element("id", "chart-d").accessible_name
    assert "sigmoid(critic score)" in verdicts and "D(x)" not in verdicts
    assert chrome.execute_script("return window.labDebug.lastState.critic") is True
    notice = chrome.find_element("id", "message").text
    assert "unconstrained" in notice and "gp" in notice and "spectral" not in notice.lower()
    set_value(chrome, "loss", "non-saturating")
    wait_for(lambda: "D(x) = ½" in text(), "D(x) back under a BCE loss")
    assert console_errors(chrome) == []


class Recorder:
    """The session's act and state calls, with what they were asked (the server's thread)."""

    def __init__(self, session):
        self.acts, self.pictures = [], []
        act, state = session.act, session.state

        def recorded_act(action, repeat=1):
            self.acts.append((action, repeat))
            return act(action, repeat)

        def recorded_state(since=0, layers=None, heatmap_cells=48):
            self.pictures.append((layers, heatmap_cells))
            return state(since, layers, heatmap_cells)

        session.act, session.state = recorded_act, recorded_state


def play_for(chrome, lab, updates):
    click(chrome, "play")
    wait_for(lambda: lab.session.updates >= updates, f"{updates} updates of Play", timeout=60)
    chrome.find_element("id", "play").click()
    idle(chrome)


def test_play_asks_for_steps_and_a_light_picture_and_pause_for_the_full_one(chrome, lab):
    open_page(chrome, lab)
    recorder = Recorder(lab.session)
    set_value(chrome, "speed", "4")
    play_for(chrome, lab, 40)
    steps = [repeat for action, repeat in recorder.acts if action == "step"]
    assert steps and set(steps) == {4}, steps
    playing = recorder.pictures[:-1]
    assert all(cells == 32 and set(layers) == {"fake", "heatmap", "arrows"}
               for layers, cells in playing), playing           # the page had the real points
    assert recorder.pictures[-1] == (None, 48)                  # Pause: the whole picture
    state = chrome.execute_script("return window.labDebug.lastState")
    assert len(state["layers"]["heatmap"]) == 48 and state["updates"] == lab.session.updates
    assert len(state["layers"]["real"]) == 512                  # kept from the first answer
    # Two requests on their way at once, and still the page holds the server's history, every
    # row once.
    assert chrome.execute_script("return history.map(row => row.update)") == \
        [row["update"] for row in lab.session.history]

    recorder.acts.clear()
    set_value(chrome, "speed", "auto")
    chrome.find_element("id", "show-latent").click()             # asked for while it plays
    play_for(chrome, lab, lab.session.updates + 200)
    steps = [repeat for action, repeat in recorder.acts if action == "step"]
    assert max(steps) > 1 and max(steps) <= chrome.execute_script(
        "return window.labDebug.lastState.max_repeat")
    assert any(layers and "latent" in layers for layers, _ in recorder.pictures)
    assert console_errors(chrome) == []


def test_a_run_that_diverges_while_playing_stops_cleanly(chrome, lab):
    open_page(chrome, lab)
    set_value(chrome, "speed", "4")
    click(chrome, "play")
    wait_for(lambda: lab.session.updates >= 8, "Play")
    with lab.lock:
        lab.session.G.parameters()[0].data[...] = float("nan")
    message = wait_for(lambda: chrome.find_element("id", "message").text, "the pause message")
    assert message.startswith("Paused: d_loss = nan")
    wait_for(lambda: chrome.find_element("id", "play").text == "Play", "Play to stop")
    assert console_errors(chrome) == []                # the request on its way was not refused
