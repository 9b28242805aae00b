"""How many steps per second the lab plays: python -m minigan.lab on one CPU core.

    python benchmarks/lab_speed.py                 # the server, "step" requests for 20 s each
    python benchmarks/lab_speed.py --browser       # and the page in Chromium, playing
    python benchmarks/lab_speed.py --data grid --k 2 --seconds 30

What is timed. The server runs in its own process, pinned to one CPU core with one BLAS thread
(OMP_NUM_THREADS=1 and friends set before NumPy loads), on the default ring nets (G 2-64-64-2,
D 2-128-128-1, m = 64). A step is k D updates and a G update (k = 1: two updates). The client,
pinned to another core where there is one, sends one step a request and waits for the state
before the next, twice: with the whole picture (every layer on the 48 x 48 heat map, as a
button's request got before issue 24) and with Play's picture (the layers shown by default, the
heat map on 32 x 32, the real samples only once). The table gives requests per second, the
reply's size and, from the server's own clock (LabSession timed in-process on the same core),
how the time of one Play request divides: the updates (with the copies kept to undo them and
the facts), the picture, the JSON.

--browser also drives Chromium (Selenium, as tests/test_lab_browser.py does): for each choice
of the page's Play speed it presses Play and counts, over --seconds, the steps the page has
been sent and the frames it drew. A page without a speed control (before issue 24) is timed
once, as it plays.

The lab's goals: at least 10 steps per second for the default ring nets on one core (issue 15),
and 45 at the page's default speed, in Chromium (issue 24). Nothing here is a test: run it on a
quiet machine and read the table (the load average before is printed: above about 0.5 on a
2-core machine the figures are the machine's, not the lab's).
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
GOAL = 45.0                         # steps per second in Chromium, at the default speed
PLAY_PICTURE = {"layers": ["fake", "heatmap", "arrows"], "heatmap_cells": 32}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="ring", choices=("sine", "ring", "grid"))
    p.add_argument("--k", type=int, default=1)
    p.add_argument("--seconds", type=float, default=20.0, help="time per measurement")
    p.add_argument("--browser", action="store_true", help="also time the page in Chromium")
    args = p.parse_args(argv)
    # (not minigan.cli's types: this process does not import minigan, the server does)
    if args.k < 1 or not 0 < args.seconds < math.inf:
        p.error(f"--k must be an integer >= 1 and --seconds a finite number > 0, got {args.k} "
                f"and {args.seconds}")
    return args


def one_core_env():
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.update({name: "1" for name in THREAD_VARS})
    return env


def start_server(data):
    """The lab in a subprocess on core 0; returns (process, url)."""
    process = subprocess.Popen(
        [sys.executable, "-c", "import os, sys; os.sched_setaffinity(0, {0}); "
         "from minigan.lab.__main__ import main; main(sys.argv[1:])",
         "--port", "0", "--data", data], cwd=ROOT, env=one_core_env(),
        stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if "open http" not in line:
        process.kill()
        raise SystemExit(f"the lab did not start: {line!r}")
    return process, line.split("open ")[1].split()[0]


def page_headers(url):
    """What the lab's page sends with every POST (server.py's gate): JSON, and the token the
    server wrote into the page."""
    with urllib.request.urlopen(url, timeout=60) as reply:
        page = reply.read().decode()
    token = re.search(r'name="lab-token" content="([^"]+)"', page).group(1)
    return {"Content-Type": "application/json", "X-Lab-Token": token}


def post(url, body, headers):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers=headers)
    with urllib.request.urlopen(req, timeout=60) as reply:
        return json.loads(reply.read())


def time_requests(url, k, seconds, picture):
    """Requests per second of one step a request with `picture` ({}: the whole picture), and
    the mean size of a reply; None if the server refuses the request (before issue 24, a
    picture)."""
    headers = page_headers(url)
    post(url + "api/settings", {"k": k}, headers)
    body = {"action": "step", **picture}
    try:
        since = len(post(url + "api/act", body, headers)["history"])
    except urllib.error.HTTPError:
        return None
    for _ in range(4):                                   # warm up
        state = post(url + "api/act", {**body, "since": since}, headers)
        since = state["history_from"] + len(state["history"])
    count, size = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        req = urllib.request.Request(url + "api/act", method="POST", headers=headers,
                                     data=json.dumps({**body, "since": since}).encode())
        with urllib.request.urlopen(req, timeout=60) as reply:
            text = reply.read()
        state = json.loads(text)
        since = state["history_from"] + len(state["history"])
        count, size = count + 1, size + len(text)
    return count / (time.perf_counter() - start), size / max(count, 1)


def split_in_process(data, k, steps=200):
    """Where a Play request's time goes, timed in a one-core subprocess: ms per part."""
    code = f"""
import inspect, json, os, time
os.sched_setaffinity(0, {{0}})
from minigan.lab import LabSession, Settings
s = LabSession(Settings(data={data!r}, k={k}))
# Play's picture where the session takes one (issue 24), else the whole picture.
picture = ({{"layers": ("fake", "heatmap", "arrows"), "heatmap_cells": 32}}
           if "layers" in inspect.signature(s.state).parameters else {{}})
for _ in range(5):
    s.act("step"); json.dumps(s.state(**picture))
parts = {{"updates": 0.0, "picture": 0.0, "json": 0.0}}
for _ in range({steps}):
    t0 = time.perf_counter(); s.act("step")
    t1 = time.perf_counter(); state = s.state(len(s.history) - 2 * {k}, **picture)
    t2 = time.perf_counter(); json.dumps(state, separators=(",", ":"))
    t3 = time.perf_counter()
    parts["updates"] += t1 - t0; parts["picture"] += t2 - t1; parts["json"] += t3 - t2
print(json.dumps({{name: 1000 * v / {steps} for name, v in parts.items()}}))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=one_core_env(),
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# The steps the page has been sent (latestState; before issue 24 the page drew every state it
# got, lastState), and the frames it drew.
PAGE_COUNTS = """
const d = window.labDebug, s = d.latestState || d.lastState;
return [s.updates, d.frames];
"""


def browser_rates(url, k, seconds):
    """[(speed, steps per second, frames per second)] while playing in headless Chromium, for
    each choice of the page's speed control (its label; "default" for a page without one);
    and the default choice's label."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from selenium import webdriver
    from test_lab_browser import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER),
                              options=options)
    try:
        driver.get(url)
        time.sleep(2)
        speeds = driver.execute_script(
            "const s = document.getElementById('speed');"
            "return s ? [...s.options].map(o => [o.value, o.text, o.defaultSelected]) : null")
        speeds = speeds or [[None, "default", True]]
        default = next(text for _, text, chosen in speeds if chosen)
        rates = []
        for value, text, _ in speeds:
            driver.find_element("id", "reset").click()
            time.sleep(1)
            if value is not None:
                driver.execute_script(
                    "const s = document.getElementById('speed'); s.value = arguments[0];"
                    "s.dispatchEvent(new Event('change'))", value)
            driver.find_element("id", "play").click()
            time.sleep(2)                                # warm up
            updates0, frames0 = driver.execute_script(PAGE_COUNTS)
            start = time.perf_counter()
            time.sleep(seconds)
            updates, frames = driver.execute_script(PAGE_COUNTS)
            elapsed = time.perf_counter() - start
            driver.find_element("id", "play").click()
            rates.append((text, (updates - updates0) / (k + 1) / elapsed,
                          (frames - frames0) / elapsed))
            time.sleep(1)
        return rates, default
    finally:
        driver.quit()


