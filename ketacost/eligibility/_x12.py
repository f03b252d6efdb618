"""The X12 005010X279A1 271 reader: one :class:`EligibilitySnapshot` per member.

A focused reader, not a general X12 library (README, "Reading eligibility (X12 271)", says
why): :mod:`._x12_segments` splits the interchange by the delimiters its ISA declares and
checks the envelope; this module walks the loops of each transaction set and maps them:

- 2000A/2100A: the payer (``NM1*PR``); 2000B/2100B: the receiver (not used);
- 2000C/2100C the subscriber (``NM1*IL``), 2000D/2100D a dependent (``NM1*03``): ``DMG``
  birth date, ``DTP`` 291 plan, 346 plan begin, 347 plan end, 307 eligibility;
- 2110C/2110D: one loop per ``EB`` with its ``DTP``, ``MSG``, ``III``, ``HSD``, ``REF`` and
  2120 loops (``LS``/``LE`` around the ``NM1`` of another payer or administrator);
- ``AAA`` anywhere is a rejection: an :class:`~ketacost.EligibilityError` naming the segment
  and the reason code's meaning; inactive coverage (EB01 6, 7, 8 with no active EB01 1-5) too.

The mapping (time periods, coverage levels, networks) is in :mod:`._x12_benefits`. A benefit
segment the mapping does not turn into a figure is listed in ``snapshot.unmapped``, never
misread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pydantic import ValidationError

from ._snapshot import EligibilitySnapshot, Member
from ._x12_benefits import Benefit, BenefitMapper, parse_date, source_of
from ._x12_segments import Delimiters, Segment, error_at, segments_of, transactions

__all__ = ["read_x12_271"]

#: The segments a 005010X279A1 271 may hold inside a transaction set, after BHT.
_KNOWN = frozenset(
    {"HL", "AAA", "NM1", "PER", "REF", "N3", "N4", "PRV", "DMG", "INS", "HI", "DTP", "MPI"}
    | {"TRN", "EB", "HSD", "MSG", "III", "LS", "LE"}
)
_MEMBER_NAME = {"22": "IL", "23": "03"}
_PARENT_LEVEL = {"20": None, "21": "20", "22": "21", "23": "22"}


@dataclass
class _MemberLoop:
    """A 2000C or 2000D loop being read."""

    hl: Segment
    payer: tuple[str | None, str | None]
    name: Segment | None = None
    birth: Segment | None = None
    dates: list[Segment] = field(default_factory=list)
    benefits: list[Benefit] = field(default_factory=list)


@dataclass
class _Walk:
    """Where the walk through one transaction set is."""

    delimiters: Delimiters
    created: date
    levels: dict[str, str] = field(default_factory=dict)
    payers: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    level: str | None = None
    hl_id: str = ""
    member: _MemberLoop | None = None
    benefit: Benefit | None = None
    in_2120: Segment | None = None
    done: list[_MemberLoop] = field(default_factory=list)


def read_x12_271(text: str | bytes) -> tuple[EligibilitySnapshot, ...]:
    """One snapshot per member of a 271 response (each subscriber, each dependent), in order.

    Args:
        text: the interchange, as text or bytes (UTF-8); at most
            :data:`~ketacost._limits.MAX_X12_BYTES`.

    Raises:
        EligibilityError: the input is not a readable 271 (truncated, a 270, wrong delimiters,
            an ISA of the wrong length, not text), a rejection (``AAA``) or inactive coverage;
            the message names the segment: ``271 segment 14 (EB*6**30): ...``.

    Example:
        >>> from pathlib import Path
        >>> [snapshot] = read_x12_271(Path("tests/data/eligibility/x12/ppo-in-out.271").read_text())
        >>> snapshot.member.last_name, snapshot.accumulators[0].amount
        ('DOE', Money('1500.00'))
    """
    delimiters, segments = segments_of(text)
    snapshots: list[EligibilitySnapshot] = []
    for transaction in transactions(segments):
        snapshots.extend(_read_transaction(transaction, delimiters))
    if not snapshots:
        raise error_at(segments[-1], "the 271 holds no subscriber (no HL with HL03 22)")
    return tuple(snapshots)


def _read_transaction(segments: list[Segment], delimiters: Delimiters) -> list[EligibilitySnapshot]:
    bht = segments[1] if len(segments) > 2 else segments[-1]
    if bht.id != "BHT":
        raise error_at(bht, "a 271 has BHT right after ST")
    if bht.get(2) != "11":
        kind = " (13 is a request: a 270)" if bht.get(2) == "13" else ""
        raise error_at(bht, f"BHT02 is {bht.get(2)!r}{kind}; a 271 response has 11")
    walk = _Walk(delimiters, parse_date(bht, 4, bht.get(4)))
    for segment in segments[2:-1]:
        _step(walk, segment)
    if walk.in_2120 is not None:
        raise error_at(walk.in_2120, "LS opens a 2120 loop that no LE closes")
    _close_member(walk)
    return [_snapshot(member, walk) for member in walk.done]


def _step(walk: _Walk, segment: Segment) -> None:
    if segment.id not in _KNOWN:
        raise error_at(segment, f"{segment.id} is not a segment of a 271 (005010X279A1)")
    if segment.id == "AAA":
        raise _rejection(segment)
    if segment.id == "HL":
        _open_hl(walk, segment)
    elif walk.level is None:
        raise error_at(segment, "expected HL (the payer's loop 2000A) after BHT")
    elif walk.level == "20":
        if segment.id == "NM1":
            walk.payers[walk.hl_id] = (_text(segment.get(3)), _text(segment.get(9)))
    elif walk.level in ("22", "23"):
        _member_step(walk, segment)


def _open_hl(walk: _Walk, hl: Segment) -> None:
    if walk.in_2120 is not None:
        raise error_at(walk.in_2120, "LS opens a 2120 loop that no LE closes")
    _close_member(walk)
    number, parent, level = hl.get(1), hl.get(2), hl.get(3)
    if level not in _PARENT_LEVEL:
        raise error_at(hl, f"HL03 {level!r}: a 271 has levels 20, 21, 22 and 23")
    if not number or number in walk.levels:
        raise error_at(hl, f"HL01 {number!r} is empty or used twice")
    wanted = _PARENT_LEVEL[level]
    if (walk.levels.get(parent) if parent else None) != wanted:
        raise error_at(hl, f"HL02 {parent!r} must name the HL of level {wanted} above it")
    walk.levels[number] = level
    walk.payers[number] = walk.payers.get(parent, (None, None))
    walk.level, walk.hl_id, walk.benefit = level, number, None
    if level in _MEMBER_NAME:
        walk.member = _MemberLoop(hl, walk.payers[number])


def _close_member(walk: _Walk) -> None:
    if walk.member is not None:
        walk.done.append(walk.member)
        walk.member = None


def _member_step(walk: _Walk, segment: Segment) -> None:
    member = walk.member
    assert member is not None  # set with the level
    if walk.in_2120 is not None:
        if segment.id == "LE":
            walk.in_2120 = None
        elif segment.id == "NM1" and walk.benefit is not None:
            walk.benefit.entities.append(segment)
        return
    if segment.id == "EB":
        walk.benefit = Benefit(segment)
        member.benefits.append(walk.benefit)
    elif segment.id in ("LS", "LE"):
        if walk.benefit is None or segment.id == "LE":
            raise error_at(segment, f"{segment.id} outside a 2110 loop's 2120 loop")
        walk.in_2120 = segment
    elif walk.benefit is None:
        _member_detail(member, segment)
    else:
        walk.benefit.add(segment)


def _member_detail(member: _MemberLoop, segment: Segment) -> None:
    """A segment of loop 2100C/2100D (before the first EB)."""
    if segment.id == "NM1":
        wanted = _MEMBER_NAME[member.hl.get(3)]
        if segment.get(1) != wanted:
            raise error_at(segment, f"NM101 {segment.get(1)!r}: this loop's member is {wanted}")
        member.name = segment
    elif segment.id == "DMG":
        member.birth = segment
    elif segment.id == "DTP":
        member.dates.append(segment)
    elif segment.id in ("EB", "HSD", "MSG", "III"):
        raise error_at(segment, f"{segment.id} before the loop's first EB")


def _snapshot(member: _MemberLoop, walk: _Walk) -> EligibilitySnapshot:
    if member.name is None:
        role = "subscriber (NM1*IL)" if member.hl.get(3) == "22" else "dependent (NM1*03)"
        raise error_at(member.hl, f"this HL has no {role}")
    mapper = BenefitMapper(walk.delimiters)
    for benefit in member.benefits:
        try:
            mapper.add(benefit)
        except ValidationError as error:
            raise error_at(benefit.eb, _invalid(error)) from None
    mapper.refuse_inactive()
    dates = _member_dates(member, mapper)
    try:
        return EligibilitySnapshot(
            format="x12-271",
            payer_name=member.payer[0],
            payer_identifier=member.payer[1],
            member=_member(member),
            active=mapper.active,
            insurance_type=mapper.insurance_type,
            plan_name=mapper.plan_name,
            plan_begin=dates.begin,
            plan_end=dates.end,
            as_of=dates.as_of or walk.created,
            accumulators=tuple(mapper.accumulators),
            cost_shares=tuple(mapper.cost_shares),
            authorizations=tuple(mapper.authorizations),
            other_payers=tuple(mapper.other_payers),
            messages=tuple(mapper.messages),
            unmapped=tuple(source_of(segment) for segment in mapper.unmapped),
        )
    except ValidationError as error:
        raise error_at(member.name, _invalid(error)) from None


def _invalid(error: ValidationError) -> str:
    """The first problem pydantic found, in words (a value too long for the model)."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg'].lower()}"


