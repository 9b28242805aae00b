"""The lab's web server: Python's own http.server, one LabSession, and one gate in front of it.

    GET  /                      the page (static/index.html, with this server's token), /lab.js
                                and /lab.css
    GET  /api/state?since=N     the session's state, with the history rows from N on
    POST /api/act               {"action": "d" | "g" | "step" | "reset", "repeat": 1..100,
                                 optional "layers": [...] and "heatmap_cells": 8..48, the
                                 picture wanted back (settings.check_picture), and "playing":
                                 true from the page's Play}: the state, with "took_ms", the
                                 server's time for the updates
    POST /api/settings          {"loss": "minimax", "k": 2, ...}: the settings to change

The lab has no login, and a browser lets any page it shows send requests to any address,
127.0.0.1 included. So the lab answers its own page only: every request passes one gate
(LabRequestHandler.gate) before its route runs, and the routes are one table, ROUTES, so a route
added there passes the gate too (the tests try forged headers on every route of the table).
The gate's rules, in order (a refusal is JSON {"error": message} and changes nothing):

  1. Host must name the address served, with its port: the --host given, and for a loopback
     bind also localhost, 127.0.0.1 and [::1]; for 0.0.0.0 or :: (every address), localhost or
     any IP address. A page of evil.example whose name is made to point at 127.0.0.1 (DNS
     rebinding) is the lab's own origin in the browser's eyes: it could read the page and its
     token. But its requests say Host: evil.example:8765. 403.
  2. Origin, when the browser sends one, must be the page's own origin, http://<that Host>. A
     page of another site that posts a form, or fetches with text/plain (no CORS preflight),
     names its site there. 403.
  3. A POST (the only requests that change anything) must carry this server's token in the
     X-Lab-Token header. The token is random, made when the server starts, and written into
     the page it serves (a meta tag; lab.js sends it back). Another site's page cannot read the
     lab's page (the same-origin policy), nor send a custom header without a CORS preflight,
     which the lab never answers. So a POST without Origin (curl, a script) is fine if it read
     the token first: from GET /, or `server.token` in Python. Why both: the Origin check
     needs a browser to send Origin; the token needs nothing from the client but the page. 403.
  4. A POST must be Content-Type application/json (415), the JSON nested at most MAX_DEPTH
     deep (counted on the bytes before json.loads, which would recurse once per level), every
     number finite: no NaN or Infinity (which Python's json accepts) and no 1e999 (400).

A POST's body is read before these checks, so that a refusal goes back on a clean connection:
at most MAX_BODY bytes (413 for more). Then the route runs: /api/act is refused with 413 if it
asks for more than about a second of training (settings.check_work), and a value the lab
refuses is a 400 (settings.py). A path not in the table is a 404, a known one asked with the
other method a 405.

Requests are served on threads, so a slow browser cannot block the others, but the session is
behind one lock: updates never interleave. Every read from a connection waits at most
`connection_timeout` seconds (10), and at most `max_connections` are open at once (more are
closed as they come), so idle or slow clients cannot pile up threads. The files served are a
fixed list: no path ever comes from the browser.
"""
import dataclasses
import hmac
import ipaddress
import json
import math
import os
import re
import secrets
import socket
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from .settings import LabInputError, check_picture, check_work
from .views import HEATMAP_CELLS

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
MAX_BODY = 2 ** 20          # 1 MiB: 10 000 drawn points take about 300 kB
MAX_DISCARD = 16 * 2 ** 20  # a body too big, read and dropped so that its 413 arrives
MAX_DEPTH = 8               # JSON nesting: the lab's deepest request, drawn points, nests 3
TOKEN_HEADER = "X-Lab-Token"
TOKEN_TAG = '<meta name="lab-token" content="">'     # in static/index.html; filled when served
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


