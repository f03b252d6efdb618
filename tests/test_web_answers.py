"""What the calculator's answers say to the patient (issue 16): the assumptions made from the
same inputs as the figures, the range's cases each with their own figures, the answer's
language, the plain-language explanations, and the treatments' Spanish text."""

from __future__ import annotations

import json
import re
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, reject, settings
from hypothesis import strategies as st
from strategies import exercises, note

from ketacost import Money, RequestFileError
from ketacost import _plain as plain
from ketacost._i18n import Translator, UnknownLanguageError, translator
from ketacost._plan import Phase, cadence_words
from ketacost.web import CalculatorInput, WebConfig, WebConfigError, create_app, load_web_config
from ketacost.web._config import resolve
from ketacost.web._service import (
    _AUTHORIZATION_ANSWERS,
    Calculator,
    EstimateResponse,
    EstimateSummaryResponse,
    cadence,
)

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

START = date(2026, 1, 5)  # a Monday
TODAY = date(2026, 3, 2)
CALCULATOR = Calculator(resolve(load_web_config(None)), today=lambda: TODAY)


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


def _post(client: TestClient, body: Any, query: str = "", **headers: str) -> Any:
    return client.post(f"/v1/estimate{query}", json=body, headers=headers)


# -- 1. the assumptions: made from the same inputs as the figures ---------------------------
def test_a_deductible_entered_is_stated_and_counted_toward_the_maximum(
    client: TestClient,
) -> None:
    # The defect: "What we assumed" ignored the $1,500 deductible the patient entered and said
    # nothing was paid toward the maximum, while the figures counted it.
    body = _post(client, _answers(deductible_met="1500")).json()
    said = body["assumptions"]
    assert "Deductible already met this plan year, as of January 5, 2026: $1,500.00." in said
    assert (
        "Already paid toward this plan year's out-of-pocket maximum: $1,500.00, the deductible "
        "met (deductible paid counts toward the maximum)."
    ) in said
    assert not any("Nothing" in a or "None of" in a for a in said)
    # ...and the figures start from the same amounts: the PPO's $6,000 maximum less the
    # $1,500 already paid leaves $4,500 for the year (it is reached within it).
    first = body["estimate"]["visits"][0]["lines"][0]["accumulators_before"]
    assert (first["deductible_individual"], first["out_of_pocket_individual"]) == (
        "1500.00",
        "1500.00",
    )
    assert body["summary"]["first_year"] == "4500.00"


def test_an_out_of_pocket_amount_includes_the_deductible(client: TestClient) -> None:
    body = _post(client, _answers(deductible_met="500", out_of_pocket_met="800")).json()
    assert (
        "Already paid toward this plan year's out-of-pocket maximum: $800.00 (the deductible "
        "met, $500.00, counts toward it and is part of this)."
    ) in body["assumptions"]
    first = body["estimate"]["visits"][0]["lines"][0]["accumulators_before"]
    assert first["out_of_pocket_individual"] == "800.00"
    # the maximum is reached: 6,000 - 800 already paid = 5,200 this year
    assert body["summary"]["first_year"] == "5200.00"


def test_nothing_met_is_said_when_nothing_is_entered(client: TestClient) -> None:
    said = _post(client, _answers()).json()["assumptions"]
    assert (
        "Nothing is paid yet toward this plan year's deductible or out-of-pocket maximum." in said
    )


def test_the_default_start_is_said_to_be_today(client: TestClient) -> None:
    said = _post(client, _answers(start=None)).json()["assumptions"]
    assert (
        "The first visit is on or after January 5, 2026 (today). The clinic is closed on "
        "Saturday and Sunday."
    ) in said


def test_answers_that_do_not_matter_without_insurance_are_said_so(client: TestClient) -> None:
    body = _answers(insurance="none", network="out", prior_authorization="denied", failed_trials=3)
    said = _post(client, {**body, "deductible_met": "10"}).json()["assumptions"]
    assert (
        "Without insurance, these answers do not change the cost: the clinic out of network, "
        "prior authorization denied, 3 antidepressants tried and $10.00 of the deductible met."
    ) in said


_dollars = st.integers(min_value=0, max_value=150_000).map(lambda c: f"{c // 100}.{c % 100:02d}")
_INSURED = [p.id for p in CALCULATOR.payers if not p.pays_only_second]


@st.composite
def _calculator_answers(draw: st.DrawFn) -> dict[str, Any]:
    insurance = draw(st.sampled_from([*_INSURED, "none"]))
    payer_id = "self-pay" if insurance == "none" else insurance
    seconds = CALCULATOR._second_payers(payer_id)
    answers: dict[str, Any] = {
        "treatment": draw(st.sampled_from(list(CALCULATOR.treatments))),
        "insurance": insurance,
        "age": draw(st.integers(min_value=0, max_value=100)),
    }
    optional = {
        "network": st.sampled_from(["in", "out"]),
        "prior_authorization": st.sampled_from(
            ["approved", "denied", "pending", "not_requested", "not_sure"]
        ),
        "failed_trials": st.integers(min_value=0, max_value=6),
        "deductible_met": _dollars,
        "out_of_pocket_met": _dollars,
        "start": st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)).map(
            date.isoformat
        ),
        "other_coverage": st.sampled_from([*seconds, "none"]),
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            answers[name] = draw(values)
    return answers


