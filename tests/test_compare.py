"""ketacost.compare: variants of one request, ranked by what the patient pays."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ketacost
from ketacost.compare import Comparison, Variant, compare, variants

ROOT = Path(__file__).resolve().parent.parent
PAYERS = ketacost.load_payers(ROOT / "payers")
REQUEST = ketacost.load_request(
    ROOT / "examples" / "requests" / "esketamine-commercial.yaml", payers=PAYERS
)


@functools.cache
def direct(**coverage: object) -> ketacost.Totals:
    """The request estimated directly with ``coverage`` changed (kept: the property asks for
    the same few payers and networks thousands of times)."""
    data = REQUEST.model_dump()
    data["coverage"] = {**REQUEST.coverage.model_dump(exclude_unset=True), **coverage}
    data["coverage"].get("accumulators", {}).pop("sessions_used", None)
    return ketacost.estimate(ketacost.request_from_data(data, payers=PAYERS), payers=PAYERS).totals


# A Medigap plan pays only second: it is compared as a second payer (--secondary), never as one.
FIRST_PAYERS = sorted(p for p in PAYERS if PAYERS[p].kind != "medigap")
VARIANTS = [Variant(payer=p, network=n) for p in FIRST_PAYERS for n in ("in", "out")] + [
    Variant(session="esketamine-56"),
    Variant(start=date(2026, 3, 2)),
]


@given(st.lists(st.sampled_from(VARIANTS), min_size=1, max_size=5))
def test_rows_are_ranked_and_equal_direct_estimates(chosen: list[Variant]) -> None:
    result = compare(REQUEST, chosen, PAYERS)
    costs = [r.patient_cost for r in result.rows]
    assert costs == sorted(costs)
    assert [r.rank for r in result.rows] == list(range(1, len(chosen) + 1))
    assert sorted(r.label for r in result.rows) == sorted(v.describe() for v in chosen)
    for row in result.rows:
        v = row.variant
        if v.payer is not None:
            assert row.totals == direct(payer=v.payer, network=v.network)


def test_ties_keep_the_order_given() -> None:
    same = [Variant(label="first"), Variant(label="second"), Variant(label="third")]
    assert [r.label for r in compare(REQUEST, same, PAYERS).rows] == ["first", "second", "third"]


def test_session_and_start_variants_change_the_plan() -> None:
    row = compare(REQUEST, [Variant(session="esketamine-56", start=date(2026, 3, 2))], PAYERS).rows[
        0
    ]
    assert row.sessions == ("esketamine-56",) and row.start == date(2026, 3, 2)
    assert row.estimate is not None and row.estimate.visits[0].date == date(2026, 3, 2)


def test_variants_are_the_product_of_the_dimensions() -> None:
    vs = variants(payers=["self-pay", "commercial-ppo"], networks=["in", "out"])
    assert [(v.payer, v.network) for v in vs] == [
        ("self-pay", "in"), ("self-pay", "out"), ("commercial-ppo", "in"), ("commercial-ppo", "out"),
    ]  # fmt: skip
    assert variants() == [Variant()]


def test_json_round_trip_leaves_out_the_estimates() -> None:
    result = compare(REQUEST, variants(payers=["self-pay", "medicare-part-b"]), PAYERS)
    back = Comparison.model_validate_json(result.model_dump_json())
    assert back.rows[0].estimate is None
    assert [r.model_copy(update={"estimate": None}) for r in result.rows] == list(back.rows)


def test_bad_variants() -> None:
    with pytest.raises(ketacost.RequestFileError, match="the clinic has no session 'nope'"):
        compare(REQUEST, [Variant(session="nope")], PAYERS)
    with pytest.raises(ValueError, match="at least one variant"):
        compare(REQUEST, [], PAYERS)
