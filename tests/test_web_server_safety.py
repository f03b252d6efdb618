"""The web server holds against hostile clients (issue 9): no 500 in plain text, no stall.

In-process (FastAPI's test client): the last-resort 500 is a JSON problem with the security
headers and without the exception's text; a slow estimate is a 503; HEAD works wherever GET
does; a trailing slash redirects relatively, never to the client's Host header.

Against a real ``ketacost serve`` (a subprocess on 127.0.0.1, a free port, stopped after each
test; every loop bounded in count and time): the freezing body, slowloris, a slow body, the
concurrency limit, clients that never read their answers, pipelining, a flood of invalid
requests (the log stays small) and SIGTERM; and ``--workers 2``: the same guards in each worker,
the metrics summed over them, every process stopped by SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import http.client
import json
import logging
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner
from starlette.exceptions import StarletteDeprecationWarning

import ketacost
from ketacost.cli import cli
from ketacost.cli._serve import SERVER_OPTIONS
from ketacost.web import (
    Limits,
    ServerSettings,
    WebConfig,
    WebConfigError,
    create_app,
    load_web_config,
)
from ketacost.web._server import Throttle, send_at_once

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
START = date(2026, 1, 5)
SECURITY_HEADERS = (
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "cross-origin-opener-policy",
)
ANSWERS = {"treatment": "kap", "insurance": "none", "age": 40, "start": START.isoformat()}


def _full_request() -> dict[str, Any]:
    path = ROOT / "examples" / "requests" / "esketamine-commercial.yaml"
    request: dict[str, Any] = json.loads(ketacost.load_request(path).model_dump_json())
    del request["clinic"]  # the server's
    return request


def _freezing_body() -> bytes:
    """A full request whose failed_trials is the JSON number 1e999999999 (278 bytes froze
    the server for hours: a lax integer field made it a billion-digit int)."""
    request = _full_request()
    request["patient"]["failed_trials"] = "FREEZE"
    return json.dumps(request).replace('"FREEZE"', "1e999999999").encode()


def _secured(response: Any) -> None:
    for name in SECURITY_HEADERS:
        assert name in response.headers, name


# -- the last resort: a JSON 500 with the security headers --------------------------------
@pytest.mark.parametrize(
    "exc",
    [
        ArithmeticError("decimal overflow"),
        ValueError("Exceeds the limit (4300 digits) for integer string conversion: " + "7" * 4400),
        KeyError("/etc/passwd"),
    ],
)
def test_an_unexpected_exception_is_a_json_500_with_the_headers(
    exc: Exception, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(WebConfig(), today=lambda: START)

    def boom(text: str) -> Any:
        raise exc

    monkeypatch.setattr(app.state.calculator, "estimate_json", boom)
    client = TestClient(app, raise_server_exceptions=False)
    with caplog.at_level(logging.DEBUG, logger="ketacost.web"):
        response = client.post("/v1/estimate", json={**ANSWERS, "note": "7" * 50})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    detail = "internal error; the clinic has been told. Please try again later."
    assert response.json() == {
        "type": "https://ketacost.example/problems/internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": detail,
        "instance": "/v1/estimate",
        "errors": [],
        "error": detail,
        "issues": [],
    }
    _secured(response)
    # the log names the route, the type and where; never the exception's text or the body
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].name == "ketacost.web"
    message = errors[0].getMessage()
    assert message.startswith(f"POST /v1/estimate answered 500: {type(exc).__name__} raised at")
    assert "boom" in message
    assert str(exc)[:20] not in message and "7777" not in message and "passwd" not in message
    assert errors[0].exc_info is None
    assert app.state.metrics.count("/v1/estimate", 500) == 1
    # the connection and the app are fine afterwards
    assert client.get("/v1/payers").status_code == 200


def test_a_500_in_any_route_is_json() -> None:
    app = create_app(WebConfig(), today=lambda: START)

    @app.get("/v1/broken")
    async def broken() -> None:
        raise RuntimeError("secret detail")

    response = TestClient(app, raise_server_exceptions=False).get("/v1/broken")
    assert response.status_code == 500 and "secret" not in response.text
    assert response.json()["error"].startswith("internal error")
    _secured(response)


# -- bounded in time -------------------------------------------------------------------
def test_an_estimate_that_runs_too_long_is_a_503(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(WebConfig(limits=Limits(max_seconds=1)), today=lambda: START)
    slow = app.state.calculator.estimate_json

    def sleepy(text: str) -> Any:
        time.sleep(2.5)
        return slow(text)

    monkeypatch.setattr(app.state.calculator, "estimate_json", sleepy)
    client = TestClient(app)
    began = time.monotonic()
    response = client.post("/v1/estimate", json=ANSWERS)
    assert time.monotonic() - began < 2.0  # the answer does not wait for the thread
    assert response.status_code == 503
    assert response.headers["retry-after"] == "60"
    assert response.json()["error"] == (
        "this estimate took longer than this calculator allows (1 seconds); "
        "try a shorter plan, or try again later"
    )
    _secured(response)
    monkeypatch.setattr(app.state.calculator, "estimate_json", slow)
    assert client.post("/v1/estimate", json=ANSWERS).status_code == 200


# -- HEAD and redirects ----------------------------------------------------------------
GET_ROUTES = [
    "/calculator",
    "/v1/payers",
    "/v1/treatments",
    "/openapi.json",
    "/static/calculator.css",
    "/static/calculator.js",
    "/embed.js",
]


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(WebConfig(), today=lambda: START))


@pytest.mark.parametrize("path", [*GET_ROUTES, "/"])
def test_head_answers_as_get_without_the_body(client: TestClient, path: str) -> None:
    get = client.get(path, follow_redirects=False)
    head = client.head(path, follow_redirects=False)
    assert head.status_code == get.status_code
    assert head.content == b""
    assert dict(head.headers) == dict(get.headers)  # content-length included
    _secured(head)


def test_head_where_get_is_not_served(client: TestClient) -> None:
    response = client.head("/v1/estimate")
    assert response.status_code == 405 and response.content == b""
    assert response.headers["allow"] == "POST"
    response = client.post("/v1/payers")
    assert response.json()["error"] == "POST is not allowed here"
    assert response.headers["allow"] == "GET, HEAD"
    assert client.head("/nowhere").status_code == 404


HOSTILE = {"host": "evil.example"}


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/calculator/", "../calculator"),
        ("/v1/payers/", "../payers"),
        ("/embed.js/", "../embed.js"),
        ("/static/calculator.css/", "../calculator.css"),
        ("/calculator/?treatment=kap", "../calculator?treatment=kap"),
    ],
)
def test_a_trailing_slash_redirects_relatively_never_to_the_host_header(
    client: TestClient, path: str, location: str
) -> None:
    for method in ("GET", "HEAD"):
        response = client.request(method, path, headers=HOSTILE, follow_redirects=False)
        assert response.status_code == 308, method
        assert response.headers["location"] == location
        assert "evil" not in response.text
        _secured(response)
    # and the browser lands on the page
    assert client.get(path, headers=HOSTILE).url.path == path.split("?")[0][:-1]


@pytest.mark.parametrize("path", ["/calculator/", "/v1/estimate/", "/nowhere/", "/calculator//"])
def test_a_trailing_slash_elsewhere_is_a_404(client: TestClient, path: str) -> None:
    method = "GET" if path != "/calculator/" else "POST"  # only GET pages redirect
    response = client.request(method, path, headers=HOSTILE, follow_redirects=False)
    assert response.status_code == 404
    assert "location" not in response.headers
    assert response.json()["error"] == f"no such page: {method} {path}"
    _secured(response)


def test_the_home_redirect_is_relative(client: TestClient) -> None:
    response = client.get("/", headers=HOSTILE, follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "calculator"
    assert "evil" not in response.text


# -- settings ----------------------------------------------------------------------------
def test_server_settings_have_safe_defaults_and_come_from_the_file(tmp_path: Path) -> None:
    defaults = load_web_config(None)
    assert defaults.server == ServerSettings()
    assert defaults.limits.max_seconds == 10
    assert defaults.server.model_dump() == {
        "header_timeout_seconds": 10,
        "body_timeout_seconds": 10,
        "send_timeout_seconds": 10,
        "timeout_keep_alive_seconds": 5,
        "limit_concurrency": 64,
        "timeout_graceful_shutdown_seconds": 10,
        "max_header_bytes": 16_384,
        "backlog": 512,
    }
    # the default file describes every setting it sets
    text = (ROOT / "ketacost" / "web" / "default-config.yaml").read_text()
    for name in [*ServerSettings.model_fields, *Limits.model_fields]:
        assert f"  {name}: " in text, name
    (tmp_path / "web.yaml").write_text("server: {limit_concurrency: 8, backlog: 16}\n")
    config = load_web_config(tmp_path / "web.yaml")
    assert (config.server.limit_concurrency, config.server.backlog) == (8, 16)
    assert config.server.header_timeout_seconds == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "server: {limit_concurrency: 0}\n",
            "web.yaml:1:29: server.limit_concurrency: must be at least 1",
        ),
        ("server: {header_timeout_seconds: 1e9}\n", "web.yaml:1:34: server.header_timeout_seconds"),
        ("server: {backlog: true}\n", "web.yaml:1:19: server.backlog"),
        ("server: {slowloris: 1}\n", "web.yaml:1:10: server.slowloris: unknown key"),
        (
            "server: {send_timeout_seconds: 0}\n",
            "web.yaml:1:32: server.send_timeout_seconds: must be at least 1 (got 0)",
        ),
        ("limits: {max_seconds: 0}\n", "web.yaml:1:23: limits.max_seconds: must be at least 1"),
    ],
)
def test_bad_server_settings(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "web.yaml").write_text(text)
    with pytest.raises(WebConfigError) as info:
        load_web_config(tmp_path / "web.yaml")
    assert message in str(info.value)


def test_serve_hands_uvicorn_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from ketacost.web import serve

    seen: dict[str, Any] = {}

    def run(server: uvicorn.Server, sockets: list[Any] | None = None) -> None:
        seen["config"] = server.config
        seen["filters"] = logging.getLogger("uvicorn.error").filters[:]

    monkeypatch.setattr(uvicorn.Server, "run", run)
    frozen: list[int] = []
    seen_run = run

    def run_frozen(server: uvicorn.Server, sockets: list[Any] | None = None) -> None:
        frozen.append(gc.get_freeze_count())
        seen_run(server, sockets)

    monkeypatch.setattr(uvicorn.Server, "run", run_frozen)
    gc.unfreeze()
    serve(None, host="127.0.0.1", port=0, server={"limit_concurrency": 7})
    # while serving, what the server made at start is out of the collector's sight
    # (freeze_startup); when serve returns, the caller's process is as it was
    assert frozen[0] > 0 and gc.get_freeze_count() == 0
    config = seen["config"]
    assert config.limit_concurrency == 7
    assert (config.timeout_keep_alive, config.timeout_graceful_shutdown) == (5, 10)
    assert (config.h11_max_incomplete_event_size, config.backlog) == (16_384, 512)
    assert config.http.__name__ == "GuardedProtocol"
    assert any(isinstance(f, Throttle) for f in seen["filters"])
    assert not any(isinstance(f, Throttle) for f in logging.getLogger("uvicorn.error").filters)
    with pytest.raises(
        WebConfigError, match=r"<command line>: limit_concurrency: must be at least 1"
    ):
        serve(None, host="127.0.0.1", port=0, server={"limit_concurrency": 0})
    every = {
        "timeout_keep_alive_seconds": 3,
        "timeout_graceful_shutdown_seconds": 4,
        "max_header_bytes": 2_048,
        "backlog": 8,
        "send_timeout_seconds": 2,
    }
    serve(None, host="127.0.0.1", port=0, server=every)
    config = seen["config"]
    assert (config.timeout_keep_alive, config.timeout_graceful_shutdown) == (3, 4)
    assert (config.h11_max_incomplete_event_size, config.backlog) == (2_048, 8)


def test_every_server_setting_has_a_serve_option() -> None:
    assert sorted(setting for _, setting, _, _ in SERVER_OPTIONS) == sorted(
        ServerSettings.model_fields
    )
    for option, setting, _, default in SERVER_OPTIONS:  # the help's default is the model's
        assert ServerSettings.model_fields[setting].default == default, option


def test_a_serve_option_without_the_web_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ketacost.web", None)
    result = CliRunner().invoke(cli, ["serve", "--backlog", "8"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: this needs the web calculator (FastAPI and uvicorn): pip install 'ketacost[web]'\n"
    )


def _bounds(setting: str) -> tuple[int, int]:
    """The setting's range, from the model (the one home of the ranges)."""
    metadata = ServerSettings.model_fields[setting].metadata
    low = next(m.ge for m in metadata if hasattr(m, "ge"))
    high = next(m.le for m in metadata if hasattr(m, "le"))
    return low, high


