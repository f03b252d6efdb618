"""What an operator gets (issue 15): /healthz, Prometheus metrics, access logs, RFC 9457
problems and the OpenAPI document, the app factory and the environment variables of
``ketacost serve``, and the message when the web extra is missing."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.exceptions import StarletteDeprecationWarning

import ketacost
from ketacost.cli import cli
from ketacost.cli._serve import ENV, SERVER_OPTIONS
from ketacost.web import Limits, WebConfig, WebConfigError, app_from_env, create_app
from ketacost.web._config import resolve
from ketacost.web._ops import access, configure_access_log
from ketacost.web._problems import KINDS, MEDIA_TYPE, Problem

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
START = date(2026, 1, 5)
ANSWERS = {"treatment": "kap", "insurance": "none", "age": 40, "start": START.isoformat()}
#: A patient value no metric, log line or label may ever hold.
SECRET = "1187.43"


@pytest.fixture
def app() -> Any:
    return create_app(WebConfig(eligibility_271=True), today=lambda: START)


@pytest.fixture
def client(app: Any) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def access_lines() -> Iterator[Any]:
    """A function that routes the access log to a buffer, in a form; put back afterwards."""
    handlers, level, propagate = list(access.handlers), access.level, access.propagate
    uvicorn_access = logging.getLogger("uvicorn.access")
    uvicorn_disabled = uvicorn_access.disabled
    buffer = io.StringIO()

    def use(form: Any) -> io.StringIO:
        configure_access_log(form, buffer)
        return buffer

    yield use
    for handler in list(access.handlers):
        access.removeHandler(handler)
    for handler in handlers:
        access.addHandler(handler)
    access.setLevel(level)
    access.propagate = propagate
    uvicorn_access.disabled = uvicorn_disabled


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- /healthz ---------------------------------------------------------------------------------
def test_healthz_says_the_rules_are_loaded_with_their_hash_and_version(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    resolved = resolve(WebConfig())
    library = list(resolved.library.values())
    assert response.json() == {
        "status": "ok",
        "rules_loaded": True,
        "rules_hash": ketacost.rules_hash(library, resolved.clinic),
        "version": ketacost.__version__,
        "payers": len(library),
        "offered": len(resolved.offered),
    }
    assert client.head("/healthz").status_code == 200


def test_healthz_hash_changes_with_the_rules(tmp_path: Path) -> None:
    one = TestClient(create_app(WebConfig())).get("/healthz").json()["rules_hash"]
    text = (ROOT / "examples" / "clinics" / "example-clinic.yaml").read_text()
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text(text.replace('"90791": 350.00', '"90791": 351.00', 1))
    other = TestClient(create_app(WebConfig(clinic=clinic))).get("/healthz").json()
    assert other["rules_hash"] != one and re.fullmatch("[0-9a-f]{64}", one)


# -- /metrics ---------------------------------------------------------------------------------
def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus's text format (0 when absent)."""
    for line in text.splitlines():
        if line.startswith(name + "{"):
            found = dict(re.findall(r'(\w+)="([^"]*)"', line[: line.rindex("}")]))
            if found == labels:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_by_route_template_method_and_status(client: TestClient) -> None:
    client.post("/v1/estimate", json=ANSWERS)
    client.post("/v1/estimate", json=ANSWERS)
    client.post("/v1/estimate", json={**ANSWERS, "age": 300})
    client.get("/v1/payers")
    client.get("/v1/no-such-route-4711")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    total = "ketacost_http_requests_total"
    assert _sample(text, total, route="/v1/estimate", method="POST", status="200") == 2
    assert _sample(text, total, route="/v1/estimate", method="POST", status="422") == 1
    assert _sample(text, total, route="/v1/payers", method="GET", status="200") == 1
    assert _sample(text, total, route="other", method="GET", status="404") == 1
    assert "no-such-route" not in text  # a path the app does not serve is "other"
    count = "ketacost_http_request_duration_seconds_count"
    assert _sample(text, count, route="/v1/estimate", method="POST") == 3
    # every request is in the +Inf bucket; its sum is a positive duration
    inf = "ketacost_http_request_duration_seconds_bucket"
    assert _sample(text, inf, route="/v1/estimate", method="POST", le="+Inf") == 3
    assert _sample(text, "ketacost_http_request_duration_seconds_sum", route="/v1/estimate",
                   method="POST") > 0  # fmt: skip


