"""The PDF handed to the patient says what the HTML says (issue 14 §1).

The GFE for an insured patient's excluded infusions, with the patient's contact details, the due
date, the items billed to the plan listed as not part of it, each code's type, a pending
diagnosis, the separately-scheduled disclaimer directly above its list, and a re-issue's changes.
Text is read from the PDF's text layer (pypdfium2).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from _document_text import pdf_text

import ketacost
from ketacost.documents import build_gfe, reissue_gfe, render_gfe_pdf

ROOT = Path(__file__).resolve().parents[1]
IV_SELF_PAY = ROOT / "examples/requests/iv-series-self-pay.yaml"
IV_COMMERCIAL = ROOT / "examples/requests/iv-series-commercial.yaml"
CLINIC = ROOT / "examples/clinics/example-clinic.yaml"
ISSUED = date(2026, 11, 21)


@pytest.fixture(scope="module")
def payers() -> ketacost.PayerLibrary:
    return ketacost.load_payers()


def _data(path: Path, **patient: Any) -> dict[str, Any]:
    data = ketacost.load_request(path).model_dump(mode="json", exclude_unset=True)
    data["clinic"] = ketacost.load_clinic(CLINIC)
    data["patient"] = data["patient"] | patient
    return data


def test_an_insured_patients_gfe_pdf(payers: ketacost.PayerLibrary) -> None:
    request = ketacost.load_request(IV_COMMERCIAL, payers=payers)
    gfe = build_gfe(request, ketacost.estimate(request, payers=payers), issued=ISSUED)
    text = pdf_text(render_gfe_pdf(gfe))
    # Whom it is for: the items the patient pays for, not only the uninsured.
    assert "for the items you pay for yourself" in text
    assert "not covered by your plan" in text
    # The patient's contact details and preference (CMS-10791).
    assert "Mailing address 12 Sample Road" in text
    assert "Email jordan@example.org" in text
    assert "Contact preference email" in text
    # The clinic's contact person, on the convening provider's block.
    assert "Contact person Morgan Patel, billing coordinator, 617-555-0101" in text
    # Scheduled Fri 2026-11-20 for Tue 2027-01-05: due within 3 business days (Wed 11-25).
    assert "When it is due:" in text and "2026-11-25" in text
    # The intake is billed to the plan: listed as not part of this GFE, with the payer.
    assert "Not part of this Good Faith Estimate: items billed to your plan" in text
    assert "90791 (CPT)" in text
    # Each item's code type.
    assert "Code type" in text and "HCPCS" in text


def test_a_pending_diagnosis_pdf(payers: ketacost.PayerLibrary) -> None:
    data = _data(IV_SELF_PAY, diagnoses=[])
    request = ketacost.request_from_data(data, payers=payers)
    gfe = build_gfe(request, ketacost.estimate(request, payers=payers), issued=ISSUED)
    text = pdf_text(render_gfe_pdf(gfe))
    assert "Diagnosis codes Pending evaluation (the diagnosis will be made at the evaluation)" in (
        text
    )
    assert "none recorded" not in text


def test_the_separately_scheduled_disclaimer_sits_directly_above_its_list(
    payers: ketacost.PayerLibrary,
) -> None:
    request = ketacost.load_request(IV_SELF_PAY, payers=payers)
    gfe = build_gfe(request, ketacost.estimate(request, payers=payers), issued=ISSUED)
    assert gfe.separately_scheduled, "the example plan names items scheduled separately"
    text = pdf_text(render_gfe_pdf(gfe))
    heading = text.index("Items or services to be scheduled separately")
    disclaimer = text.index("Items scheduled separately.")
    table = text.index("Item or service Service codes Provider Related to", heading)
    # Heading, then the disclaimer, then the list, with nothing between disclaimer and list but
    # the disclaimer's own text.
    assert heading < disclaimer < table
    assert text[disclaimer:table].count(".") <= 4
    # Printed once: not again among the closing disclaimers.
    assert text.count("Items scheduled separately.") == 1


def test_a_reissued_gfe_pdf_lists_what_changed(payers: ketacost.PayerLibrary) -> None:
    request = ketacost.load_request(IV_SELF_PAY, payers=payers)
    first = build_gfe(request, ketacost.estimate(request, payers=payers), issued=ISSUED)
    data = _data(IV_SELF_PAY)
    boosters = data["plan"]["phases"][-1]
    boosters["sessions"] = boosters["sessions"] - 3
    changed = ketacost.request_from_data(data, payers=payers)
    gfe = reissue_gfe(
        first, changed, ketacost.estimate(changed, payers=payers), issued=date(2027, 1, 2)
    )
    assert gfe.reissue is not None
    text = pdf_text(render_gfe_pdf(gfe))
    assert "What changed from the Good Faith Estimate of" in text
    assert gfe.reissue.replaces.sha256 in text
    assert "re-priced" in text or "removed" in text
    assert f"due by {gfe.reissue.must_issue_by.strftime('%B')}" in text


def test_a_rescheduled_item_pdf_lists_the_dates(payers: ketacost.PayerLibrary) -> None:
    # Boosters every 4 weeks become every 3 weeks: the same count at the same price on other
    # dates, a "rescheduled" change whose dates taken off and added are printed.
    request = ketacost.load_request(IV_SELF_PAY, payers=payers)
    first = build_gfe(request, ketacost.estimate(request, payers=payers), issued=ISSUED)
    data = _data(IV_SELF_PAY)
    data["plan"]["phases"][-1]["every_weeks"] = 3
    changed = ketacost.request_from_data(data, payers=payers)
    gfe = reissue_gfe(
        first, changed, ketacost.estimate(changed, payers=payers), issued=date(2027, 1, 2)
    )
    assert gfe.reissue is not None
    moved = [c for c in gfe.reissue.changes if c.change == "rescheduled"]
    assert moved and moved[0].old_dates and moved[0].new_dates
    text = pdf_text(render_gfe_pdf(gfe))
    assert "rescheduled" in text
    assert f"dates taken off: {moved[0].old_dates[0].isoformat()}," in text
    assert f"dates added: {moved[0].new_dates[0].isoformat()}," in text
