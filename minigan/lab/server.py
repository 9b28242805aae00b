"""The lab's web server: Python's own http.server, one LabSession, one request at a time.

    GET  /                      the page (static/index.html), /lab.js and /lab.css
    GET  /api/state?since=N     the session's state, with the history rows from N on
    POST /api/act               {"action": "d" | "g" | "step" | "reset", "repeat": 1..100}
    POST /api/settings          {"loss": "minimax", "k": 2, ...}: the settings to change

Every answer to /api/ is JSON: the state, or {"error": message} with status 400 for a request
the lab refuses (the page shows the message; nothing changed). Requests are served on threads,
so a slow browser cannot block the others, but the session is behind one lock: updates never
interleave. The files served are a fixed list: no path ever comes from the browser.
"""
import json
import os
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .settings import LabInputError

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
FILES = {"/": ("index.html", "text/html; charset=utf-8"),
         "/lab.js": ("lab.js", "text/javascript; charset=utf-8"),
         "/lab.css": ("lab.css", "text/css; charset=utf-8")}
MAX_BODY = 2 ** 20          # 1 MiB: 10 000 drawn points take about 300 kB


class LabServer(ThreadingHTTPServer):
    """An HTTP server around one session; `lock` serialises everything that touches it."""

    daemon_threads = True

    def __init__(self, session, host="127.0.0.1", port=0):
        self.session, self.lock = session, threading.Lock()
        super().__init__((host, port), LabRequestHandler)

    @property
    def url(self):
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


class LabRequestHandler(BaseHTTPRequestHandler):
    server_version = "minigan-lab"

    def do_GET(self):
        url = urlsplit(self.path)
        if url.path in FILES:
            name, content_type = FILES[url.path]
            with open(os.path.join(STATIC, name), "rb") as f:
                self.reply(200, f.read(), content_type)
        elif url.path == "/api/state":
            self.api(lambda session: None, since=parse_qs(url.query).get("since", ["0"])[0])
        else:
            self.reply_json(404, {"error": f"no such page: {url.path}"})

    def do_POST(self):
        url = urlsplit(self.path)
        routes = {"/api/act": act, "/api/settings": configure}
        if url.path not in routes:
            self.reply_json(404, {"error": f"no such action: {url.path}"})
            return
        try:
            body = self.read_json()
        except LabInputError as error:
            self.reply_json(400, {"error": str(error)})
            return
        self.api(lambda session: routes[url.path](session, body),
                 since=body.get("since", 0) if isinstance(body, dict) else 0)

    def api(self, change, since):
        """Run `change` on the session, then answer with its state (or the refusal)."""
        try:
            since = _since(since)
            with self.server.lock:
                change(self.server.session)
                state = self.server.session.state(since)
            self.reply_json(200, state)
        except LabInputError as error:
            self.reply_json(400, {"error": str(error)})
        except Exception as error:      # a bug: say so, keep serving
            traceback.print_exc()
            self.reply_json(500, {"error": f"internal error: {type(error).__name__}: {error}"})

    def read_json(self):
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise LabInputError("the request has no valid Content-Length") from None
        if not 0 < length <= MAX_BODY:
            raise LabInputError(f"the request body must hold 1 byte to {MAX_BODY} bytes of "
                                f"JSON, got {length}")
        try:
            return json.loads(self.rfile.read(length))
        except (ValueError, UnicodeDecodeError) as error:
            raise LabInputError(f"the request body is not valid JSON ({error})") from None

    def reply_json(self, status, value):
        self.reply(status, json.dumps(value, allow_nan=False).encode(), "application/json")

    def reply(self, status, body, content_type):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The page went away before its answer (a closed tab, a reload while playing):
            # the update is done and kept; there is no one left to tell.
            self.close_connection = True

    def log_message(self, format, *args):
        """Quiet: a playing page makes dozens of requests a second."""


def act(session, body):
    if not isinstance(body, dict):
        raise LabInputError(f"act: expected a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - {"action", "repeat", "since"})
    if unknown:
        raise LabInputError(f"act: unknown field {unknown[0]!r}: expected action, repeat, since")
    session.act(body.get("action"), body.get("repeat", 1))


def configure(session, body):
    changes = dict(body) if isinstance(body, dict) else body
    if isinstance(changes, dict):
        changes.pop("since", None)
    session.configure(changes)


def _since(value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise LabInputError(f"since: expected a whole number >= 0, got {value!r}") from None
    if isinstance(value, bool) or number < 0 or (isinstance(value, float) and value != number):
        raise LabInputError(f"since: expected a whole number >= 0, got {value!r}")
    return number