def _said(assumptions: tuple[str, ...], *parts: str) -> bool:
    """Some one assumption holds every part."""
    return any(all(p in a for p in parts) for a in assumptions)


def _estimate(answers: CalculatorInput, lang: str) -> EstimateResponse | None:
    """The answer, or None when the amounts met are refused (more than the plan's, or an
    out-of-pocket amount below the deductible: tests/test_web_config.py checks those)."""
    try:
        return CALCULATOR.estimate_input(answers, lang=lang, explain=False)
    except RequestFileError as exc:
        if exc.field not in ("deductible_met", "out_of_pocket_met"):
            raise
        return None


def _check_met(answers: CalculatorInput, response: EstimateResponse, t: Translator) -> None:
    """The amounts met are said as the estimate counts them: the deductible toward the max."""
    said = response.assumptions
    ded, oop = answers.deductible_met, answers.out_of_pocket_met
    ded_cents = ded.cents if ded is not None else 0
    oop_cents = oop.cents if oop is not None else 0
    if ded_cents:
        assert _said(said, t.money(Money.from_cents(ded_cents)))
    maximum_met = Money.from_cents(max(ded_cents, oop_cents))
    maximum = {"en": "out-of-pocket maximum", "es": "desembolso máximo"}[t.lang]
    payer = CALCULATOR.library[answers.insurance]
    network = payer.networks.get(response.estimate.network)  # the network estimated
    if network is None or network.out_of_pocket_max is None:
        # a plan without a maximum (Original Medicare): not a word about one
        assert not _said(said, maximum), said
    elif maximum_met.cents:
        assert _said(said, t.money(maximum_met), maximum)
    # ...and the figures start from the same amounts (in the plan year of the start)
    estimate = response.estimate
    if estimate.plan_years[0].start <= (answers.start or TODAY):
        before = estimate.visits[0].lines[0].accumulators_before
        assert before.deductible_individual.cents == ded_cents
        assert before.out_of_pocket_individual == maximum_met


@settings(max_examples=60, deadline=None)
@given(answers=_calculator_answers(), lang=st.sampled_from(["en", "es"]))
def test_every_answer_that_is_not_the_default_appears_in_the_assumptions(
    answers: dict[str, Any], lang: str
) -> None:
    given_ = CalculatorInput.model_validate(answers)
    response = _estimate(given_, lang)
    if response is None:
        reject()
    t = translator(lang, "web")
    said = response.assumptions
    assert response.lang == lang
    treatment = CALCULATOR.resolved.treatments[given_.treatment]
    assert _said(said, treatment.text(lang).name)
    assert response.treatment is not None and response.treatment.name == treatment.text(lang).name
    assert _said(said, t.number(given_.age))
    # the first visit's date in words (today's when none is given), and the closed days
    assert _said(said, t.date(given_.start or TODAY, "long"))
    for day in treatment.closed_weekdays:
        index = ("mon", "tue", "wed", "thu", "fri", "sat", "sun").index(day)
        assert _said(said, t.date(date(2024, 1, 1 + index), "weekday"))
    payer_id = "self-pay" if given_.insurance == "none" else given_.insurance
    payer = CALCULATOR.library[payer_id]
    name = CALCULATOR.resolved.payer_name(payer_id, lang)  # in the answer's language
    assert response.payer_name == name
    insured = bool(payer.networks)
    if insured:
        assert _said(said, name)
    if given_.network != "in":
        words = "Insurance: {payer}; the clinic is out of its network."
        assert (
            t.gettext(words).format(payer=name) in said
            if insured
            else _said(said, t.gettext("the clinic out of network"))
        )
    if given_.prior_authorization != "not_sure":
        assert _said(said, t.gettext(_AUTHORIZATION_ANSWERS[given_.prior_authorization]))
    if given_.failed_trials != 2 or insured:
        n = given_.failed_trials
        assert any(re.search(rf"(^|\D){n} antidep", a) for a in said), said
    if given_.other_coverage not in (None, "none"):
        assert _said(said, CALCULATOR.resolved.payer_name(given_.other_coverage, lang))
    if insured:
        _check_met(given_, response, t)
    else:
        for amount in (given_.deductible_met, given_.out_of_pocket_met):
            assert amount is None or _said(said, t.money(amount))


def _not_sure_of_approval(answers: dict[str, Any]) -> dict[str, Any]:
    """The answers for esketamine on the commercial PPO, approval not known: a range."""
    answers = {k: v for k, v in answers.items() if k != "other_coverage"}
    return {
        **answers,
        "treatment": "esketamine",
        "insurance": "commercial-ppo",
        "prior_authorization": "not_sure",
    }