@pytest.mark.parametrize(("option", "setting"), [(o, s) for o, s, _, _ in SERVER_OPTIONS])
def test_each_serve_option_sets_its_setting_and_names_itself_when_bad(
    option: str, setting: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ketacost.web

    seen: dict[str, Any] = {}
    monkeypatch.setattr(ketacost.web, "serve", lambda config, **kwargs: seen.update(kwargs))
    low, high = _bounds(setting)
    for value in (low, high):
        result = CliRunner().invoke(cli, ["serve", "--port", "8123", option, str(value)])
        assert result.exit_code == 0, result.output
        assert seen == {
            "host": "127.0.0.1",
            "port": 8123,
            "access_log": "text",
            "workers": 1,
            "server": {setting: value},
        }
    for bad, message in [
        (str(low - 1), f"must be at least {low} (got {low - 1})"),
        (str(high + 1), f"must be at most {high} (got {high + 1})"),
        ("1e3", "'1e3' is not a valid integer."),
    ]:
        result = CliRunner().invoke(cli, ["serve", option, bad])
        assert result.exit_code == 2
        assert result.stderr == (
            f"error: Invalid value for '{option}': {message} (see 'ketacost serve --help')\n"
        )


def test_throttle_lets_a_few_through_then_counts() -> None:
    now = [0.0]
    throttle = Throttle(most=3, period=60, clock=lambda: now[0])

    def record(msg: str) -> logging.LogRecord:
        return logging.makeLogRecord({"msg": msg, "levelno": logging.WARNING})

    passed = [throttle.filter(record("Invalid HTTP request received.")) for _ in range(100)]
    assert passed == [True] * 3 + [False] * 97
    assert throttle.filter(record("another message"))  # counted per message
    now[0] = 61.0
    later = record("Invalid HTTP request received.")
    assert throttle.filter(later)
    assert (
        later.getMessage() == "Invalid HTTP request received. (97 more like this were not logged)"
    )


class _Transport(asyncio.BaseTransport):
    def __init__(self, sock: socket.socket) -> None:
        super().__init__({"socket": sock})


def test_a_tcp_connection_sends_small_writes_at_once_whatever_its_protocol_number() -> None:
    # a socket of protocol 0, as those accepted from uvicorn's bound socket (--workers):
    # asyncio leaves Nagle's algorithm on for it
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        assert sock.proto == 0
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        send_at_once(_Transport(sock))
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    send_at_once(asyncio.BaseTransport())  # no socket: nothing to set
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.close()
    send_at_once(_Transport(closed))  # refuses the option: the connection goes on as it is
    if hasattr(socket, "AF_UNIX"):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
            send_at_once(_Transport(unix))  # no such option: left alone, no error


def _keep_alive_seconds(server: Server, path: str, n: int = 8) -> list[float]:
    """Seconds each of ``n`` GETs of ``path`` took, one after another on one connection."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    taken = []
    try:
        for _ in range(n):
            began = time.monotonic()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            assert response.status == 200
            taken.append(time.monotonic() - began)
    finally:
        conn.close()
    return taken


# -- a real server ---------------------------------------------------------------------
@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def connect(self, timeout: float = 2.0) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def request(
        self, method: str, path: str, body: bytes | None = None, timeout: float = 1.0
    ) -> tuple[int, bytes, float]:
        """Status, body and seconds taken, on a new connection."""
        began = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"content-type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read(), time.monotonic() - began
        finally:
            conn.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _serving(
    tmp_path: Path, *options: str, config: str | None = None, env: dict[str, str] | None = None
) -> Iterator[Server]:
    args = [sys.executable, "-m", "ketacost", "serve", "--host", "127.0.0.1"]
    if config is not None:
        (tmp_path / "web.yaml").write_text(config)
        args += ["--config", str(tmp_path / "web.yaml")]
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*args, "--port", str(port), *options],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=None if env is None else {**os.environ, **env},
            start_new_session=True,  # its workers too can be killed as one group
        )
    server = Server(port, process, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            with contextlib.suppress(OSError):
                server.connect(0.5).close()
                break
            assert time.monotonic() < deadline, "the server did not start in 30 s"
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed this connection (never blocks)."""
    readable, _, _ = select.select([sock], [], [], 0)
    if not readable:
        return False
    try:
        return sock.recv(4096) == b""
    except OSError:  # reset
        return True


def test_the_freezing_body_neither_freezes_the_server_nor_answers_slowly(
    tmp_path: Path,
) -> None:
    with _serving(tmp_path) as server:
        frozen: dict[str, Any] = {}

        def send_freezing() -> None:
            try:
                frozen["answer"] = server.request("POST", "/v1/estimate", _freezing_body(), 5)
            except OSError as exc:
                frozen["error"] = exc

        thread = threading.Thread(target=send_freezing, daemon=True)
        thread.start()
        time.sleep(0.2)
        status, body, seconds = server.request("GET", "/v1/payers", timeout=1.0)
        assert status == 200 and seconds < 1.0, seconds
        assert json.loads(body)[0]["id"]
        thread.join(timeout=5)
        assert "answer" in frozen, frozen
        status, body, seconds = frozen["answer"]
        assert status == 400 and seconds < 1.0, (status, body, seconds)
        message = "number out of range: the exponent must be between -99 and 99 (got 1e999999999)"
        issues = json.loads(body)["issues"]
        assert [(i["field"], i["message"]) for i in issues] == [
            ("patient.failed_trials", message)
        ], issues


def test_slowloris_connections_are_closed_and_others_still_answered(tmp_path: Path) -> None:
    timeout = 2
    head = b"GET /v1/payers HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\nX-Pad: " + b"a" * 200
    with _serving(tmp_path, "--header-timeout", str(timeout)) as server:
        slow = [server.connect() for _ in range(20)]
        opened = time.monotonic()
        closed_at: dict[int, float] = {}
        answered = False
        for step in range(len(head)):  # one byte per connection every 0.1 s: at most ~23 s
            now = time.monotonic()
            if now - opened > timeout + 2.5 or len(closed_at) == len(slow):
                break
            for i, sock in enumerate(slow):
                if i in closed_at:
                    continue
                try:
                    sock.send(head[step : step + 1])
                except OSError:
                    closed_at[i] = now - opened
                    continue
                if _closed_by_server(sock):
                    closed_at[i] = now - opened
            if not answered and now - opened > 0.5:
                status, _, seconds = server.request("GET", "/v1/payers", timeout=1.0)
                assert status == 200 and seconds < 1.0, seconds
                answered = True
            time.sleep(0.1)
        for sock in slow:
            sock.close()
        assert answered
        assert len(closed_at) == len(slow), f"still open after {timeout + 2.5} s: {closed_at}"
        assert max(closed_at.values()) <= timeout + 1.5, closed_at
        assert min(closed_at.values()) >= timeout - 0.5, closed_at
        # a fresh request after the attack
        assert server.request("GET", "/v1/payers")[0] == 200
    assert server.log.stat().st_size < 10_000, server.log.read_text()[:2000]


def test_an_idle_connection_is_closed_after_the_header_timeout(tmp_path: Path) -> None:
    with _serving(tmp_path, "--header-timeout", "1") as server, server.connect(5) as sock:
        began = time.monotonic()
        assert sock.recv(1) == b""  # closed, nothing said
        assert 0.5 < time.monotonic() - began < 2.5


def test_a_slow_second_request_on_a_kept_alive_connection_is_closed(tmp_path: Path) -> None:
    # uvicorn's keep-alive timer stops at the next request's first byte; the head's does not
    options = ("--header-timeout", "1", "--timeout-keep-alive", "5")
    with _serving(tmp_path, *options) as server, server.connect(5) as sock:
        sock.sendall(b"GET /v1/payers HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        began = time.monotonic()
        for byte in b"GET /v1/payers HTTP/1.1\r\nHost: 1":  # one byte every 0.2 s: <= 6 s
            with contextlib.suppress(OSError):
                sock.send(bytes([byte]))
            if _closed_by_server(sock):
                break
            time.sleep(0.2)
        assert 0.5 < time.monotonic() - began < 2.0


def test_a_slow_body_is_a_408(tmp_path: Path) -> None:
    config = "server: {body_timeout_seconds: 1}\n"
    with _serving(tmp_path, config=config) as server, server.connect(5) as sock:
        sock.sendall(
            b"POST /v1/estimate HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"age": '
        )
        began = time.monotonic()
        answer = b""
        while not answer.endswith(b"}") and time.monotonic() - began < 4:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        assert 0.5 < time.monotonic() - began < 2.5
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 "), answer
        assert b"connection: close" in head.lower()
        problem = json.loads(body)
        assert problem["type"] == "https://ketacost.example/problems/body-timeout"
        assert (problem["status"], problem["detail"]) == (
            408,
            "the body did not arrive within 1 seconds",
        )
        assert sock.recv(1) == b""  # and the connection is closed


def test_beyond_the_concurrency_limit_a_request_gets_a_503(tmp_path: Path) -> None:
    with _serving(tmp_path, "--limit-concurrency", "4", "--header-timeout", "10") as server:
        assert server.request("GET", "/v1/payers")[0] == 200
        idle = [server.connect() for _ in range(4)]
        time.sleep(0.2)
        status, body, seconds = server.request("GET", "/v1/payers")
        assert status == 503 and seconds < 1.0
        problem = json.loads(body)
        assert problem["type"] == "https://ketacost.example/problems/busy"
        assert (problem["status"], problem["detail"], problem["instance"]) == (
            503,
            "the calculator is busy; please try again in a minute",
            "/v1/payers",
        )
        for sock in idle:
            sock.close()
        deadline = time.monotonic() + 3
        while (status := server.request("GET", "/v1/payers")[0]) != 200:
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
    log = server.log.read_text()
    assert log.count("Exceeded the concurrency limit: answered 503.") == 1


def _never_reading() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # takes little, and never reads
    sock.settimeout(2)
    return sock


def test_clients_that_never_read_the_answers_are_dropped_at_the_send_timeout(
    tmp_path: Path,
) -> None:
    # Clients pipelining requests and reading nothing held their places under
    # --limit-concurrency 4 until SIGTERM (with three of them, every other request: 503).
    # The other time-outs are longer than the test: only the send time-out can free them.
    # 400 answers of 47 kB are more than the system buffers (4 MB on Linux by default):
    # the rest waits in the server (which stops making answers as soon as one waits).
    # The time-out leaves room for setting the three clients up on a loaded machine: the
    # first client's wait begins about 0.3 s after it connects, and with a 2 s time-out a CI
    # run where the other two took 1.7 s more found the first already dropped (200, not 503).
    timeout = 5
    options = ("--limit-concurrency", "4", "--send-timeout", str(timeout))
    options += ("--header-timeout", "30", "--body-timeout", "30", "--timeout-keep-alive", "30")
    with _serving(tmp_path, *options) as server:
        assert server.request("GET", "/v1/payers")[0] == 200
        readers = [_never_reading() for _ in range(3)]
        began = time.monotonic()
        try:
            for sock in readers:
                sock.connect(("127.0.0.1", server.port))
                sock.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 400)
                # the answer has begun (a peek takes nothing): this client holds its place
                assert sock.recv(12, socket.MSG_PEEK | socket.MSG_WAITALL) == b"HTTP/1.1 200"
                time.sleep(0.3)  # the server fills the buffers and waits (a 4th would be busy)
            freed_by = time.monotonic() + timeout + 1
            status = server.request("GET", "/v1/payers")[0]
            # the first client cannot have been dropped yet: its wait began after `began`
            assert time.monotonic() - began < timeout, "setting the clients up took too long"
            assert status == 503  # every place is held
            while (status := server.request("GET", "/v1/payers")[0]) != 200:
                assert time.monotonic() < freed_by, status
                time.sleep(0.1)
            # by then every place is free: two more connections and a request fit under 4
            time.sleep(max(0.0, freed_by - time.monotonic()))
            with server.connect(), server.connect():
                time.sleep(0.2)
                assert server.request("GET", "/v1/payers")[0] == 200
        finally:
            for sock in readers:
                sock.close()


def test_pipelined_requests_wait_unread_in_the_system_not_in_the_server(
    tmp_path: Path,
) -> None:
    # uvicorn stops reading while a request is in progress: pipelined requests sent by a
    # client that reads nothing fill the system's buffers, then sending blocks. Were they
    # read into the server's memory without bound, 1.5 s on 127.0.0.1 would take gigabytes.
    with _serving(tmp_path, "--send-timeout", "30") as server, _never_reading() as sock:
        sock.connect(("127.0.0.1", server.port))
        sock.setblocking(False)
        requests = b"GET /v1/payers HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 1_000
        sent = 0
        began = time.monotonic()
        while time.monotonic() - began < 1.5:
            try:
                sent += sock.send(requests)
            except BlockingIOError:
                time.sleep(0.01)
        assert sent < 64 * 2**20, sent
        assert server.request("GET", "/v1/payers")[0] == 200


def test_a_flood_of_invalid_requests_logs_a_few_lines(tmp_path: Path) -> None:
    with _serving(tmp_path) as server:
        for _ in range(40):
            with server.connect() as sock:
                sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                assert sock.recv(100).startswith(b"HTTP/1.1 400 ")
        assert server.request("GET", "/v1/payers")[0] == 200
    log = server.log.read_text()
    assert log.count("Invalid HTTP request received.") == 5, log
    assert len(log) < 5_000


def test_sigterm_stops_the_server(tmp_path: Path) -> None:
    with _serving(tmp_path, "--header-timeout", "60") as server:
        idle = server.connect()  # an open connection does not hold the shutdown
        assert server.request("GET", "/v1/payers")[0] == 200
        began = time.monotonic()
        server.process.terminate()
        server.process.wait(timeout=12)
        assert time.monotonic() - began < 12
        idle.close()
    assert server.process.returncode in (0, -15)


# -- several worker processes ------------------------------------------------------------
ESTIMATES = 'ketacost_http_requests_total{method="GET",route="/v1/payers",status="200"}'
needs_proc = pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="reads processes and sockets from /proc"
)


