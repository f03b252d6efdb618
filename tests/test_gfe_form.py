"""The HHS standard Good Faith Estimate's fields (CMS-10791) and the layout 149.610 asks for.

Patient contact details and preference, the provider's contact person, each service code's
type, what a dispute's outcome means, and the separately-scheduled disclaimer directly above
that list (45 CFR 149.610(c)(1)(vi)-(vii); domain.md §10.6).
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import _builders as b
import pytest
from _document_text import html_text

import ketacost
from ketacost.documents import build_gfe, render_gfe_html
from ketacost.documents._codes import code_type

ROOT = Path(__file__).resolve().parents[1]
IV_SELF_PAY = ROOT / "examples/requests/iv-series-self-pay.yaml"
IV_COMMERCIAL = ROOT / "examples/requests/iv-series-commercial.yaml"
CLINIC = ROOT / "examples/clinics/example-clinic.yaml"
ISSUED = date(2026, 11, 21)


def _request_data(**patient: Any) -> dict[str, Any]:
    data = ketacost.load_request(IV_SELF_PAY).model_dump(mode="json", exclude_unset=True)
    data["clinic"] = ketacost.load_clinic(CLINIC)
    data["patient"] = data["patient"] | patient
    return data


def test_patient_contact_details_on_the_gfe() -> None:
    payers = ketacost.load_payers()
    request = ketacost.load_request(IV_COMMERCIAL, payers=payers)
    gfe = build_gfe(request, ketacost.estimate(request, payers=payers), issued=ISSUED)
    p = gfe.patient
    assert (p.phone, p.email, p.contact_preference) == (
        "617-555-0142",
        "jordan@example.org",
        "email",
    )
    assert p.address is not None and p.address.zip == "02139"
    text = html_text(render_gfe_html(gfe))
    assert "Mailing address 12 Sample Road, Cambridge, MA 02139" in text
    assert "Phone 617-555-0142 Email jordan@example.org Contact preference email" in text


@pytest.mark.parametrize(
    ("patient", "field", "message"),
    [
        ({"phone": "555-0100"}, "patient.phone", "not a U.S. phone number"),
        ({"phone": 6175550100}, "patient.phone", "expected text (got 6175550100)"),
        ({"email": "jordan@example"}, "patient.email", "not an email address"),
        ({"email": "jor dan@example.org"}, "patient.email", "(got 'jor dan@example.org')"),
        ({"contact_preference": "fax"}, "patient.contact_preference", "'mail', 'email'"),
        (
            {"contact_preference": "mail"},
            "patient",
            "contact_preference is mail, but the patient has no address: give patient.address",
        ),
        ({"contact_preference": "email"}, "patient", "no email: give patient.email"),
        ({"contact_preference": "phone"}, "patient", "no phone: give patient.phone"),
        (
            {"address": {"line1": "1 A St", "city": "B", "state": "MA"}},
            "patient.address.zip",
            "required field is missing",
        ),
        (
            {"address": {"line1": "1 A St", "city": "B", "state": "Mass", "zip": "02139"}},
            "patient.address.state",
            "must match '^[A-Z]{2}$' (got 'Mass')",
        ),
    ],
)
def test_bad_patient_contact_details(patient: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ketacost.RequestFileError) as exc:
        ketacost.request_from_data(_request_data(**patient))
    assert message in str(exc.value)
    assert field in str(exc.value)


def _clinic(contact: Any) -> dict[str, Any]:
    return b.clinic({"96365": "650.00"}, {"s": b.session(b.line("96365"))}) | {"contact": contact}


def test_provider_contact_person_on_the_gfe() -> None:
    contact = {"name": "Pat Billing", "phone": "(617) 555-0100 x12", "email": "pat@example.org"}
    clinic = ketacost.clinic_from_data(_clinic(contact))
    data = b.request(
        clinic,
        [{"session": "s", "sessions": 2, "every_weeks": 1}],
        start="2027-03-01",
        payer_id="self-pay",
        patient={"name": "Sam", "birth_date": "1990-01-31"},
    )
    payers = ketacost.load_payers()
    request = ketacost.request_from_data(data, payers=payers)
    gfe = build_gfe(request, ketacost.estimate(request, payers=payers), issued=ISSUED)
    assert gfe.contact is not None and gfe.contact.name == "Pat Billing"
    assert "Contact person Pat Billing, (617) 555-0100 x12, pat@example.org" in html_text(
        render_gfe_html(gfe)
    )
    # Without one on the clinic, none on the GFE.
    bare = _clinic(None)
    del bare["contact"]
    data["clinic"] = ketacost.clinic_from_data(bare)
    request = ketacost.request_from_data(data, payers=payers)
    assert (
        build_gfe(request, ketacost.estimate(request, payers=payers), issued=ISSUED).contact is None
    )
    # The example clinic names its billing coordinator.
    assert build_gfe(*_self_pay(), issued=ISSUED).contact is not None


def _self_pay() -> tuple[ketacost.EstimateRequest, ketacost.Estimate]:
    request = ketacost.load_request(IV_SELF_PAY)
    return request, ketacost.estimate(request)


@pytest.mark.parametrize(
    ("contact", "field", "message"),
    [
        ({"name": "Pat"}, "contact", "give the contact person's phone or email"),
        ({"name": "", "phone": "617-555-0100"}, "contact.name", "at least 1 character"),
        ({"name": "Pat", "phone": "call me"}, "contact.phone", "not a U.S. phone number"),
        ({"name": "Pat", "email": "pat@"}, "contact.email", "not an email address"),
        ({"name": "Pat", "email": "pat@example.org", "fax": "1"}, "contact.fax", "unknown"),
        ("Pat Billing", "contact", "expected a mapping"),
    ],
)
def test_bad_clinic_contact_person(contact: Any, field: str, message: str) -> None:
    with pytest.raises(ketacost.ClinicFileError) as exc:
        ketacost.clinic_from_data(_clinic(contact))
    assert exc.value.field == field
    assert message.lower() in str(exc.value).lower()


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("90791", "CPT"),  # Category I: five digits
        ("0820T", "CPT"),  # Category III: four digits and T
        ("3725F", "CPT"),  # Category II: four digits and F
        ("0001U", "CPT"),  # PLA: four digits and U
        ("J3490", "HCPCS"),  # Level II: a letter and four digits
        ("G2082", "HCPCS"),
        ("S0013", "HCPCS"),
        ("0001A", "CPT"),  # Category I vaccine administration: four digits and A
        ("0002M", "CPT"),  # MAAA administrative code: four digits and M
        ("D0120", "CDT"),  # the ADA's dental codes, not HCPCS
        ("U0003", "HCPCS"),  # CMS's 2020 laboratory codes
        ("V2020", "HCPCS"),
        ("F1234", "other"),  # no Level II code begins with F, I, N or O
        ("I1234", "other"),
        ("N1234", "other"),
        ("O1234", "other"),
        ("W1234", "other"),  # W to Z: Level III local codes
        ("Z1234", "other"),
        ("0001B", "other"),
        ("9079", "other"),
        ("X-100", "other"),
    ],
)
def test_service_code_type_from_the_form_of_the_code(code: str, kind: str) -> None:
    assert code_type(code) == kind


def test_items_carry_their_code_type() -> None:
    gfe = build_gfe(*_self_pay(), issued=ISSUED)
    kinds = {(i.service_code, i.service_code_type) for p in gfe.providers for i in p.items}
    assert kinds == {("90791", "CPT"), ("96365", "CPT"), ("J3490", "HCPCS")}
    assert "96365 CPT" in html_text(render_gfe_html(gfe))


def test_dispute_outcome_sentence() -> None:
    gfe = build_gfe(*_self_pay(), issued=ISSUED)
    [dispute] = [d for d in gfe.disclaimers if d.id == "dispute"]
    assert (
        "If the dispute resolution entity agrees with you, you will pay the price on this Good "
        "Faith Estimate; if it disagrees with you and agrees with the provider or facility, you "
        "will pay the higher amount it decides, up to the amount billed."
    ) in dispute.text
    assert "up to the amount billed" in html_text(render_gfe_html(gfe))


def test_separately_scheduled_disclaimer_sits_directly_above_the_list() -> None:
    page = render_gfe_html(build_gfe(*_self_pay(), issued=ISSUED))
    section = page[page.index('<section id="separately-scheduled">') :]
    section = section[: section.index("</section>")]
    # The heading, then the disclaimer, then the list: nothing between the disclaimer and it.
    tags = re.findall(r"<(h2|p|table)\b[^>]*>", section)
    assert tags[:3] == ["h2", "p", "table"]
    disclaimer = re.search(r'<p class="disclaimer" id="separate-estimates">.*?</p>\s*', section)
    assert disclaimer is not None
    assert section[disclaimer.end() :].startswith('<table id="separately-scheduled-list">')
    assert "You will receive a separate Good Faith Estimate" in disclaimer.group(0)
    # Said once, not again among the other disclaimers.
    assert page.count('id="separate-estimates"') == 1
    assert page.index('id="separate-estimates"') < page.index('id="disclaimers"')


def test_taxonomy_and_place_of_service_reach_the_gfe() -> None:
    # The clinic's NUCC taxonomy (261QM0801X, mental health clinic) names the convening
    # provider; a provider's own (2084P0800X, psychiatry) names it. Each item says where it is
    # furnished: the session's place of service (02, telehealth) over the clinic's (11).
    data = _clinic(None)
    del data["contact"]
    data["taxonomy"] = "261QM0801X"
    data["providers"] = {
        "dr": {"name": "Dr. Ana Ruiz", "npi": "1245319599", "taxonomy": "2084P0800X"}
    }
    data["sessions"]["tele"] = b.session(b.line("96365")) | {
        "provider": "dr",
        "place_of_service": "02",
    }
    clinic = ketacost.clinic_from_data(data)
    request_data = b.request(
        clinic,
        [{"session": "s", "sessions": 2, "every_weeks": 1}],
        start="2027-03-01",
        payer_id="self-pay",
        patient={"name": "Sam", "birth_date": "1990-01-31"},
    )
    request_data["plan"]["phases"].append({"session": "tele", "sessions": 1, "every_weeks": 1})
    payers = ketacost.load_payers()
    request = ketacost.request_from_data(request_data, payers=payers)
    gfe = build_gfe(request, ketacost.estimate(request, payers=payers), issued=ISSUED)
    by_role = {p.role: p for p in gfe.providers}
    assert by_role["convening"].provider.taxonomy == "261QM0801X"
    assert by_role["co-provider"].provider.taxonomy == "2084P0800X"
    assert [i.place_of_service for i in by_role["convening"].items] == ["11"]
    assert [i.place_of_service for i in by_role["co-provider"].items] == ["02"]


@pytest.mark.parametrize(
    ("where", "taxonomy"),
    [
        ("taxonomy", "261QM0801"),  # nine characters
        ("taxonomy", "261qm0801x"),  # lower case
        ("taxonomy", "261QM0801Y"),  # does not end in X
        ("providers.dr.taxonomy", "psychiatry"),
    ],
)
def test_bad_taxonomy(where: str, taxonomy: str) -> None:
    data = _clinic(None)
    del data["contact"]
    if where == "taxonomy":
        data["taxonomy"] = taxonomy
    else:
        data["providers"] = {"dr": {"name": "Dr. Ana Ruiz", "npi": "1245319599"}}
        data["providers"]["dr"]["taxonomy"] = taxonomy
    with pytest.raises(ketacost.ClinicFileError) as exc:
        ketacost.clinic_from_data(data)
    assert exc.value.field == where
    assert f"must match '^[0-9]{{3}}[0-9A-Z]{{6}}X$' (got '{taxonomy}')" in str(exc.value)