def test_metrics_never_hold_request_content(client: TestClient) -> None:
    body = {**ANSWERS, "insurance": "commercial-ppo", "deductible_met": SECRET}
    assert client.post("/v1/estimate?detail=summary", json=body).status_code == 200
    client.post("/v1/estimate", json={**ANSWERS, "age": SECRET})
    client.get(f"/v1/{SECRET}")
    text = client.get("/metrics").text
    # Names, labels and help text, without the sample values: a value (a count, a duration, a
    # `_created` timestamp such as 1.7647960262978119e+09) may hold any digits by chance.
    words = "\n".join(
        line if line.startswith("#") else line.rsplit(" ", 1)[0] for line in text.splitlines()
    )
    assert SECRET not in words and "1187" not in words and "summary" not in words
    values = {line.rsplit(" ", 1)[1] for line in text.splitlines() if not line.startswith("#")}
    assert not {v for v in values if v in (SECRET, "1187.43", "1187.0", "1187")}
    assert set(re.findall(r'(\w+)="', text)) <= {"route", "method", "status", "le"}


def test_each_app_has_its_own_registry() -> None:
    one = TestClient(create_app(WebConfig()))
    two = TestClient(create_app(WebConfig()))
    one.get("/v1/payers")
    one.get("/v1/payers")
    two.get("/v1/payers")
    total = "ketacost_http_requests_total"
    labels = {"route": "/v1/payers", "method": "GET", "status": "200"}
    assert _sample(one.get("/metrics").text, total, **labels) == 2
    assert _sample(two.get("/metrics").text, total, **labels) == 1


def test_metrics_in_multiprocess_mode_sum_over_the_workers(tmp_path: Path) -> None:
    # prometheus_client reads PROMETHEUS_MULTIPROC_DIR when imported: a fresh interpreter.
    # Two apps stand in for two workers; each writes its counts to the folder.
    code = """
import json, warnings
warnings.simplefilter("ignore")
from fastapi.testclient import TestClient
from ketacost.web import WebConfig, create_app
one, two = TestClient(create_app(WebConfig())), TestClient(create_app(WebConfig()))
one.get("/v1/payers"); two.get("/v1/payers"); two.get("/v1/payers")
print(json.dumps(two.get("/metrics").text))
"""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True, cwd=ROOT)  # fmt: skip
    text = json.loads(done.stdout.splitlines()[-1])
    labels = {"route": "/v1/payers", "method": "GET", "status": "200"}
    assert _sample(text, "ketacost_http_requests_total", **labels) == 3
    assert list(tmp_path.glob("*.db"))


# -- access log -------------------------------------------------------------------------------
def test_access_log_text_lines(client: TestClient, access_lines: Any) -> None:
    buffer = access_lines("text")
    client.post("/v1/estimate?detail=summary", json={**ANSWERS, "age": 41})
    client.get(f"/v1/{SECRET}")
    lines = buffer.getvalue().splitlines()
    stamp = r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z"
    assert re.fullmatch(stamp + r" POST /v1/estimate 200 [0-9]+\.[0-9] ms", lines[0]), lines
    assert re.fullmatch(stamp + r" GET other 404 [0-9]+\.[0-9] ms", lines[1]), lines
    assert len(lines) == 2


def test_access_log_json_lines_hold_the_documented_fields_only(
    client: TestClient, access_lines: Any
) -> None:
    buffer = access_lines("json")
    client.post("/v1/estimate?detail=summary", json={**ANSWERS, "deductible_met": SECRET})
    client.post("/v1/estimate", json={**ANSWERS, "age": SECRET})
    client.get(f"/v1/{SECRET}?q={SECRET}")
    client.head("/healthz")
    text = buffer.getvalue()
    assert SECRET not in text and "summary" not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert [(r["method"], r["route"], r["status"]) for r in records] == [
        ("POST", "/v1/estimate", 200),
        ("POST", "/v1/estimate", 422),
        ("GET", "other", 404),
        ("HEAD", "/healthz", 200),
    ]
    for record in records:
        assert set(record) == {"time", "method", "route", "status", "duration_ms"}
        assert isinstance(record["duration_ms"], float) and record["duration_ms"] >= 0
        assert record["time"].endswith("Z")


def test_access_log_off_logs_nothing(client: TestClient, access_lines: Any) -> None:
    buffer = access_lines("json")
    buffer = access_lines("off")  # replaces the handler, never adds a second
    client.get("/v1/payers")
    assert buffer.getvalue() == ""
    assert not [h for h in access.handlers if getattr(h, "_ketacost_access", False)]