class Refused(Exception):
    """A request the gate refuses: `status` and the message sent back as {"error": ...}."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class LabServer(ThreadingHTTPServer):
    """An HTTP server around one session; `lock` serialises everything that touches it."""

    daemon_threads = True
    connection_timeout = 10.0     # seconds any read from a client may wait
    max_connections = 64          # open at once; a browser uses about 6
    request_queue_size = 64       # waiting to be accepted (the standard 5 drops a burst)

    def __init__(self, session, host="127.0.0.1", port=0):
        self.session, self.lock = session, threading.Lock()
        self.token = secrets.token_urlsafe(32)
        self.open_connections = threading.BoundedSemaphore(self.max_connections)
        if _ip_version(host) == 6:
            self.address_family = socket.AF_INET6      # the standard server speaks IPv4 only
        super().__init__((host, port), LabRequestHandler)
        self.names = _served_names(host, self.server_address[0])

    @property
    def url(self):
        return f"http://{host_port(*self.server_address[:2])}/"

    # --- at most max_connections threads --------------------------------------------------------
    def process_request(self, request, client_address):
        if not self.open_connections.acquire(blocking=False):
            self.shutdown_request(request)      # full: close it now instead of a new thread
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.open_connections.release()

    # --- the gate's Host rule -------------------------------------------------------------------
    def serves(self, host_header):
        """Is `host_header` ("127.0.0.1:8765", "[::1]:8765") an address of this server?"""
        name, port = _split_host(host_header)
        if port != self.server_address[1]:
            return False
        if "*" in self.names:                   # bound to every address: any IP is one of ours
            return name == "localhost" or _ip_version(name) is not None
        return name in self.names

    def addresses(self):
        """The Host values served, for a refusal's message."""
        port = self.server_address[1]
        if "*" in self.names:
            return f"localhost:{port} or an IP address of this machine with port {port}"
        names = [host_port(name, port) for name in sorted(self.names)]
        return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


class LabRequestHandler(BaseHTTPRequestHandler):
    server_version = "minigan-lab"

    def setup(self):
        self.timeout = self.server.connection_timeout    # StreamRequestHandler applies it
        super().setup()

    def do_GET(self):
        self.serve("GET")

    def do_POST(self):
        self.serve("POST")

    def serve(self, method):
        """Every request: read it, pass the gate, find its route in ROUTES, answer."""
        url = urlsplit(self.path)
        try:
            raw = self.read_body() if method == "POST" else None
            self.gate(method)
            route = find_route(method, url.path)
            body = parse_json(raw) if method == "POST" else None
            status, content, content_type = route.answer(self.server, parse_qs(url.query), body)
        except (Refused, LabInputError) as error:
            status, content, content_type = as_json(error.status, {"error": str(error)})
        except TimeoutError:
            status, content, content_type = as_json(408, {"error": (
                f"the request did not arrive within {self.server.connection_timeout:g} s")})
        except Exception as error:      # a bug: say so, keep serving
            traceback.print_exc()
            status, content, content_type = as_json(500, {
                "error": f"internal error: {type(error).__name__}: {error}"})
        self.reply(status, content, content_type)

    def gate(self, method):
        """Host, Origin and (for a POST) the token and the content type; the module's rules."""
        host = self.headers.get("Host")
        if host is None or not self.server.serves(host):
            raise Refused(403, f"Host {host!r} is not this lab's address: expected "
                               f"{self.server.addresses()} (another site's page cannot use it)")
        origin = self.headers.get("Origin")
        if origin is not None and origin.lower() != f"http://{host}".lower():
            raise Refused(403, f"Origin {origin!r} is not this lab's page: expected "
                               f"'http://{host}' or no Origin")
        if method == "POST":
            self.check_token()
            media_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if media_type != "application/json":
                raise Refused(415, f"Content-Type: expected application/json, got "
                                   f"{self.headers.get('Content-Type')!r}")

    def check_token(self):
        token = self.headers.get(TOKEN_HEADER)
        if token is None:
            raise Refused(403, f"a POST must carry the lab page's token in the {TOKEN_HEADER} "
                               f"header (the page sends it; a script reads it from the "
                               f"lab-token meta tag of GET /): got none")
        # compare_digest takes as long for a near miss as for a far one: no guessing by timing.
        if not hmac.compare_digest(token.encode(), self.server.token.encode()):
            raise Refused(403, f"{TOKEN_HEADER} is not this lab's token: reload the page (the "
                               f"server may have restarted since it was loaded)")

    def read_body(self):
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise Refused(400, "the request has no valid Content-Length") from None
        if not 0 < length <= MAX_BODY:
            if length > MAX_BODY:
                self.discard(length)
            raise Refused(413 if length > MAX_BODY else 400,
                          f"the request body must hold 1 byte to {MAX_BODY} bytes of JSON, "
                          f"got {length}")
        body = self.rfile.read(length)          # each read waits at most connection_timeout
        if len(body) < length:
            raise Refused(400, f"the request body ended after {len(body)} of {length} bytes")
        return body

    def discard(self, length):
        """Read and drop a body refused for its size (up to MAX_DISCARD bytes): a connection
        closed with bytes unread is reset, and the client would see the reset, not the 413."""
        left = min(length, MAX_DISCARD)
        while left > 0:
            chunk = self.rfile.read(min(left, 2 ** 16))
            if not chunk:
                break
            left -= len(chunk)

    def reply(self, status, body, content_type):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")       # the page holds the token
            self.send_header("X-Frame-Options", "DENY")         # no other site may frame it
            self.send_header("X-Content-Type-Options", "nosniff")   # JSON is never read as HTML
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            # The page went away before its answer (a closed tab, a reload while playing):
            # the update is done and kept; there is no one left to tell.
            self.close_connection = True

    def log_message(self, format, *args):
        """Quiet: a playing page makes dozens of requests a second."""