@exercises(a_range=0.1, a_notice_naming_what_is_not_paid=0.005, a_second_payer=0.05, refused=0.0)
@settings(max_examples=150, deadline=None)
# the branches the strategy reaches least: Medicare's notice of an expected denial (which
# makes the summary form build the lines), a Medigap plan paying second, and a plan that
# crosses into a new plan year with amounts already met
@example(answers={"treatment": "iv-ketamine", "insurance": "medicare-part-b", "age": 70}, lang="es")
@example(
    answers={
        "treatment": "esketamine",
        "insurance": "medicare-part-b",
        "other_coverage": "medigap-plan-g",
        "age": 70,
    },
    lang="en",
)
@example(
    answers={
        "treatment": "esketamine",
        "insurance": "commercial-ppo",
        "age": 45,
        "deductible_met": "400",
        "out_of_pocket_met": "900",
        "start": "2026-11-02",
    },
    lang="en",
)
@given(
    answers=st.one_of(_calculator_answers(), _calculator_answers().map(_not_sure_of_approval)),
    lang=st.sampled_from(["en", "es"]),
)
def test_the_summary_form_is_the_full_answer_without_its_lines(
    answers: dict[str, Any], lang: str
) -> None:
    # Issue 10: ?detail=summary figures each case without building its lines (each visit's
    # totals); its bytes must be the full answer's but for the estimate and explanations,
    # and a refused answer refused the same way
    given_ = CalculatorInput.model_validate(answers)
    refused: list[RequestFileError] = []
    try:
        full = CALCULATOR.estimate_input(given_, lang=lang, explain=False)
    except RequestFileError as exc:
        refused.append(exc)
    note("refused", bool(refused))
    if refused:
        with pytest.raises(RequestFileError) as summary_refused:
            CALCULATOR.estimate_input(given_, lang=lang, summary=True)
        assert summary_refused.value.issues == refused[0].issues
        return
    summary = CALCULATOR.estimate_input(given_, lang=lang, summary=True)
    assert type(summary) is EstimateSummaryResponse
    assert summary.model_dump_json() == full.model_dump_json(exclude={"estimate", "explanations"})
    note("a range", summary.range is not None)
    note("a second payer", summary.summary.second_payer_name is not None)
    # Original Medicare's "expected to be denied" names what the line is: only then does
    # the summary form make the shown case's lines
    note(
        "a notice naming what is not paid",
        any("Advance Beneficiary Notice" in n for n in summary.notices),
    )


def test_every_spanish_assumption_is_translated() -> None:
    answers = CalculatorInput.model_validate(
        _answers(deductible_met="200", out_of_pocket_met="300", failed_trials=3)
    )
    en = CALCULATOR.estimate_input(answers, lang="en").assumptions
    es = CALCULATOR.estimate_input(answers, lang="es").assumptions
    assert len(en) == len(es)
    for english, spanish in zip(en, es, strict=True):
        assert english != spanish
    assert "Lo que ya pagó de su deducible este año del plan, al 5 de enero de 2026: $200.00." in es
    assert "La clínica no abre los días sábado y domingo." in es[1]


# -- 2. the range: what holds for the range, and each case's own figures ----------------------
def test_each_case_of_the_range_has_its_own_plan_payment(client: TestClient) -> None:
    body = _post(client, _answers(prior_authorization="not_sure")).json()
    approved = _post(client, _answers(prior_authorization="approved")).json()["summary"]
    pending = _post(client, _answers(prior_authorization="pending")).json()["summary"]
    cases = body["range"]["cases"]
    assert [c["first_year_plan_pays"] for c in cases] == [
        approved["first_year_plan_pays"],
        pending["first_year_plan_pays"],
    ]
    # the defect: one case's plan payment was shown for the range; they differ
    assert cases[0]["first_year_plan_pays"] != cases[1]["first_year_plan_pays"]
    # the summary is the shown (higher) case's, which the schema says
    assert body["summary"]["first_year_plan_pays"] == cases[1]["first_year_plan_pays"]
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert (
        "range.cases" in schema["EstimateSummaryResponse"]["properties"]["summary"]["description"]
    )


def test_the_range_speaks_the_answers_language(client: TestClient) -> None:
    rng = _post(client, _answers(prior_authorization="not_sure"), "?lang=es").json()["range"]
    assert rng["unknown"] == "si se aprueba la autorización previa"
    assert [c["label"] for c in rng["cases"]] == [
        "si se aprueba la autorización previa",
        "si la autorización previa no se aprueba (todavía)",
    ]
    assert "la tabla y la gráfica muestran el más alto" in rng["basis"]


