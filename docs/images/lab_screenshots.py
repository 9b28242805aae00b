"""Make the lab's pictures of the README and of course page 12 (docs/12-watching-the-game.md).

    python docs/images/lab_screenshots.py          # needs chromium, chromium-driver, selenium

Writes, next to this file:
    lab_ring.png        the whole page mid-run on the ring (after --updates updates)
    lab_d_then_g.png    the plane three times: before, after one D update, after one G update
and, without a browser, the replay of a ring run:
    lab_ring_replay.html, lab_ring.gif    python -m minigan.lab --export ... --gif ...

The run is the lab's default (ring, seed 0, lr 1e-3, m = 64), played through the session the
server holds, so the pictures are what `python -m minigan.lab` shows after as many updates.
"""
import argparse
import io
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from minigan import cli  # noqa: E402
from minigan.lab import LabSession, Settings, export  # noqa: E402
from minigan.lab.server import LabServer  # noqa: E402


def browser():
    from selenium import webdriver
    from test_lab_browser import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag.replace("1400,1000", "1400,960"))
    return webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER),
                            options=options)


def wait_for_frame(driver, frames_before):
    for _ in range(400):
        if driver.execute_script("return window.labDebug.frames") > frames_before and \
                not driver.execute_script("return window.labDebug.requestsInFlight"):
            return
        time.sleep(0.05)
    raise RuntimeError("the page did not draw")


def plane_picture(driver):
    from PIL import Image
    return Image.open(io.BytesIO(driver.find_element("id", "plane").screenshot_as_png))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--updates", type=cli.non_negative_int, default=800, help="updates before the pictures")
    args = p.parse_args()
    session = LabSession(Settings(), seed=0)
    while session.updates < args.updates:                  # a step is a D and a G update
        session.act("step", repeat=min(100, max(1, (args.updates - session.updates) // 2)))
    server = LabServer(session, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = browser()
    try:
        driver.get(server.url)
        wait_for_frame(driver, 0)
        driver.save_screenshot(os.path.join(HERE, "lab_ring.png"))
        panels = [plane_picture(driver)]
        for button in ("d-update", "g-update"):
            frames = driver.execute_script("return window.labDebug.frames")
            driver.find_element("id", button).click()
            wait_for_frame(driver, frames)
            panels.append(plane_picture(driver))
    finally:
        driver.quit()
        server.shutdown()
    from PIL import Image, ImageDraw
    width, height = panels[0].size
    strip = Image.new("RGB", (3 * width + 20, height + 24), "white")
    draw = ImageDraw.Draw(strip)
    titles = (f"after {args.updates} updates", "after one more D update",
              "then one G update")
    for i, (panel, title) in enumerate(zip(panels, titles)):
        strip.paste(panel, (i * (width + 10), 24))
        draw.text((i * (width + 10) + 8, 5), title, fill="black", font_size=15)
    strip.save(os.path.join(HERE, "lab_d_then_g.png"))

    recording = export.record(LabSession(Settings(), seed=0), steps=1500, every=300)
    export.write_html(recording, os.path.join(HERE, "lab_ring_replay.html"))
    export.write_gif(recording, os.path.join(HERE, "lab_ring.gif"))
    print("wrote lab_ring.png, lab_d_then_g.png, lab_ring_replay.html, lab_ring.gif in", HERE)


if __name__ == "__main__":
    main()