def test_access_log_configured_twice_writes_each_line_once(
    client: TestClient, access_lines: Any
) -> None:
    access_lines("text")
    buffer = access_lines("text")
    client.get("/v1/payers")
    assert len(buffer.getvalue().splitlines()) == 1


# -- problems ---------------------------------------------------------------------------------
def _problem(response: Any, status: int, kind: str | None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    problem = response.json()
    Problem.model_validate(problem)  # the documented schema, every member
    assert problem["status"] == status
    if kind is None:
        assert problem["type"] == "about:blank"
    else:
        assert problem["type"] == f"https://ketacost.example/problems/{kind}"
        assert problem["title"] == KINDS[kind][1]
    assert problem["error"] == problem["detail"]  # the /v1 member, kept
    return problem


def test_a_bad_field_is_a_problem_naming_field_line_and_column(client: TestClient) -> None:
    text = '{\n  "treatment": "kap",\n  "insurance": "none",\n  "age": 200\n}'
    response = client.post(
        "/v1/estimate", content=text, headers={"content-type": "application/json"}
    )
    problem = _problem(response, 422, "invalid-request")
    # "age": 200 is on line 4; its value starts at column 10
    assert problem["errors"] == [
        {"detail": "must be at most 130 (got 200)", "field": "age", "line": 4, "column": 10}
    ]
    assert problem["detail"] == "request body:4:10: age: must be at most 130 (got 200)"
    assert problem["instance"] == "/v1/estimate"
    assert problem["issues"] == [
        {"field": "age", "line": 4, "column": 10, "message": "must be at most 130 (got 200)"}
    ]


def test_every_error_the_app_gives_is_a_problem(client: TestClient) -> None:
    post = client.post
    json_ct = {"content-type": "application/json"}
    _problem(post("/v1/estimate", content="{", headers=json_ct), 400, "invalid-body")
    _problem(post("/v1/estimate?detail=all", json=ANSWERS), 400, "invalid-parameter")
    _problem(post("/v1/estimate", content="{}", headers={"content-type": "text/plain"}), 415,
             "unsupported-media-type")  # fmt: skip
    medicare = {**ANSWERS, "insurance": "medicare-part-b", "start": "2024-06-03"}
    _problem(post("/v1/estimate", json=medicare), 422, "not-estimable")
    _problem(post("/v1/eligibility/271", content="ISA*nonsense"), 422, "unreadable-271")
    assert _problem(client.get("/v1/nothing"), 404, None)["title"] == "Not Found"
    not_allowed = client.get("/v1/estimate")
    assert _problem(not_allowed, 405, None)["title"] == "Method Not Allowed"
    assert "POST" in not_allowed.headers["allow"]
    small = TestClient(create_app(WebConfig(limits=Limits(max_body_bytes=1024))))
    _problem(small.post("/v1/estimate", content=" " * 2000, headers=json_ct), 413,
             "body-too-large")  # fmt: skip


def test_the_last_resort_500_and_the_timeout_503_are_problems(
    app: Any, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(text: str) -> Any:
        raise RuntimeError("no")

    monkeypatch.setattr(app.state.calculator, "estimate_json", boom)
    problem = _problem(client.post("/v1/estimate", json=ANSWERS), 500, "internal-error")
    assert problem["errors"] == [] and problem["instance"] == "/v1/estimate"
    slow_app = create_app(WebConfig(limits=Limits(max_seconds=1)), today=lambda: START)

    def slow(text: str) -> Any:
        time.sleep(1.5)
        raise RuntimeError("late")

    monkeypatch.setattr(slow_app.state.calculator, "estimate_json", slow)
    response = TestClient(slow_app).post("/v1/estimate", json=ANSWERS)
    _problem(response, 503, "estimate-timeout")
    assert response.headers["retry-after"] == "60"


# -- the OpenAPI document ---------------------------------------------------------------------
OPERATIONS = {
    ("post", "/v1/estimate"): "estimate",
    ("post", "/v1/eligibility/271"): "readEligibility271",
    ("get", "/v1/payers"): "listPayers",
    ("get", "/v1/treatments"): "listTreatments",
    ("get", "/healthz"): "health",
    ("get", "/metrics"): "metrics",
}


def test_every_operation_has_its_stable_operation_id(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    found = {(m, p): op["operationId"] for p, ops in paths.items() for m, op in ops.items()}
    assert found == OPERATIONS


def test_every_error_response_is_documented_as_a_problem(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert "Problem" in schema["components"]["schemas"]
    members = schema["components"]["schemas"]["Problem"]["properties"]
    assert {"type", "title", "status", "detail", "instance", "errors"} <= set(members)
    assert members["error"]["deprecated"] is True and members["issues"]["deprecated"] is True
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"500", "503"} <= statuses, (method, path)
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    content = response["content"]
                    assert list(content) == [MEDIA_TYPE], (method, path, status)
                    of = content[MEDIA_TYPE]["schema"]["allOf"]
                    assert of[0] == {"$ref": "#/components/schemas/Problem"}
                    assert of[1]["properties"]["type"]["enum"], (method, path, status)


def test_each_documented_request_example_is_accepted(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    estimate = paths["/v1/estimate"]["post"]["requestBody"]["content"]["application/json"]
    assert set(estimate["examples"]) == {"self-pay", "insured"}
    for name, example in estimate["examples"].items():
        response = client.post("/v1/estimate", json=example["value"])
        assert response.status_code == 200, (name, response.text)
    x12 = paths["/v1/eligibility/271"]["post"]["requestBody"]["content"]["text/plain"]
    for name, example in x12["examples"].items():
        response = client.post("/v1/eligibility/271", content=example["value"])
        assert response.status_code == 200, (name, response.text)
        [snapshot] = response.json()
        assert snapshot["payer_name"] == "EXAMPLE COMMERCIAL PPO" or snapshot


def test_the_examples_follow_the_clinics_configuration() -> None:
    config = WebConfig(payers=("medicare-part-b", "self-pay"))
    app = create_app(config, today=lambda: START)
    client = TestClient(app)
    body = client.get("/openapi.json").json()["paths"]["/v1/estimate"]["post"]["requestBody"]
    examples = body["content"]["application/json"]["examples"]
    assert examples["insured"]["value"]["insurance"] == "medicare-part-b"
    for example in examples.values():
        assert client.post("/v1/estimate", json=example["value"]).status_code == 200


# -- the factory ------------------------------------------------------------------------------
def test_app_from_env_reads_the_config_body_timeout_and_access_log(
    tmp_path: Path, access_lines: Any
) -> None:
    config = tmp_path / "web.yaml"
    config.write_text("payers: [commercial-ppo, self-pay]\n")
    env = {"KETACOST_WEB_CONFIG": str(config), "KETACOST_BODY_TIMEOUT": "7",
           "KETACOST_ACCESS_LOG": "off"}  # fmt: skip
    app = app_from_env(env)
    assert [p["id"] for p in TestClient(app).get("/v1/payers").json()] == [
        "commercial-ppo",
        "self-pay",
    ]
    assert app.state.calculator.resolved.config.server.body_timeout_seconds == 7
    assert not access.isEnabledFor(logging.INFO)


def test_app_from_env_with_nothing_set_is_the_default_calculator(access_lines: Any) -> None:
    app = app_from_env({})
    assert TestClient(app).get("/healthz").json()["status"] == "ok"
    assert access.isEnabledFor(logging.INFO)  # text, by default


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KETACOST_BODY_TIMEOUT": "ten"}, "KETACOST_BODY_TIMEOUT: must be a whole number"),
        ({"KETACOST_BODY_TIMEOUT": "0"}, "KETACOST_BODY_TIMEOUT: must be at least 1 (got 0)"),
        ({"KETACOST_ACCESS_LOG": "xml"}, "KETACOST_ACCESS_LOG: must be one of text, json, off"),
        ({"KETACOST_WEB_CONFIG": "/no/such/web.yaml"}, "KETACOST_WEB_CONFIG: "),
    ],
)
def test_app_from_env_names_the_bad_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(WebConfigError) as exc:
        app_from_env(env)
    assert str(exc.value).startswith(message), str(exc.value)
    assert "\n" not in str(exc.value)


def test_app_from_env_warns_of_a_serve_only_variable(
    caplog: pytest.LogCaptureFixture, access_lines: Any
) -> None:
    with caplog.at_level(logging.WARNING, logger="ketacost.web"):
        app_from_env({"KETACOST_LIMIT_CONCURRENCY": "8", "KETACOST_ACCESS_LOG": "off"})
    assert "KETACOST_LIMIT_CONCURRENCY: read by `ketacost serve` only" in caplog.text


def test_uvicorn_serves_the_factory_with_json_access_lines(tmp_path: Path) -> None:
    import http.client

    port = _free_port()
    env = {**os.environ, "KETACOST_ACCESS_LOG": "json"}
    command = [sys.executable, "-m", "uvicorn", "--factory", "ketacost.web:app_from_env",
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    out = tmp_path / "stdout"
    with out.open("w") as stdout:
        server = subprocess.Popen(command, env=env, stdout=stdout, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, "uvicorn exited"
            assert time.monotonic() < deadline, "uvicorn did not answer within 30 s"
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", f"/healthz?patient={SECRET}")
                status = conn.getresponse().status
                conn.close()
                break
            except OSError:
                time.sleep(0.1)
        assert status == 200
    finally:
        server.terminate()
        server.wait(10)
    text = out.read_text()
    assert SECRET not in text  # uvicorn's access log (address, path and query) is off
    records = [json.loads(line) for line in text.splitlines()]
    assert {"method": "GET", "route": "/healthz", "status": 200} in [
        {k: r[k] for k in ("method", "route", "status")} for r in records
    ]


# -- ketacost serve: environment variables, the missing extra -----------------------------------
def _capture_serve(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    import ketacost.web

    seen: dict[str, Any] = {}

    def serve(config: Any, **kwargs: Any) -> None:
        seen.update(kwargs, config=config)

    monkeypatch.setattr(ketacost.web, "serve", serve)
    return seen


def test_every_serve_option_has_its_environment_variable_in_the_help() -> None:
    options = {"config", "host", "port", "workers", "access-log"} | {
        o.removeprefix("--") for o, *_ in SERVER_OPTIONS
    }
    assert set(ENV) == options
    assert all(name == "KETACOST_" + (o.upper().replace("-", "_") if o != "config" else
               "WEB_CONFIG") for o, name in ENV.items())  # fmt: skip
    help_text = " ".join(CliRunner().invoke(cli, ["serve", "--help"]).output.split())
    for name in ENV.values():
        assert f"env var: {name}" in help_text, name


def test_serve_reads_every_setting_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = _capture_serve(monkeypatch)
    config = tmp_path / "web.yaml"
    config.write_text("{}\n")
    env = {ENV["config"]: str(config), ENV["host"]: "127.0.0.2", ENV["port"]: "8123",
           ENV["access-log"]: "json", ENV["workers"]: "2"}  # fmt: skip
    server = {setting: default + 1 for _, setting, _, default in SERVER_OPTIONS}
    for option, setting, _, _ in SERVER_OPTIONS:
        env[ENV[option.removeprefix("--")]] = str(server[setting])
    result = CliRunner().invoke(cli, ["serve"], env=env)
    assert result.exit_code == 0, result.output
    assert seen == {"config": config, "host": "127.0.0.2", "port": 8123,
                    "access_log": "json", "workers": 2, "server": server}  # fmt: skip
    # the option wins over the variable
    result = CliRunner().invoke(cli, ["serve", "--port", "9000"], env=env)
    assert seen["port"] == 9000


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("KETACOST_PORT", "eighty", "Invalid value for '--port' (env var: 'KETACOST_PORT')"),
        ("KETACOST_LIMIT_CONCURRENCY", "0",
         "(env var: 'KETACOST_LIMIT_CONCURRENCY'): must be at least 1 (got 0)"),
        ("KETACOST_ACCESS_LOG", "xml", "(env var: 'KETACOST_ACCESS_LOG')"),
        ("KETACOST_WORKERS", "0", "(env var: 'KETACOST_WORKERS')"),
        ("KETACOST_WORKERS", "33", "(env var: 'KETACOST_WORKERS')"),
    ],
)  # fmt: skip
def test_a_bad_environment_variable_is_one_line_naming_it_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    _capture_serve(monkeypatch)
    result = CliRunner().invoke(cli, ["serve"], env={variable: value})
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


@pytest.mark.parametrize("missing", ["fastapi", "uvicorn", "prometheus_client", "ketacost.web"])
def test_serve_without_the_web_extra_names_it_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # the import fails, as when not installed
    result = CliRunner().invoke(cli, ["serve", "--port", "8123"])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1
    assert "pip install 'ketacost[web]'" in result.stderr
    assert "Traceback" not in result.output