# -- 3. the language: ?lang=, else Accept-Language ------------------------------------------
def test_the_answer_says_its_language(client: TestClient) -> None:
    assert _post(client, _answers()).json()["lang"] == "en"
    assert _post(client, _answers(), "?lang=es").json()["lang"] == "es"
    assert _post(client, _answers(), **{"accept-language": "es-MX,es;q=0.9"}).json()["lang"] == "es"
    # the parameter wins over the header
    answer = _post(client, _answers(), "?lang=en", **{"accept-language": "es"})
    assert answer.json()["lang"] == "en"
    assert answer.headers["vary"] == "accept-language"
    summary = _post(client, _answers(), "?detail=summary&lang=es").json()
    assert summary["lang"] == "es" and summary["assumptions"][0].startswith("Tratamiento: ")


def test_english_and_spanish_answers_have_the_same_figures(client: TestClient) -> None:
    en = _post(client, _answers(prior_authorization="not_sure")).json()
    es = _post(client, _answers(prior_authorization="not_sure"), "?lang=es").json()
    assert en["estimate"] == es["estimate"]
    label = "first_session_label"
    assert {**en["summary"], label: ""} == {**es["summary"], label: ""}
    assert (
        es["summary"][label]
        == "Evaluación psiquiátrica con servicios médicos, por el profesional que receta"
    )
    assert [{**c, "label": ""} for c in en["range"]["cases"]] == [
        {**c, "label": ""} for c in es["range"]["cases"]
    ]
    # the English answer is the one asked for by name, or by the header
    same = _post(client, _answers(prior_authorization="not_sure"), "?lang=en").content
    assert same == _post(client, _answers(prior_authorization="not_sure")).content


def test_the_language_code_is_read_in_any_case(client: TestClient) -> None:
    # review of issue 16: ?lang=ES was refused; and the answer says its language
    for query, lang in (("?lang=ES", "es"), ("?lang=En", "en")):
        response = _post(client, _answers(), query)
        assert response.status_code == 200
        assert response.json()["lang"] == lang
        assert response.headers["content-language"] == lang


@pytest.mark.parametrize("query", ["?lang=fr", "?lang=", "?lang=e s", "?lang=en&lang=es"])
def test_a_language_the_calculator_does_not_speak_is_a_problem(
    client: TestClient, query: str
) -> None:
    response = _post(client, _answers(), query)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "https://ketacost.example/problems/invalid-parameter"
    assert problem["detail"].startswith("lang must be one of en, es (got ")
    assert problem["errors"] == [
        {"detail": "not one of en, es", "field": "lang", "line": 0, "column": 0}
    ]


def test_an_unknown_accept_language_falls_back_to_english(client: TestClient) -> None:
    assert _post(client, _answers(), **{"accept-language": "fr, de;q=0.5"}).json()["lang"] == "en"


