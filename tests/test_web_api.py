"""The JSON API and the page, through FastAPI's test client: every endpoint, every 4xx path,
the limits, the security headers, and what is (not) logged."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

import ketacost
from ketacost.web import Limits, WebConfig, create_app

with warnings.catch_warnings():
    # Starlette asks for `httpx2`; the plain httpx it falls back to works the same.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
START = date(2026, 1, 5)  # a Monday


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(WebConfig(), today=lambda: START))


def _answers(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "treatment": "esketamine",
        "insurance": "commercial-ppo",
        "network": "in",
        "prior_authorization": "approved",
        "age": 45,
        "start": START.isoformat(),
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def _post(client: TestClient, body: Any) -> Any:
    return client.post("/v1/estimate", json=body)


def _raw(client: TestClient, text: str | bytes, content_type: str = "application/json") -> Any:
    return client.post("/v1/estimate", content=text, headers={"content-type": content_type})


# -- listings ---------------------------------------------------------------------------
def test_payers_lists_every_bundled_payer_by_default(client: TestClient) -> None:
    payers = client.get("/v1/payers").json()
    assert [p["id"] for p in payers] == list(ketacost.default_payers())
    ppo = next(p for p in payers if p["id"] == "commercial-ppo")
    assert ppo == {
        "id": "commercial-ppo",
        "name": "Example Commercial PPO",
        "kind": "commercial",
        "networks": ["in", "out"],
        "plan_year_start": "01-01",
        "illustrative": True,
        # Medicaid pays last after a commercial plan; Original Medicare as Medicare Secondary
        # Payer; a spouse's plan by standard COB.
        "second_payers": ["medicaid", "medicare-part-b", "spouse-employer-ppo"],
        "pays_only_second": False,
    }
    medicare = next(p for p in payers if p["id"] == "medicare-part-b")
    assert medicare["second_payers"] == [
        "medicaid", "medigap-plan-f", "medigap-plan-g", "medigap-plan-n", "spouse-employer-ppo",
        "tricare-for-life",
    ]  # fmt: skip
    plan_g = next(p for p in payers if p["id"] == "medigap-plan-g")
    assert plan_g["pays_only_second"] and plan_g["second_payers"] == []
    assert next(p for p in payers if p["id"] == "self-pay")["second_payers"] == []


def test_treatments_come_from_the_configuration(client: TestClient) -> None:
    treatments = {t["id"]: t for t in client.get("/v1/treatments").json()}
    assert list(treatments) == ["iv-ketamine", "esketamine", "im-ketamine", "kap", "at-home"]
    iv = treatments["iv-ketamine"]
    assert iv["sessions"] == 1 + 6 + 11
    assert [(p["session"], p["sessions"], p["cadence"], p["self_pay"]) for p in iv["phases"]] == [
        ("intake", 1, "once", "250.00"),
        # Issue 11 §6: one home for cadence words (ketacost._plan.cadence_words, the Good Faith
        # Estimate's too), true of the real dates: the clinic is closed at weekends, so the
        # infusions are 2 or 3 days apart, and twice a week is 3 or more days apart (this
        # said "every 2 days" and "2 a week for 4 weeks").
        ("iv-infusion", 6, "every 2 days or more (closed Sat, Sun)", "450.00"),
        ("iv-infusion", 11, "every 4 weeks", "450.00"),
    ]
    assert (
        treatments["esketamine"]["phases"][1]["cadence"]
        == "twice a week for 4 weeks, 3 or more days apart (closed Sat, Sun)"
    )


# -- estimates: worked examples -----------------------------------------------------------
def test_no_insurance_iv_series_worked_example(client: TestClient) -> None:
    response = _post(client, _answers(treatment="iv-ketamine", insurance="none"))
    assert response.status_code == 200
    body = response.json()
    s = body["summary"]
    # intake $250 (self-pay price) on Mon 5 Jan; six infusions share the $2,400 package
    # ($400 each) on 6, 8, 12 (10th is a Saturday), 13, 14, 16 Jan; boosters at $450 every
    # 4 weeks from 1 Feb (a Sunday → Mon 2 Feb), eleven of them, the last on 9 Nov.
    assert s["first_session"] == "250.00"
    assert s["first_session_label"] == "Psychiatric diagnostic evaluation (intake)"
    # first month = visits before 5 Feb: 250 + 2400 + one booster 450 = 3100
    assert s["first_month"] == "3100.00"
    assert s["first_month_end"] == "2026-02-05"
    # first year: 250 + 2400 + 11 × 450 = 7600, all 18 visits before 5 Jan 2027
    assert (s["first_year"], s["first_year_visits"], s["total"]) == ("7600.00", 18, "7600.00")
    assert s["first_year_plan_pays"] == "0.00"
    assert s["milestones"] == []  # no deductible and no maximum without insurance
    assert body["range"] is None
    assert body["estimate"]["payer_id"] == "self-pay"
    assert [p["cumulative_patient"] for p in s["series"][:3]] == ["250.00", "650.00", "1050.00"]


def test_esketamine_ppo_marks_deductible_and_out_of_pocket_max(client: TestClient) -> None:
    body = _post(client, _answers()).json()
    s = body["summary"]
    # visit 1: 90792 evaluation, behavioral-health copay $30 (no deductible)
    assert s["first_session"] == "30.00"
    # each 56 mg session: J0013 56 × $10.50 = $588 allowed (drug: deductible, then 20%),
    # plus the $40 office-visit copay. Deductible $1,500 = 588 + 588 + 324 → met at visit 4,
    # where the other 264 is coinsurance: 264 × 0.2 = 52.80 (visit 4 = 324 + 52.80 + 40).
    deductible, maximum = s["milestones"]
    assert (deductible["kind"], deductible["visit"], deductible["date"]) == (
        "deductible",
        4,
        "2026-01-13",
    )
    assert deductible["amount"] == "1500.00" and not deductible["met_before_start"]
    assert s["series"][3]["patient"] == "416.80"
    assert deductible["cumulative_patient"] == "1702.80"  # 30 + 628 + 628 + 416.80
    # the $6,000 out-of-pocket maximum caps the year
    assert (maximum["kind"], maximum["amount"]) == ("out_of_pocket_max", "6000.00")
    assert s["first_year"] == s["total"] == maximum["cumulative_patient"] == "6000.00"


@pytest.mark.parametrize("detail", ["full", "summary"])
def test_each_coverage_period_marks_its_own_deductible(client: TestClient, detail: str) -> None:
    # turning-65: the commercial PPO to 2027-02-28, then Medicare Part B; both plan years of
    # 2027 start on 1 January. On the PPO each session allows $882 (J0013 84 × $10.50), so
    # its $1,500 deductible is met by the second visit of each plan year (882 + 618: visits
    # 2 and 7). Medicare's $283 deductible is met by its own first visit (10, 2027-03-08),
    # not by a commercial visit that had met $882 of the PPO's (it was marked at visit 6
    # when the visits were sought by the plan year's start alone).
    request = _library_request("turning-65.yaml")
    body = client.post(f"/v1/estimate?detail={detail}", json=request).json()
    marked = [
        (m["kind"], m["plan_year"], m["amount"], m["visit"], m["date"])
        for m in body["summary"]["milestones"]
    ]
    assert marked == [
        ("deductible", "2026-01-01", "1500.00", 2, "2026-11-16"),
        ("deductible", "2027-01-01", "1500.00", 7, "2027-01-25"),
        ("deductible", "2027-01-01", "283.00", 10, "2027-03-08"),
    ]


def test_deductible_already_met_is_marked_before_the_first_visit(client: TestClient) -> None:
    s = _post(client, _answers(deductible_met="1500")).json()["summary"]
    assert s["milestones"][0]["kind"] == "deductible"
    assert s["milestones"][0]["met_before_start"] is True
    # visit 2 has no deductible left: 20% of 588 = 117.60 + 40 copay
    assert s["series"][1]["patient"] == "157.60"


def test_prior_authorization_not_sure_gives_both_outcomes(client: TestClient) -> None:
    body = _post(client, _answers(prior_authorization="not_sure")).json()
    approved = _post(client, _answers(prior_authorization="approved")).json()["summary"]
    pending = _post(client, _answers(prior_authorization="pending")).json()["summary"]
    rng = body["range"]
    assert rng["unknown"] == "whether prior authorization is approved"
    assert (rng["low"], rng["high"]) == (approved["first_year"], pending["first_year"])
    assert [c["prior_authorization"] for c in rng["cases"]] == ["approved", "pending"]
    # the library's one range model: expected is the figure the table shows (the higher case)
    assert rng["expected"] == rng["high"] and "higher" in rng["basis"]
    # the estimate shown is the one without approval (the higher cost), and it carries the
    # library's own range over the other outcome: the same figures (the plan fits in a year)
    assert body["summary"] == pending
    library = body["estimate"]["range"]
    assert (library["low"], library["expected"], library["high"]) == (
        rng["low"],
        rng["high"],
        rng["high"],
    )
    assert body["estimate"]["visits"][1]["lines"][0]["reason"] == (
        "prior authorization pending (required)"
    )


def test_no_range_when_the_unknown_answer_changes_nothing(client: TestClient) -> None:
    # IV ketamine is excluded by the PPO whatever the authorization
    body = _post(client, _answers(treatment="iv-ketamine", prior_authorization="not_sure")).json()
    assert body["range"] is None
    # Issue 11: an excluded infusion is owed at the clinic's cash price, not the 700.00 gross
    # charge: 30 intake copay + the 6-infusion package 2,400 + 11 × 450 = 7,380 (was 11,930)
    assert body["summary"]["first_year"] == "7380.00"


def test_out_of_network_and_age_change_the_answer(client: TestClient) -> None:
    inn = _post(client, _answers()).json()["summary"]["first_year"]
    out = _post(client, _answers(network="out")).json()
    assert out["estimate"]["network"] == "out"
    assert out["summary"]["first_year"] != inn
    minor = _post(client, _answers(age=17)).json()
    assert "age: coverage starts at age 18" in minor["estimate"]["visits"][1]["lines"][0]["reason"]


def _library_request(name: str) -> dict[str, Any]:
    """An example request as the API takes it: without its clinic (the server's)."""
    request = json.loads(ketacost.load_request(ROOT / "examples/requests" / name).model_dump_json())
    del request["clinic"]
    return request


def test_full_library_request_gives_the_library_estimate(client: TestClient) -> None:
    path = ROOT / "examples" / "requests" / "esketamine-commercial.yaml"
    request = ketacost.load_request(path)
    # the example's clinic is the bundled example clinic, the server's default
    assert request.clinic == create_app(WebConfig()).state.calculator.clinic
    response = _post(client, _library_request("esketamine-commercial.yaml"))
    assert response.status_code == 200, response.text
    body = response.json()
    expected = ketacost.estimate(request)
    assert body["estimate"] == json.loads(expected.model_dump_json())
    assert body["treatment"] is None and body["range"] is None
    assert body["summary"]["total"] == str(expected.totals.patient_net)


def test_same_answers_same_bytes(client: TestClient) -> None:
    assert _post(client, _answers()).content == _post(client, _answers()).content


def test_start_defaults_to_the_servers_today(client: TestClient) -> None:
    body = _post(client, _answers(start=None)).json()
    assert body["summary"]["start"] == START.isoformat()


# -- bad input: one clear 4xx each, never a 500 -------------------------------------------
BAD_ANSWERS = [
    ({"age": -1}, "age", "must be at least 0 (got -1)"),
    ({"age": None}, "age", "missing"),
    ({"treatment": "lsd"}, "treatment", "unknown treatment 'lsd' (known: iv-ketamine, "),
    ({"insurance": "acme"}, "insurance", "does not offer 'acme'"),
    ({"network": "maybe"}, "network", "'in'"),
    ({"prior_authorization": "yes"}, "prior_authorization", "approved"),
    ({"deductible_met": "-5"}, "deductible_met", 'got "-5"'),
    ({"deductible_met": "12.345"}, "deductible_met", ""),
    ({"deductible_met": 12.5}, "deductible_met", 'as text in dollars, e.g. "1200"'),
    ({"deductible_met": "$1,200"}, "deductible_met", 'got "$1,200"'),
    ({"age": "45"}, "age", ""),
    ({"start": 20260105}, "start", "YYYY-MM-DD"),
    (
        {"start": "1999-12-31"},
        "start",
        "must be between 2000-01-01 and 2099-12-31 (got 1999-12-31)",
    ),
    ({"start": "2026-02-30"}, "start", ""),
    ({"name": "Alex Example"}, "name", ""),  # nothing identifying is accepted
    ({"birth_date": "1980-01-01"}, "birth_date", ""),
    ({"member_id": "XYZ123"}, "member_id", ""),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_ANSWERS)
def test_bad_answer_is_a_422_naming_the_field(
    client: TestClient, change: dict[str, Any], field: str, message: str
) -> None:
    body = _answers()
    for key, value in change.items():
        if value is None:
            body.pop(key)
        else:
            body[key] = value
    response = _raw(client, json.dumps(body, indent=1))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["issues"][0]["field"] == field
    assert message in problem["error"]
    assert problem["error"].startswith(f"request body:{problem['issues'][0]['line']}:")
    assert problem["issues"][0]["line"] >= 1


def test_not_json_is_a_400_with_line_and_column(client: TestClient) -> None:
    response = _raw(client, '{"treatment": "esketamine",\n  "age": }')
    assert response.status_code == 400
    assert response.json()["error"].startswith("request body:2:")


@pytest.mark.parametrize(
    ("text", "status"),
    [(b"\xff\xfe", 400), (b"", 400), (b"[]", 422), (b'"esketamine"', 422), (b"null", 422)],
)
def test_garbage_bodies_are_4xx(client: TestClient, text: bytes, status: int) -> None:
    response = _raw(client, text)
    assert response.status_code == status
    assert response.json()["error"]


def test_wrong_content_type_is_a_415(client: TestClient) -> None:
    response = _raw(client, json.dumps(_answers()), content_type="text/plain")
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]
    assert (
        _raw(client, json.dumps(_answers()), "application/json; charset=utf-8").status_code == 200
    )


