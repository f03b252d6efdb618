"""Good Faith Estimates (45 CFR 149.610), bill comparison (149.620) and superbills.

The worked example is the self-pay IV series (examples/requests/iv-series-self-pay.yaml on the
example clinic): an intake at $250, six infusions in the iv-induction-6 package ($2,400, so
$400 each) and eleven boosters at the $450 self-pay price. Each infusion's price is shared
over its two lines in proportion to the chargemaster (96365 $650, J3490 $50):
  package session: 400 × 650/700 = 371.428… → $371.43 and 400 − 371.43 = $28.57
  booster:         450 × 650/700 = 417.857… → $417.86 and 450 − 417.86 = $32.14
  total: 250 + 6 × 400 + 11 × 450 = 250 + 2,400 + 4,950 = $7,600.00
"""

from __future__ import annotations

import csv
import io
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import _builders as b
import pypdfium2 as pdfium
import pytest
import strategies as gen
from _document_text import html_text, pdf_text
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

import ketacost
from ketacost._types import npi_check_digit_ok
from ketacost.documents import (
    BilledLine,
    DocumentError,
    FinalBill,
    GoodFaithEstimate,
    MissingExtraError,
    Superbill,
    build_gfe,
    build_superbill,
    compare_bill_to_gfe,
    render_gfe_html,
    render_gfe_pdf,
    render_superbill_csv,
    render_superbill_html,
    render_superbill_pdf,
)

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
IV_SELF_PAY = ROOT / "examples/requests/iv-series-self-pay.yaml"
ISSUED = date(2026, 11, 21)
#: A second valid NPI (Luhn check digit over the 80840 prefix, like b.NPI).
OTHER_NPI = "1987654328"


@pytest.fixture(scope="module")
def payers() -> ketacost.PayerLibrary:
    return ketacost.load_payers()


@pytest.fixture(scope="module")
def request_(payers: Any) -> ketacost.EstimateRequest:
    return ketacost.load_request(IV_SELF_PAY, payers=payers)


@pytest.fixture(scope="module")
def estimate(request_: ketacost.EstimateRequest, payers: Any) -> ketacost.Estimate:
    return ketacost.estimate(request_, payers=payers)


@pytest.fixture(scope="module")
def gfe(request_: ketacost.EstimateRequest, estimate: ketacost.Estimate) -> GoodFaithEstimate:
    return build_gfe(request_, estimate, issued=ISSUED, expected_visits=(12, 24))


@pytest.fixture(scope="module")
def gfe_html(gfe: GoodFaithEstimate) -> str:
    return render_gfe_html(gfe)


@pytest.fixture(scope="module")
def gfe_pdf(gfe: GoodFaithEstimate) -> bytes:
    return render_gfe_pdf(gfe)


def _with(request: ketacost.EstimateRequest, payers: Any, **changes: Any) -> Any:
    """The request's data with top-level sections replaced, validated, and its estimate."""
    data = request.model_dump(mode="json")
    data["clinic"] = request.clinic
    for key, value in changes.items():
        data[key] = value
    req = ketacost.request_from_data(data, payers=payers)
    return req, ketacost.estimate(req, payers=payers)


_SERIES_REQUEST = ketacost.load_request(IV_SELF_PAY)
_SERIES = (_SERIES_REQUEST, ketacost.estimate(_SERIES_REQUEST))
_SERIES_GFE = build_gfe(*_SERIES, issued=ISSUED)


# ---- the Good Faith Estimate: worked example ------------------------------------------------


def test_gfe_worked_example(gfe: GoodFaithEstimate, estimate: ketacost.Estimate) -> None:
    assert gfe.patient.name == "Alex Example"
    assert gfe.patient.birth_date == date(1988, 4, 12)
    # The primary service is the session with most visits: 17 infusions against 1 intake.
    assert gfe.primary_service.startswith("IV ketamine infusion")
    assert gfe.primary_service_codes == ("96365", "J3490")
    assert gfe.scheduled_date == date(2027, 1, 5)  # the first infusion, the day after intake
    # 12 months from the first scheduled date (the intake, 2027-01-04).
    assert (gfe.period_start, gfe.period_end) == (date(2027, 1, 4), date(2028, 1, 3))
    assert gfe.later_sessions == 0
    [clinic] = gfe.providers
    assert clinic.role == "convening"
    assert (clinic.provider.npi, clinic.provider.tin, clinic.provider.state) == (
        "1234567893",
        "12-3456789",
        "MA",
    )
    rows = [
        (i.phase, i.service_code, i.quantity, i.charge_each, i.expected_charge)
        for i in clinic.items
    ]
    m = ketacost.Money
    assert rows == [
        ("intake", "90791", 1, m("250.00"), m("250.00")),
        ("induction", "96365", 6, m("371.43"), m("2228.58")),  # 6 × 371.43
        ("induction", "J3490", 6, m("28.57"), m("171.42")),  # 6 × 28.57
        ("boosters", "96365", 11, m("417.86"), m("4596.46")),  # 11 × 417.86
        ("boosters", "J3490", 11, m("32.14"), m("353.54")),  # 11 × 32.14
    ]
    assert all(i.diagnosis_codes == ("F33.2",) for i in clinic.items)
    # 250 + 2,228.58 + 171.42 + 4,596.46 + 353.54 = 7,600.00, the estimate's own total.
    assert clinic.expected_total == gfe.total_expected == m("7600.00") == estimate.totals.charge
    scope = [(r.phase, r.frequency, r.sessions, r.expected_charge) for r in gfe.recurring]
    assert scope == [
        ("intake", "once", 1, m("250.00")),
        # Issue 11 §6: the words say what the real dates do (2 or 3 days apart; they were
        # "every 2 days" while the old closed-day rule put infusions on three days in a row).
        ("induction", "every 2 days or more (closed Sat, Sun)", 6, m("2400.00")),  # the package
        ("boosters", "every 4 weeks", 11, m("4950.00")),  # 11 × 450
    ]
    # Integration psychotherapy is named by the iv-infusion session in the clinic file.
    [separate] = gfe.separately_scheduled
    assert (separate.session, separate.service_codes) == ("psychotherapy", ("90837",))
    assert separate.self_pay_price == m("200.00")
    assert (gfe.library_version, gfe.rules_hash) == (estimate.library_version, estimate.rules_hash)
    assert [d.id for d in gfe.disclaimers] == [
        "separate-estimates",
        "additional-items",
        "estimate-only",
        "dispute",
        "not-a-contract",
    ]


