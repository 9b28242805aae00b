"""The lab's page in a real browser: Debian's Chromium driven by Selenium (ChromeDriver).

Marked `browser`; each test skips, saying why, where Chromium, ChromeDriver or Selenium is
missing. .ci/run installs all three and sets MINIGAN_REQUIRE_BROWSER=1, so in CI a missing
piece fails them instead. The server runs in this process, on a
free port of 127.0.0.1, and the page talks to it as a learner's would.
"""
import json
import os
import shutil
import threading
import time

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