def main(argv=None):
    args = parse_args(argv)
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) > 1:
        os.sched_setaffinity(0, set(cores[1:]))          # the client off the server's core
    print(f"lab speed: {args.data} data, k = {args.k}, the server on one core "
          f"(load average before: {os.getloadavg()[0]:.2f})")
    split = split_in_process(args.data, args.k)
    process, url = start_server(args.data)
    try:
        whole = time_requests(url, args.k, args.seconds, {})
        play = time_requests(url, args.k, args.seconds, PLAY_PICTURE)
        rates, default = browser_rates(url, args.k, args.seconds) if args.browser else ([], None)
    finally:
        process.kill()
    total = sum(split.values())
    print(f"(load average after: {os.getloadavg()[0]:.2f})")
    print()
    print("| what | value |")
    print("|---|---:|")
    print(f"| server: requests per second, one step each, the whole picture | {whole[0]:.1f} |")
    print(f"| reply size, the whole picture (JSON) | {whole[1] / 1024:.0f} KiB |")
    if play is not None:
        print(f"| server: requests per second, one step each, Play's picture | {play[0]:.1f} |")
        print(f"| reply size, Play's picture (JSON) | {play[1] / 1024:.0f} KiB |")
    for text, steps, frames in rates:
        mark = " (the default)" if text == default and len(rates) > 1 else ""
        print(f"| page in Chromium, Play at \"{text}\"{mark}: steps per second (frames per "
              f"second) | {steps:.1f} ({frames:.1f}) |")
    for name, ms in split.items():
        print(f"| in-process: {name}, ms per Play request | {ms:.2f} ({100 * ms / total:.0f} %) |")
    if rates:
        shown = next(steps for text, steps, _ in rates if text == default)
        print(f"\ngoal: >= {GOAL:.0f} steps per second in Chromium at the default speed "
              f"(\"{default}\"): {'met' if shown >= GOAL else 'missed'} ({shown:.1f})")


if __name__ == "__main__":
    main()
