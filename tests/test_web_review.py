"""The defects a review found in the web change of issue 15, each pinned by a test: metric
labels bounded whatever a client sends, routes seen below ``root_path``, the multiprocess
folder checked, the factory's errors and warnings, the operator's logging left alone, the
problems' ``instance`` and OpenAPI document, and ``/healthz``."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from ketacost.web import WebConfig, WebConfigError, app_from_env, create_app
from ketacost.web._ops import OURS, access

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
START = date(2026, 1, 5)
TOTAL = "ketacost_http_requests_total"


def _labels(text: str, name: str = TOTAL) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(name + "{")]


@pytest.fixture
def client() -> TestClient:
    return TestClient(create_app(WebConfig(), today=lambda: START), raise_server_exceptions=False)


# -- 1: a client's method token is never a label or a log field of its own ------------------
def test_an_unknown_method_is_other_in_metrics_and_log(client: TestClient) -> None:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    level = access.level
    access.addHandler(handler)  # on the logger itself: whatever an earlier test left behind
    access.setLevel(logging.INFO)
    try:
        token = "X" * 4000
        for n in range(3):
            client.request(f"{token}{n}", "/v1/payers")
        client.request("BREW", "/healthz")
    finally:
        access.removeHandler(handler)
        access.setLevel(level)
    text = client.get("/metrics").text
    assert "XXXX" not in text and "BREW" not in text
    assert 'method="other"' in text
    assert [getattr(r, "method", None) for r in records] == ["other"] * 4
    assert not any("XXXX" in r.getMessage() or "BREW" in r.getMessage() for r in records)


# -- 2: behind a root_path, the route is still its template ---------------------------------
def test_routes_are_named_below_the_root_path() -> None:
    app = create_app(WebConfig(), today=lambda: START)
    client = TestClient(app, root_path="/calc")
    assert client.get("/calc/v1/payers").status_code == 200
    text = client.get("/calc/metrics").text
    assert 'route="/v1/payers"' in text, _labels(text)
    assert 'route="other"' not in text


# -- 3: the multiprocess folder is checked at build; a metrics failure never escapes --------
@pytest.mark.parametrize("kind", ["missing", "file", "readonly"])
def test_a_bad_multiprocess_folder_is_a_config_error_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    folder = tmp_path / "metrics"
    if kind == "file":
        folder.write_text("")
    elif kind == "readonly":
        if os.geteuid() == 0:
            pytest.skip("root writes to any folder")
        folder.mkdir()
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    with pytest.raises(WebConfigError) as exc:
        create_app(WebConfig())
    assert str(exc.value).startswith("PROMETHEUS_MULTIPROC_DIR: "), str(exc.value)
    assert str(folder) in str(exc.value)


def test_a_failing_metric_is_logged_once_and_the_answers_go_on(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: Any, *args: Any) -> None:
        raise FileNotFoundError("/gone/counter_1.db")

    metrics = client.app.state.metrics  # type: ignore[attr-defined]
    monkeypatch.setattr(metrics.requests, "labels", lambda *a: broken(None))
    with caplog.at_level(logging.ERROR, logger="ketacost.web"):
        answers = [client.get("/v1/payers") for _ in range(3)]
    assert [r.status_code for r in answers] == [200] * 3
    assert client.get("/metrics").status_code == 200
    errors = [r for r in caplog.records if r.name == "ketacost.web" and r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "FileNotFoundError" in errors[0].getMessage()
    assert "Traceback" not in caplog.text


# -- 6: under a server, a bad variable is one logged line and exit 3, never a traceback -----
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("KETACOST_BODY_TIMEOUT", "0"),
        ("KETACOST_ACCESS_LOG", "JSON"),
        ("KETACOST_WEB_CONFIG", "/no/such/web.yaml"),
    ],
)
def test_uvicorn_factory_with_a_bad_variable_exits_3_without_a_traceback(
    variable: str, value: str
) -> None:
    env = {**os.environ, variable: value}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "uvicorn", "--factory", "ketacost.web:app_from_env",
               "--host", "127.0.0.1", "--port", "0"]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stderr
    assert f"Cannot start the calculator: {variable}: " in done.stderr, done.stderr


def test_app_from_env_with_an_environ_still_raises() -> None:
    with pytest.raises(WebConfigError):
        app_from_env({"KETACOST_BODY_TIMEOUT": "0"})


# -- 4: the file's server: settings the factory cannot apply are warned of -----------------
@pytest.fixture
def saved_access() -> Any:
    handlers, level, propagate = list(access.handlers), access.level, access.propagate
    root = logging.getLogger()
    root_handlers = list(root.handlers)
    yield
    for handler in list(access.handlers):
        access.removeHandler(handler)
    for handler in handlers:
        access.addHandler(handler)
    access.setLevel(level)
    access.propagate = propagate
    root.handlers[:] = root_handlers
    logging.getLogger("uvicorn.access").disabled = False


def test_app_from_env_warns_of_each_server_setting_of_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, saved_access: Any
) -> None:
    config = tmp_path / "web.yaml"
    config.write_text(
        "server:\n  limit_concurrency: 8\n  backlog: 100\n  body_timeout_seconds: 20\n"
        "  header_timeout_seconds: 10\n"  # the default: not warned of
    )
    with caplog.at_level(logging.WARNING, logger="ketacost.web"):
        app = app_from_env({"KETACOST_WEB_CONFIG": str(config), "KETACOST_ACCESS_LOG": "off"})
    assert app.state.calculator.resolved.config.server.body_timeout_seconds == 20
    warned = [r.getMessage() for r in caplog.records if r.name == "ketacost.web"]
    assert len(warned) == 1, warned
    assert warned[0].startswith("server.limit_concurrency, server.backlog (configuration file)")
    assert "header_timeout" not in warned[0] and "body_timeout" not in warned[0]


# -- 7: with KETACOST_ACCESS_LOG not set, an operator's handlers are left alone ----------------
def test_the_factory_leaves_an_operators_handlers_alone(saved_access: Any) -> None:
    import io

    theirs = logging.StreamHandler(io.StringIO())
    for handler in list(access.handlers):
        access.removeHandler(handler)
    access.propagate = True
    access.setLevel(logging.NOTSET)
    access.addHandler(theirs)  # as gunicorn --log-config would
    app = app_from_env({})
    assert access.handlers == [theirs] and access.propagate
    TestClient(app).get("/healthz")
    assert "GET /healthz 200" in theirs.stream.getvalue()
    # set explicitly, the variable wins: the factory's own handler, once
    app_from_env({"KETACOST_ACCESS_LOG": "json"})
    assert [getattr(h, OURS, False) for h in access.handlers] == [False, True]


def test_the_factory_adds_its_handler_when_nothing_is_configured(saved_access: Any) -> None:
    for handler in list(access.handlers):
        access.removeHandler(handler)
    logging.getLogger().handlers[:] = []
    app_from_env({})
    assert [getattr(h, OURS, False) for h in access.handlers] == [True]


# -- 5, 9: the OpenAPI document: busy is serve-only; types listed; 405; extensions allowed -----
def test_the_openapi_document_lists_each_responses_types_and_allows_extensions(
    client: TestClient,
) -> None:
    from ketacost.web._problems import BASE

    schema = client.get("/openapi.json").json()
    assert schema["components"]["schemas"]["Problem"].get("additionalProperties") is not False
    assert "not a page to fetch" in schema["info"]["description"]
    estimate = schema["paths"]["/v1/estimate"]["post"]["responses"]
    types = estimate["503"]["content"]["application/problem+json"]["schema"]["allOf"][1]
    assert set(types["properties"]["type"]["enum"]) == {BASE + "estimate-timeout", BASE + "busy"}
    assert "`ketacost serve` only" in estimate["503"]["description"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert "405" in operation["responses"], (method, path)
            allowed = operation["responses"]["405"]["content"]["application/problem+json"]
            assert allowed["schema"]["allOf"][1]["properties"]["type"]["enum"] == ["about:blank"]
    # the 405 is what the app answers
    answer = client.put("/v1/payers")
    assert answer.status_code == 405 and answer.json()["type"] == "about:blank"


# -- 10: instance is a URI reference (percent-encoded), not the decoded path ------------------
def test_the_instance_of_a_problem_is_percent_encoded(client: TestClient) -> None:
    answer = client.get("/nope%20x/%C3%A9")
    assert answer.status_code == 404
    assert answer.json()["instance"] == "/nope%20x/%C3%A9"
    assert client.post("/v1/estimate", content=b"{").json()["instance"] == "/v1/estimate"


# -- 11: ketacost serve names KETACOST_WEB_CONFIG when the bad file came from it --------------
@pytest.mark.parametrize("content", [None, "payers: [nope]\n"])
def test_serve_names_the_variable_of_a_bad_configuration_file(
    tmp_path: Path, content: str | None
) -> None:
    from click.testing import CliRunner

    from ketacost.cli import cli

    config = tmp_path / "web.yaml"
    if content is not None:
        config.write_text(content)
    result = CliRunner().invoke(
        cli, ["serve", "--port", "1"], env={"KETACOST_WEB_CONFIG": str(config)}
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: KETACOST_WEB_CONFIG: {config}"), result.stderr
    assert result.stderr.count("\n") == 1
    # given as --config, the file is named as it is (no variable)
    result = CliRunner().invoke(cli, ["serve", "--port", "1", "--config", str(config)])
    assert result.stderr.startswith(f"error: {config}"), result.stderr


# -- 12: /healthz says what it is: liveness, not load -------------------------------------------
def test_healthz_is_documented_as_liveness(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["paths"]["/healthz"]["get"]["summary"].startswith("Liveness")
    rules_loaded = schema["components"]["schemas"]["Health"]["properties"]["rules_loaded"]
    assert "always true" in rules_loaded["description"]
    assert "liveness" in rules_loaded["description"]


# -- test gap: two worker processes write to one folder; /metrics sums them ------------------
_WORKER = """
import sys, warnings
warnings.simplefilter("ignore")
from fastapi.testclient import TestClient
from ketacost.web import WebConfig, create_app
client = TestClient(create_app(WebConfig()))
for _ in range(int(sys.argv[1])):
    client.get("/v1/payers")
if sys.argv[2] == "scrape":
    sys.stdout.write(client.get("/metrics").text)
"""


def test_metrics_sum_over_two_worker_processes(tmp_path: Path) -> None:
    import re

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}

    def worker(requests: int, then: str) -> str:
        return subprocess.run([sys.executable, "-c", _WORKER, str(requests), then], env=env,
                              capture_output=True, text=True, check=True, cwd=ROOT,
                              timeout=60).stdout  # fmt: skip

    worker(2, "-")  # the first worker: 2 requests, then it ends (its file stays)
    text = worker(3, "scrape")  # the second: its own 3, and the first's 2
    want = {"route": "/v1/payers", "method": "GET", "status": "200"}
    values = [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(TOTAL + "{")
        and dict(re.findall(r'(\w+)="([^"]*)"', line[: line.rindex("}")])) == want
    ]
    assert values == [5.0], text
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per process
