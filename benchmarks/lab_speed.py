"""How many updates per second the lab shows: python -m minigan.lab on one CPU core.

    python benchmarks/lab_speed.py                 # the server, 20 s of "step" requests
    python benchmarks/lab_speed.py --browser       # and the page in Chromium, playing
    python benchmarks/lab_speed.py --data grid --k 2 --seconds 30

What is timed. The server runs in its own process, pinned to one CPU core with one BLAS thread
(OMP_NUM_THREADS=1 and friends set before NumPy loads), on the default ring nets (G 2-64-64-2,
D 2-128-128-1, m = 64). The client, pinned to another core where there is one, does what the
page's play loop does: POST /api/act {"action": "step"} and wait for the state (every layer
recomputed, the new history rows, JSON) before the next. One "update" on the page is one such
request: with k = 1 it holds a D and a G update. The table gives requests per second and, from
the server's own clock (LabSession timed in-process on the same core), how the time of one
request divides: the D and G updates (with the copies kept to undo them and the facts),
the layers, the JSON.

--browser also drives Chromium (Selenium, as tests/test_lab_browser.py does): it presses Play,
counts the frames the page draws in --seconds, and says frames per second, the rate a learner
sees (the page draws every state it gets: one frame per request).

The lab's goal (issue 15): at least 10 updates per second for the default ring nets on one
core. Nothing here is a test: run it on a quiet machine and read the table.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
GOAL = 10.0


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


def time_requests(url, k, seconds):
    """Requests per second of the play loop's request, and the mean size of a reply."""
    headers = page_headers(url)
    post(url + "api/settings", {"k": k}, headers)
    since, count, size = 0, 0, 0
    for _ in range(5):                                   # warm up
        since = len(post(url + "api/act", {"action": "step"}, headers)["history"])
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        req = urllib.request.Request(url + "api/act", method="POST", headers=headers,
                                     data=json.dumps({"action": "step", "since": since}).encode())
        with urllib.request.urlopen(req, timeout=60) as reply:
            text = reply.read()
        state = json.loads(text)
        since = state["history_from"] + len(state["history"])
        count, size = count + 1, size + len(text)
    return count / (time.perf_counter() - start), size / max(count, 1)


def split_in_process(data, k, steps=200):
    """Where a request's time goes, timed in a one-core subprocess: ms per part."""
    code = f"""
import json, os, time
os.sched_setaffinity(0, {{0}})
from minigan.lab import LabSession, Settings
s = LabSession(Settings(data={data!r}, k={k}))
for _ in range(5):
    s.act("step"); json.dumps(s.state())
parts = {{"updates": 0.0, "layers": 0.0, "json": 0.0}}
for _ in range({steps}):
    t0 = time.perf_counter(); s.act("step")
    t1 = time.perf_counter(); state = s.state(len(s.history) - 2 * {k})
    t2 = time.perf_counter(); json.dumps(state)
    t3 = time.perf_counter()
    parts["updates"] += t1 - t0; parts["layers"] += t2 - t1; parts["json"] += t3 - t2
print(json.dumps({{name: 1000 * v / {steps} for name, v in parts.items()}}))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=one_core_env(),
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def browser_frames(url, seconds):
    """Frames per second the page draws while playing, in headless Chromium."""
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
        driver.find_element("id", "reset").click()
        time.sleep(1)
        driver.find_element("id", "play").click()
        time.sleep(2)                                    # warm up
        frames0 = driver.execute_script("return window.labDebug.frames")
        start = time.perf_counter()
        time.sleep(seconds)
        frames = driver.execute_script("return window.labDebug.frames") - frames0
        rate = frames / (time.perf_counter() - start)
        driver.find_element("id", "play").click()
        return rate
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
        rate, size = time_requests(url, args.k, args.seconds)
        frames = browser_frames(url, args.seconds) if args.browser else None
    finally:
        process.kill()
    total = sum(split.values())
    print()
    print("| what | value |")
    print("|---|---:|")
    print(f"| server: play requests per second (one step each) | {rate:.1f} |")
    if frames is not None:
        print(f"| page in Chromium: frames per second while playing | {frames:.1f} |")
    print(f"| reply size (JSON) | {size / 1024:.0f} KiB |")
    for name, ms in split.items():
        print(f"| in-process: {name}, ms per request | {ms:.2f} ({100 * ms / total:.0f} %) |")
    shown = frames if frames is not None else rate
    print(f"\ngoal: >= {GOAL:.0f} updates per second: "
          f"{'met' if shown >= GOAL else 'missed'} ({shown:.1f})")


if __name__ == "__main__":
    main()