def test_engine_errors_are_422_not_500(client: TestClient) -> None:
    # Medicare's deductible is given from 2025-01-01: 2024 has no value in force
    response = _post(client, _answers(insurance="medicare-part-b", start="2024-06-03"))
    assert response.status_code == 422
    assert response.json()["error"].startswith("this request cannot be estimated: ")


def test_a_plan_past_year_9999_is_a_422(client: TestClient) -> None:
    request = _library_request("iv-series-self-pay.yaml")
    request["plan"]["start"] = "9999-12-01"
    response = _post(client, request)
    assert response.status_code == 422
    assert "out of range" in response.json()["error"]


def test_unknown_routes_and_methods_get_problems(client: TestClient) -> None:
    assert client.get("/v1/nothing").status_code == 404
    assert client.get("/v1/nothing").json()["error"] == "no such page: GET /v1/nothing"
    assert client.get("/v1/estimate").status_code == 405


# -- limits ---------------------------------------------------------------------------
def _small(**limits: int) -> TestClient:
    return TestClient(create_app(WebConfig(limits=Limits(**limits)), today=lambda: START))


def test_body_larger_than_the_limit_is_a_413() -> None:
    client = _small(max_body_bytes=2048)
    padded = json.dumps(_answers()) + " " * 2048
    response = _raw(client, padded)
    assert response.status_code == 413
    assert "2048 bytes" in response.json()["error"]

    def chunks() -> Any:  # no Content-Length: counted as it streams
        yield json.dumps(_answers()).encode()
        yield b" " * 4096

    response = client.post(
        "/v1/estimate", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def _iv_request(**plan: Any) -> dict[str, Any]:
    request = _library_request("iv-series-self-pay.yaml")
    request["plan"].update(plan)
    return request


def test_sessions_and_plan_length_limits() -> None:
    # the configured treatments must fit too (checked at start-up); give room for them
    client = _small(max_sessions=40, max_plan_days=400)
    # 40 infusions every 2 days (Mon 5 Jan 2026 on; no closed days): the last on day 78
    at_limit = {"closed_weekdays": [], "start": "2026-01-05",
                "phases": [{"session": "iv-infusion", "sessions": 40, "every_days": 2}]}  # fmt: skip
    assert _post(client, _iv_request(**at_limit)).status_code == 200
    at_limit["phases"][0]["sessions"] = 41  # type: ignore[index]
    too_many = _post(client, _iv_request(**at_limit))
    assert too_many.status_code == 422
    assert too_many.json()["issues"][0]["field"] == "plan"
    assert "41 sessions; this calculator allows at most 40" in too_many.json()["error"]
    # a second session 400 days after the first is allowed, 401 days is not
    span = {"closed_weekdays": [], "start": "2026-01-05",
            "phases": [{"session": "intake", "sessions": 1},
                       {"session": "iv-infusion", "sessions": 1, "start": "2027-02-09"}]}  # fmt: skip
    assert _post(client, _iv_request(**span)).status_code == 200
    span["phases"][1]["start"] = "2027-02-10"  # type: ignore[index]
    too_long = _post(client, _iv_request(**span))
    assert too_long.status_code == 422
    assert (
        "runs 401 days from its start to its last visit; this calculator allows at most 400"
        in (too_long.json()["error"])
    )


def test_payers_the_clinic_does_not_offer_are_refused() -> None:
    client = TestClient(create_app(WebConfig(payers=("medicare-part-b",)), today=lambda: START))
    assert [p["id"] for p in client.get("/v1/payers").json()] == ["medicare-part-b"]
    assert _post(client, _answers()).status_code == 422  # commercial-ppo not offered
    assert _post(client, _answers(insurance="none")).status_code == 200  # always possible
    response = _post(client, _library_request("esketamine-commercial.yaml"))
    assert response.status_code == 422
    assert response.json()["issues"][0]["field"] == "coverage.payer"


# -- headers, page, privacy ------------------------------------------------------------
def test_csp_allows_framing_by_self_only_by_default(client: TestClient) -> None:
    for path in ("/calculator", "/v1/payers", "/embed.js"):
        csp = client.get(path).headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'self'" in csp


def test_csp_frame_ancestors_lists_the_embedding_origins() -> None:
    origins = ("https://www.example-clinic.com", "https://*.example-health.org:8443")
    client = TestClient(create_app(WebConfig(embed_origins=origins)))
    csp = client.get("/calculator").headers["content-security-policy"]
    assert csp.endswith(f"frame-ancestors {origins[0]} {origins[1]}")
    assert client.get("/calculator").headers["x-content-type-options"] == "nosniff"


def test_page_has_a_label_for_every_field_and_nothing_inline(client: TestClient) -> None:
    response = client.get("/calculator")
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    ids = re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', html)
    assert ids
    for field_id in ids:
        if f'<label for="{field_id}"' not in html:
            # a radio is labelled by the <label> around it
            assert re.search(rf'<label class="choice"><input[^>]*id="{field_id}"', html), field_id
    radios = re.findall(r'<input type="radio"[^>]*>', html)
    assert radios and all(r in html.split('<label class="choice">', 1)[1] for r in radios)
    assert 'style="' not in html  # CSP: no inline styles
    scripts = re.findall(r"<script([^>]*)>", html)
    assert all('src="' in s or 'type="application/json"' in s for s in scripts)
    assert "Riverside Ketamine" in html
    assert f'value="{START.isoformat()}"' in html  # the first-visit date defaults to today


def test_page_and_scripts_name_no_other_origin(client: TestClient) -> None:
    for path in ("/calculator", "/static/calculator.css", "/static/calculator.js", "/embed.js"):
        text = client.get(path).text
        others = set(re.findall(r"https?://[^\s\"')]+", text)) - {"http://www.w3.org/2000/svg"}
        assert others == set(), (path, others)


def test_embed_script_injects_an_iframe_of_the_calculator(client: TestClient) -> None:
    response = client.get("/embed.js")
    assert response.headers["content-type"].startswith("text/javascript")
    assert 'createElement("iframe")' in response.text
    assert 'new URL("calculator", base)' in response.text
    assert client.get("/").headers.get("location") is None or client.get("/").status_code == 200


def test_nothing_about_a_request_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(WebConfig(), today=lambda: START)
    client = TestClient(app)
    with caplog.at_level(logging.DEBUG):
        _post(client, _answers(age=63, deductible_met="1234.56", treatment="kap"))
        _raw(client, '{"age": 987654}')
        client.get("/v1/some-private-path-4711")
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("ketacost")]
    # method, route (or "other"), status and duration: nothing else
    assert [m.rsplit(" ", 2)[0] for m in logged] == [
        "POST /v1/estimate 200",
        "POST /v1/estimate 422",
        "GET other 404",
    ]
    assert all(re.fullmatch(r"[A-Z]+ \S+ [0-9]{3} [0-9]+\.[0-9] ms", m) for m in logged)
    assert app.state.metrics.count("/v1/estimate", 200) == 1
    assert app.state.metrics.count("/v1/estimate", 422) == 1
    assert app.state.metrics.count("other", 404, "GET") == 1