def test_gfe_range_from_expected_visits(gfe: GoodFaithEstimate) -> None:
    assert gfe.range is not None
    # Low: the first 12 of 18 visits = intake 250 + 6 package sessions 2,400 + 5 boosters
    # 2,250 = 4,900. High: 24 visits = 7,600 + 6 more at the last visit's 450 = 10,300.
    assert (gfe.range.low, gfe.range.expected, gfe.range.high) == (
        ketacost.Money("4900.00"),
        ketacost.Money("7600.00"),
        ketacost.Money("10300.00"),
    )
    assert (gfe.range.low_sessions, gfe.range.high_sessions) == (12, 24)


def test_gfe_without_expected_visits_has_no_range(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    gfe = build_gfe(request_, estimate, issued=ISSUED)
    assert gfe.range is None
    assert "Range" not in html_text(render_gfe_html(gfe))


def test_gfe_range_from_the_estimates_unknowns(
    request_: ketacost.EstimateRequest, payers: Any
) -> None:
    # 6 to 12 boosters instead of 11 (the 12th, 2027-02-01 + 11 × 28 days = 2027-12-06, is
    # inside the 12 months). Low: 250 + 2,400 + 6 × 450 = 5,350; high: 250 + 2,400 +
    # 12 × 450 = 8,050; expected: the plan as written, 7,600.
    unknowns = {"sessions": [{"phase": "boosters", "low": 6, "high": 12}]}
    req, est = _with(request_, payers, unknowns=unknowns)
    gfe = build_gfe(req, est, issued=ISSUED, period_range=ketacost.good_faith_range(req, est))
    assert gfe.range is not None
    assert (gfe.range.low, gfe.range.expected, gfe.range.high) == (
        ketacost.Money("5350.00"),
        ketacost.Money("7600.00"),
        ketacost.Money("8050.00"),
    )
    assert "boosters" in gfe.range.basis
    text = pdf_text(render_gfe_pdf(gfe))
    assert "$5,350.00 to $8,050.00 (expected $7,600.00)" in text
    # expected_visits, when given, is the range the GFE shows.
    again = build_gfe(req, est, issued=ISSUED, expected_visits=(18, 18))
    assert again.range is not None and again.range.low == again.range.high


def test_gfe_range_counts_only_the_sessions_of_its_12_months(
    request_: ketacost.EstimateRequest, payers: Any
) -> None:
    # 4 to 30 boosters instead of 11, every 4 weeks from 2027-02-01. The estimate's own range
    # spans the whole plan (high 250 + 2,400 + 30 × 450 = 16,150), but the GFE covers
    # 2027-01-04 to 2028-01-03: boosters 2027-02-01 + 28k days for k = 0..12 (the 13th is
    # 2028-01-03), so only 13 of the 30 fall inside.
    unknowns = {"sessions": [{"phase": "boosters", "low": 4, "high": 30}]}
    req, est = _with(request_, payers, unknowns=unknowns)
    assert est.range is not None and est.range.high == ketacost.Money("16150.00")
    gfe = build_gfe(
        req, est, issued=ISSUED, period_range=ketacost.good_faith_range(req, est, payers=payers)
    )
    assert gfe.range is not None
    # Low: 250 + 2,400 + 4 × 450 = 4,450 (11 sessions); high: 250 + 2,400 + 13 × 450 =
    # 8,500 (20 sessions); expected: the 7,600 the GFE lists.
    assert (gfe.range.low, gfe.range.expected, gfe.range.high) == (
        ketacost.Money("4450.00"),
        gfe.total_expected,
        ketacost.Money("8500.00"),
    )
    assert gfe.total_expected == ketacost.Money("7600.00")
    assert (gfe.range.low_sessions, gfe.range.high_sessions) == (11, 20)
    assert "boosters 30 (20 sessions in the period)" in gfe.range.basis
    # One range model: the GFE's 12 months and the estimate's whole plan are both a CostRange;
    # the estimate's leaves out the basis and session counts it does not have (its JSON keeps
    # the keys it always had), the GFE's keeps them.
    assert isinstance(gfe.range, ketacost.CostRange)
    assert isinstance(est.range, ketacost.CostRange)
    assert list(json.loads(est.range.model_dump_json())) == [
        "low", "expected", "high", "low_inputs", "high_inputs", "drivers", "combinations"
    ]  # fmt: skip
    gfe_range = json.loads(gfe.model_dump_json())["range"]
    assert {"basis", "low_sessions", "high_sessions"} <= set(gfe_range)


def test_gfe_range_kept_when_expected_sessions_run_past_12_months(
    request_: ketacost.EstimateRequest, payers: Any
) -> None:
    # 14 boosters as written: the 14th (2028-01-31) is after the period, so the GFE lists 13.
    # The range of the 12 months is still shown, not dropped: low 4 boosters 4,450; expected
    # 250 + 2,400 + 13 × 450 = 8,500; high (30 boosters, 13 inside) also 8,500.
    data = request_.model_dump(mode="json")
    phases = data["plan"]["phases"]
    plan = data["plan"] | {"phases": [*phases[:2], phases[2] | {"sessions": 14}]}
    unknowns = {"sessions": [{"phase": "boosters", "low": 4, "high": 30}]}
    req, est = _with(request_, payers, plan=plan, unknowns=unknowns)
    gfe = build_gfe(
        req, est, issued=ISSUED, period_range=ketacost.good_faith_range(req, est, payers=payers)
    )
    assert gfe.later_sessions == 1
    assert gfe.range is not None
    assert (gfe.range.low, gfe.range.expected, gfe.range.high) == (
        ketacost.Money("4450.00"),
        ketacost.Money("8500.00"),
        ketacost.Money("8500.00"),
    )
    assert gfe.range.expected == gfe.total_expected


def test_gfe_range_with_other_payer_files_is_an_error(
    request_: ketacost.EstimateRequest, payers: Any
) -> None:
    # The estimate was made with a renamed self-pay payer; re-estimating with the bundled
    # files would not be the same rules, so the GFE asks for expected_visits instead.
    renamed = dict(payers) | {"self-pay": payers["self-pay"].model_copy(update={"name": "X"})}
    unknowns = {"sessions": [{"phase": "boosters", "low": 4, "high": 30}]}
    req, est = _with(request_, renamed, unknowns=unknowns)
    with pytest.raises(DocumentError, match=r"other payer files.*expected_visits"):
        ketacost.good_faith_range(req, est)
    found = ketacost.good_faith_range(req, est, payers=renamed)
    assert build_gfe(req, est, issued=ISSUED, period_range=found).range is not None
    assert build_gfe(req, est, issued=ISSUED, expected_visits=(4, 30)).range is not None
    # The builder runs no estimate: without either, a request with unknowns is refused.
    with pytest.raises(DocumentError, match=r"lists unknowns.*good_faith_range.*expected_visits"):
        build_gfe(req, est, issued=ISSUED)


@pytest.mark.parametrize("visits", [(19, 24), (6, 17), (0, 18), (12, 401)])
def test_expected_visits_must_include_the_planned_sessions(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate, visits: tuple[int, int]
) -> None:
    with pytest.raises(DocumentError, match=r"must include the 18 sessions"):
        build_gfe(request_, estimate, issued=ISSUED, expected_visits=visits)


def test_gfe_covers_twelve_months_and_counts_later_sessions(
    request_: ketacost.EstimateRequest, payers: Any
) -> None:
    # Weekly from Monday 2027-01-04: session k falls on day 7k; the period ends 2028-01-03,
    # day 364 = 7 × 52, so sessions 0..52 (53 of them) are in it and 60 − 53 = 7 are later.
    plan = {
        "start": "2027-01-04",
        "phases": [{"session": "iv-infusion", "sessions": 60, "every_weeks": 1}],
    }
    req, est = _with(request_, payers, plan=plan)
    gfe = build_gfe(req, est, issued=ISSUED)
    assert (gfe.period_end, gfe.later_sessions) == (date(2028, 1, 3), 7)
    assert gfe.recurring[0].sessions == 53
    assert gfe.recurring[0].last_date == date(2028, 1, 3)
    # Six package sessions at 400 + 47 at 450 = 2,400 + 21,150 = 23,550.
    assert gfe.total_expected == ketacost.Money("23550.00")
    assert "7 further sessions of the plan fall after January 3, 2028" in html_text(
        render_gfe_html(gfe)
    )


# ---- every required element, in HTML and in PDF --------------------------------------------


def _required(gfe: GoodFaithEstimate) -> dict[str, list[str]]:
    """Each element of 45 CFR 149.610(c)(1), and the rest the issue asks for, as text."""
    p = gfe.providers[0]
    return {
        "(i) patient name and date of birth": ["Alex Example", "April 12, 1988"],
        "(ii) primary service in plain language, scheduled date": [
            "IV ketamine infusion (0.5 mg/kg over 40 minutes) with recovery monitoring",
            "January 5, 2027",
        ],
        "(iii) itemised list grouped by provider": [p.provider.name, "(convening provider)"],
        "(iv) diagnosis codes, service codes, expected charges": [
            "F33.2",
            "90791",
            "96365",
            "J3490",
            "$250.00",
            "$2,228.58",
            "$171.42",
            "$4,596.46",
            "$353.54",
            "$7,600.00",
        ],
        "(v) provider NPI, TIN, state and location": [
            "1234567893",
            "12-3456789",
            "100 Example Street, Suite 200, Boston, MA 02134",
            "State MA",
        ],
        "(vi) items scheduled separately": ["Integration psychotherapy, 60 minutes", "90837"],
        "(vii) separate estimates disclaimer": [
            "You will receive a separate Good Faith Estimate for each of them"
        ],
        "(viii) additional items disclaimer": [
            "Additional items or services may be recommended as part of your course of care"
        ],
        "(ix) only an estimate": [
            "only an estimate",
            "Actual items, services or charges may differ from this estimate.",
        ],
        "(x) dispute: $400, 120 days, where, no effect on care": [
            "$400.00 or more above its total expected charges",
            "within 120 calendar days of the date on the original bill",
            "www.cms.gov/nosurprises or call 1-800-985-3059",
            "will not affect the quality of the care you receive",
        ],
        "(xi) not a contract": ["This Good Faith Estimate is not a contract"],
        "recurring: 12 months, frequency, number of sessions": [
            "January 4, 2027 to January 3, 2028 (up to 12 months)",
            "every 2 days or more (closed Sat, Sun)",
            "every 4 weeks",
            "induction",
            "boosters",
        ],
        "range when the count is uncertain": ["$4,900.00 to $10,300.00", "12 to 24 sessions"],
        "issue date, library version, rules hash": [
            "Issued November 21, 2026",
            f"ketacost {gfe.library_version}",
            gfe.rules_hash,
        ],
    }


def test_gfe_html_has_every_required_element(gfe: GoodFaithEstimate, gfe_html: str) -> None:
    text = html_text(gfe_html)
    missing = {k: [s for s in v if s not in text] for k, v in _required(gfe).items()}
    assert {k: v for k, v in missing.items() if v} == {}
    # Each disclaimer appears whole, and the recurring rows carry their session counts.
    for d in gfe.disclaimers:
        assert " ".join(d.text.split()) in text
    # The induction's last infusion is Mon 2027-01-18 (was Fri 01-15): issue 11 §6 keeps
    # 2 days between infusions, Sat 9 → Mon 11, Wed 13, Fri 15, Sun 17 → Mon 18.
    assert "every 2 days or more (closed Sat, Sun) 6 2027-01-05 2027-01-18 $2,400.00" in text
    assert "every 4 weeks 11 2027-02-01 2027-11-08 $4,950.00" in text


def test_gfe_pdf_has_every_required_element(gfe: GoodFaithEstimate, gfe_pdf: bytes) -> None:
    assert gfe_pdf.startswith(b"%PDF-")
    text = pdf_text(gfe_pdf)
    missing = {k: [s for s in v if s not in text] for k, v in _required(gfe).items()}
    assert {k: v for k, v in missing.items() if v} == {}
    for d in gfe.disclaimers:
        assert " ".join(d.text.split()) in text
    # The last infusion moved from 2027-01-15 to 01-18 (issue 11 §6, as above).
    assert "every 2 days or more (closed Sat, Sun) 6 2027-01-05 2027-01-18 $2,400.00" in text


def test_gfe_pdf_first_page_is_rendered_for_a_person(gfe_pdf: bytes) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    doc = pdfium.PdfDocument(gfe_pdf)
    try:
        image = doc[0].render(scale=1.5).to_pil()
    finally:
        doc.close()
    target = ARTIFACTS / "gfe-page-1.png"
    image.save(target)
    (ARTIFACTS / "gfe.pdf").write_bytes(gfe_pdf)
    # Letter at 72 dpi × 1.5 = 918 × 1188; a page with text has dark pixels.
    assert image.size == (918, 1188)
    assert image.convert("L").getextrema()[0] < 64
    assert target.stat().st_size > 10_000


def test_gfe_html_is_printable_self_contained_and_escaped(
    request_: ketacost.EstimateRequest, payers: Any, gfe_html: str
) -> None:
    assert "@media print" in gfe_html
    assert "@page" in gfe_html
    for external in ("<link", "<script", "src=", "url(", "@import", "http://", "https://"):
        assert external not in gfe_html
    patient = request_.patient.model_dump(mode="json") | {"name": "<script>alert(1)</script> & Co"}
    req, est = _with(request_, payers, patient=patient)
    page = render_gfe_html(build_gfe(req, est, issued=ISSUED))
    assert "<script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "gfe.html").write_text(gfe_html, encoding="utf-8")


def test_gfe_pdf_is_the_same_bytes_each_time(gfe: GoodFaithEstimate, gfe_pdf: bytes) -> None:
    assert render_gfe_pdf(gfe) == gfe_pdf


def test_gfe_json_round_trip(gfe: GoodFaithEstimate) -> None:
    text = gfe.model_dump_json()
    again = GoodFaithEstimate.model_validate_json(text)
    assert again == gfe
    assert again.model_dump_json() == text
    assert '"total_expected":"7600.00"' in text  # money crosses JSON as a string


# ---- the Good Faith Estimate: errors --------------------------------------------------------


def test_gfe_with_no_self_paid_item_is_an_error(payers: Any) -> None:
    # Every esketamine line is covered (prior authorization approved): nothing is self-paid,
    # so there is no Good Faith Estimate to make (45 CFR 149.610(a)(2)).
    req = ketacost.load_request(
        ROOT / "examples/requests/esketamine-commercial.yaml", payers=payers
    )
    est = ketacost.estimate(req, payers=payers)
    with pytest.raises(DocumentError, match=r"uninsured or self-pay patients.*billed to") as exc:
        build_gfe(req, est, issued=ISSUED)
    assert isinstance(exc.value, ketacost.EstimateError)
    assert "every line is billed to Example Commercial PPO" in str(exc.value)


def _superbill_request(payers: Any, **coverage: Any) -> Any:
    """The intake alone, paid at the self-pay price and claimed out of network on a superbill,
    with the out-of-network deductible ($3,000) already met."""
    data = ketacost.load_request(IV_SELF_PAY).model_dump(mode="json")
    data["clinic"] = ketacost.load_clinic(ROOT / "examples/clinics/example-clinic.yaml")
    data["coverage"] = {
        "payer": "commercial-ppo",
        "network": "out",
        "superbill": True,
        "member_id": "W123",
        "accumulators": {"as_of": "2027-01-01", "deductible_met": {"individual": "3000.00"}},
    } | coverage
    data["plan"] = {"start": "2027-01-04", "phases": [{"session": "intake", "sessions": 1}]}
    req = ketacost.request_from_data(data, payers=payers)
    return req, ketacost.estimate(req, payers=payers)


def test_gfe_for_a_superbill_request_covers_what_the_patient_pays_the_clinic(
    payers: Any,
) -> None:
    # The patient pays the clinic the intake's $250 self-pay price and claims it: no claim is
    # submitted by the clinic, so the patient is self-pay for it (45 CFR 149.610(a)(2)).
    req, est = _superbill_request(payers)
    gfe = build_gfe(req, est, issued=ISSUED)
    assert gfe.total_expected == ketacost.Money("250.00")
    assert gfe.not_included == ()


def test_gfe_when_insurance_ends_mid_plan(request_: ketacost.EstimateRequest, payers: Any) -> None:
    # Commercial coverage first, self-pay from 2027-02-01. The intake (2027-01-04, 90791) is
    # covered by the plan: not part of the GFE. The January infusions are excluded by the plan
    # (investigational), so they are self-paid as are the self-pay boosters: the GFE starts
    # with the first infusion, 2027-01-05, and has the same $7,350.00 = 2,400 + 11 × 450.
    coverage = {"payer": "commercial-ppo"}
    periods = [{"payer": "self-pay", "starts": "2027-02-01"}]
    req, est = _with(request_, payers, coverage=coverage, coverage_periods=periods)
    gfe = build_gfe(req, est, issued=ISSUED)
    assert gfe.period_start == date(2027, 1, 5)
    assert gfe.total_expected == ketacost.Money("7350.00")
    [intake] = gfe.not_included
    assert (intake.service_code, intake.payer, intake.sessions) == (
        "90791",
        "Example Commercial PPO",
        1,
    )
    assert intake.why == "billed to Example Commercial PPO; your plan's estimate applies"


@pytest.mark.parametrize(
    ("patient", "missing"),
    [
        ({"birth_date": "1988-04-12", "diagnoses": ["F33.2"]}, "no patient.name"),
        ({"name": "Alex Example", "age": 38}, "no patient.birth_date"),
        ({"age": 38}, "no patient.name and no patient.birth_date"),
    ],
)
def test_gfe_needs_the_patient_name_and_birth_date(
    request_: ketacost.EstimateRequest, payers: Any, patient: dict[str, Any], missing: str
) -> None:
    req, est = _with(request_, payers, patient=patient)
    with pytest.raises(DocumentError, match=r"149\.610\(c\)\(1\)\(i\)") as exc:
        build_gfe(req, est, issued=ISSUED)
    assert str(exc.value).endswith(f"the request has {missing}")


def test_gfe_without_a_diagnosis_says_pending_evaluation(
    request_: ketacost.EstimateRequest, payers: Any
) -> None:
    # A GFE requested before the evaluation has no diagnosis yet and is still due: 45 CFR
    # 149.610(c)(1)(iv) asks for the applicable codes (domain.md §10.6).
    patient = {"name": "Alex Example", "birth_date": "1988-04-12"}  # no diagnoses
    req, est = _with(request_, payers, patient=patient)
    gfe = build_gfe(req, est, issued=ISSUED)
    assert (gfe.diagnosis_codes, gfe.diagnosis_status) == ((), "pending-evaluation")
    assert all(i.diagnosis_codes == () for p in gfe.providers for i in p.items)
    assert gfe.total_expected == ketacost.Money("7600.00")  # the same charges
    text = html_text(render_gfe_html(gfe))
    assert "Diagnosis codes Pending evaluation" in text
    assert _SERIES_GFE.diagnosis_status == "known"
    assert GoodFaithEstimate.model_validate_json(gfe.model_dump_json()) == gfe


def test_gfe_issued_after_the_first_session_is_an_error(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    # The first session (the intake) is on 2027-01-04: issuing that day is fine, a day later not.
    assert build_gfe(request_, estimate, issued=date(2027, 1, 4)).issued == date(2027, 1, 4)
    with pytest.raises(DocumentError, match=r"after the first scheduled date of service"):
        build_gfe(request_, estimate, issued=date(2027, 1, 5))


def test_gfe_of_an_estimate_from_another_request_is_an_error(
    request_: ketacost.EstimateRequest, payers: Any
) -> None:
    plan = {
        "start": "2027-03-01",
        "phases": [{"session": "iv-infusion", "sessions": 2, "every_days": 2}],
    }
    _, other = _with(request_, payers, plan=plan)
    with pytest.raises(DocumentError, match=r"not in the request's plan"):
        build_gfe(request_, other, issued=ISSUED)


@pytest.mark.parametrize("render", [render_gfe_pdf, render_superbill_pdf])
def test_pdf_without_the_extra_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
    gfe: GoodFaithEstimate,
    request_: ketacost.EstimateRequest,
    estimate: ketacost.Estimate,
    render: Any,
) -> None:
    document = gfe if render is render_gfe_pdf else build_superbill(request_, estimate)
    monkeypatch.setitem(sys.modules, "fpdf", None)  # `import fpdf` now raises ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'ketacost\[pdf\]'") as exc:
        render(document)
    assert isinstance(exc.value, ketacost.KetacostError)
    assert isinstance(exc.value, ImportError)


# ---- several providers ----------------------------------------------------------------------


def _two_provider_request(payers: Any) -> tuple[ketacost.EstimateRequest, ketacost.Estimate]:
    clinic = b.clinic(
        {"90792": "400.00", "96365": "650.00", "90837": "250.00"},
        {
            "eval": b.session(b.line("90792"), self_pay="300.00") | {"provider": "dr-lee"},
            "iv": b.session(b.line("96365"), self_pay="450.00")
            | {"separately_scheduled": ["therapy"]},
            "therapy": b.session(b.line("90837"), self_pay="200.00")
            | {"provider": "dr-lee", "place_of_service": "02"},
        },
    ) | {
        "providers": {
            "dr-lee": {
                "name": "Dana Lee",
                "credentials": "MD",
                "npi": OTHER_NPI,
                "address": {
                    "line1": "9 Side St",
                    "city": "Providence",
                    "state": "RI",
                    "zip": "02903",
                },
            }
        }
    }
    data = b.request(
        ketacost.clinic_from_data(clinic),
        [{"session": "eval", "sessions": 1}, {"session": "iv", "sessions": 4, "every_weeks": 1}],
        start="2027-03-01",
        payer_id="self-pay",
        patient={
            "name": "Sam Two",
            "birth_date": "1990-01-31",
            "member_id": "XYZ123",
            "diagnoses": ["F33.2", "F41.1", "F43.10", "Z91.19", "F17.210"],
        },
    )
    req = ketacost.request_from_data(data, payers=payers)
    return req, ketacost.estimate(req, payers=payers)


def test_gfe_groups_items_by_provider(payers: Any) -> None:
    assert npi_check_digit_ok(OTHER_NPI)
    req, est = _two_provider_request(payers)
    gfe = build_gfe(req, est, issued=ISSUED)
    clinic, lee = gfe.providers
    assert (clinic.role, clinic.provider.npi, clinic.expected_total) == (
        "convening",
        b.NPI,
        ketacost.Money("1800.00"),  # 4 infusions × 450
    )
    # Dana Lee's own NPI and address, the clinic's TIN (she bills under the group).
    assert (lee.role, lee.provider.npi, lee.provider.tin, lee.provider.state) == (
        "co-provider",
        OTHER_NPI,
        b.TIN,
        "RI",
    )
    assert lee.provider.location == "9 Side St, Providence, RI 02903"
    assert lee.expected_total == ketacost.Money("300.00")
    assert gfe.total_expected == ketacost.Money("2100.00")
    [therapy] = gfe.separately_scheduled
    assert (therapy.provider, therapy.service_codes) == ("Dana Lee", ("90837",))
    text = pdf_text(render_gfe_pdf(gfe))
    assert (
        "Dana Lee, MD" in text and OTHER_NPI in text and "9 Side St, Providence, RI 02903" in text
    )


# ---- comparing a final bill with the Good Faith Estimate -------------------------------------


@pytest.mark.parametrize(
    ("billed", "over"),
    [
        ("7999.99", None),  # 7,999.99 − 7,600.00 = 399.99: below the threshold
        ("8000.00", "400.00"),  # exactly $400 above counts (45 CFR 149.620(a)(2)(ii))
        ("8000.01", "400.01"),
    ],
)
def test_bill_compared_at_the_400_dollar_threshold(
    gfe: GoodFaithEstimate, billed: str, over: str | None
) -> None:
    bill = FinalBill(bill_date=date(2027, 12, 1), totals={"1234567893": billed})
    findings = compare_bill_to_gfe(gfe, bill)
    if over is None:
        assert findings == []
        return
    [finding] = findings
    assert finding.npi == "1234567893"
    assert (finding.expected, finding.billed, finding.over) == (
        ketacost.Money("7600.00"),
        ketacost.Money(billed),
        ketacost.Money(over),
    )
    # 2027-12-01 + 120 days = 2028-03-30 (30 days left in December, 31 + 29 + 30 after).
    assert finding.deadline == date(2028, 3, 30)
    assert "120 calendar days" in finding.note and "by 2028-03-30" in finding.note
    assert "www.cms.gov/nosurprises" in finding.note


def test_bill_by_lines_and_per_provider(payers: Any) -> None:
    req, est = _two_provider_request(payers)
    gfe = build_gfe(req, est, issued=ISSUED)  # clinic 1,800.00; Dana Lee 300.00
    bill = FinalBill(
        lines=(
            BilledLine(npi=b.NPI, amount="1000.00"),
            BilledLine(npi=b.NPI, amount="1199.99"),  # 2,199.99 − 1,800 = 399.99: no dispute
            BilledLine(npi=OTHER_NPI, date=date(2027, 3, 1), code="90792", amount="700.00"),
        )
    )
    [lee] = compare_bill_to_gfe(gfe, bill)  # 700 − 300 = 400: a dispute
    assert (lee.npi, lee.provider, lee.over, lee.deadline) == (
        OTHER_NPI,
        "Dana Lee",
        ketacost.Money("400.00"),
        None,
    )
    # no bill date: the window is said once (a review found "within 120 calendar days (120
    # calendar days from the date on the original bill)")
    assert "within the time allowed (120 calendar days from the date on the original bill)" in (
        lee.note
    )
    assert lee.note.count("120 calendar days") == 1


def test_bill_from_a_provider_not_on_the_estimate(gfe: GoodFaithEstimate) -> None:
    [finding] = compare_bill_to_gfe(gfe, FinalBill(totals={OTHER_NPI: "400.00"}))
    assert finding.expected == ketacost.Money("0.00")
    assert "not on the Good Faith Estimate" in finding.note
    assert compare_bill_to_gfe(gfe, FinalBill(totals={OTHER_NPI: "399.99"})) == []


def test_bill_with_a_total_and_lines_for_one_provider_is_an_error() -> None:
    with pytest.raises(ValidationError, match="billed both as a total and as lines"):
        FinalBill(totals={b.NPI: "10.00"}, lines=(BilledLine(npi=b.NPI, amount="5.00"),))
    with pytest.raises(ValidationError, match="money must be written exactly"):
        FinalBill(totals={b.NPI: 10.5})  # type: ignore[dict-item]


def test_final_bill_json_round_trip() -> None:
    bill = FinalBill(
        bill_date=date(2027, 12, 1),
        totals={b.NPI: "10.00"},
        lines=(BilledLine(npi=OTHER_NPI, amount="5.00", code="90837"),),
    )
    assert FinalBill.model_validate_json(bill.model_dump_json()) == bill


# ---- the superbill --------------------------------------------------------------------------


def test_superbill_worked_example_in_all_four_formats(payers: Any) -> None:
    req, est = _two_provider_request(payers)
    # Visits: eval 2027-03-01 ($300, Dana Lee), iv 03-01? no: iv phase starts where eval's
    # one-day period ends, 2027-03-02, then weekly: 03-02, 03-09, 03-16, 03-23 ($450 each).
    paid = {date(2027, 3, 9): ketacost.Money("200.00")}  # part payment of one infusion
    bill = build_superbill(req, est, paid=paid, end=date(2027, 3, 16), issued=date(2027, 3, 31))
    assert [(ln.date, ln.code, ln.charge, ln.paid) for ln in bill.lines] == [
        (date(2027, 3, 1), "90792", ketacost.Money("300.00"), ketacost.Money("300.00")),
        (date(2027, 3, 2), "96365", ketacost.Money("450.00"), ketacost.Money("450.00")),
        (date(2027, 3, 9), "96365", ketacost.Money("450.00"), ketacost.Money("200.00")),
        (date(2027, 3, 16), "96365", ketacost.Money("450.00"), ketacost.Money("450.00")),
    ]
    # Five diagnoses lettered A–E; each line points at the first four (CMS-1500 item 24E).
    assert [(d.pointer, d.code) for d in bill.diagnoses] == [
        ("A", "F33.2"),
        ("B", "F41.1"),
        ("C", "F43.10"),
        ("D", "Z91.19"),
        ("E", "F17.210"),
    ]
    assert {ln.diagnosis_pointers for ln in bill.lines} == {"ABCD"}
    # Charges 300 + 3 × 450 = 1,650; paid 300 + 450 + 200 + 450 = 1,400; due 250.
    assert (bill.total_charge, bill.total_paid, bill.balance_due) == (
        ketacost.Money("1650.00"),
        ketacost.Money("1400.00"),
        ketacost.Money("250.00"),
    )
    assert bill.lines[0].rendering_npi == OTHER_NPI  # the eval is Dana Lee's
    assert bill.lines[1].rendering_npi is None
    assert bill.patient.member_id == "XYZ123"
    assert {ln.place_of_service for ln in bill.lines} == {"11"}

    # JSON
    assert Superbill.model_validate_json(bill.model_dump_json()) == bill
    # CSV parses back: the lines add up to the total row.
    rows = list(csv.DictReader(io.StringIO(render_superbill_csv(bill))))
    lines, [total] = rows[:-1], rows[-1:]
    assert [r["row"] for r in lines] == ["line"] * 4 and total["row"] == "total"
    assert sum(ketacost.Money(r["charge"]).cents for r in lines) == 165000
    assert (total["charge"], total["paid"]) == ("1650.00", "1400.00")
    assert lines[0]["diagnosis_pointers"] == "ABCD"
    assert lines[0]["diagnosis_codes"] == "F33.2 F41.1 F43.10 Z91.19"
    assert (lines[0]["provider_npi"], lines[1]["provider_npi"]) == (OTHER_NPI, b.NPI)
    # Every row, the total too, names who billed and for whom (issue 4 §3).
    assert {
        (
            r["billing_provider_name"],
            r["billing_provider_npi"],
            r["billing_provider_tin"],
            r["billing_provider_address"],
            r["patient_name"],
            r["patient_birth_date"],
            r["patient_member_id"],
        )
        for r in rows
    } == {
        (
            "Test Clinic",
            b.NPI,
            b.TIN,
            "1 Test St, Boston, MA 02134",
            "Sam Two",
            "1990-01-31",
            "XYZ123",
        )
    }
    # HTML and PDF: identities, pointers and totals.
    expected = [
        "Test Clinic",
        b.NPI,
        b.TIN,
        "1 Test St, Boston, MA 02134",
        "Sam Two",
        "1990-01-31",
        "XYZ123",
        "A F33.2",
        "E F17.210",
        "2027-03-09 11 96365",
        "ABCD $450.00 $200.00",
        "Total $1,650.00 $1,400.00",
        "Balance due $250.00",
        "not a claim form",
    ]
    page_text = html_text(render_superbill_html(bill))
    pdf = render_superbill_pdf(bill)
    printed_text = pdf_text(pdf)
    assert [s for s in expected if s not in page_text] == []
    assert [s for s in expected if s not in printed_text] == []
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "superbill.pdf").write_bytes(pdf)