def _metric(text: str, name: str) -> float:
    """The value of one sample line of ``GET /metrics`` (``name`` with its labels)."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(stat.parent.name))
    return found


def _workers(server: Server, started: int, timeout: float = 30) -> list[int]:
    """The process ids of every worker started, once ``started`` have (from the log)."""
    deadline = time.monotonic() + timeout
    while True:
        log = server.log.read_text()
        pids = [int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", log)]
        if len(pids) >= started and log.count("Application startup complete.") >= started:
            return pids
        assert time.monotonic() < deadline, log
        time.sleep(0.1)


def _worker_of(sock: socket.socket, workers: list[int]) -> int | None:
    """Which worker holds the server's end of a connection (/proc/net/tcp and each fd)."""
    port = sock.getsockname()[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[2].rsplit(":", 1)[1], 16) == port:  # the remote end is this client
            inode = fields[9]
    for pid in workers:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
    return None


def _counted(server: Server) -> float | None:
    """``GET /v1/payers`` answers counted at ``/metrics`` (None: no answer in 5 s).

    A worker counts a request just after sending its answer: poll it (:func:`_until`).
    """
    try:
        status, text, _ = server.request("GET", "/metrics", timeout=5)
    except OSError:
        return None
    return _metric(text.decode(), ESTIMATES) if status == 200 else None


