"""The lab answers its own page only (minigan/lab/server.py's gate): a forged Host or Origin, a
POST without the page's token or not JSON, a body nested too deep or holding NaN, a request for
too much work, a slow or idle client: each is refused with its own status and message, nothing
changes, and the page's own next request still works. The forged headers are tried on every
route of server.ROUTES, so a route added there is tested here without a line more.

The requests are raw (http.client or a socket), so that every header is exactly the one a
browser, curl or an attacker's page would send.
"""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import types

import pytest
from conftest import serving

from minigan.lab import LabSession, Settings
from minigan.lab import server as lab_server
from minigan.lab.server import LabServer
from minigan.lab.settings import MAX_BATCH, MAX_K

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Every route of the table. (The fallback only lets this file run against a server without a
# table; test_every_route_is_declared_in_one_table fails there.)
ROUTES = [(r.method, r.path) for r in getattr(lab_server, "ROUTES", ())] or [
    ("GET", "/"), ("GET", "/lab.js"), ("GET", "/lab.css"), ("GET", "/api/state"),
    ("POST", "/api/act"), ("POST", "/api/settings")]
POSTS = [path for method, path in ROUTES if method == "POST"]


@pytest.fixture
def lab():
    with serving(LabSession(Settings(), seed=0, n=1024)) as server:
        yield server


def send(lab, method, path, body=None, headers=()):
    """(status, JSON or text) of one request with exactly these headers (Host included)."""
    host, port = lab.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=30)     # a hang guard only
    try:
        connection.request(method, path, body=body, headers=dict(headers))
        reply = connection.getresponse()
        text = reply.read()
        is_json = reply.headers.get("Content-Type") == "application/json"
        return reply.status, json.loads(text) if is_json else text.decode()
    finally:
        connection.close()


def page_headers(lab, host="127.0.0.1"):
    """What the lab's page sends with a POST: its Host and Origin, JSON, and the token read from
    the page it was served (as lab.js reads it)."""
    address = f"{host}:{lab.server_address[1]}"
    status, page = send(lab, "GET", "/", headers={"Host": address})
    token = re.search(r'<meta name="lab-token" content="([^"]*)">', page)
    return {"Host": address, "Origin": f"http://{address}", "Content-Type": "application/json",
            "X-Lab-Token": token.group(1) if token else ""}


def body_for(path):
    """A body each POST route accepts (the refusals below must come from the headers)."""
    return json.dumps({"action": "d"} if path == "/api/act" else {"loss": "minimax"}).encode()


def the_page_still_works(lab):
    """The page's own next request is served: one D update."""
    updates = lab.session.updates
    status, state = send(lab, "POST", "/api/act", json.dumps({"action": "d"}), page_headers(lab))
    assert status == 200, state
    assert state["updates"] == updates + 1


def assert_refused(lab, status, words, method, path, body=None, headers=()):
    """The request gets `status` with a message holding `words`, changes nothing, and the
    page's own request works after it."""
    before = (lab.session.updates, lab.session.run, lab.session.settings)
    got, reply = send(lab, method, path, body, headers)
    assert got == status, reply
    assert isinstance(reply, dict) and words in reply["error"], reply
    assert (lab.session.updates, lab.session.run, lab.session.settings) == before
    the_page_still_works(lab)
    return reply["error"]


# --- one table, one gate --------------------------------------------------------------------------

def test_every_route_is_declared_in_one_table():
    table = {(r.method, r.path) for r in lab_server.ROUTES}
    assert table >= {("GET", "/"), ("GET", "/lab.js"), ("GET", "/lab.css"),
                     ("GET", "/api/state"), ("POST", "/api/act"), ("POST", "/api/settings")}
    assert {method for method, _ in table} <= {"GET", "POST"}     # the two the gate knows


@pytest.mark.parametrize("method, path", ROUTES)
def test_the_gate_lets_the_page_through_on_every_route(lab, method, path):
    headers = page_headers(lab)
    if method == "GET":
        headers = {"Host": headers["Host"]}          # a GET from the page sends no Origin
    status, reply = send(lab, method, path, body_for(path) if method == "POST" else None,
                         headers)
    assert status not in (403, 413, 415), reply      # (a new route's body may be a 400)
    if path in ("/", "/lab.js", "/lab.css", "/api/state", "/api/act", "/api/settings"):
        assert status == 200, reply