def test_superbill_of_the_self_pay_series_defaults_paid_to_the_patient_amount(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    bill = build_superbill(request_, estimate, start=date(2027, 1, 1), end=date(2027, 1, 31))
    # January: intake 250 + the six package infusions 2,400 = 2,650, all paid.
    assert bill.total_charge == bill.total_paid == ketacost.Money("2650.00")
    assert bill.balance_due == ketacost.Money("0.00")
    # Dated the day of its last visit (2027-01-18), not the estimate's 2026-11-21: a receipt
    # is never dated before the services it lists as paid (issue 16).
    assert bill.issued == date(2027, 1, 18) == bill.lines[-1].date
    drug = [ln for ln in bill.lines if ln.code == "J3490"]
    # the clinic's NDC 0409-2051-05 (4-4-2) in its 11-digit 5-4-2 claim form, with the N4
    # qualifier, the unit and the quantity given (35 mg at 100 mg/mL = 0.35 mL)
    assert {ln.ndc for ln in drug} == {"00409-2051-05"}
    assert {(ln.ndc_qualifier, ln.ndc_unit, str(ln.ndc_quantity)) for ln in drug} == {
        ("N4", "ML", "0.35")
    }
    assert {ln.ndc_text for ln in drug} == {"N400409205105 ML0.35"}
    assert {ln.narrative for ln in drug} == {
        "Ketamine HCl 100 mg/mL inj, 35 mg IV over 40 min (0.5 mg/kg)"
    }
    assert {ln.diagnosis_pointers for ln in bill.lines} == {"A"}


def test_superbill_prints_each_drug_line_as_a_claim_does(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    # The J3490 ketamine line: N4 + the 11-digit NDC + unit + quantity, and the narrative
    # naming drug, strength and dose, in every form of the superbill.
    bill = build_superbill(request_, estimate, start=date(2027, 1, 1), end=date(2027, 1, 31))
    rows = [r for r in csv.DictReader(io.StringIO(render_superbill_csv(bill))) if r["code"]]
    drug = [r for r in rows if r["code"] == "J3490"]
    assert len(drug) == 6  # the six package infusions
    assert {
        (r["ndc"], r["ndc_qualifier"], r["ndc_unit"], r["ndc_quantity"], r["narrative"])
        for r in drug
    } == {
        (
            "00409-2051-05",
            "N4",
            "ML",
            "0.35",
            "Ketamine HCl 100 mg/mL inj, 35 mg IV over 40 min (0.5 mg/kg)",
        )
    }
    others = [r for r in rows if r["code"] != "J3490"]
    assert {(r["ndc"], r["ndc_qualifier"], r["narrative"]) for r in others} == {("", "", "")}
    page = html_text(render_superbill_html(bill))
    assert "NDC (N4, unit, quantity)" in page
    assert page.count("N400409205105 ML0.35") == 6
    assert "Ketamine HCl 100 mg/mL inj, 35 mg IV over 40 min (0.5 mg/kg)" in page
    pdf = pdf_text(render_superbill_pdf(bill))
    assert pdf.count("N400409205105 ML0.35") == 6
    # the JSON carries the parts, the NDC in its claim form
    line = next(ln for ln in json.loads(bill.model_dump_json())["lines"] if ln["code"] == "J3490")
    assert (line["ndc"], line["ndc_qualifier"], line["ndc_quantity"]) == (
        "00409-2051-05",
        "N4",
        "0.35",
    )


def test_superbill_of_a_superbill_request_shows_what_the_patient_paid(payers: Any) -> None:
    req, est = _superbill_request(payers)
    [line] = est.lines()
    # allowed min(250.00, 140% × 187.63 (90791 at Metropolitan Boston) = 262.68) = 250.00;
    # coinsurance 40% × 250.00 = 100.00; the plan pays back 250.00 - 100.00 = 150.00, so the
    # estimate's patient is 250 - 150.00 = 100.00.
    assert (line.patient, line.reimbursement) == (
        ketacost.Money("100.00"),
        ketacost.Money("150.00"),
    )
    bill = build_superbill(req, est)
    # The superbill shows what was paid to the clinic: the whole $250 self-pay price.
    assert [(ln.code, ln.charge, ln.paid) for ln in bill.lines] == [
        ("90791", ketacost.Money("250.00"), ketacost.Money("250.00"))
    ]
    assert bill.patient.member_id == "W123"  # from the coverage
    assert bill.balance_due == ketacost.Money("0.00")


def test_superbill_place_of_service_from_the_session(
    request_: ketacost.EstimateRequest, payers: Any
) -> None:
    plan = {
        "start": "2027-01-04",
        "phases": [{"session": "at-home-month", "sessions": 2, "every_weeks": 4}],
    }
    req, est = _with(request_, payers, plan=plan)
    bill = build_superbill(req, est)
    # telehealth in the patient's home (place of service 10), from the session
    assert {ln.place_of_service for ln in bill.lines} == {"10"}
    assert bill.lines[0].modifiers == ("95",)
    assert "99214,95," in render_superbill_csv(bill)
    assert all(ln.ndc is None and ln.ndc_text == "" for ln in bill.lines)  # no drug line


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"paid": {date(2027, 1, 6): ketacost.Money("1.00")}},
            r"paid names 2027-01-06, which has no visit",
        ),
        (
            {"paid": {date(2027, 1, 4): ketacost.Money("250.01")}},
            r"more than the visit's charge \(250\.00\)",
        ),
        ({"paid": {date(2027, 1, 4): 1.5}}, r"paid\[2027-01-04\]: .*float"),
        ({"start": date(2028, 1, 1)}, r"no visit of the estimate falls from 2028-01-01 to the end"),
    ],
)
def test_superbill_errors(
    request_: ketacost.EstimateRequest,
    estimate: ketacost.Estimate,
    kwargs: dict[str, Any],
    message: str,
) -> None:
    with pytest.raises(DocumentError, match=message):
        build_superbill(request_, estimate, **kwargs)