# --- the routes: every request the lab answers ----------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Route:
    method: str         # "GET" only reads; "POST" changes the session (the gate asks for more)
    path: str
    answer: object      # answer(server, query, body) -> (status, bytes, content type)


def static_file(name, content_type):
    def answer(server, query, body):
        with open(os.path.join(STATIC, name), "rb") as f:
            return 200, f.read(), content_type
    return answer


def page(server, query, body):
    """index.html with this server's token in its meta tag (the gate's rule 3)."""
    with open(os.path.join(STATIC, "index.html"), encoding="utf-8") as f:
        html = f.read()
    if TOKEN_TAG not in html:
        raise RuntimeError(f"static/index.html lost its {TOKEN_TAG!r}")
    html = html.replace(TOKEN_TAG, f'<meta name="lab-token" content="{server.token}">')
    return 200, html.encode("utf-8"), "text/html; charset=utf-8"


def on_session(change):
    """A route that runs change(session, body) under the lock and answers with the state.
    change() may return {"picture": state()'s layers and heatmap_cells, and fields to add}."""
    def answer(server, query, body):
        since = body.get("since", 0) if isinstance(body, dict) else query.get("since", ["0"])[0]
        since = _since(since)
        with server.lock:
            extra = change(server.session, body) or {}
            picture = extra.pop("picture", {})
            return as_json(200, {**server.session.state(since, **picture), **extra})
    return answer


ACT_FIELDS = ("action", "repeat", "since", "layers", "heatmap_cells", "playing")


def act(session, body):
    """The updates asked for. The page's Play keeps two requests on their way (lab.js), so when
    one pauses the run (a non-finite loss), the next finds it paused: with "playing": true it is
    answered with the state, which says why, instead of being refused."""
    if not isinstance(body, dict):
        raise LabInputError(f"act: expected a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - set(ACT_FIELDS))
    if unknown:
        raise LabInputError(f"act: unknown field {unknown[0]!r}: expected "
                            f"{', '.join(ACT_FIELDS)}")
    action, repeat, playing = body.get("action"), body.get("repeat", 1), body.get("playing")
    if playing not in (None, True, False):
        raise LabInputError(f"playing: expected true or false, got {playing!r}")
    layers, cells = check_picture(body.get("layers"), body.get("heatmap_cells", HEATMAP_CELLS))
    check_work(session.settings, action, repeat)        # 413 before any update
    start = time.perf_counter()
    if not (playing and session.paused):
        session.act(action, repeat)
    took = time.perf_counter() - start                  # the page's Play sizes its requests
    return {"picture": {"layers": layers, "heatmap_cells": cells},
            "took_ms": round(1000 * took, 2)}


def configure(session, body):
    changes = dict(body) if isinstance(body, dict) else body
    if isinstance(changes, dict):
        changes.pop("since", None)
    session.configure(changes)


ROUTES = (
    Route("GET", "/", page),
    Route("GET", "/lab.js", static_file("lab.js", "text/javascript; charset=utf-8")),
    Route("GET", "/lab.css", static_file("lab.css", "text/css; charset=utf-8")),
    Route("GET", "/api/state", on_session(lambda session, body: None)),
    Route("POST", "/api/act", on_session(act)),
    Route("POST", "/api/settings", on_session(configure)),
)


def find_route(method, path):
    matches = [route for route in ROUTES if route.path == path]
    if not matches:
        raise Refused(404, f"no such page: {path}")
    for route in matches:
        if route.method == method:
            return route
    raise Refused(405, f"{path} takes {' or '.join(r.method for r in matches)}, not {method}")


# --- bodies ---------------------------------------------------------------------------------------

def parse_json(body):
    """The JSON in `body`, refused (400) if nested too deep or holding a non-finite number."""
    if nests_deeper(body, MAX_DEPTH):
        raise Refused(400, f"the request body nests JSON more than {MAX_DEPTH} deep: the lab's "
                           f"requests nest at most 3")
    try:
        return json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError) as error:
        raise Refused(400, f"the request body is not valid JSON ({error})") from None


