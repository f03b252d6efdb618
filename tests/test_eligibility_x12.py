"""The X12 271 reader (issue 13): a corpus with the snapshots each file must give, worked
examples, bad input, and hypothesis properties (any bytes parse or raise EligibilityError; a
snapshot written out as a 271 reads back as itself).

The corpus (``tests/data/eligibility/x12/NAME.271``) was written from 005010X279A1's rules;
``NAME.expected.json`` beside each file is what it must give (the snapshots, or the error).
Regenerate after a deliberate change with ``python tests/test_eligibility_x12.py`` and check
the diff by hand.
"""

from __future__ import annotations

import doctest
import json
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketacost import EligibilityError, Money
from ketacost._errors import InvalidArgumentError
from ketacost._limits import MAX_X12_BYTES
from ketacost.eligibility import (
    AccumulatorFigure,
    AuthorizationNote,
    CostShareFigure,
    EligibilitySnapshot,
    Member,
    OtherPayer,
    Source,
    read_x12_271,
)
from ketacost.eligibility._x12_write import write_x12_271

CORPUS = Path(__file__).parent / "data" / "eligibility" / "x12"
FILES = sorted(CORPUS.glob("*.271"))


def _result(path: Path) -> Any:
    try:
        return [snapshot.model_dump(mode="json") for snapshot in read_x12_271(path.read_bytes())]
    except EligibilityError as error:
        return {"error": str(error)}


def _expected_path(path: Path) -> Path:
    return path.with_name(path.stem + ".expected.json")


def _read(name: str) -> tuple[EligibilitySnapshot, ...]:
    return read_x12_271((CORPUS / f"{name}.271").read_bytes())