def test_superbill_is_never_dated_before_the_visits_it_lists_as_paid(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    # The defect (issue 16): the default date was the estimate's (2026-11-21), on a receipt
    # listing every visit of 2027 as paid.
    whole = build_superbill(request_, estimate)
    assert estimate.issued == date(2026, 11, 21)
    assert whole.issued == whole.lines[-1].date == estimate.visits[-1].date
    assert all(ln.date <= whole.issued for ln in whole.lines)
    # An issue date alone lists the visits given by that day: 2027-01-20 takes the intake
    # (01-04) and the six induction infusions (01-05 to 01-18), not the boosters (02-01 on).
    january = build_superbill(request_, estimate, issued=date(2027, 1, 20))
    assert january.issued == date(2027, 1, 20)
    assert {ln.date for ln in january.lines} == {
        date(2027, 1, d) for d in (4, 5, 7, 11, 13, 15, 18)
    }
    # An end after the issue date is refused, naming the visits and both ways out.
    with pytest.raises(DocumentError) as exc:
        build_superbill(request_, estimate, end=date(2027, 2, 10), issued=date(2027, 1, 20))
    assert str(exc.value) == (
        "the superbill is dated 2027-01-20, before the visit of 2027-02-01 it would list as "
        "paid; a superbill is issued on or after the services it lists: give an end date on or "
        "before 2027-01-20, or an issue date of 2027-02-01 or later"
    )
    with pytest.raises(DocumentError, match=r"before 2 of the visits \(2027-02-01 to 2027-03-01\)"):
        build_superbill(request_, estimate, end=date(2027, 3, 10), issued=date(2027, 1, 20))
    # Before any visit: nothing to list.
    with pytest.raises(
        DocumentError, match="no visit of the estimate falls from the start to 2026-12-01"
    ):
        build_superbill(request_, estimate, issued=date(2026, 12, 1))
    # Issued on the day of the last visit it lists is fine (a receipt at the end of a visit).
    same_day = build_superbill(request_, estimate, end=date(2027, 1, 18), issued=date(2027, 1, 18))
    assert same_day.lines[-1].date == same_day.issued


@pytest.mark.parametrize(
    ("patient", "message"),
    [
        ({"name": "Alex Example", "birth_date": "1988-04-12"}, r"at least one ICD-10 diagnosis"),
        ({"birth_date": "1988-04-12", "diagnoses": ["F33.2"]}, r"missing: patient\.name$"),
        ({"name": "A", "age": 30, "diagnoses": ["F33.2"]}, r"missing: patient\.birth_date$"),
    ],
)
def test_superbill_needs_patient_identity_and_diagnoses(
    request_: ketacost.EstimateRequest, payers: Any, patient: dict[str, Any], message: str
) -> None:
    req, est = _with(request_, payers, patient=patient)
    with pytest.raises(DocumentError, match=message):
        build_superbill(req, est)


# ---- the clinic fields the documents read ----------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"provider": "nobody"}, "sessions.s.provider", "no provider 'nobody' (known: none)"),
        (
            {"separately_scheduled": ["s"]},
            "sessions.s.separately_scheduled[0]",
            "cannot name itself",
        ),
        ({"separately_scheduled": ["x"]}, "sessions.s.separately_scheduled[0]", "no session 'x'"),
        (
            {"place_of_service": "2"},
            "sessions.s.place_of_service",
            "must match '^[0-9]{2}$' (got '2')",
        ),
    ],
)
def test_clinic_document_fields_are_checked(
    change: dict[str, Any], field: str, message: str
) -> None:
    data = b.clinic({"96365": "650.00"}, {"s": b.session(b.line("96365")) | change})
    with pytest.raises(ketacost.ClinicFileError) as exc:
        ketacost.clinic_from_data(data)
    assert exc.value.field == field
    assert message in str(exc.value)