# The characters that matter for nesting: brackets, and the quotes and backslashes that say
# whether a bracket is inside a string. Everything else is skipped by the regex, in C.
_SPECIAL = re.compile(rb'[\[\]{}"\\]')


def nests_deeper(body, limit):
    """Does the JSON text `body` nest arrays and objects more than `limit` deep? One pass over
    its bytes, no recursion (json.loads recurses once per level); brackets inside strings do
    not count. Stops at the first bracket past the limit."""
    depth, in_string, escaped_at = 0, False, -1
    for match in _SPECIAL.finditer(body):
        at, char = match.start(), match.group()
        if at == escaped_at:                # the character after a backslash in a string
            continue
        if in_string:
            if char == b"\\":
                escaped_at = at + 1
            elif char == b'"':
                in_string = False
        elif char == b'"':
            in_string = True
        elif char in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _no_constant(name):
    raise Refused(400, f"the request body holds {name}: expected finite numbers only")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise Refused(400, f"the request body holds {text}, which is not a finite number "
                           f"(a float holds at most about 1.8e308)")
    return value


def as_json(status, value):
    return (status, json.dumps(value, allow_nan=False, separators=(",", ":")).encode(),
            "application/json")


def _since(value):
    if isinstance(value, float) and not math.isfinite(value):
        raise LabInputError(f"since: expected a whole number >= 0, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise LabInputError(f"since: expected a whole number >= 0, got {value!r}") from None
    if isinstance(value, bool) or number < 0 or (isinstance(value, float) and value != number):
        raise LabInputError(f"since: expected a whole number >= 0, got {value!r}")
    return number


# --- addresses ------------------------------------------------------------------------------------

def _ip_version(name):
    """4 or 6 for an IP address ("127.0.0.1", "::1"), None for a name ("localhost")."""
    try:
        return ipaddress.ip_address(name).version
    except ValueError:
        return None


def _served_names(host, bound):
    """The host names a Host header may give: what was asked for and what was bound, with the
    loopback names for a loopback bind; {"*"} for a bind to every address."""
    if _ip_version(bound) and ipaddress.ip_address(bound).is_unspecified:
        return {"*"}
    names = {host.lower(), bound.lower()}
    if ipaddress.ip_address(bound).is_loopback:
        names.update(LOOPBACK_NAMES)
    return names


def _split_host(header):
    """A Host header's name and port: "127.0.0.1:8765", "[::1]:8765", "localhost" (port 80).
    The name comes back lower case without brackets; a malformed header gives port None."""
    if header.startswith("["):
        name, _, rest = header[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None if rest else ""
    else:
        name, _, port = header.partition(":")
    if port == "":
        return name.lower(), 80                 # no port: HTTP's own
    if port is None or not port.isascii() or not port.isdigit():
        return name.lower(), None
    return name.lower(), int(port)


def host_port(name, port):
    return f"[{name}]:{port}" if _ip_version(name) == 6 else f"{name}:{port}"