def _until(check: Any, timeout: float = 10) -> Any:
    """``check()`` once it is true, tried every 0.1 s for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (found := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


@needs_proc
def test_workers_share_the_address_keep_the_guards_and_sum_the_metrics(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    metrics.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics)}
    options = ("--workers", "2", "--header-timeout", "2")
    with _serving(tmp_path, *options, env=env) as server:
        workers = _workers(server, 2)
        children = _children(server.process.pid)
        assert set(workers) <= children, (workers, children)
        # Slowloris: connections whose head never ends, until each worker holds some (at
        # most 16); each worker closes its own at the header time-out.
        slow: dict[int, list[socket.socket]] = {pid: [] for pid in workers}
        for _ in range(16):
            sock = server.connect(5)
            sock.sendall(b"GET /v1/payers HTTP/1.1\r\nHost: x")
            holder = _until(lambda s=sock: _worker_of(s, workers), 5)
            assert holder is not None, "no worker took the connection in 5 s"
            slow[holder].append(sock)
            if all(slow.values()):
                break
        assert all(slow.values()), {pid: len(socks) for pid, socks in slow.items()}
        every = [sock for socks in slow.values() for sock in socks]
        assert _until(lambda: all(_closed_by_server(sock) for sock in every), 8)
        for sock in every:
            sock.close()
        # requests on new connections until each worker has answered some (its counts are a
        # file named by its process id): at most 50 rounds of 4 at once
        sent = 0
        for _ in range(50):
            statuses: list[int] = []

            def ask(into: list[int] = statuses) -> None:
                into.append(server.request("GET", "/v1/payers", None, 5)[0])

            threads = [threading.Thread(target=ask) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            assert statuses == [200] * 4, statuses
            sent += 4
            answered = {int(f.stem.rsplit("_", 1)[1]) for f in metrics.glob("counter_*.db")}
            if len(answered) >= 2:
                break
        assert answered == set(workers), (answered, workers)
        # a small answer leaves at once: with Nagle's algorithm on, its body waited for the
        # client's delayed acknowledgement of its head, 40 ms every time but the first (a
        # new connection acknowledges at once); the fastest of the next 7 is far under 40
        # ms, however loaded the machine
        assert min(_keep_alive_seconds(server, "/healthz")[1:]) < 0.03  # (not counted)

        # a scrape reaches one worker and answers the sum over both (a worker counts a
        # request just after its answer is sent: wait for the last)
        assert _until(lambda: _counted(server) == sent)
        # the log throttle holds in each worker: at most 5 lines a minute each
        for _ in range(30):
            with server.connect() as sock:
                sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                assert sock.recv(100).startswith(b"HTTP/1.1 400 ")
        began = time.monotonic()
        server.process.terminate()
        server.process.wait(timeout=15)
        assert time.monotonic() - began < 15
    assert server.process.returncode == 0
    # the workers at once; any other child (multiprocessing's resource tracker) soon after
    assert not [pid for pid in workers if _running(pid)], "a worker outlived SIGTERM"
    assert _until(lambda: not any(_running(pid) for pid in children), 5)
    log = server.log.read_text()
    assert 5 <= log.count("Invalid HTTP request received.") <= 10, log
    assert "Traceback" not in log and log.count("Finished server process") == 2, log


@needs_proc
def test_workers_make_their_metrics_folder_and_remove_it_at_the_end(tmp_path: Path) -> None:
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {"TMPDIR": str(temp), "PROMETHEUS_MULTIPROC_DIR": ""}
    with _serving(tmp_path, "--workers", "2", env=env) as server:
        first = _workers(server, 2)
        for _ in range(3):
            assert server.request("GET", "/v1/payers", timeout=5)[0] == 200
        made = list(temp.glob("ketacost-metrics-*"))
        assert len(made) == 1 and list(made[0].glob("counter_*.db")), made
        assert _until(lambda: _counted(server) == 3)
        # removed under the server (a cleaner of $TMPDIR), then a worker dies: the one that
        # replaces it makes the folder again and answers
        shutil.rmtree(made[0])
        os.kill(first[0], signal.SIGKILL)
        replacement = _workers(server, 3)[2]
        assert replacement not in first and made[0].is_dir()
        # the replacement counts its connections in the slot of the worker gone
        slots_file = list(temp.glob("ketacost-connections-*"))
        assert len(slots_file) == 1, slots_file

        def pids() -> set[int]:
            data = slots_file[0].read_bytes()
            return {struct.unpack_from("=ii", data, k * 8)[0] for k in range(4)}

        assert _until(lambda: pids() == {first[1], replacement, 0}), pids()
        assert _until(lambda: server.request("GET", "/metrics", timeout=5)[0] == 200)
    assert server.process.returncode == 0
    assert not list(temp.glob("ketacost-metrics-*"))
    assert not list(temp.glob("ketacost-connections-*"))


@needs_proc
@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: text.replace("617-555-0100", "617-555-0199"),
         "the configuration, clinic or payer files changed since `ketacost serve` started"),
        (lambda text: text.replace("name:", "name: [", 1), "clinic.yaml"),
    ],
    ids=["changed", "broken"],
)  # fmt: skip
@pytest.mark.parametrize("where", ["clinic", "savings program"])
def test_a_worker_that_cannot_start_stops_the_server_with_exit_2(
    tmp_path: Path, edit: Any, message: str, where: str
) -> None:
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text((ROOT / "examples" / "clinics" / "example-clinic.yaml").read_text())
    payers = tmp_path / "payers"
    shutil.copytree(ROOT / "payers", payers)
    edited = clinic if where == "clinic" else payers / "programs" / "spravato-withme.yaml"
    if where != "clinic":  # an edit the payer files' own hashes see, not the rules hash
        message = message.replace("clinic.yaml", "spravato-withme.yaml")
        edit = (
            (lambda text: text + "# a comment\n")
            if "changed" in message
            else (lambda text: text.replace("id:", "id: [", 1))
        )
    env = {"KETACOST_PAYERS": str(payers)}
    with _serving(tmp_path, "--workers", "2", config="clinic: clinic.yaml\n", env=env) as server:
        workers = _workers(server, 2)
        edited.write_text(edit(edited.read_text()))
        os.kill(workers[0], signal.SIGKILL)  # its replacement reads the edited file
        server.process.wait(timeout=30)
    assert server.process.returncode == 2  # not 0: a service manager restarts it
    log = server.log.read_text()
    assert "Cannot start the calculator" in log and message in log, log
    assert "could not start (the log above says why); the server stopped" in log, log
    assert "Traceback" not in log, log
    assert not [pid for pid in workers if _running(pid)]


@needs_proc
def test_workers_stop_when_their_parent_is_killed(tmp_path: Path) -> None:
    with _serving(tmp_path, "--workers", "2") as server:
        workers = _workers(server, 2)
        server.process.kill()  # SIGKILL: the supervisor cannot stop them
        server.process.wait(timeout=10)
        assert _until(lambda: not any(_running(pid) for pid in workers), 10), "orphans serve on"
        with pytest.raises(ConnectionRefusedError):
            server.connect(1).close()


def test_workers_read_a_linked_configuration_beside_the_link(tmp_path: Path) -> None:
    from ketacost._engine import rules_hash
    from ketacost.web._config import resolve

    text = (ROOT / "examples" / "clinics" / "example-clinic.yaml").read_text()
    target, link = tmp_path / "a", tmp_path / "b"
    target.mkdir()
    link.mkdir()
    (target / "web.yaml").write_text("clinic: clinic.yaml\n")
    (target / "clinic.yaml").write_text(text.replace("617-555-0100", "617-555-0111"))
    (link / "web.yaml").symlink_to(target / "web.yaml")
    (link / "clinic.yaml").write_text(text.replace("617-555-0100", "617-555-0122"))
    beside = resolve(load_web_config(link / "web.yaml"))  # what one process serves
    expected = rules_hash(list(beside.library.values()), beside.clinic)
    with _serving(tmp_path, "--workers", "2", "--config", str(link / "web.yaml")) as server:
        status, body, _ = server.request("GET", "/healthz", timeout=5)
    assert status == 200 and json.loads(body)["rules_hash"] == expected


def test_serve_with_workers_puts_back_the_signal_handlers_and_reports_a_failed_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import uvicorn.supervisors

    from ketacost.web import WorkerError

    class Process:
        def __init__(self, exitcode: int) -> None:
            self.pid, self.exitcode = 4242, exitcode

    class Supervisor:  # as uvicorn's: takes the signals over, runs, keeps its processes
        exitcode = 0

        def __init__(self, config: Any, sockets: list[socket.socket]) -> None:
            configs.append(config)
            specs.append(json.loads(os.environ["KETACOST_SERVE_WORKER"]))
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, lambda *_: None)
            self.processes = [Process(0), Process(Supervisor.exitcode)]

        def run(self) -> None:
            pass

    configs: list[Any] = []
    specs: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn.supervisors, "Multiprocess", Supervisor)
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    ketacost.web.serve(None, port=_free_port(), workers=2)
    # the workers' event loop takes connections in turn (test_workers_take_connections_in_turn)
    # (and no WebSocket protocol: an upgrade would leave a connection counted for good)
    from ketacost.web import _balance

    assert configs[0].loop == "ketacost.web._balance:BalancedAcceptLoop" == _balance.LOOP
    assert configs[0].get_loop_factory() is _balance.BalancedAcceptLoop
    assert configs[0].ws == "none"
    # the connections file, made for the workers and removed after them; when it cannot be
    # made, the workers serve without sharing (each says so), never a traceback
    assert specs[0]["connections"] and not os.path.exists(specs[0]["connections"])
    from ketacost.web import _workers

    def unwritable() -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_workers, "make_slots_file", unwritable)
    ketacost.web.serve(None, port=_free_port(), workers=2)
    assert specs[1]["connections"] is None
    monkeypatch.undo()
    monkeypatch.setattr(uvicorn.supervisors, "Multiprocess", Supervisor)
    assert {sig: signal.getsignal(sig) for sig in before} == before
    assert "KETACOST_SERVE_WORKER" not in os.environ
    Supervisor.exitcode = 3
    with pytest.raises(WorkerError, match="worker 4242 could not start"):
        ketacost.web.serve(None, port=_free_port(), workers=2)
    assert {sig: signal.getsignal(sig) for sig in before} == before
    # signals are the main thread's: elsewhere, one clear error
    errors: list[BaseException] = []

    def serve_in_a_thread() -> None:
        try:
            ketacost.web.serve(None, port=_free_port(), workers=2)
        except ValueError as exc:
            errors.append(exc)

    thread = threading.Thread(target=serve_in_a_thread)
    thread.start()
    thread.join(30)
    assert [str(e) for e in errors] == [
        "serve with workers runs in the main thread only (it handles signals)"
    ]


@needs_proc
def test_workers_take_new_connections_in_turn(tmp_path: Path) -> None:
    # Connections opened one after another, each kept open once answered: a worker holding
    # more than the other waits before taking the next, which the other takes. (With
    # asyncio's own loop either worker took each: all 4 on one, 1 time in 8.)
    with _serving(tmp_path, "--workers", "2") as server:
        workers = _workers(server, 2)
        held: list[int | None] = []
        conns = []
        for _ in range(4):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            conn.request("GET", "/v1/payers")
            assert conn.getresponse().read() and conn.sock is not None
            conns.append(conn)
            held.append(_until(lambda s=conn.sock: _worker_of(s, workers), 5))
        for conn in conns:
            conn.close()
    assert set(held) == set(workers), held


class _Taken(asyncio.Protocol):
    """Records when each connection was taken, and what the worker then counted."""

    made: ClassVar[list[float]] = []
    counted: ClassVar[list[int]] = []
    transports: ClassVar[list[asyncio.BaseTransport]] = []
    clients: ClassVar[list[socket.socket]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        from ketacost.web._balance import Connections

        _Taken.made.append(time.monotonic())
        _Taken.counted.append(Connections.mine())
        _Taken.transports.append(transport)


@contextlib.contextmanager
def _balanced_loop(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[tuple[Any, list[int], list[float], list[dict[str, Any]], Path]]:
    """A :class:`BalancedAcceptLoop` sharing a slots file, with its accepts' backlogs, its
    waits and its errors recorded; the file's path."""
    import asyncio.selector_events

    from ketacost.web import _balance

    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)
    path = Path(_balance.make_slots_file())
    assert path.parent == tmp_path and path.stat().st_size == 8 * _balance.SLOTS
    _balance.Connections.forget()
    assert _balance.Connections.share(str(path))
    backlogs: list[int] = []
    original = asyncio.selector_events.BaseSelectorEventLoop._accept_connection

    def spy(self: Any, factory: Any, sock: Any, ssl: Any, server: Any, backlog: int, *rest: Any):  # type: ignore[no-untyped-def]
        backlogs.append(backlog)
        return original(self, factory, sock, ssl, server, backlog, *rest)

    monkeypatch.setattr(asyncio.selector_events.BaseSelectorEventLoop, "_accept_connection", spy)
    loop = _balance.BalancedAcceptLoop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    waits: list[float] = []
    call_later = loop.call_later

    def timed(delay: float, callback: Any, *args: Any) -> asyncio.TimerHandle:
        if callback == loop._resume:  # the loop's own waits (not asyncio.sleep's)
            waits.append(delay)
        return call_later(delay, callback, *args)

    monkeypatch.setattr(loop, "call_later", timed)
    _Taken.made, _Taken.counted, _Taken.transports, _Taken.clients = [], [], [], []
    try:
        yield loop, backlogs, waits, errors, path
    finally:
        for transport in _Taken.transports:
            transport.close()
        for client in _Taken.clients:
            client.close()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        _balance.Connections.forget()