def forged(lab, header, value):
    """The page's headers with `header` set to `value` ({port}: the lab's, {other}: another)."""
    port = lab.server_address[1]
    headers = page_headers(lab)
    headers.pop("Origin")           # a DNS-rebinding page is "same-origin": it sends no Origin
    headers[header] = value.format(port=port, other=port + 1)
    return headers


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("host", ["evil.example:{port}",            # DNS rebinding
                                  "127.0.0.1:{other}"])               # another port
def test_a_forged_host_is_refused_on_every_route(lab, method, path, host):
    assert_refused(lab, 403, "is not this lab's address", method, path,
                   body_for(path) if method == "POST" else None, forged(lab, "Host", host))


def test_hosts_that_only_look_like_the_labs_are_refused(lab):
    for host in ("127.0.0.1.evil.example:{port}", "127.0.0.1",          # no port: 80
                 "localhost:{other}", "[::1]:{other}", "user@127.0.0.1:{port}", ""):
        assert_refused(lab, 403, "is not this lab's address", "POST", "/api/act",
                       body_for("/api/act"), forged(lab, "Host", host))


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("origin", ["http://evil.example", "null"])
def test_a_forged_origin_is_refused_on_every_route(lab, method, path, origin):
    assert_refused(lab, 403, "is not this lab's page", method, path,
                   body_for(path) if method == "POST" else None,
                   dict(page_headers(lab), Origin=origin))


def test_origins_that_only_look_like_the_pages_are_refused(lab):
    """The Host is 127.0.0.1:port: the page's own origin is http://127.0.0.1:port, exactly."""
    for origin in ("http://127.0.0.1:{other}", "http://localhost:{port}",
                   "https://127.0.0.1:{port}", "http://127.0.0.1:{port}.evil.example"):
        headers = dict(page_headers(lab), Origin=forged(lab, "Origin", origin)["Origin"])
        assert_refused(lab, 403, "is not this lab's page", "POST", "/api/act",
                       body_for("/api/act"), headers)


def test_the_issues_cross_site_post_is_refused(lab):
    """Any page in the browser could post this: a "simple" request, no CORS preflight."""
    port = lab.server_address[1]
    error = assert_refused(lab, 403, "Origin", "POST", "/api/act",
                           json.dumps({"action": "step", "repeat": 100}),
                           {"Host": f"127.0.0.1:{port}", "Origin": "http://evil.example",
                            "Content-Type": "text/plain"})
    assert "'http://evil.example' is not this lab's page" in error


@pytest.mark.parametrize("path", POSTS)
@pytest.mark.parametrize("token", [None, "guessed"])
def test_a_post_without_the_pages_token_is_refused(lab, path, token):
    headers = page_headers(lab)
    headers.pop("X-Lab-Token")
    if token is not None:
        headers["X-Lab-Token"] = token
    assert_refused(lab, 403, "X-Lab-Token", "POST", path, body_for(path), headers)


def test_a_token_must_match_in_full(lab):
    token = page_headers(lab)["X-Lab-Token"]
    for wrong in ("", token[:-1], token + "x", token.upper() if token.upper() != token else ""):
        headers = dict(page_headers(lab), **{"X-Lab-Token": wrong})
        assert_refused(lab, 403, "X-Lab-Token", "POST", "/api/act", body_for("/api/act"),
                       headers)


def test_a_post_with_the_token_and_no_origin_is_served(lab):
    """curl or a script: no Origin, but the token of the page it read first."""
    headers = page_headers(lab)
    headers.pop("Origin")
    status, state = send(lab, "POST", "/api/act", json.dumps({"action": "step"}), headers)
    assert status == 200 and state["updates"] == 2


@pytest.mark.parametrize("path", POSTS)
def test_a_post_that_is_not_json_is_refused(lab, path):
    headers = dict(page_headers(lab), **{"Content-Type": "text/plain"})
    assert_refused(lab, 415, "Content-Type: expected application/json, got 'text/plain'",
                   "POST", path, body_for(path), headers)


def test_every_other_content_type_is_refused(lab):
    """The three a form or a "simple" cross-site fetch may send, and none at all."""
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         "text/plain; charset=utf-8", None):
        headers = page_headers(lab)
        headers.pop("Content-Type")
        if content_type:
            headers["Content-Type"] = content_type
        assert_refused(lab, 415, "Content-Type: expected application/json", "POST",
                       "/api/settings", body_for("/api/settings"), headers)