def without_sources(snapshots: tuple[EligibilitySnapshot, ...]) -> list[dict[str, Any]]:
    """The snapshots as data with every ``source`` and the ``unmapped`` list dropped."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("source", "unmapped")}
        if isinstance(value, list | tuple):
            return [strip(item) for item in value]
        return value

    return [strip(snapshot.model_dump()) for snapshot in snapshots]


# -- the corpus ---------------------------------------------------------------------------


def test_the_corpus_has_the_files_the_issue_asks_for() -> None:
    assert len(FILES) >= 20
    assert all(_expected_path(path).exists() for path in FILES)


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_each_file_gives_its_expected_snapshots(path: Path) -> None:
    expected = json.loads(_expected_path(path).read_text())
    assert _result(path) == expected


@pytest.mark.parametrize(
    ("variant", "base"),
    [
        ("delimiters-pipe", "ppo-in-out"),  # | element, } repetition, ^ component
        ("delimiters-bang-one-line", "mental-health-carve-out"),  # ! and +, no line breaks
        ("newline-terminator", "two-subscribers"),  # the line break is the terminator
        ("crlf-between-segments", "dependent"),
        ("one-line", "remaining-only"),
    ],
)
def test_delimiters_and_line_breaks_do_not_change_what_is_read(variant: str, base: str) -> None:
    # Same segments, other delimiters: the same snapshots, the same segment positions.
    read_variant, read_base = _read(variant), _read(base)
    assert without_sources(read_variant) == without_sources(read_base)
    positions = [
        [figure.source.position for figure in snapshot.accumulators]
        for snapshot in (*read_variant, *read_base)
    ]
    assert positions[: len(read_variant)] == positions[len(read_variant) :]


# -- worked examples ----------------------------------------------------------------------


def test_ppo_in_and_out_of_network() -> None:
    [jane] = _read("ppo-in-out")
    assert (jane.payer_name, jane.payer_identifier) == ("ACME HEALTH PLAN", "60054")
    assert jane.member == Member(
        role="subscriber",
        first_name="JANE",
        last_name="DOE",
        member_id="W123456789",
        birth_date=date(1980, 5, 12),
    )
    assert (jane.active, jane.insurance_type, jane.plan_name) == (True, "C1", "ACME GOLD PPO 1500")
    # DTP*291*RD8*20260101-20261231 (plan), DTP*307*D8*20260115 (eligibility).
    assert (jane.plan_begin, jane.plan_end, jane.as_of) == (
        date(2026, 1, 1),
        date(2026, 12, 31),
        date(2026, 1, 15),
    )
    figures = {
        (f.kind, f.network, f.level, f.period): f.amount.cents // 100 for f in jane.accumulators
    }
    # In network (EB12 Y): individual deductible 1500, 900 remaining (so 600 met: apply's
    # arithmetic); family 3000, 2100 remaining; out-of-pocket 6000 (5150 remaining), family
    # 12000. Out of network (EB12 N): deductible 3000 with all 3000 remaining, OOP 12000.
    assert figures == {
        ("deductible", "in", "individual", "total"): 1500,
        ("deductible", "in", "individual", "remaining"): 900,
        ("deductible", "in", "family", "total"): 3000,
        ("deductible", "in", "family", "remaining"): 2100,
        ("out_of_pocket", "in", "individual", "total"): 6000,
        ("out_of_pocket", "in", "individual", "remaining"): 5150,
        ("out_of_pocket", "in", "family", "total"): 12000,
        ("deductible", "out", "individual", "total"): 3000,
        ("deductible", "out", "individual", "remaining"): 3000,
        ("out_of_pocket", "out", "individual", "total"): 12000,
    }
    # EB*A*IND*MH^A6*****0.2****Y: one coinsurance per service type, each from EB08.
    shares = [(s.kind, s.network, s.service_type, s.percent, s.amount) for s in jane.cost_shares]
    assert shares == [
        ("coinsurance", "in", "30", Decimal("0.2"), None),
        ("coinsurance", "out", "30", Decimal("0.4"), None),
        ("copay", "in", "98", None, Money("30.00")),
        ("coinsurance", "in", "MH", Decimal("0.2"), None),
        ("coinsurance", "in", "A6", Decimal("0.2"), None),
        ("coinsurance", "out", "MH", Decimal("0.4"), None),
        ("coinsurance", "out", "A6", Decimal("0.4"), None),
    ]
    assert jane.messages == ("COPAY APPLIES TO OFFICE VISITS WITH A SPECIALIST",)


def test_every_figure_says_which_segment_and_element_it_came_from() -> None:
    [jane] = _read("ppo-in-out")
    first = jane.accumulators[0]
    # ISA GS ST BHT HL NM1 PER HL NM1 HL TRN NM1 REF N3 N4 DMG INS DTP DTP EB*1 = 20, then
    # EB*C*IND*30***23*1500*****Y is segment 21.
    assert first.source == Source(
        format="x12-271", position=21, segment="EB*C*IND*30***23*1500*****Y", element="EB07"
    )
    assert first.source.where() == "segment 21 (EB*C*IND*30***23*1500*****Y), EB07"
    assert jane.cost_shares[0].source.element == "EB08"


def test_hdhp_family_aggregate_deductible() -> None:
    [robert] = _read("hdhp-family-aggregate")
    deductibles = [
        (f.level, f.period, f.term, f.amount) for f in robert.accumulators if f.kind == "deductible"
    ]
    # Aggregate: only the family figure. 6800 total; 1250.75 met (24 year to date) and
    # 5549.25 remaining (29): 1250.75 + 5549.25 = 6800.00.
    assert deductibles == [
        ("family", "total", "calendar_year", Money("6800.00")),
        ("family", "met", "other", Money("1250.75")),
        ("family", "remaining", "other", Money("5549.25")),
    ]


def test_medicare_part_b_deductible_remaining() -> None:
    [mary] = _read("medicare-part-b")
    assert mary.insurance_type == "MA"  # the first active EB's EB04 (Part A, then Part B)
    part_b = [(f.period, f.amount) for f in mary.accumulators]
    # Part B deductible 283.00 for 2026, 183.50 remaining: 99.50 met (283.00 - 183.50).
    assert part_b == [("total", Money("283.00")), ("remaining", Money("183.50"))]
    # The Part A deductible is per benefit period (EB06 26): not a figure, but not dropped.
    assert [source.segment for source in mary.unmapped] == ["EB*C*IND*30*MA**26*1736"]
    # The benefit year from DTP*291 RD8 beats the Part B entitlement date (DTP*291 D8).
    assert (mary.plan_begin, mary.plan_end) == (date(2026, 1, 1), date(2026, 12, 31))


def test_a_carve_out_is_a_benefit_administrator_not_a_second_payer() -> None:
    [anh] = _read("mental-health-carve-out")
    [administrator] = anh.other_payers
    assert administrator.relation == "benefit_administrator"
    assert administrator.service_types == ("MH", "A4", "A6", "A7", "A8", "AI")
    assert (administrator.name, administrator.identifier) == (
        "MINDWELL BEHAVIORAL HEALTH",
        "MWBH01",
    )


def test_other_coverage_with_and_without_a_name() -> None:
    [kim] = _read("commercial-other-coverage")
    assert [(p.relation, p.name, p.identifier, p.insurance_type) for p in kim.other_payers] == [
        ("other_payer", None, None, "C1"),
        ("other_payer", "SPOUSE EMPLOYER PLAN", "77777", "C1"),
    ]


def test_a_dependent_and_two_subscribers_are_one_snapshot_each_in_file_order() -> None:
    john, emily = _read("dependent")
    assert (john.member.role, emily.member.role) == ("subscriber", "dependent")
    assert emily.member.member_id is None  # NM1*03 carries no id of its own here
    assert not john.active  # the subscriber's loop has no EB: the dependent is the patient
    assert emily.active
    alice, carl = _read("two-subscribers")
    assert (alice.member.first_name, carl.member.first_name) == ("ALICE", "CARL")


def test_place_of_service_separates_copays() -> None:
    [dana] = _read("copay-by-place")
    assert [(s.kind, s.place_of_service, s.amount) for s in dana.cost_shares][:2] == [
        ("copay", "11", Money("30.00")),
        ("copay", "22", Money("75.00")),
    ]


def test_authorization_flags() -> None:
    [jordan] = _read("authorization-required")
    notes = [(n.service_type, n.network, n.required) for n in jordan.authorizations]
    assert notes == [
        ("A4", "in", True),
        ("A8", "in", True),
        ("A4", "out", True),
        ("A8", "out", True),
        ("A8", "in", None),  # EB11 U
        ("MH", "both", False),  # EB12 W
    ]


def test_network_not_said_is_unknown_never_in() -> None:
    [morgan] = _read("network-unknown")
    assert [f.network for f in morgan.accumulators] == ["both", "unknown"]
    assert [s.network for s in morgan.cost_shares] == ["unknown", "unknown"]


def test_time_periods() -> None:
    [pat] = _read("lifetime-and-terms")
    assert [(f.kind, f.period, f.term) for f in pat.accumulators] == [
        ("out_of_pocket", "total", "lifetime"),  # 32
        ("out_of_pocket", "remaining", "lifetime"),  # 33
        ("deductible", "total", "service_year"),  # 22
        ("deductible", "met", "other"),  # 24
        ("deductible", "total", "contract"),  # 25
        ("out_of_pocket", "total", "years"),  # 21
        ("deductible", "total", "visit"),  # 27
    ]


def test_what_the_mapping_does_not_use_is_listed_not_misread() -> None:
    [chris] = _read("unmapped-benefits")
    assert len(chris.accumulators) == 1
    assert not chris.cost_shares
    assert [source.segment for source in chris.unmapped] == [
        "EB*F*IND*A6***23***VS*20**Y",  # a limitation
        "EB*I**A7",  # non-covered
        "EB*C**30***23*1500*****Y",  # a deductible without a coverage level
        "EB*B*IND*98***27*30**VS*10**Y",  # a copay tied to a quantity
        "EB*B*IND*98***27*30*****Y*HC:90837",  # a copay for one procedure
        "EB*C*IND*30***34*100*****Y",  # a monthly deductible (EB06 34)
        "EB*CB**30",
    ]


def test_part_a_inactive_with_part_b_active_is_active() -> None:
    [ann] = _read("medicare-part-a-inactive")
    assert ann.active
    assert ann.insurance_type == "MB"
    assert [source.segment for source in ann.unmapped] == ["EB*6**30*MA"]


def test_the_docstring_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from ketacost.eligibility import _x12

    monkeypatch.chdir(Path(__file__).parent.parent)
    assert doctest.testmod(_x12, raise_on_error=True).attempted == 3  # three lines


# -- bad input ----------------------------------------------------------------------------

GOOD = (CORPUS / "remaining-only.271").read_text()


def _replace(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new, 1)


BAD: list[tuple[str, str | bytes, str]] = [
    ("empty", "", "271 segment 1: an X12 interchange starts with ISA (got '')"),
    ("not x12", "hello world", "an X12 interchange starts with ISA (got 'hel')"),
    ("binary", b"\x00\xff\xfe" * 50, "byte 1 is not text (not UTF-8)"),
    ("garbage after ISA", GOOD[:106] + "\x00\x01\x02~", "271 segment 2"),
    ("ISA short", GOOD[:50], "the ISA is 106 characters; the file has 50"),
    ("ISA06 too short", _replace("ACMEHEALTH     *", "ACMEHEALTH    *"), "ISA06 is 14 characters"),
    ("ISA06 too long", _replace("ACMEHEALTH     *", "ACMEHEALTH      *"), "ISA06 is 16"),
    (
        "element separator changed",
        GOOD[:3] + "|" + GOOD[4:],
        "with '|' as the element separator (its 4th character) it has 1",
    ),
    ("delimiters not distinct", _replace("*^*00501", "*~*00501"), "are not all different"),
    ("a letter as delimiter", _replace("*^*00501", "*A*00501"), "is a letter, digit or space"),
    ("4010", _replace("*^*00501", "*^*00401"), "ISA12 version '00401'"),
    (
        "segments end in another terminator than the ISA's",
        GOOD[:106] + GOOD[106:].replace("~", "'"),
        "271 segment 2: the file ends inside a segment",
    ),
    (
        "segments use another element separator than the ISA's",
        GOOD[:106] + GOOD[106:].replace("*", "|"),
        "271 segment 2 (GS|HB|",
    ),
    ("truncated in a segment", GOOD[: GOOD.index("EB*C")] + "EB*C*IN", "truncated"),
    ("truncated before SE", GOOD[: GOOD.index("SE*")], "has no SE: truncated"),
    ("truncated before IEA", GOOD[: GOOD.index("IEA")], "ends without IEA: truncated"),
    ("truncated before GE", GOOD[: GOOD.index("GE*")], "the group ends without GE: truncated"),
    ("a 270 group", _replace("GS*HB", "GS*HS"), "GS01 is HS: a 270 inquiry"),
    ("a 270 set", _replace("ST*271", "ST*270"), "ST01 is '270' (an eligibility inquiry"),
    ("a 270 BHT", _replace("*11*TRACE", "*13*TRACE"), "BHT02 is '13' (13 is a request: a 270)"),
    ("SE count", _replace("SE*", "SE*9"), "SE01 says 9"),
    ("unknown segment", _replace("DMG*", "XYZ*"), "XYZ is not a segment of a 271"),
    ("bad date", _replace("DMG*D8*19850505", "DMG*D8*19851332"), "DMG02 '19851332' is not a date"),
    ("bad amount", _replace("*29*412.5*", "*29*41x*"), "EB07 '41x' is not a number"),
    ("three decimals", _replace("*29*412.5*", "*29*412.505*"), "at most 2 decimal places"),
    ("negative", _replace("*29*412.5*", "*29*-5*"), "an amount is never negative"),
    ("huge", _replace("*29*412.5*", "*29*99999999999*"), "more than $10,000,000.00"),
    ("a percent as 20", _replace("*29*412.5*****Y", "***20****Y"), "EB08 '20': a percent"),
    ("insurance type", _replace("EB*1**30*C1", "EB*1**30*C1234"), "EB04 'C1234' is not an"),
    (
        "a long name",
        _replace("NM1*IL*1*PATEL", "NM1*IL*1*" + "P" * 101),
        "last_name: string should",
    ),
    ("unknown level", _replace("EB*C*IND", "EB*C*XYZ"), "EB02 'XYZ' is not a coverage level"),
    ("unknown network", _replace("412.5*****Y", "412.5*****Q"), "EB12 'Q'"),
    ("unknown period", _replace("***29*412.5", "***99*412.5"), "EB06 '99' is not a time period"),
    ("HL parent", _replace("HL*3*2*22", "HL*3*1*22"), "HL02 '1' must name the HL of level 21"),
    ("member name", _replace("NM1*IL", "NM1*03"), "NM101 '03': this loop's member is IL"),
    ("no member name", _replace("NM1*IL", "REF*IL"), "this HL has no subscriber (NM1*IL)"),
    ("LS without LE", _replace("EB*G", "LS*2120~EB*G"), "LS opens a 2120 loop that no LE closes"),
    ("MSG before EB", _replace("DMG*", "MSG*HI~DMG*"), "MSG before the loop's first EB"),
    ("a rejection", _replace("DMG*", "AAA*Y**72*C~DMG*"), "AAA03 '72', invalid/missing sub"),
    ("inactive", _replace("EB*1**30*C1", "EB*6**30*C1"), "EB01 6: coverage is inactive"),
]


@pytest.mark.parametrize(("data", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_one_clear_error_naming_the_segment(data: str | bytes, message: str) -> None:
    with pytest.raises(EligibilityError) as caught:
        read_x12_271(data)
    text = str(caught.value)
    assert message in text
    assert text.startswith("271 segment ") or text.startswith("271: ")


def test_the_segment_position_is_counted_from_the_isa() -> None:
    bad = _replace("*29*412.5*", "*29*41x*")
    with pytest.raises(EligibilityError, match=r"^271 segment 15 \(EB\*C\*IND\*30\*\*\*29\*41x"):
        read_x12_271(bad)


def test_a_file_over_the_limit_is_refused_at_once() -> None:
    huge = GOOD.encode() + b" " * (10 * 1024 * 1024)
    started = time.perf_counter()
    with pytest.raises(EligibilityError, match="at most 4,194,304"):
        read_x12_271(huge)
    assert time.perf_counter() - started < 1  # refused before it is read
    with pytest.raises(EligibilityError, match="at most 4,194,304"):
        read_x12_271("x" * (MAX_X12_BYTES + 1))


def test_a_large_batch_response_is_read_in_one_pass() -> None:
    # 2,000 subscribers (about 0.6 MB): every one read, in order.
    member = (
        "HL*{n}*2*22*0~NM1*IL*1*DOE*MEMBER{n}****MI*W{n:09}~DTP*307*D8*20260115~"
        "EB*1**30*C1~EB*C*IND*30***29*{n}*****Y~"
    )
    body = "".join(member.format(n=n) for n in range(3, 2003))
    head = GOOD[: GOOD.index("HL*3")]
    # SE01 counts ST..SE: the segments from ST to the first subscriber, the body, and SE.
    count = head[head.index("ST*") :].count("~") + body.count("~") + 1
    text = head + body + f"SE*{count}*0001~GE*1*101~IEA*1*000000101~"
    snapshots = read_x12_271(text)
    assert len(snapshots) == 2000
    assert snapshots[-1].accumulators[0].amount == Money("2002.00")


# -- the writer ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", [p for p in FILES if "error" not in _result(p)], ids=str)
def test_each_corpus_snapshot_writes_and_reads_back(path: Path) -> None:
    snapshots = read_x12_271(path.read_bytes())
    written = write_x12_271(snapshots)
    again = read_x12_271(written)
    assert without_sources(again) == without_sources(snapshots)
    assert write_x12_271(again) == written


def _snapshot(**changes: Any) -> EligibilitySnapshot:
    values: dict[str, Any] = {
        "format": "x12-271",
        "member": Member(role="subscriber", last_name="DOE"),
        "active": True,
        "as_of": date(2026, 1, 15),
    }
    values.update(changes)
    return EligibilitySnapshot(**values)


def _source() -> Source:
    return Source(format="x12-271", position=1)


@pytest.mark.parametrize(
    ("snapshots", "message"),
    [
        ((), "at least one snapshot"),
        ((_snapshot(format="fhir"),), "only a snapshot read from a 271"),
        (
            (_snapshot(member=Member(role="dependent")),),
            "a dependent is written under the subscriber",
        ),
        ((_snapshot(active=False, plan_name="GOLD"),), "written on active coverage"),
        ((_snapshot(messages=(" SPACED",)),), "spaces at an edge"),
        (
            (
                _snapshot(
                    accumulators=(
                        AccumulatorFigure(
                            kind="deductible",
                            network="in",
                            level="individual",
                            service_type="30",
                            period="met",
                            term="calendar_year",
                            amount=Money(1),
                            source=_source(),
                        ),
                    )
                ),
            ),
            "has no EB06 code",
        ),
    ],
)
def test_the_writer_refuses_what_a_271_cannot_say(
    snapshots: tuple[EligibilitySnapshot, ...], message: str
) -> None:
    with pytest.raises(InvalidArgumentError, match=message):
        write_x12_271(snapshots)


# -- properties ---------------------------------------------------------------------------

# Strategies are built once (module constants): building one inside a draw costs more than
# the draw (see tests/strategies.py).
_TEXT = (
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-*|~^:!&'/",
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(bool)
)
_OPTIONAL_TEXT = st.none() | _TEXT
_CODE = st.text(alphabet="ABCDEFGHJKMNPQRSTUVWXYZ0123456789", min_size=1, max_size=2)
_NETWORK = st.sampled_from(["in", "out", "both", "unknown"])
_LEVEL = st.sampled_from(["individual", "family"])
_MONEY = st.integers(min_value=0, max_value=1_000_000_000).map(Money.from_cents)
_RATE = st.decimals(min_value=0, max_value=1, places=4)
_DATE = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))
_OPTIONAL_DATE = st.none() | _DATE
#: The (period, term) pairs a 271 can say (EB06 23, 22, 25, 21, 32, 27, 24, 29, 33).
_PERIOD_TERMS = st.sampled_from(
    [
        ("total", "calendar_year"),
        ("total", "service_year"),
        ("total", "contract"),
        ("total", "years"),
        ("total", "lifetime"),
        ("total", "visit"),
        ("met", "other"),
        ("remaining", "other"),
        ("remaining", "lifetime"),
    ]
)
_SOURCE = Source(format="x12-271", position=1)
_PLACE = st.none() | st.sampled_from(["11", "22", "02"])


def _accumulator(kind: str, period_term: tuple[str, str], **values: Any) -> AccumulatorFigure:
    period, term = period_term
    return AccumulatorFigure(kind=kind, period=period, term=term, source=_SOURCE, **values)  # type: ignore[arg-type]


def _cost_share(share: Money | Decimal, **values: Any) -> CostShareFigure:
    copay = isinstance(share, Money)
    return CostShareFigure(
        kind="copay" if copay else "coinsurance",
        amount=share if isinstance(share, Money) else None,
        percent=None if isinstance(share, Money) else share,
        source=_SOURCE,
        **values,
    )


_ACCUMULATOR = st.builds(
    _accumulator,
    kind=st.sampled_from(["deductible", "out_of_pocket"]),
    period_term=_PERIOD_TERMS,
    network=_NETWORK,
    level=_LEVEL,
    service_type=_CODE,
    amount=_MONEY,
    place_of_service=_PLACE,
)
_COST_SHARE = st.builds(
    _cost_share,
    share=_MONEY | _RATE,
    network=_NETWORK,
    level=_LEVEL,
    service_type=_CODE,
    per=st.sampled_from(["visit", "day", "other"]),
    place_of_service=_PLACE,
)
_AUTHORIZATION = st.builds(
    AuthorizationNote,
    service_type=_CODE,
    network=_NETWORK,
    required=st.none() | st.booleans(),
    source=st.just(_SOURCE),
)
_OTHER_PAYER = st.builds(
    OtherPayer,
    relation=st.sampled_from(["other_payer", "benefit_administrator"]),
    service_types=st.lists(_CODE, max_size=3).map(tuple),
    name=_OPTIONAL_TEXT,
    identifier=_OPTIONAL_TEXT,
    insurance_type=st.none() | st.sampled_from(["C1", "MB", "HN", "MC"]),
    source=st.just(_SOURCE),
)
_MEMBER_FIELDS = st.fixed_dictionaries(
    {
        "first_name": _OPTIONAL_TEXT,
        "last_name": _OPTIONAL_TEXT,
        "member_id": _OPTIONAL_TEXT,
        "birth_date": _OPTIONAL_DATE,
    }
)
#: Inactive coverage has no insurance type or plan name (a 271 says them on an active EB).
_COVERAGE = st.just({"active": False}) | st.fixed_dictionaries(
    {
        "active": st.just(True),
        "insurance_type": st.none() | st.sampled_from(["C1", "MB"]),
        "plan_name": _OPTIONAL_TEXT,
    }
)
_FIGURES = st.fixed_dictionaries(
    {
        "plan_begin": _OPTIONAL_DATE,
        "plan_end": _OPTIONAL_DATE,
        "as_of": _DATE,
        "accumulators": st.lists(_ACCUMULATOR, max_size=3).map(tuple),
        "cost_shares": st.lists(_COST_SHARE, max_size=2).map(tuple),
        "authorizations": st.lists(_AUTHORIZATION, max_size=2).map(tuple),
        "other_payers": st.lists(_OTHER_PAYER, max_size=2).map(tuple),
        "messages": st.lists(_TEXT, max_size=2).map(tuple),
    }
)
_PAYERS = st.lists(st.tuples(_OPTIONAL_TEXT, _OPTIONAL_TEXT), min_size=1, max_size=2)
_DEPENDENTS = st.lists(st.booleans(), min_size=1, max_size=3)


@st.composite
def _snapshots(draw: st.DrawFn) -> tuple[EligibilitySnapshot, ...]:
    """1-3 members of 1-2 payers; a dependent follows a subscriber, of its payer."""
    payers = draw(_PAYERS)
    snapshots: list[EligibilitySnapshot] = []
    for index, dependent in enumerate(draw(_DEPENDENTS)):
        role = "dependent" if index and dependent else "subscriber"
        payer = (
            (snapshots[-1].payer_name, snapshots[-1].payer_identifier)
            if role == "dependent"
            else payers[draw(st.integers(0, len(payers) - 1))]
        )
        snapshots.append(
            EligibilitySnapshot(
                format="x12-271",
                payer_name=payer[0],
                payer_identifier=payer[1],
                member=Member(role=role, **draw(_MEMBER_FIELDS)),
                **draw(_COVERAGE),
                **draw(_FIGURES),
            )
        )
    return tuple(snapshots)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(_snapshots())
def test_a_snapshot_written_as_a_271_reads_back_as_itself(
    snapshots: tuple[EligibilitySnapshot, ...],
) -> None:
    written = write_x12_271(snapshots)
    again = read_x12_271(written)
    assert without_sources(again) == without_sources(snapshots)
    assert write_x12_271(again) == written  # a fixed point, byte for byte


def _parses_or_refuses(data: bytes) -> None:
    """Snapshots, or one EligibilityError that names where (never another exception)."""
    message = ""
    try:
        snapshots = read_x12_271(data)
    except EligibilityError as error:
        message = str(error)
    else:
        assert snapshots
        assert all(isinstance(snapshot, EligibilitySnapshot) for snapshot in snapshots)
        return
    assert message.startswith("271")


@given(st.binary(max_size=400))
def test_any_bytes_parse_or_raise_eligibility_error(data: bytes) -> None:
    _parses_or_refuses(data)


_SEEDS = [path.read_bytes() for path in FILES[:6]]


@given(
    st.sampled_from(_SEEDS),
    st.lists(st.tuples(st.integers(min_value=0), st.binary(max_size=3)), min_size=1, max_size=4),
)
def test_any_edit_of_a_good_file_parses_or_raises_eligibility_error(
    seed: bytes, edits: list[tuple[int, bytes]]
) -> None:
    data = bytearray(seed)
    for at, replacement in edits:
        index = at % (len(data) + 1)
        data[index : index + len(replacement)] = replacement
    _parses_or_refuses(bytes(data))


if __name__ == "__main__":
    for path in FILES:
        _expected_path(path).write_text(json.dumps(_result(path), indent=1) + "\n")
    print(f"wrote {len(FILES)} expected files")


def test_an_eligibility_date_range_never_dates_the_figures() -> None:
    # DTP*307 as a range (RD8 20250101-20261231) is the span of eligibility: its start would
    # date the figures 2025-01-01 and the estimate would drop them at the 2026 plan year. The
    # figures are as of the response's date instead, BHT04 2026-03-02.
    example = Path(__file__).parents[1] / "examples" / "eligibility" / "commercial-ppo-271.x12"
    text = example.read_text(encoding="utf-8")
    assert "DTP*307*D8*20260302" in text
    (snapshot,) = read_x12_271(text.replace("DTP*307*D8*20260302", "DTP*307*RD8*20250101-20261231"))
    assert snapshot.as_of == date(2026, 3, 2)