def test_the_openapi_document_describes_the_language(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v1/estimate"]["post"]
    lang = next(p for p in operation["parameters"] if p["name"] == "lang")
    assert lang["in"] == "query" and lang["schema"]["enum"] == ["en", "es"]
    assert "Accept-Language" in lang["description"]
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["EstimateSummaryResponse"]["properties"]["lang"]["enum"] == ["en", "es"]
    assert "explanations" in schemas["EstimateResponse"]["properties"]


def test_a_missing_insurance_is_refused_saying_what_to_answer(client: TestClient) -> None:
    body = _answers()
    del body["insurance"]
    response = _post(client, body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "insurance"
    assert problem["detail"] == (
        "request body:1:1: insurance: required field is missing: choose your insurance (a payer "
        "id from GET /v1/payers), or 'none' for no insurance; none is assumed"
    )


# -- 4. the explanations: every line in plain words ---------------------------------------
@pytest.mark.parametrize("lang", ["en", "es"])
def test_explanations_follow_the_estimate_line_by_line(client: TestClient, lang: str) -> None:
    body = _post(client, _answers(prior_authorization="not_sure"), f"?lang={lang}").json()
    response = CALCULATOR.estimate_input(
        CalculatorInput.model_validate(_answers(prior_authorization="not_sure")), lang=lang
    )
    visits = response.estimate.visits
    assert [e["visit"] for e in body["explanations"]] == [v.number for v in visits]
    for explained, visit in zip(body["explanations"], visits, strict=True):
        assert explained["lines"] == [
            {
                "what": plain.describe(line, lang),
                "why": plain.why(line, lang),
                "details": plain.details(line),
                "not_covered": plain.not_covered_reason(line, lang),
            }
            for line in visit.lines
        ]
    # not covered (prior authorization pending): the reason, in words
    assert body["explanations"][1]["lines"][0]["not_covered"]


def test_lines_alike_but_for_their_visit_are_explained_as_each_alone() -> None:
    # explanations() explains lines alike in all but their visit once; every example
    # request's and payer case's lines, in both languages, read as when explained alone.
    from payer_cases import case_files, load_cases

    import ketacost
    from ketacost.web._service import explanations

    root = Path(__file__).resolve().parent.parent
    payers = ketacost.load_payers(root / "payers")
    estimates = [
        ketacost.estimate(ketacost.load_request(path, payers=payers), payers=payers)
        for path in sorted((root / "examples" / "requests").glob("*.yaml"))
    ]
    for path in case_files(root / "payers"):
        estimates += [
            ketacost.adjudicate(case.request, payers)
            for case in load_cases(path, payers=payers, root=root)
        ]
    repeated = 0
    for estimate in estimates:
        for lang in ("en", "es"):
            explained = explanations(estimate, lang)  # type: ignore[arg-type]
            for visit, words in zip(estimate.visits, explained, strict=True):
                assert words.visit == visit.number
                for line, said in zip(visit.lines, words.lines, strict=True):
                    assert said.what == plain.describe(line, lang)
                    assert said.why == plain.why(line, lang)
                    assert said.details == plain.details(line)
                    assert said.not_covered == plain.not_covered_reason(line, lang)
            said_once = {id(said) for words in explained for said in words.lines}
            repeated += sum(len(words.lines) for words in explained) - len(said_once)
    assert repeated > 100  # the examples repeat sessions: the sharing is exercised


def test_explanations_of_a_full_library_request(client: TestClient) -> None:
    root = Path(__file__).resolve().parent.parent
    import ketacost

    request = json.loads(
        ketacost.load_request(
            root / "examples/requests/esketamine-commercial.yaml"
        ).model_dump_json()
    )
    del request["clinic"]
    body = _post(client, request, "?lang=es").json()
    assert body["lang"] == "es"
    assert len(body["explanations"]) == len(body["estimate"]["visits"])
    assert "explanations" not in _post(client, request, "?detail=summary").json()


# -- 5. the treatments in Spanish --------------------------------------------------------
def test_treatments_in_spanish_from_the_configuration() -> None:
    es = CALCULATOR.treatments_in("es")
    assert list(es) == list(CALCULATOR.treatments)
    esk = es["esketamine"]
    assert esk.name == "Esketamina en aerosol nasal (Spravato)"  # as _plain names the drug
    assert [p.name for p in esk.phases] == [
        "evaluación",
        "inducción",
        "optimización",
        "mantenimiento",
    ]
    assert esk.phases[1].session_description.startswith("Esketamina (Spravato) 56 mg")
    assert esk.phases[1].cadence == (
        "dos veces por semana durante 4 semanas, con 3 días o más entre sesiones "
        "(la clínica cierra: sábado y domingo)"
    )
    # the figures are the same in both languages
    en = CALCULATOR.treatments_in("en")["esketamine"]
    assert (esk.sessions, [p.self_pay for p in esk.phases]) == (
        en.sessions,
        [p.self_pay for p in en.phases],
    )
    assert CALCULATOR.treatments_in("en") == CALCULATOR.treatments
    with pytest.raises(UnknownLanguageError, match="ketacost speaks: en, es"):
        CALCULATOR.treatments_in("fr")


def test_a_treatment_without_spanish_keeps_its_english_text(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(
        "treatments:\n"
        "  iv:\n"
        "    name: IV ketamine\n"
        "    description: Six infusions.\n"
        "    phases: [{session: iv-infusion, sessions: 6, every_days: 2}]\n"
    )
    calculator = Calculator(resolve(load_web_config(tmp_path / "web.yaml")))
    iv = calculator.treatments_in("es")["iv"]
    assert (iv.name, iv.description, iv.phases[0].name) == (
        "IV ketamine",
        "Six infusions.",
        "phase 1",
    )
    # the bundled clinic's session texts are the defaults' Spanish ones
    assert iv.phases[0].session_description.startswith("Infusión intravenosa de ketamina")
    assert iv.phases[0].cadence == "cada 2 días"


SPANISH = "    translations:\n      es:\n"
TREATMENT = (
    "treatments:\n"
    "  t:\n"
    "    name: X\n"
    "    description: Y.\n"
    "    phases: [{session: intake, sessions: 1}, {session: iv-infusion, sessions: 6, every_days: 2}]\n"
)
BAD_TRANSLATIONS = [
    (
        TREATMENT + SPANISH.replace("es:", "fr:") + "        name: Z\n        description: W.\n",
        "web.yaml:7:7: treatments.t.translations.fr: ",
    ),
    (
        TREATMENT + SPANISH + "        description: W.\n",
        "web.yaml:8:9: treatments.t.translations.es.name: ",
    ),
    (
        TREATMENT + SPANISH + "        name: ''\n        description: W.\n",
        "web.yaml:8:15: treatments.t.translations.es.name: must be at least 1 character(s) long",
    ),
    (
        TREATMENT + SPANISH + "        name: Z\n        description: W.\n        nombre: Z\n",
        "web.yaml:10:9: treatments.t.translations.es.nombre: unknown key 'nombre'",
    ),
    (
        TREATMENT + SPANISH + "        name: Z\n        description: W.\n        phases: [una]\n",
        "web.yaml:10:17: treatments.t.translations.es.phases: name each of the treatment's 2 "
        "phases, in order (got 1 names)",
    ),
    (
        "translations:\n  es:\n    sessions: {reiki: Reiki}\n",
        "web.yaml:3:23: translations.es.sessions.reiki: the clinic has no session 'reiki'",
    ),
    (
        "translations:\n  es:\n    sessions: {intake: 7}\n",
        "web.yaml:3:24: translations.es.sessions.intake: expected text (got 7)",
    ),
    ("translations:\n  de: {}\n", "web.yaml:2:3: translations.de: "),
    (
        "translations:\n  es:\n    payers: {acme: Acme}\n",
        "web.yaml:3:20: translations.es.payers.acme: unknown payer 'acme'",
    ),
    (
        "translations:\n  es:\n    payers: {medicaid: ''}\n",
        "web.yaml:3:24: translations.es.payers.medicaid: must be at least 1 character(s) long",
    ),
    (
        "translations:\n  es:\n    payers: {medicaid: [a]}\n",
        "web.yaml:3:24: translations.es.payers.medicaid: expected text (got a list)",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_TRANSLATIONS)
def test_a_bad_translation_gives_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(text)
    with pytest.raises(WebConfigError) as info:
        load_web_config(path)
    assert str(info.value).startswith(str(path) + message.removeprefix("web.yaml")), info.value


# -- the cadence in words: the same in English as the plan's own ----------------------------
_phases = st.one_of(
    st.builds(
        Phase,
        session=st.just("s"),
        sessions=st.integers(1, 30),
        every_days=st.integers(1, 30),
    ),
    st.builds(
        Phase, session=st.just("s"), sessions=st.integers(1, 30), every_weeks=st.integers(1, 8)
    ),
    st.builds(Phase, session=st.just("s"), per_week=st.integers(1, 7), weeks=st.integers(1, 9)),
)
_closed = st.lists(
    st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]), unique=True, max_size=3
).map(tuple)


@given(phase=_phases, closed=_closed)
def test_the_cadence_in_english_is_the_plans_own_words(phase: Phase, closed: Any) -> None:
    assert cadence(phase, closed, translator("en", "web")) == cadence_words(phase, closed)
    assert cadence(phase, closed, translator("es", "web")) != cadence_words(phase, closed)


# -- the answers a patient can get wrong, said in Spanish -----------------------------------
@pytest.mark.parametrize(
    ("change", "field", "english", "spanish"),
    [
        (
            {"deductible_met": "5000"},
            "deductible_met",
            "5000.00 is above the plan's individual amount, 1500.00 (payer 'commercial-ppo': "
            "networks.in.deductible.individual on 2026-01-05)",
            "$5,000.00 es más que el deducible de su plan, $1,500.00",
        ),
        (
            {"out_of_pocket_met": "9000"},
            "out_of_pocket_met",
            "9000.00 is above the plan's individual amount, 6000.00 (payer 'commercial-ppo': "
            "networks.in.out_of_pocket_max.individual on 2026-01-05)",
            "$9,000.00 es más que el desembolso máximo de su plan, $6,000.00",
        ),
        (
            {"deductible_met": "500", "out_of_pocket_met": "100"},
            "out_of_pocket_met",
            "out_of_pocket_met (100.00) is below deductible_met (500.00): deductible paid counts "
            "toward the out-of-pocket maximum",
            "lo pagado para el desembolso máximo ($100.00) es menor que lo pagado del deducible "
            "($500.00): lo pagado del deducible cuenta para el desembolso máximo",
        ),
        (
            {"start": "2001-01-01"},
            "start",
            "Riverside Ketamine & Interventional Psychiatry (example)'s billing codes start on "
            "2019-03-05; choose a first visit on or after 2019-03-05 (got 2001-01-01)",
            "los códigos de facturación de Riverside Ketamine & Interventional Psychiatry "
            "(example) comienzan el 5 de marzo de 2019; elija una primera visita el 5 de marzo "
            "de 2019 o después (recibimos 1 de enero de 2001)",
        ),
    ],
)
def test_an_answer_the_plan_refuses_is_said_in_the_answers_language(
    client: TestClient, change: dict[str, Any], field: str, english: str, spanish: str
) -> None:
    for query, message in (("", english), ("?lang=es", spanish)):
        response = _post(client, _answers(**change), query)
        assert response.status_code == 422
        (error,) = response.json()["errors"]
        assert (error["field"], error["detail"]) == (field, message)


# -- review of issue 16 (web) -----------------------------------------------------------------
def test_every_bundled_payer_has_a_spanish_name() -> None:
    for pid, payer in CALCULATOR.library.items():
        spanish = CALCULATOR.resolved.payer_name(pid, "es")
        assert spanish and (spanish != payer.name or pid == "tricare-for-life"), pid
    assert CALCULATOR.resolved.payer_name("medicare-part-b", "es") == "Medicare Original (Parte B)"
    assert CALCULATOR.resolved.payer_name("self-pay", "es") == (
        "Sin seguro (paga directamente a la clínica)"
    )
    assert [p.name for p in CALCULATOR.payers_in("en")] == [p.name for p in CALCULATOR.payers]
    # a configuration of its own (its own clinic) keeps the bundled payers' Spanish names
    assert "Medicare Original (Parte B)" in [p.name for p in CALCULATOR.payers_in("es")]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_medicare_warnings_become_one_plain_sentence_for_the_patient(lang: str) -> None:
    response = _estimate(
        CalculatorInput(treatment="iv-ketamine", insurance="medicare-part-b", age=70), lang
    )
    assert response is not None
    warnings = response.estimate.warnings
    denied = [w for w in warnings if "GZ" in w]
    assert len(denied) >= 2  # one per code, for staff
    # the year's plan runs into 2027, whose Part B deductible the payer file does not have yet
    (later,) = (w for w in warnings if w not in denied)
    assert "the plan year from 2027-01-01 has no deductible of its own" in later
    notice, yearly = response.notices  # the denial in one sentence, then the unknown amount
    assert "2027" in yearly and "2027" not in notice
    name = CALCULATOR.resolved.payer_name("medicare-part-b", lang)
    assert name in notice, notice
    for staff in ("GZ", "CMS-R-131", "have them sign", "domain.md", "96365", "J3490"):
        assert staff not in notice
    if lang == "es":
        assert "no puede cobrárselo" in notice and "infusión" in notice.lower()
    # and no reference to the project's notes anywhere the patient reads
    said = json.dumps(response.model_dump(mode="json", exclude={"estimate"}), ensure_ascii=False)
    assert "domain.md" not in said


@pytest.mark.parametrize(
    ("changes", "owed"),
    [
        # IV ketamine: the PPO excludes it; the clinic's self-pay prices apply
        ({"treatment": "iv-ketamine", "prior_authorization": None}, True),
        # esketamine, approved: every line covered
        ({}, False),
        # esketamine, denied: the drug and its visits at the clinic's price
        ({"prior_authorization": "denied"}, True),
        # no insurance: the page's own section says a Good Faith Estimate is owed
        ({"insurance": "none", "network": None, "prior_authorization": None}, False),
    ],
)
def test_a_plan_that_leaves_items_at_the_clinics_price_says_a_good_faith_estimate_is_owed(
    changes: dict[str, Any], owed: bool
) -> None:
    # A patient with no benefits for an item is a self-pay individual for it, owed a Good
    # Faith Estimate (45 CFR 149.610(a)(2); domain.md 10.1). A review found the page telling
    # insured patients the right was not theirs, with $7,350 of $7,380 at self-pay prices.
    answers = CalculatorInput.model_validate(_answers(**changes))
    full = CALCULATOR.estimate_input(answers, lang="en", explain=False)
    summary = CALCULATOR.estimate_input(answers, lang="en", summary=True)
    said = [n for n in full.notices if "Good Faith Estimate" in n]
    assert said == (
        [
            f"{full.payer_name} is not expected to pay for part of this care, and you pay the "
            "clinic's self-pay price for it. For that part you have the right to a written Good "
            "Faith Estimate from the clinic before your visit: ask the clinic for one."
        ]
        if owed
        else []
    )
    assert (full.estimate.totals.non_covered > Money(0)) == (owed or not full.insured)
    assert summary.notices == full.notices


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        (
            "en",
            "Your plan's deductible or out-of-pocket maximum for 2027 is not known yet: the "
            "estimate uses the last known amount, so what you pay in 2027 may differ.",
        ),
        (
            "es",
            "Todavía no se conoce el deducible o el desembolso máximo de su plan para 2027: el "
            "estimado usa el último monto conocido, así que lo que usted pague en 2027 puede ser "
            "distinto.",
        ),
    ],
)
def test_a_yearly_amount_not_yet_known_is_said_to_the_patient(lang: str, said: str) -> None:
    # Original Medicare's Part B deductible is dated 2025 and 2026: a plan year of 2027 uses
    # 2026's $283.00, and the patient is told it may differ (the staff's warning says more).
    answers = CalculatorInput.model_validate(
        _answers(insurance="medicare-part-b", age=70, start="2027-01-04")
    )
    full = CALCULATOR.estimate_input(answers, lang=lang, explain=False)
    assert any("the plan year from 2027-01-01 has no deductible" in w
               for w in full.estimate.warnings)  # fmt: skip
    assert said in full.notices
    assert CALCULATOR.estimate_input(answers, lang=lang, summary=True).notices == full.notices
    # a year the payer file knows: no such notice
    known = CalculatorInput.model_validate(
        _answers(insurance="medicare-part-b", age=70, start="2026-01-05", treatment="iv-ketamine")
    )
    known_full = CALCULATOR.estimate_input(known, lang=lang, explain=False)
    assert known_full.estimate.visits[-1].date.year == 2026
    assert not any(said[:40] in n for n in known_full.notices)