def _member(member: _MemberLoop) -> Member:
    name = member.name
    assert name is not None
    birth = None
    if member.birth is not None:
        if member.birth.get(1) != "D8":
            raise error_at(member.birth, f"DMG01 {member.birth.get(1)!r}: expected D8")
        birth = parse_date(member.birth, 2, member.birth.get(2))
    return Member(
        role="subscriber" if member.hl.get(3) == "22" else "dependent",
        last_name=_text(name.get(3)),
        first_name=_text(name.get(4)),
        member_id=_text(name.get(9)),
        birth_date=birth,
    )


@dataclass
class _Dates:
    begin: date | None = None
    end: date | None = None
    as_of: date | None = None


def _member_dates(member: _MemberLoop, mapper: BenefitMapper) -> _Dates:
    """Plan dates and the date the response speaks for: loop 2100 first, then 2110.

    Within a level, DTP 346/347 (plan begin/end) win over a 291 (plan) range, which wins over
    a 291 single date (Medicare sends Part B's entitlement date as one, and the benefit
    year as a range). DTP 307 (eligibility) is ``as_of``, the start of its range when it is one.
    """
    found = _Dates()
    for segments in (member.dates, mapper.dates):
        ranked: list[tuple[int, date, date | None]] = []
        for dtp in segments:
            begin, end = _dtp(dtp)
            qualifier = dtp.get(1)
            if qualifier == "346":
                found.begin = found.begin or begin
            elif qualifier == "347":
                found.end = found.end or begin
            elif qualifier == "291":
                ranked.append((0 if end else 1, begin, end))
            elif qualifier == "307" and end is None:
                # A single eligibility date dates the figures; a range (RD8) is the span of
                # eligibility, whose start would date them in the past: BHT04 then.
                found.as_of = found.as_of or begin
        if ranked:
            _, begin, end = min(ranked, key=lambda item: item[0])
            found.begin, found.end = found.begin or begin, found.end or end
    return found