def _other_worker(path: Path, pid: int, connections: int, slot: int = 5) -> None:
    """Write another worker's slot into the shared file (in place, as a worker does)."""
    with path.open("r+b") as file:
        file.seek(slot * 8)
        file.write(struct.pack("=ii", pid, connections))


async def _connect(server: asyncio.Server, n: int, *, keep: bool = False) -> list[float]:
    """Open ``n`` connections at once; the seconds until the server had each (5 s at most)."""
    _Taken.made = []
    port = server.sockets[0].getsockname()[1]
    began = time.monotonic()
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    deadline = time.monotonic() + 5
    while len(_Taken.made) < n and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
    for client in clients:
        if keep:
            _Taken.clients.append(client)  # closed by _balanced_loop
        else:
            client.close()
    return [t - began for t in _Taken.made]


async def _until_async(check: Any, timeout: float = 5) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()) and time.monotonic() < deadline:
        await asyncio.sleep(0.001)
    return found


def test_a_worker_takes_one_connection_a_wake_and_waits_only_when_another_holds_fewer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ketacost.web import _balance

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    try:
        with _balanced_loop(monkeypatch, tmp_path) as (loop, backlogs, waits, errors, path):

            async def run() -> None:
                server = await loop.create_server(_Taken, "127.0.0.1", 0)
                counted = type("Counted", (_balance.CountedProtocol, _Taken), {})
                server_counted = await loop.create_server(counted, "127.0.0.1", 0)
                mine = struct.unpack_from("=ii", path.read_bytes(), 0)
                assert mine == (os.getpid(), 0), mine  # this worker's slot, the first free
                # alone: three waiting connections are taken at once, one a wake, no wait;
                # each counted as being taken before its protocol has it
                assert len(await _connect(server, 3)) == 3
                assert backlogs and set(backlogs) == {1} and waits == []
                assert min(_Taken.counted) >= 1, _Taken.counted  # (this protocol counts none)
                assert await _until_async(lambda: _balance.Connections.mine() == 0)
                # the counting protocol: open connections count, closed ones no more
                assert len(await _connect(server_counted, 2, keep=True)) == 2
                assert await _until_async(lambda: _balance.Connections.held == 2)
                # another worker holds more, or has gone: no wait
                _other_worker(path, other.pid, 5)
                _other_worker(path, gone.pid, 0, slot=6)
                assert len(await _connect(server, 1)) == 1 and waits == []
                # another holds fewer: 5 ms for each connection more before taking one
                _other_worker(path, other.pid, 0)
                taken = await _connect(server, 1)
                assert waits == [pytest.approx(0.010)]
                assert len(taken) == 1 and taken[0] >= 0.010 - 1e-4, taken
                # far ahead: 4 x 5 ms at most
                _balance.Connections.held = 40
                assert len(await _connect(server, 1)) == 1
                assert waits[1:] == [pytest.approx(0.020)]
                server.close()
                server_counted.close()
                await server.wait_closed()
                for transport in _Taken.transports:
                    transport.close()

            loop.run_until_complete(run())
            assert errors == []
            # the slots: this worker's emptied once it stopped serving (the others never
            # wait for a worker that takes no more connections); the others as written
            slots = [struct.unpack_from("=ii", path.read_bytes(), k * 8) for k in range(8)]
            assert slots[0] == (0, 0) and slots[5] == (other.pid, 0), slots
            assert _balance.Connections.ahead() == 0
    finally:
        other.kill()
        other.wait()