def test_serve_runs_uvicorn_without_its_access_log(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from ketacost.web import serve

    seen: dict[str, Any] = {}

    def run(server: uvicorn.Server, sockets: list[Any] | None = None) -> None:
        seen.update(config=server.config, sockets=sockets)

    monkeypatch.setattr(uvicorn.Server, "run", run)
    serve(None, host="127.0.0.1", port=0)  # port 0: the address is tried, then uvicorn binds
    assert seen["config"].access_log is False
    assert (seen["config"].host, seen["config"].port) == ("127.0.0.1", 0)
    assert seen["sockets"] is None  # uvicorn binds the address itself (see ketacost.web.serve)
    assert TestClient(seen["config"].app).get("/v1/payers").status_code == 200


def test_import_ketacost_needs_no_web_framework() -> None:
    code = (
        "import sys, ketacost, ketacost.web; "
        "assert not {'fastapi', 'starlette', 'uvicorn'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_openapi_money_is_a_string_with_a_pattern(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    totals = schema["components"]["schemas"]["Totals"]["properties"]["patient"]
    assert totals["type"] == "string" and totals["pattern"] == r"^-?[0-9]+\.[0-9]{2}$"
    body = schema["paths"]["/v1/estimate"]["post"]["requestBody"]["content"]["application/json"]
    refs = [s["$ref"].rsplit("/", 1)[1] for s in body["schema"]["oneOf"]]
    assert refs == ["CalculatorInput", "EstimateRequest"]
    assert set(refs) <= set(schema["components"]["schemas"])
    inputs = schema["components"]["schemas"]["CalculatorInput"]["properties"]
    assert not {"name", "birth_date", "member_id"} & set(inputs)
    assert "/calculator" not in schema["paths"]


# -- review fixes (issue 5) -------------------------------------------------------------
_INLINE_CLINIC = json.loads(
    ketacost.load_clinic(ROOT / "examples/clinics/example-clinic.yaml").model_dump_json()
)


@pytest.mark.parametrize(
    "clinic",
    [
        "/etc/passwd",  # a file on the server: never opened, never echoed
        "/no/such/clinic.yaml",  # a missing path: not even looked at ("not found" would tell)
        {**_INLINE_CLINIC, "chargemaster": {**_INLINE_CLINIC["chargemaster"], "J0013": "0.01"}},
    ],
    ids=["server-file", "missing-path", "inline-cheaper-prices"],
)
def test_a_full_request_may_not_name_or_hold_a_clinic(client: TestClient, clinic: Any) -> None:
    request = {**_library_request("esketamine-commercial.yaml"), "clinic": clinic}
    response = _post(client, request)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert [(i["field"], i["message"]) for i in problem["issues"]] == [
        ("clinic", "the clinic is set by the server; remove 'clinic'")
    ]
    assert "root:" not in response.text and "not found" not in response.text


def test_unknowns_are_refused_on_the_public_api(client: TestClient) -> None:
    request = _library_request("esketamine-commercial.yaml")
    request["unknowns"] = {"prior_authorization": ["denied"]}
    response = _post(client, request)
    assert response.status_code == 422
    [issue] = response.json()["issues"]
    assert issue["field"] == "unknowns"
    assert 'prior_authorization "not_sure"' in issue["message"]


def test_every_coverage_period_must_be_offered_and_in_its_network() -> None:
    client = TestClient(create_app(WebConfig(payers=("medicare-part-b",)), today=lambda: START))
    request = _library_request("iv-series-self-pay.yaml")  # self-pay: always possible
    assert _post(client, request).status_code == 200
    # a later period with a payer the clinic does not offer
    request["coverage_periods"] = [{"payer": "commercial-ppo", "starts": "2026-03-02"}]
    response = _post(client, request)
    assert response.status_code == 422
    assert response.json()["issues"][0]["field"] == "coverage_periods[0].payer"
    # an offered payer in a network it does not have (Medicare Part B has only "in")
    request["coverage_periods"] = [
        {"payer": "medicare-part-b", "network": "out", "starts": "2026-03-02"}
    ]
    response = _post(client, request)
    assert response.status_code == 422
    assert response.json()["issues"][0]["field"] == "coverage_periods[0].network"


def test_a_plan_in_the_year_9999_is_a_422_or_an_estimate_never_a_500(client: TestClient) -> None:
    request = _library_request("esketamine-commercial.yaml")
    # A patient born in 9960 (the example's 1979 birth date would make them 8,019 on these
    # visits, refused since issue 11 §6).
    request["patient"] = {**request["patient"], "birth_date": "9960-01-01"}
    # one visit on 9999-06-01: its plan year runs to the last date there is
    request["plan"] = {"start": "9999-06-01",
                       "phases": [{"session": "esketamine-56", "sessions": 1}]}  # fmt: skip
    response = _post(client, request)
    assert response.status_code == 200, response.text
    assert response.json()["summary"]["first_year_end"] == "9999-12-31"
    # three daily visits from 9999-12-30: the third would be in the year 10000
    request["plan"] = {"start": "9999-12-30",
                       "phases": [{"session": "esketamine-56", "sessions": 3, "every_days": 1}]}  # fmt: skip
    response = _post(client, request)
    assert response.status_code == 422
    assert response.json()["issues"][0]["field"] == "plan"


def test_a_start_before_the_clinics_codes_names_the_start(client: TestClient) -> None:
    # the example clinic bills esketamine as S0013 from 2019-03-05 (J0013 from 2026)
    response = _post(client, _answers(insurance="none", start="2000-01-04"))
    assert response.status_code == 422
    [issue] = response.json()["issues"]
    assert issue["field"] == "start"
    assert "choose a first visit on or after 2019-03-05 (got 2000-01-04)" in issue["message"]
    assert _post(client, _answers(insurance="none", start="2019-03-05")).status_code == 200
    page = client.get("/calculator").text
    assert 'min="2019-03-05"' in page


def test_the_summary_form_has_the_figures_without_the_lines(client: TestClient) -> None:
    full = client.post("/v1/estimate", json=_answers()).json()
    summary = client.post("/v1/estimate?detail=summary", json=_answers())
    assert summary.status_code == 200
    body = summary.json()
    assert "estimate" not in body and "explanations" not in body
    # issue 16: the lines' plain-language explanations belong to the lines: full answer only
    assert body == {k: v for k, v in full.items() if k not in ("estimate", "explanations")}
    assert len(summary.content) * 5 < len(json.dumps(full))


@pytest.mark.parametrize(
    ("changes", "lang"),
    [
        # Original Medicare expects to deny IV ketamine: the notice names the infusion, which
        # the summary form finds in the lines it makes only then
        ({"treatment": "iv-ketamine", "insurance": "medicare-part-b"}, "es"),
        ({"prior_authorization": "not_sure"}, "en"),  # a range over two outcomes
        ({"insurance": "none"}, "en"),
    ],
)
def test_the_summary_form_says_what_the_full_answer_says(
    client: TestClient, changes: dict[str, Any], lang: str
) -> None:
    full = client.post(f"/v1/estimate?lang={lang}", json=_answers(**changes)).json()
    summary = client.post(f"/v1/estimate?detail=summary&lang={lang}", json=_answers(**changes))
    assert summary.status_code == 200
    assert summary.json() == {
        k: v for k, v in full.items() if k not in ("estimate", "explanations")
    }
    if changes.get("insurance") == "medicare-part-b":
        notice = summary.json()["notices"][0]
        assert "(ABN)" in notice
        assert "Infusión intravenosa (IV) de ketamina" in notice  # what the line is
    if "prior_authorization" in changes:
        assert summary.json()["range"] is not None


def test_an_unknown_detail_is_a_problem(client: TestClient) -> None:
    response = client.post("/v1/estimate?detail=lines", json=_answers())
    assert response.status_code == 400
    detail = "detail must be one of full, summary (got 'lines')"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "https://ketacost.example/problems/invalid-parameter",
        "title": "A query parameter is not valid",
        "status": 400,
        "detail": detail,
        "instance": "/v1/estimate",
        "errors": [
            {"detail": "not one of full, summary", "field": "detail", "line": 0, "column": 0}
        ],
        "error": detail,
        "issues": [
            {"field": "detail", "line": 0, "column": 0, "message": "not one of full, summary"}
        ],
    }


def test_the_openapi_schema_documents_the_summary_form(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/estimate"]["post"]
    assert operation["parameters"][0]["name"] == "detail"
    assert operation["parameters"][0]["schema"]["enum"] == ["full", "summary"]
    answers = operation["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"]
    assert {a["$ref"].rsplit("/", 1)[1] for a in answers} == {
        "EstimateResponse",
        "EstimateSummaryResponse",
    }


# -- other coverage: a second payer (issue 12 §3) --------------------------------------------------
def _medicare(**changes: Any) -> dict[str, Any]:
    return _answers(insurance="medicare-part-b", age=70, **changes)


def test_other_coverage_pays_second_and_the_answer_says_what_it_pays(client: TestClient) -> None:
    alone = _post(client, _medicare()).json()
    with_g = _post(client, _medicare(other_coverage="medigap-plan-g")).json()
    # The esketamine treatment's first year under Original Medicare: the patient owes the
    # Part B deductible ($283.00) and 20% coinsurance; Plan G pays the coinsurance, so the
    # patient keeps the deductible only, and Medicare pays the same either way.
    s, g = alone["summary"], with_g["summary"]
    assert "second_payer_name" not in s and "first_year_second_payer_pays" not in s
    assert g["second_payer_name"] == "Medigap Plan G"
    assert g["first_year"] == "283.00"
    assert g["first_year_plan_pays"] == s["first_year_plan_pays"]
    coinsurance = ketacost.Money(s["first_year"]) - ketacost.Money("283.00")
    assert ketacost.Money(g["first_year_second_payer_pays"]) == coinsurance
    assert with_g["estimate"]["coordination"][0]["secondary_payer_id"] == "medigap-plan-g"
    assert any("Medigap Plan G pays second" in a for a in with_g["assumptions"])
    # "none" is no other coverage: the same bytes as not answering.
    assert (
        _post(client, _medicare(other_coverage="none")).content
        == _post(client, _medicare()).content
    )


def test_tricare_for_life_after_medicare_leaves_nothing_to_pay(client: TestClient) -> None:
    answer = _post(client, _medicare(other_coverage="tricare-for-life")).json()
    assert answer["summary"]["first_year"] == "0.00"
    assert answer["summary"]["total"] == "0.00"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        # a Medigap plan pays only after Original Medicare
        ({"insurance": "medigap-plan-g"}, "insurance", "Medigap Plan G pays only after"),
        # a Medigap plan does not follow a commercial plan
        ({"other_coverage": "medigap-plan-g"}, "other_coverage", "does not offer Medigap Plan G"),
        ({"other_coverage": "acme"}, "other_coverage", "does not offer 'acme' as other"),
        ({"other_coverage": "commercial-ppo"}, "other_coverage", "choose one of: medicaid"),
        ({"insurance": "none", "other_coverage": "medicaid"}, "other_coverage", "choose one of"),
        ({"other_coverage": "Plan G!"}, "other_coverage", ""),
    ],
)
def test_bad_other_coverage_is_a_422_naming_the_field(
    client: TestClient, changes: dict[str, Any], field: str, message: str
) -> None:
    response = _post(client, _answers(**changes))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["issues"][0]["field"] == field
    assert message in problem["error"]