def _dtp(dtp: Segment) -> tuple[date, date | None]:
    form, value = dtp.get(2), dtp.get(3)
    if form == "D8":
        return parse_date(dtp, 3, value), None
    if form == "RD8":
        begin, dash, end = value.partition("-")
        if not dash:
            raise error_at(dtp, f"DTP03 {value!r}: RD8 is CCYYMMDD-CCYYMMDD")
        return parse_date(dtp, 3, begin), parse_date(dtp, 3, end)
    raise error_at(dtp, f"DTP02 {form!r}: expected D8 or RD8")


def _text(value: str) -> str | None:
    value = value.strip()
    return value or None


#: AAA03 reject reason codes (X12 element 901) a 271 uses (005010X279A1, loops 2100A-2110D).
_REASONS = {
    "04": "authorized quantity exceeded",
    "15": "required application data missing",
    "41": "authorization/access restrictions",
    "42": "unable to respond at current time",
    "43": "invalid/missing provider identification",
    "44": "invalid/missing provider name",
    "45": "invalid/missing provider specialty",
    "46": "invalid/missing provider phone number",
    "47": "invalid/missing provider state",
    "48": "invalid/missing referring provider identification number",
    "49": "provider is not primary care physician",
    "50": "provider ineligible for inquiries",
    "51": "provider not on file",
    "52": "service dates not within provider plan enrollment",
    "53": "inquired benefit inconsistent with provider type",
    "54": "inappropriate product/service ID qualifier",
    "55": "inappropriate product/service ID",
    "56": "inappropriate date",
    "57": "invalid/missing date(s) of service",
    "58": "invalid/missing date-of-birth",
    "60": "date of birth follows date(s) of service",
    "61": "date of death precedes date(s) of service",
    "62": "date of service not within allowable inquiry period",
    "63": "date of service in future",
    "64": "invalid/missing patient ID",
    "65": "invalid/missing patient name",
    "66": "invalid/missing patient gender code",
    "67": "patient not found",
    "68": "duplicate patient ID number",
    "69": "inconsistent with patient's age",
    "70": "inconsistent with patient's gender",
    "71": "patient birth date does not match that for the patient on the database",
    "72": "invalid/missing subscriber/insured ID",
    "73": "invalid/missing subscriber/insured name",
    "74": "invalid/missing subscriber/insured gender code",
    "75": "subscriber/insured not found",
    "76": "duplicate subscriber/insured ID number",
    "77": "subscriber found, patient not found",
    "78": "subscriber/insured not in group/plan identified",
    "79": "invalid participant identification",
    "80": "no response received - transaction terminated",
    "97": "invalid or missing provider address",
    "T4": "payer name or identifier missing",
}
_FOLLOW_UP = {
    "C": "please correct and resubmit",
    "N": "resubmission not allowed",
    "P": "please resubmit original transaction",
    "R": "resubmission allowed",
    "S": "do not resubmit; inquiry initiated to a third party",
    "W": "please wait 30 days and resubmit",
    "X": "please wait 10 days and resubmit",
    "Y": "do not resubmit; we will hand deliver",
}


def _rejection(aaa: Segment) -> Exception:
    code = aaa.get(3)
    meaning = _REASONS.get(code, "a code ketacost does not list")
    follow = _FOLLOW_UP.get(aaa.get(4))
    then = f"; follow-up {aaa.get(4)}: {follow}" if follow else ""
    return error_at(aaa, f"the payer rejected the request: AAA03 {code!r}, {meaning}{then}")