def test_a_worker_that_loses_the_race_waits_again_and_stops_waiting_when_closed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ketacost.web import _balance

    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    # waits of 0.5 s (not 5 ms): the steps below happen during a wait, even on a busy machine
    monkeypatch.setattr(_balance, "ACCEPT_DELAY_SECONDS", 0.5)
    try:
        with _balanced_loop(monkeypatch, tmp_path) as (loop, _backlogs, waits, errors, path):

            async def run() -> None:
                server = await loop.create_server(_Taken, "127.0.0.1", 0)
                port = server.sockets[0].getsockname()[1]
                _other_worker(path, other.pid, 0)
                _balance.Connections.held = 1
                # the other worker takes the connection while this one waits
                listening = socket.socket(fileno=os.dup(server.sockets[0].fileno()))
                client = socket.create_connection(("127.0.0.1", port))
                assert await _until_async(lambda: len(waits) == 1)
                listening.settimeout(5)  # not setblocking: the flag is the shared socket's
                stolen, _ = listening.accept()
                await asyncio.sleep(0.6)  # the wait ends: nothing to take, no error
                assert _Taken.made == [] and errors == []
                # the next connection waits too (nothing left over from the lost race)
                taken = await _connect(server, 1)
                assert waits == [0.5, 0.5] and len(taken) == 1 and taken[0] >= 0.5 - 1e-3
                # closed while it waits (the server stopping): nothing taken, no error
                _Taken.made = []
                late = socket.create_connection(("127.0.0.1", port))
                assert await _until_async(lambda: len(waits) == 3)
                server.close()
                await server.wait_closed()
                await asyncio.sleep(0.6)
                assert _Taken.made == []
                for sock in (listening, stolen, client, late):
                    sock.close()

            loop.run_until_complete(run())
            assert errors == []
    finally:
        other.kill()
        other.wait()