def test_a_savings_program_that_does_not_apply_is_said_in_words() -> None:
    from ketacost._i18n import translator as tr
    from ketacost.web._notices import notices

    estimate = _estimate(
        CalculatorInput(treatment="esketamine", insurance="commercial-ppo", age=45), "en"
    )
    assert estimate is not None
    staff = "Spravato withMe does not apply: Original Medicare (medicare) is not eligible"
    other = "something new the engine says"
    changed = estimate.estimate.model_copy(update={"warnings": (staff, other, other)})
    said = notices(changed, "Su plan", tr("es", "web"), insured=True)
    assert said == (
        "Spravato withMe no puede ayudarle con este costo: no funciona con su seguro.",
        "El personal de facturación de la clínica debe revisar un detalle más de este "
        "estimado; los detalles están en “Códigos de facturación (para el personal de la "
        "clínica)”.",
        # not approved: the drug is not covered and is priced at the clinic's self-pay price
        "Se espera que Su plan no pague una parte de esta atención, y usted paga por ella el "
        "precio de pago por cuenta propia de la clínica. Por esa parte tiene derecho a una "
        "Estimación de buena fe por escrito de la clínica antes de su visita: pídasela a la "
        "clínica.",
    )


@pytest.mark.parametrize("lang", ["en", "es"])
def test_no_out_of_pocket_maximum_words_for_original_medicare(lang: str) -> None:
    maximum = {"en": "out-of-pocket maximum", "es": "desembolso máximo"}[lang]
    for met in ({}, {"deductible_met": "100"}):
        response = _estimate(
            CalculatorInput(treatment="iv-ketamine", insurance="medicare-part-b", age=70, **met),
            lang,
        )
        assert response is not None
        assert not any(maximum in a for a in response.assumptions), response.assumptions
        assert any(
            ("deductible" if lang == "en" else "deducible") in a.lower()
            for a in response.assumptions
        )
    # a plan with a maximum still says it
    ppo = _estimate(
        CalculatorInput(treatment="iv-ketamine", insurance="commercial-ppo", age=45), lang
    )
    assert ppo is not None and any(maximum in a for a in ppo.assumptions)