def test_other_coverage_is_offered_only_where_the_clinic_lists_it() -> None:
    config = WebConfig(payers=("medicare-part-b", "medigap-plan-g"))
    client = TestClient(create_app(config, today=lambda: START))
    payers = {p["id"]: p for p in client.get("/v1/payers").json()}
    assert payers["medicare-part-b"]["second_payers"] == ["medigap-plan-g"]
    assert _post(client, _medicare(other_coverage="medigap-plan-g")).status_code == 200
    response = _post(client, _medicare(other_coverage="medigap-plan-n"))
    assert response.status_code == 422
    assert "choose one of: medigap-plan-g, none" in response.json()["error"]
    # a full library request's second payer must be offered too
    request = _library_request("esketamine-commercial.yaml")
    request["coverage"] = {"payer": "medicare-part-b", "secondary": {"payer": "medigap-plan-n"}}
    response = _post(client, request)
    assert response.status_code == 422
    assert response.json()["issues"][0]["field"] == "coverage.secondary.payer"
    request["coverage"]["secondary"] = {"payer": "medigap-plan-g"}
    assert _post(client, request).status_code == 200


def test_the_page_asks_about_other_coverage(client: TestClient) -> None:
    html = client.get("/calculator").text
    assert '<label for="other_coverage">Do you also have other coverage?</label>' in html
    at = html.index('<select id="insurance"')
    insurance = html[at : html.index("</select>", at)]
    assert "medigap-plan-g" not in insurance  # not insurance on its own
    assert "medicare-part-b" in insurance


def test_medicare_then_medicaid(client: TestClient) -> None:
    # Medicaid after Medicare (crossover, "lesser of"). The evaluation, 90792: Medicare
    # approves $218.27, all of it to the Part B deductible; Medicaid pays at most its own
    # rate, $141.00, minus Medicare's $0.00 = $141.00; the clinic accepts Medicaid's payment
    # as payment in full (42 CFR 447.15): the patient owes at most Medicaid's own copay,
    # $4.00, and the clinic writes off 218.27 - 141.00 - 4.00 = $73.27. Medicaid has no rate
    # of its own for G2082/G2083: it pays their whole cost share. So the year costs $4.00.
    alone = _post(client, _medicare()).json()["summary"]
    answer = _post(client, _medicare(other_coverage="medicaid")).json()["summary"]
    assert answer["first_year"] == "4.00"
    paid = ketacost.Money(answer["first_year_second_payer_pays"])
    written_off = ketacost.Money("73.27")
    assert paid + ketacost.Money("4.00") + written_off == ketacost.Money(alone["first_year"])
    assert answer["second_payer_name"] == "Example State Medicaid (fee-for-service)"