def test_a_worker_counts_a_connection_once_and_shares_a_slot_of_a_worker_gone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from ketacost.web import _balance

    calls: list[str] = []

    class Base:  # the guarded protocol's part: still called
        def connection_made(self, transport: Any) -> None:
            calls.append("made")

        def connection_lost(self, exc: Exception | None) -> None:
            calls.append("lost")

    class Counted(_balance.CountedProtocol, Base):
        pass

    _balance.Connections.forget()
    try:
        one, two = Counted(), Counted()
        one.connection_made(None)  # type: ignore[arg-type]
        two.connection_made(None)  # type: ignore[arg-type]
        assert _balance.Connections.held == 2
        one.connection_lost(None)
        one.connection_lost(None)  # twice: counted once
        assert _balance.Connections.held == 1
        assert calls == ["made", "made", "lost", "lost"]
        # a slot of a worker gone is claimed again; with every slot taken by live workers,
        # none is, and the worker does not share (it never waits)
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        path = tmp_path / "slots"
        path.write_bytes(struct.pack("=ii", os.getppid(), 1) * (_balance.SLOTS - 1)
                         + struct.pack("=ii", gone.pid, 3))  # fmt: skip
        assert _balance.Connections.share(str(path))
        last = struct.unpack_from("=ii", path.read_bytes(), (_balance.SLOTS - 1) * 8)
        assert last == (os.getpid(), 1)
        _balance.Connections.forget()
        path.write_bytes(struct.pack("=ii", os.getppid(), 1) * _balance.SLOTS)
        assert not _balance.Connections.share(str(path))
        assert _balance.Connections.ahead() == 0
        # a file too short to be one (not made by the server): not shared, left as it is
        path.write_bytes(bytes(8))
        assert not _balance.Connections.share(str(path)) and path.read_bytes() == bytes(8)
    finally:
        _balance.Connections.forget()