def test_json_with_a_charset_is_json(lab):
    headers = dict(page_headers(lab), **{"Content-Type": "application/json; charset=UTF-8"})
    status, state = send(lab, "POST", "/api/act", json.dumps({"action": "d"}), headers)
    assert status == 200 and state["updates"] == 1


@pytest.mark.parametrize("host", ["localhost", "[::1]"])
def test_a_loopback_bind_answers_to_the_loopback_names(lab, host):
    status, state = send(lab, "POST", "/api/act", json.dumps({"action": "d"}),
                         page_headers(lab, host))
    assert status == 200 and state["updates"] == 1


def test_a_request_without_host_is_refused(lab):
    with socket.create_connection(lab.server_address[:2], timeout=5) as s:
        s.sendall(b"GET /api/state HTTP/1.0\r\n\r\n")
        reply = s.makefile("rb").read()
    assert reply.startswith(b"HTTP/1.0 403") and b"Host None" in reply


def test_a_bind_to_every_address_answers_ip_addresses_not_names():
    with serving(LabSession(seed=0, n=64), host="0.0.0.0") as server:
        port = server.server_address[1]
        for host, status in ((f"127.0.0.1:{port}", 200), (f"192.168.1.20:{port}", 200),
                             (f"localhost:{port}", 200), (f"evil.example:{port}", 403),
                             (f"192.168.1.20:{port + 1}", 403)):
            got, _ = send(server, "GET", "/api/state", headers={"Host": host})
            assert got == status, host


def test_the_page_carries_its_servers_token_and_a_replay_carries_none(lab, tmp_path):
    from minigan.lab import export
    token = page_headers(lab)["X-Lab-Token"]
    assert len(token) >= 32 and token == lab.token
    other = LabServer(LabSession(seed=0, n=64), port=0)
    other.server_close()
    assert other.token != lab.token
    path = tmp_path / "replay.html"
    export.write_html({"frames": []}, str(path))
    assert '<meta name="lab-token" content="">' in path.read_text()


# --- bodies ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("body", [b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000,
                                  b'{"a": ' * 50_000 + b"1" + b"}" * 50_000])
def test_json_nested_too_deep_is_refused_fast(lab, body):
    start = time.monotonic()
    assert_refused(lab, 400, "nests JSON more than", "POST", "/api/settings", body,
                   page_headers(lab))
    assert time.monotonic() - start < 2.0


def test_brackets_inside_strings_are_not_nesting(lab):
    body = json.dumps({"action": "[" * 1000 + "\\\"" + "{" * 1000})
    assert_refused(lab, 400, "action: expected one of", "POST", "/api/act", body,
                   page_headers(lab))


@pytest.mark.parametrize("path, body", [
    ("/api/act", '{"action": "d", "since": NaN}'),
    ("/api/act", '{"action": "d", "since": Infinity}'),
    ("/api/act", '{"action": "d", "since": 1e999}'),
    ("/api/act", '{"action": "step", "repeat": -Infinity}'),
    ("/api/settings", '{"k": NaN}'),
    ("/api/settings", '{"k": 1e999}'),
    ("/api/settings", '{"batch_size": Infinity}'),
    ("/api/settings", '{"batch_size": -1e999}'),
    ("/api/settings", '{"lr_d": NaN}'),
    ("/api/settings", '{"lr_g": 1e999}'),
    ("/api/settings", '{"data": "drawn", "points": [[0, NaN]]}'),
])
def test_non_finite_numbers_are_refused(lab, path, body):
    assert_refused(lab, 400, "the request body holds", "POST", path, body, page_headers(lab))


@pytest.mark.parametrize("since", ["nan", "inf", "1e999"])
def test_a_non_finite_since_in_the_address_is_refused(lab, since):
    assert_refused(lab, 400, "since: expected a whole number >= 0", "GET",
                   f"/api/state?since={since}", None, {"Host": page_headers(lab)["Host"]})


def test_an_integer_too_large_for_a_float_is_refused(lab):
    for body in ('{"k": 1%s}' % ("0" * 400), '{"lr_d": 1%s}' % ("0" * 400)):
        assert_refused(lab, 400, "expected", "POST", "/api/settings", body, page_headers(lab))


