"""The Medicare Physician Fee Schedule as Medicare computes it (issue 12 §1).

Amount per unit = (work RVU × work GPCI + PE RVU × PE GPCI + MP RVU × MP GPCI) × CF, rounded
half-up to the cent once (rounding point ``fee-schedule``).
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import ketacost
from ketacost._errors import PayerFileError
from ketacost._fee_schedule import NATIONAL_LOCALITY
from ketacost._fee_schedule_files import fee_schedule_from_data, load_fee_schedule
from ketacost._loader import load_clinic
from ketacost._yaml_parser import parse_yaml

ROOT = Path(__file__).resolve().parent.parent
PAYERS = ketacost.load_payers(ROOT / "payers")
SCHEDULE = PAYERS.fee_schedules["medicare-pfs-2026"]
BOSTON = "14212-01"
CLINIC = ROOT / "examples" / "clinics" / "example-clinic.yaml"


def test_2026_national_amounts_equal_cms_published_figures() -> None:
    """Acceptance: the national locality (every index 1.000), CF $33.4009 (CMS-1832-F).

    Published national non-facility amounts (domain.md §1.5, §10.2):
    99214 4.06 RVU → $135.61 (RVU26A PPRRVU2026_Jan_nonQPP); 90791 5.19 → $173.35 and 90792
    6.05 → $202.08 (RVU26A via PayerReady); G2082 28.52 → $952.59 and G2083 40.60 → $1,356.08
    (Neolytix, 2026).
    """
    published = {
        "99214": 13561,  # 4.06 × 33.4009 = 135.607654 → 135.61
        "90791": 17335,  # 5.19 × 33.4009 = 173.350671 → 173.35
        "90792": 20208,  # 6.05 × 33.4009 = 202.075445 → 202.08
        "G2082": 95259,  # 28.52 × 33.4009 = 952.593668 → 952.59
        "G2083": 135608,  # 40.60 × 33.4009 = 1,356.07654 → 1,356.08
    }
    assert SCHEDULE.conversion_factor == Decimal("33.4009")
    for code, cents in published.items():
        assert SCHEDULE.amount_cents(code, NATIONAL_LOCALITY, "11") == cents, code


def test_boston_worked_example() -> None:
    # 99214 at Metropolitan Boston (GPCIs 1.048 / 1.186 / 0.796), office (POS 11):
    # 1.92 × 1.048 = 2.01216; 2.00 × 1.186 = 2.37200; 0.14 × 0.796 = 0.11144; sum 4.49560
    # × 33.4009 = 150.1570860... → 150.16
    assert SCHEDULE.unrounded("99214", BOSTON, "11", Decimal("33.4009")) == Decimal("150.157086040")
    assert SCHEDULE.amount_cents("99214", BOSTON, "11") == 15016
    # G2082/G2083 are carrier-priced: the national amount stands in at Boston too.
    assert SCHEDULE.amount_cents("G2083", BOSTON, "11") == 135608


def test_facility_and_non_facility_rates() -> None:
    # 99214 facility: (1.92 + 0.47 + 0.14) × 33.4009 = 2.53 × 33.4009 = 84.5043 → 84.50
    for facility in ("19", "22", "02"):
        assert SCHEDULE.amount_cents("99214", NATIONAL_LOCALITY, facility) == 8450
    for office in ("11", "10"):
        assert SCHEDULE.amount_cents("99214", NATIONAL_LOCALITY, office) == 13561
    # No facility PE verified for 90791: no facility amount in the schedule.
    assert SCHEDULE.amount_cents("90791", NATIONAL_LOCALITY, "22") is None


def _estimate(payer_id: str, session: str, *, pos: str | None = None, locality: Any = BOSTON):
    clinic = load_clinic(CLINIC)
    sessions = dict(clinic.sessions)
    if pos is not None:
        sessions[session] = sessions[session].model_copy(update={"place_of_service": pos})
    clinic = clinic.model_copy(update={"sessions": sessions, "medicare_locality": locality})
    request = ketacost.request_from_data(
        {
            "patient": {"age": 70, "diagnoses": ["F33.2"], "failed_trials": 2},
            "coverage": {"payer": payer_id, "prior_authorization": "approved"},
            "clinic": clinic,
            "plan": {"start": "2026-03-02", "phases": [{"session": session, "sessions": 1}]},
        }
    )
    return ketacost.adjudicate(request, PAYERS)


def _allowed(estimate: ketacost.Estimate, code: str) -> ketacost.Money:
    return next(ln.allowed for ln in estimate.lines() if ln.code == code)


def test_the_session_place_of_service_decides_facility_in_an_estimate() -> None:
    # med-management-psychotherapy bills 99214 + 90833; at POS 22 (hospital outpatient) 99214
    # takes the facility PE: (1.92 × 1.048 + 0.47 × 1.186 + 0.14 × 0.796) × 33.4009 =
    # 2.68102 × 33.4009 = 89.5485 → 89.55
    office = _estimate("medicare-part-b", "med-management-psychotherapy")
    hospital = _estimate("medicare-part-b", "med-management-psychotherapy", pos="22")
    assert _allowed(office, "99214") == ketacost.Money("150.16")
    assert _allowed(hospital, "99214") == ketacost.Money("89.55")


def test_percent_of_medicare_follows_the_locality() -> None:
    # Medicare Advantage allows 100% of Medicare: 90792 at Boston (4.16 × 1.048 + 1.72 ×
    # 1.186 + 0.17 × 0.796) × 33.4009 = 6.53488 × 33.4009 = 218.27; national 202.08.
    boston = _estimate("medicare-advantage", "intake-prescriber")
    national = _estimate("medicare-advantage", "intake-prescriber", locality=None)
    assert _allowed(boston, "90792") == ketacost.Money("218.27")
    assert _allowed(national, "90792") == ketacost.Money("202.08")


def test_the_schedule_enters_the_rules_hash() -> None:
    request = _estimate("medicare-part-b", "intake")
    changed = SCHEDULE.model_copy(update={"conversion_factor": Decimal("33.5675")})
    other = ketacost.PayerLibrary(
        dict(PAYERS),
        programs=PAYERS.programs,
        fee_schedules={**PAYERS.fee_schedules, SCHEDULE.id: changed},
    )
    clinic = load_clinic(CLINIC)
    again = ketacost.adjudicate(
        ketacost.request_from_data(
            {
                "patient": {"age": 70, "diagnoses": ["F33.2"], "failed_trials": 2},
                "coverage": {"payer": "medicare-part-b"},
                "clinic": clinic,
                "plan": {"start": "2026-03-02", "phases": [{"session": "intake", "sessions": 1}]},
            }
        ),
        other,
    )
    assert again.rules_hash != request.rules_hash


def test_an_unknown_locality_is_an_error_naming_the_field() -> None:
    with pytest.raises(ketacost.EstimateError, match=r"clinic\.medicare_locality"):
        _estimate("medicare-part-b", "intake", locality="99999-99")


def test_a_request_file_naming_an_unknown_locality(tmp_path: Path) -> None:
    clinic = yaml.safe_load(CLINIC.read_text())
    clinic["medicare_locality"] = "99999-99"
    (tmp_path / "clinic.yaml").write_text(yaml.safe_dump(clinic))
    (tmp_path / "req.yaml").write_text(
        "patient: {age: 70}\ncoverage: {payer: medicare-part-b}\nclinic: clinic.yaml\n"
        "plan: {start: 2026-03-02, phases: [{session: intake, sessions: 1}]}\n"
    )
    with pytest.raises(ketacost.RequestFileError, match=r"clinic\.medicare_locality: Medicare "):
        ketacost.load_request(tmp_path / "req.yaml", payers=PAYERS)


def test_the_example_clinic_names_metropolitan_boston() -> None:
    clinic = load_clinic(CLINIC)
    assert clinic.medicare_locality == BOSTON
    assert SCHEDULE.localities[BOSTON].name == "Metropolitan Boston"
    assert len(SCHEDULE.localities) >= 13


@given(
    code=st.sampled_from(sorted(SCHEDULE.codes)),
    locality=st.sampled_from(sorted(SCHEDULE.localities)),
    place=st.sampled_from(["11", "10", "22"]),
    k=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("3"), places=2),
)
def test_fee_schedule_amounts_are_linear_in_the_conversion_factor(
    code: str, locality: str, place: str, k: Decimal
) -> None:
    # The unrounded amount is exactly linear in the CF; the rounded one is within half a
    # cent of it (one rounding, half-up).
    cf = SCHEDULE.conversion_factor
    base = SCHEDULE.unrounded(code, locality, place, cf)
    scaled = SCHEDULE.unrounded(code, locality, place, cf * k)
    if base is None:
        assert scaled is None
        return
    assert scaled == base * k
    rounded = SCHEDULE.model_copy(update={"conversion_factor": cf * k}).amount_cents(
        code, locality, place
    )
    assert rounded is not None
    assert abs(Decimal(rounded) / 100 - scaled) <= Decimal("0.005")


# ---- bad files ----------------------------------------------------------------------------
GOOD: dict[str, Any] = parse_yaml(
    (ROOT / "payers/fee-schedules/medicare-pfs-2026.yaml").read_text(), "s.yaml", PayerFileError
)[0]


def _bad(path: str, value: Any) -> dict[str, Any]:
    data: Any = copy.deepcopy(GOOD)
    keys = path.split(".")
    node = data
    for key in keys[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return dict(data)


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("conversion_factor", 0, "conversion_factor: "),
        ("conversion_factor", 33.4009, "conversion_factor: write rates exactly"),
        ("codes.99214.work", -1, "codes.99214.work: "),
        ("codes.99214.pe_facility", "x", "codes.99214.pe_facility: "),
        ("codes.99214.source", _DELETE, "codes.99214.source: "),
        ("codes.99214.carrier_priced", "yes", "codes.99214.carrier_priced: "),
        ("codes.99214.rvu", 1, "codes.99214.rvu: unknown key"),
        ("localities.14212-01.pe", 0, "localities.14212-01.pe: "),
        ("localities.14212-01.state", "Mass", "localities.14212-01.state: "),
        ("localities.00000-00.work", "1.1", "localities.00000-00: the national locality"),
        ("localities.00000-00", _DELETE, "localities: needs the national locality"),
        ("facility_places_of_service", ["22", "22"], "lists a place of service twice"),
        ("facility_places_of_service", ["2"], "facility_places_of_service[0]: must match"),
        ("year", 1900, "year: "),
    ],
)
def test_bad_schedule(path: str, value: Any, message: str) -> None:
    with pytest.raises(ketacost.PayerFileError) as info:
        fee_schedule_from_data(_bad(path, value))
    assert message in str(info.value)


def test_a_bad_locality_key_and_a_file_named_wrong(tmp_path: Path) -> None:
    data = dict(GOOD)
    data["localities"] = {**GOOD["localities"], "Boston": GOOD["localities"][BOSTON]}
    with pytest.raises(ketacost.PayerFileError, match=r"localities\.Boston"):
        fee_schedule_from_data(data)
    path = tmp_path / "other-name.yaml"
    path.write_text((ROOT / "payers/fee-schedules/medicare-pfs-2026.yaml").read_text())
    with pytest.raises(
        ketacost.PayerFileError, match=r"other-name.yaml:8:5: id: must equal the file name"
    ):
        load_fee_schedule(path)


def test_a_payer_naming_a_missing_schedule(tmp_path: Path) -> None:
    folder = tmp_path / "payers"
    (folder / "fee-schedules").mkdir(parents=True)
    text = (ROOT / "payers/medicare-part-b.yaml").read_text()
    (folder / "medicare-part-b.yaml").write_text(text)
    with pytest.raises(ketacost.PayerFileError) as info:
        ketacost.load_payers(folder)
    assert "networks.in.allowed.schedule: fee schedule 'medicare-pfs-2026' does not exist" in str(
        info.value
    )


def test_a_plain_mapping_of_payers_has_no_schedule() -> None:
    clinic = load_clinic(CLINIC)
    request = ketacost.request_from_data(
        {
            "patient": {"age": 70},
            "coverage": {"payer": "medicare-part-b"},
            "clinic": clinic,
            "plan": {"start": "2026-03-02", "phases": [{"session": "intake", "sessions": 1}]},
        }
    )
    with pytest.raises(ketacost.EstimateError, match="fee schedule 'medicare-pfs-2026' is not"):
        ketacost.adjudicate(request, dict(PAYERS))
    assert date(2026, 3, 2)  # the request's first date


def test_a_clinic_file_with_a_malformed_locality(tmp_path: Path) -> None:
    text = CLINIC.read_text().replace('medicare_locality: "14212-01"', "medicare_locality: Boston")
    path = tmp_path / "clinic.yaml"
    path.write_text(text)
    line = text[: text.index("medicare_locality")].count("\n") + 1
    with pytest.raises(ketacost.ClinicFileError) as info:
        load_clinic(path)
    assert str(info.value).startswith(f"{path}:{line}:20: medicare_locality: must match")


def test_a_payer_file_with_a_bad_schedule_key(tmp_path: Path) -> None:
    text = (ROOT / "payers/medicare-part-b.yaml").read_text()
    text = text.replace("schedule: {2025-01-01: medicare-pfs-2026}", "schedule: Medicare PFS")
    path = tmp_path / "medicare-part-b.yaml"
    path.write_text(text)
    with pytest.raises(ketacost.PayerFileError, match=r"networks\.in\.allowed\.schedule: "):
        ketacost.load_payer(path)