def test_no_insurance_answer_says_so() -> None:
    response = _estimate(CalculatorInput(treatment="iv-ketamine", insurance="none", age=45), "es")
    assert response is not None
    assert response.insured is False
    assert response.payer_name == "Sin seguro (paga directamente a la clínica)"


@pytest.mark.parametrize(
    ("change", "field", "spanish"),
    [
        ({"age": -3}, "age", "escriba su edad en años, un número entero de 0 a 130"),
        ({"insurance": ""}, "insurance", "elija su seguro en la lista, o “Sin seguro”"),
        ({"treatment": "reiki"}, "treatment", "tratamiento desconocido 'reiki' (disponibles: "),
        (
            {"deductible_met": "99999999999999999999999"},
            "deductible_met",
            "escriba la cantidad en dólares, por ejemplo $250 o $1,200.50",
        ),
        (
            {"insurance": "medigap-plan-g"},
            "insurance",
            "Seguro Suplementario de Medicare (Medigap) Plan G paga solo después de otro plan",
        ),
        ({"start": "1999-01-01"}, "start", "elija una fecha entre el 1 de enero de 2000 y el 31 "),
    ],
)
def test_the_calculators_own_errors_are_in_spanish_with_a_spanish_title(
    client: TestClient, change: dict[str, Any], field: str, spanish: str
) -> None:
    response = _post(client, _answers(**change), "?lang=es")
    assert response.status_code == 422, response.text
    assert response.headers["content-language"] == "es"
    problem = response.json()
    assert problem["title"] == "La solicitud no es válida"
    (error,) = problem["errors"]
    assert error["field"] == field and error["detail"].startswith(spanish), error
    assert spanish in problem["detail"]
    # English keeps the validator's words and the English title
    english = _post(client, _answers(**change)).json()
    assert english["title"] == "The request is not valid"
    assert english["errors"][0]["detail"] != error["detail"]


def test_a_json_answer_says_its_language(client: TestClient) -> None:
    assert _post(client, _answers(), "?lang=es").headers["content-language"] == "es"
    assert _post(client, _answers()).headers["content-language"] == "en"
    summary = _post(client, _answers(), "?lang=es&detail=summary")
    assert summary.headers["content-language"] == "es"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_first_visit_card_and_the_why_name_the_evaluation_the_same_way(lang: str) -> None:
    from ketacost import _plain

    response = _estimate(
        CalculatorInput(treatment="esketamine", insurance="commercial-ppo", age=45), lang
    )
    assert response is not None
    (line,) = [ln for ln in response.estimate.visits[0].lines if ln.code == "90792"]
    # card: "Psychiatric evaluation with medical services, by the prescriber"; why: the same
    assert response.summary.first_session_label.startswith(_plain.describe(line, lang))