def test_a_body_too_big_is_refused(lab):
    headers = page_headers(lab)
    assert_refused(lab, 413, "1 byte to 1048576 bytes", "POST", "/api/settings",
                   b" " * (2 ** 20 + 1), headers)


# --- work -----------------------------------------------------------------------------------------

def test_too_much_work_is_refused_fast_and_one_step_is_not(lab):
    headers = page_headers(lab)
    status, state = send(lab, "POST", "/api/settings",
                         json.dumps({"k": MAX_K, "batch_size": MAX_BATCH}), headers)
    assert status == 200 and state["settings"]["k"] == 20
    start = time.monotonic()
    status, reply = send(lab, "POST", "/api/act", json.dumps({"action": "step", "repeat": 100}),
                         headers)
    # The refusal comes before any update: well under a second (the work itself took 15 s).
    assert time.monotonic() - start < 1.0
    assert status == 413 and lab.session.updates == 0
    assert "2100 updates" in reply["error"] and "send at most 3 repeats" in reply["error"]
    # The page's Play sends one step a request: at the largest k and batch size it fits.
    from minigan.lab.settings import check_work
    check_work(Settings(k=MAX_K, batch_size=MAX_BATCH), "step", 1)
    the_page_still_works(lab)


# --- connections ----------------------------------------------------------------------------------

def test_a_slow_client_is_cut_off(lab):
    lab.connection_timeout = 0.3
    port = lab.server_address[1]
    head = (f"POST /api/act HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: 100\r\n").encode()
    for sent, expected in ((head[:30], b""),                          # half the headers
                           (head + b"\r\n" + b'{"action":', b"HTTP/1.0 408")):   # half a body
        with socket.create_connection(lab.server_address[:2], timeout=3) as s:
            s.sendall(sent)
            start = time.monotonic()
            reply = s.makefile("rb").read()      # until the server closes the connection
        assert reply.startswith(expected) and time.monotonic() - start < 2.0, reply[:80]
    the_page_still_works(lab)


def test_idle_connections_do_not_pile_up_threads(lab):
    lab.connection_timeout = 1.0
    limit = getattr(lab, "max_connections", 64)
    before = threading.active_count()
    sockets = []
    try:
        for _ in range(200):
            sockets.append(socket.create_connection(lab.server_address[:2], timeout=3))
            time.sleep(0.002)      # let the server accept: a burst would fill its queue
        assert threading.active_count() - before <= limit
        end = time.monotonic() + 5
        while threading.active_count() > before and time.monotonic() < end:
            time.sleep(0.05)
        assert threading.active_count() <= before, "idle connections kept their threads"
    finally:
        for s in sockets:
            s.close()
    the_page_still_works(lab)


# --- the command line -----------------------------------------------------------------------------

def lab_command(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "minigan.lab", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("port", ["70000", "-1", "http"])
def test_a_port_out_of_range_is_one_line(port):
    result = lab_command("--port", port)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (f"error: argument --port: expected a port number from 0 to 65535 (0: any free "
            f"one), got '{port}'") in result.stderr


def test_a_bind_failure_names_its_cause():
    """192.0.2.1 (TEST-NET-1, never assigned) is no address of this machine: not a port in use."""
    result = lab_command("--host", "192.0.2.1", "--n", "64")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ("error: cannot listen on 192.0.2.1:8765: 192.0.2.1 is not an address of this "
            "machine") in result.stderr
    assert "--port" not in result.stderr


def _has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")
def test_host_ipv6_loopback_is_served():
    process = subprocess.Popen([sys.executable, "-m", "minigan.lab", "--host", "::1",
                                "--port", "0", "--n", "64"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        found = re.search(r"open http://\[::1\]:(\d+)/ ", line)
        assert found, (line, process.stderr.read() if process.poll() is not None else "")
        port = int(found.group(1))
        lab = types.SimpleNamespace(server_address=("::1", port))      # what send() needs
        headers = page_headers(lab, "[::1]")
        assert headers["X-Lab-Token"]
        status, state = send(lab, "POST", "/api/act", json.dumps({"action": "step"}), headers)
        assert status == 200 and state["updates"] == 2
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0 and "Traceback" not in err
