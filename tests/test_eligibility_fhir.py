"""The FHIR R4 CoverageEligibilityResponse reader: each response gives its snapshot.

tests/data/eligibility/fhir/<name>.json is a response; expected/<name>.json the snapshot it
must give (every figure with its JSON path). Bad inputs give one EligibilityError naming the
path; hypothesis: any JSON value reads or raises EligibilityError, nothing else.
"""

from __future__ import annotations

import contextlib
import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacost import EligibilityError, Money
from ketacost.eligibility import EligibilitySnapshot, read_eligibility, read_fhir

DATA = Path(__file__).resolve().parent / "data" / "eligibility" / "fhir"
RESPONSES = sorted(DATA.glob("*.json"))


def _load(name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return found


def test_there_are_at_least_five_responses() -> None:
    assert len(RESPONSES) >= 5


@pytest.mark.parametrize("path", RESPONSES, ids=lambda p: p.stem)
def test_each_response_gives_its_snapshot(path: Path) -> None:
    expected = EligibilitySnapshot.model_validate_json((DATA / "expected" / path.name).read_text())
    assert read_fhir(path.read_text()) == expected
    # the same from bytes, from parsed JSON, and through read_eligibility (not a 271)
    assert read_fhir(path.read_bytes()) == expected
    assert read_fhir(json.loads(path.read_text())) == expected
    assert read_eligibility(path.read_bytes()) == (expected,)


def _figure(snapshot: EligibilitySnapshot, **where: str) -> Money:
    found = [f for f in snapshot.accumulators if all(getattr(f, k) == v for k, v in where.items())]
    assert len(found) == 1, found
    return found[0].amount


def test_ppo_worked_example() -> None:
    snap = read_fhir(_load("ppo-in-and-out"))
    common = {"kind": "deductible", "network": "in", "level": "individual"}
    # allowedMoney 1,500.00 is the total; usedMoney 300.00 is met; remaining 1,500 − 300
    assert _figure(snap, **common, period="total") == Money("1500.00")
    assert _figure(snap, **common, period="met") == Money("300.00")
    assert _figure(snap, **common, period="remaining") == Money("1200.00")
    # out-of-pocket under Da Vinci PCT's code, family: 12,000.00 − 1,100.00 = 10,900.00
    oop = {"kind": "out_of_pocket", "network": "in", "level": "family"}
    assert _figure(snap, **oop, period="remaining") == Money("10900.00")
    remaining = next(f for f in snap.accumulators if f.period == "remaining")
    assert remaining.source.path == (
        "$.insurance[0].item[0].benefit[0].allowedMoney.value - usedMoney.value"
    )
    # copay-percent allowedUnsignedInt 40 is 40% out of network
    (coins,) = [c for c in snap.cost_shares if c.kind == "coinsurance"]
    assert (coins.network, coins.percent) == ("out", Decimal("0.4"))
    (auth,) = snap.authorizations
    assert (auth.service_type, auth.required) == ("MH", True)
    assert snap.plan_begin is not None and snap.plan_begin.isoformat() == "2026-01-01"
    assert snap.member.member_id == "W123456789" and snap.member.last_name == "Rivera"


def test_network_not_said_is_unknown_never_in() -> None:
    snap = read_fhir(_load("network-not-said"))
    assert {f.network for f in snap.accumulators} == {"unknown"}
    # "out-of-pocket" is read as the out-of-pocket maximum (an alias)
    assert any(f.kind == "out_of_pocket" for f in snap.accumulators)


def test_second_insurance_is_another_payer_and_percent_strings() -> None:
    snap = read_fhir(_load("mental-health-carve-out"))
    (other,) = snap.other_payers
    assert other.name == "Spouse Employer PPO"
    assert other.source.path == "$.insurance[1].coverage"
    # allowedString "10%" is 0.1
    (coins,) = [c for c in snap.cost_shares if c.kind == "coinsurance"]
    assert coins.percent == Decimal("0.1")


def test_lifetime_terms_and_excluded_items() -> None:
    snap = read_fhir(_load("mid-year-plan"))
    assert {f.term for f in snap.accumulators} == {"service_year", "lifetime"}
    assert snap.messages == ("$.insurance[0].item[3]: excluded benefits, not read",)
    assert not any(c.service_type == "BB" for c in snap.cost_shares)


def _changed(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(_load("ppo-in-and-out"))
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


_BENEFIT = ("insurance", 0, "item", 0, "benefit", 0)

#: (input, the message it must give)
BAD: list[tuple[Any, str]] = [
    ("{", "FHIR $: not JSON"),
    (b"\xff\xfe", "FHIR $: not UTF-8 text (byte 0)"),
    ("[1, 2]", "FHIR $: expected a JSON object (got an array)"),
    ('{"a": NaN}', "FHIR $: not JSON (NaN is not a JSON number)"),
    ("[" * 100_000, "FHIR $: not JSON"),
    ({"resourceType": "Patient"}, "FHIR $.resourceType: expected CoverageEligibilityResponse"),
    ({}, "FHIR $.resourceType: expected CoverageEligibilityResponse (got null)"),
    (_changed(("status",), "cancelled"), "FHIR $.status: the response is cancelled"),
    (
        {
            **_changed(("outcome",), "error"),
            "error": [{"code": {"coding": [{"code": "72"}], "text": "Invalid member id"}}],
        },
        "FHIR $.error[0]: the payer answered with an error (72: Invalid member id)",
    ),
    (_changed(("outcome",), "error"), "FHIR $.outcome: the payer answered with an error"),
    (_changed(("insurance",), []), "FHIR $.insurance: no insurance in the response"),
    (_changed(("insurance",), {}), "FHIR $.insurance: expected an array (got an object)"),
    (_changed(("insurance", 0, "inforce"), False), "FHIR $.insurance[0].inforce: the coverage"),
    (_changed(("insurance", 0, "inforce"), "yes"), "$.insurance[0].inforce: expected a boolean"),
    (_changed(("insurance", 0, "item", 0), 7), "FHIR $.insurance[0].item[0]: expected an object"),
    (
        _changed((*_BENEFIT, "allowedMoney", "value"), "1500"),
        "FHIR $.insurance[0].item[0].benefit[0].allowedMoney.value: expected a number",
    ),
    (
        _changed((*_BENEFIT, "allowedMoney", "value"), -5),
        "allowedMoney.value: expected 0 to 10,000,000.00 (got -5.00)",
    ),
    (
        _changed((*_BENEFIT, "allowedMoney", "value"), Decimal("1500.005")),
        "allowedMoney.value: money has at most 2 decimal places",
    ),
    (
        _changed((*_BENEFIT, "allowedMoney", "currency"), "EUR"),
        "allowedMoney.currency: expected USD (got 'EUR')",
    ),
    (
        _changed((*_BENEFIT, "usedMoney", "value"), 1600),
        "FHIR $.insurance[0].item[0].benefit[0].usedMoney.value: used (1600.00) is above "
        "allowed (1500.00)",
    ),
    (
        _changed(("insurance", 0, "item", 2, "benefit", 1, "allowedUnsignedInt"), 120),
        "benefit[1].allowedUnsignedInt: expected a percent from 0 to 100 (got 120)",
    ),
    (
        _changed(("insurance", 0, "item", 2, "benefit", 1, "allowedUnsignedInt"), "forty"),
        "benefit[1].allowedUnsignedInt: expected a percent (got 'forty')",
    ),
    (_changed(("created",), "March 2"), "FHIR $.created: expected a date YYYY-MM-DD"),
    (
        {k: v for k, v in _load("ppo-in-and-out").items() if k != "created"},
        "FHIR $.created: no date the response speaks for",
    ),
    (_changed(("insurance", 0, "benefitPeriod"), []), "benefitPeriod: expected an object"),
    (_changed(("insurance", 0, "item", 0, "category"), 30), "category: expected a Codeable"),
    (12, "FHIR $: expected JSON text or a mapping (got int)"),
]


@pytest.mark.parametrize(("data", "message"), BAD, ids=[m[:50] for _, m in BAD])
def test_bad_input_gives_one_error_naming_the_path(data: Any, message: str) -> None:
    with pytest.raises(EligibilityError) as caught:
        read_fhir(data)
    assert message in str(caught.value)


def test_a_category_that_is_not_a_service_type_is_noted_not_read() -> None:
    data = _changed(("insurance", 0, "item", 3, "category"), {"coding": [{"code": "mental"}]})
    snap = read_fhir(data)
    assert (
        "$.insurance[0].item[3].category.coding[0].code: category 'mental' is not a"
        in (snap.messages[0])
    )


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3)
    | st.text(max_size=12)
    | st.sampled_from(["in", "out", "family", "deductible", "copay", "copay-percent", "USD"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=30,
)


@given(_JSON)
def test_any_json_value_reads_or_raises_eligibility_error(value: Any) -> None:
    for data in (value, json.dumps(value, default=str)):
        with contextlib.suppress(EligibilityError):
            read_fhir(data)


_KEYS = ["value", "currency", "allowedMoney", "usedMoney", "allowedUnsignedInt", "allowedString",
         "network", "unit", "term", "category", "benefit", "item", "inforce", "type", "coding",
         "code", "benefitPeriod", "start", "authorizationRequired", "excluded"]  # fmt: skip


def _paths(data: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [at] if at else []
    if isinstance(data, dict):
        for k, v in data.items():
            found += _paths(v, (*at, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found += _paths(v, (*at, i))
    return found


@given(st.data())
def test_a_response_with_any_value_replaced_reads_or_raises(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from([p.stem for p in RESPONSES]))
    response = _load(name)
    path = data.draw(st.sampled_from(_paths(response)))
    value = data.draw(_JSON | st.sampled_from(_KEYS))
    target: Any = response
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    try:
        snapshot = read_fhir(response)
    except EligibilityError:
        return
    for figure in snapshot.accumulators:
        assert figure.amount.cents >= 0