def test_a_worker_without_its_settings_exits_3_with_one_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from ketacost.web import _workers

    monkeypatch.delenv(_workers.SPEC, raising=False)
    with caplog.at_level(logging.ERROR, "ketacost.web"), pytest.raises(SystemExit) as exited:
        _workers.app()
    assert exited.value.code == 3
    assert [r.getMessage() for r in caplog.records] == [
        "Cannot start the calculator: KETACOST_SERVE_WORKER: not set: a worker is started by "
        "`ketacost serve`"
    ]


def test_a_bad_configuration_stops_serve_before_any_worker_starts(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text("clinic: nowhere.yaml\n")
    result = subprocess.run(
        [sys.executable, "-m", "ketacost", "serve", "--workers", "2", "--port", str(_free_port()),
         "--config", str(tmp_path / "web.yaml")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr and "Started parent process" not in result.stderr
    assert "nowhere.yaml" in result.stderr, result.stderr


def test_serve_refuses_a_worker_count_out_of_range() -> None:
    from ketacost.cli import _serve

    assert _serve.MAX_WORKERS == ketacost.web.MAX_WORKERS == 32
    for workers in (0, 33):
        with pytest.raises(ValueError, match="workers must be from 1 to 32"):
            ketacost.web.serve(None, workers=workers)