# ---- properties -----------------------------------------------------------------------------


@given(case=gen.cases(self_pay=True), over=gen.signed_money("1000.00"))
def test_documents_account_for_every_dollar_of_a_self_pay_estimate(
    case: gen.Case, over: ketacost.Money
) -> None:
    data = dict(case.data)
    # A birth date replaces the generated age: an age that disagrees with the birth date is
    # refused (issue 11 §6; it used to be ignored silently).
    patient = {k: v for k, v in data["patient"].items() if k != "age"}
    data["patient"] = {**patient, "name": "P", "birth_date": "1980-02-29"}
    data.pop("issued")
    req = ketacost.request_from_data(data, payers=case.payers)
    est = ketacost.adjudicate(req, case.payers)
    # A GFE needs a diagnosis and comes before the first session; the superbill below is
    # made from the request as generated (it refuses one without a diagnosis).
    gfe_req = req.model_copy(
        update={"patient": req.patient.model_copy(update={"diagnoses": ("F33.2",)})}
    )
    gfe = build_gfe(gfe_req, est, issued=min(ISSUED, est.visits[0].date))
    in_period = [v for v in est.visits if v.date <= gfe.period_end]
    charges = sum(v.totals.charge.cents for v in in_period)
    # Items add up to their provider, providers and recurring phases to the GFE's total, and
    # that is every charge of the visits in its 12 months; the rest are counted as later.
    for p in gfe.providers:
        assert sum(i.expected_charge.cents for i in p.items) == p.expected_total.cents
    assert sum(p.expected_total.cents for p in gfe.providers) == gfe.total_expected.cents
    assert sum(r.expected_charge.cents for r in gfe.recurring) == charges
    assert gfe.total_expected.cents == charges
    assert sum(r.sessions for r in gfe.recurring) + gfe.later_sessions == len(est.visits)
    assert 364 <= (gfe.period_end - gfe.period_start).days <= 365  # 12 months, no more
    assert "Disclaimers" in render_gfe_html(gfe)
    # The $400 rule: a finding exactly when the bill is at least $400 above the estimate.
    billed = gfe.total_expected + over
    findings = compare_bill_to_gfe(gfe, FinalBill(totals={b.NPI: max(billed, ketacost.Money())}))
    assert bool(findings) == (
        max(billed, ketacost.Money()) - gfe.total_expected >= ketacost.Money("400.00")
    )
    # A superbill of the whole estimate: paid defaults to what the patient pays.
    bill = build_superbill(req, est) if req.patient.diagnoses else None
    if bill is not None:
        assert bill.total_charge == est.totals.charge
        assert bill.total_paid == est.totals.patient
        assert len(bill.lines) == sum(len(v.lines) for v in est.visits)
        assert bill.issued is not None and all(ln.date <= bill.issued for ln in bill.lines)
        rows = list(csv.DictReader(io.StringIO(render_superbill_csv(bill))))
        assert rows[-1]["charge"] == str(est.totals.charge)


@given(st.integers(1, 5), st.integers(0, 400))
def test_expected_visits_range_brackets_the_estimate(low_cut: int, extra: int) -> None:
    gfe = _SERIES_GFE
    planned = sum(r.sessions for r in gfe.recurring)
    low_n, high_n = max(1, planned - low_cut), min(planned + extra, 400)
    again = build_gfe(_SERIES[0], _SERIES[1], issued=ISSUED, expected_visits=(low_n, high_n))
    assert again.range is not None
    assert again.range.low <= again.range.expected == gfe.total_expected <= again.range.high


def test_good_faith_range_needs_unknowns(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    with pytest.raises(DocumentError, match=r"^the request lists no unknowns"):
        ketacost.good_faith_range(request_, estimate)
