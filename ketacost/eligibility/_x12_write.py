"""Snapshots written back out as an X12 005010X279A1 271, for the round-trip property.

``write_x12_271(snapshots)`` writes one interchange (ISA/GS/ST..SE/GE/IEA) whose members are
the snapshots in order: consecutive snapshots of one payer share its 2000A loop, and each
dependent is written under the subscriber before it. The property (tests/test_eligibility_x12):

- ``without_sources(read_x12_271(write_x12_271(s))) == without_sources(s)``, where
  ``without_sources`` drops every figure's ``source`` and the snapshot's ``unmapped`` list
  (positions and segment texts are the written file's, not the original's);
- ``write_x12_271(read_x12_271(write_x12_271(s))) == write_x12_271(s)``: writing is a fixed
  point, byte for byte.

A snapshot the 271 cannot say (a FHIR snapshot, a dependent with no subscriber before it, a
deductible "met" for a term other than year to date) is refused with
:class:`~ketacost.InvalidArgumentError`, never written as something else.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Final

from ketacost._errors import InvalidArgumentError

from ._snapshot import (
    AccumulatorFigure,
    AuthorizationNote,
    CostShareFigure,
    EligibilitySnapshot,
    OtherPayer,
)
from ._x12_benefits import NETWORKS, PERIODS

__all__ = ["write_x12_271"]

#: Delimiters tried in order for each role (element, repetition, component, segment): the
#: first that appears in no written value is used. Values are printable, so the last choices
#: (the ASCII separator controls, which X12 allows) are always free.
_DELIMITER_CHOICES: Final = ("*|!\x1d", "^}+\x1f", ":>\\\x1e", "~'\x1c")
_EB06: Final[dict[tuple[str, str], str]] = {value: code for code, value in PERIODS.items()}
_EB12: Final = {"in": "Y", "out": "N", "both": "W", "unknown": ""}
_EB02: Final = {"individual": "IND", "family": "FAM"}
_PER: Final = {"visit": "27", "day": "7", "other": "26"}
_CONTROL: Final = "000000001"
assert set(_EB12) == set(NETWORKS.values())


def write_x12_271(snapshots: Sequence[EligibilitySnapshot]) -> str:
    """A 271 interchange that reads back (``read_x12_271``) to ``snapshots``.

    Raises:
        InvalidArgumentError: no snapshots, a FHIR snapshot, a dependent with no subscriber
            of the same payer before it, or a figure the 271 cannot express.
    """
    if not snapshots:
        raise InvalidArgumentError("write_x12_271 needs at least one snapshot")
    body = _body(snapshots)
    element, repetition, component, terminator = _delimiters(body)
    created = snapshots[0].as_of.strftime("%Y%m%d")
    transaction = [
        ["ST", "271", "0001", "005010X279A1"],
        ["BHT", "0022", "11", "KETACOST", created, "0000"],
        *body,
    ]
    transaction.append(["SE", str(len(transaction) + 1), "0001"])
    isa = [
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", "KETACOST".ljust(15), "ZZ",
        "KETACOST".ljust(15), created[2:], "0000", repetition, "00501", _CONTROL, "0", "P",
        component,
    ]  # fmt: skip
    segments = [
        isa,
        ["GS", "HB", "KETACOST", "KETACOST", created, "0000", "1", "X", "005010X279A1"],
        *transaction,
        ["GE", "1", "1"],
        ["IEA", "1", _CONTROL],
    ]
    return "".join(
        element.join(_joined(segment, repetition)).rstrip(element) + terminator + "\n"
        if segment[0] != "ISA"
        else element.join(segment) + terminator + "\n"
        for segment in segments
    )


def _joined(segment: list[str], repetition: str) -> list[str]:
    return [part.replace("\x00", repetition) for part in segment]


def _delimiters(body: list[list[str]]) -> tuple[str, str, str, str]:
    used = {char for segment in body for value in segment for char in value}
    element, repetition, component, terminator = (
        next(char for char in choices if char not in used) for choices in _DELIMITER_CHOICES
    )
    return element, repetition, component, terminator


def _body(snapshots: Sequence[EligibilitySnapshot]) -> list[list[str]]:
    body: list[list[str]] = []
    number = 0
    payer: tuple[str | None, str | None] | None = None
    receiver = ""
    subscriber: list[str] | None = None
    for snapshot in snapshots:
        if snapshot.format != "x12-271":
            raise InvalidArgumentError("only a snapshot read from a 271 is written as one")
        this_payer = (snapshot.payer_name, snapshot.payer_identifier)
        number += 1
        if snapshot.member.role == "dependent":
            if subscriber is None or this_payer != payer:
                raise InvalidArgumentError(
                    "a dependent is written under the subscriber before it, of the same payer"
                )
            subscriber[4] = "1"
            body.append(["HL", str(number), subscriber[1], "23", "0"])
        else:
            if this_payer != payer:
                payer = this_payer
                body.extend(_payer_loops(number, this_payer))
                receiver = str(number + 1)
                number += 2
            subscriber = ["HL", str(number), receiver, "22", "0"]
            body.append(subscriber)
        body.extend(_member(snapshot))
    _check_text(body)
    return body


def _check_text(body: list[list[str]]) -> None:
    """Values the reader gives back as they are: printable, no edge spaces, never empty."""
    for segment in body:
        for value in segment[1:]:
            if value != value.strip() or not value.replace("\x00", "").isprintable():
                raise InvalidArgumentError(
                    f"{segment[0]}: {value[:40]!r} has spaces at an edge or unprintable characters"
                )


def _payer_loops(number: int, payer: tuple[str | None, str | None]) -> list[list[str]]:
    name, identifier = payer
    nm1 = ["NM1", "PR", "2", name or ""]
    if identifier:
        nm1 += ["", "", "", "", "PI", identifier]
    return [
        ["HL", str(number), "", "20", "1"],
        nm1,
        ["HL", str(number + 1), str(number), "21", "1"],
        ["NM1", "1P", "2", "KETACOST", "", "", "", "", "XX", "1234567893"],
    ]


def _member(snapshot: EligibilitySnapshot) -> list[list[str]]:
    member = snapshot.member
    nm1 = [
        "NM1", "IL" if member.role == "subscriber" else "03", "1", member.last_name or "",
        member.first_name or "",
    ]  # fmt: skip
    if member.member_id:
        nm1 += ["", "", "", "MI", member.member_id]
    lines = [nm1]
    if member.birth_date:
        lines.append(["DMG", "D8", _date(member.birth_date)])
    if snapshot.plan_begin:
        lines.append(["DTP", "346", "D8", _date(snapshot.plan_begin)])
    if snapshot.plan_end:
        lines.append(["DTP", "347", "D8", _date(snapshot.plan_end)])
    lines.append(["DTP", "307", "D8", _date(snapshot.as_of)])
    lines.extend(_benefits(snapshot))
    return lines


def _benefits(snapshot: EligibilitySnapshot) -> list[list[str]]:
    if not snapshot.active and (snapshot.insurance_type or snapshot.plan_name):
        raise InvalidArgumentError("an insurance type or plan name is written on active coverage")
    lines: list[list[str]] = []
    if snapshot.active:
        lines.append(["EB", "1", "", "30", snapshot.insurance_type or "", snapshot.plan_name or ""])
    lines.extend(line for figure in snapshot.accumulators for line in _accumulator(figure))
    lines.extend(line for figure in snapshot.cost_shares for line in _cost_share(figure))
    code = "1" if snapshot.active else "D"
    lines.extend(_authorization(note, code) for note in snapshot.authorizations)
    lines.extend(line for payer in snapshot.other_payers for line in _other_payer(payer))
    if snapshot.messages:
        if not lines:
            lines.append(["EB", "D"])
        lines.extend(["MSG", message] for message in snapshot.messages)
    return lines


def _eb(
    code: str,
    level: str,
    service_types: Iterable[str],
    insurance_type: str = "",
    period: str = "",
    amount: str = "",
    percent: str = "",
    authorization: str = "",
    network: str = "",
) -> list[str]:
    return [
        "EB", code, level, "\x00".join(service_types), insurance_type, "", period, amount,
        percent, "", "", authorization, network,
    ]  # fmt: skip


def _accumulator(figure: AccumulatorFigure) -> list[list[str]]:
    period = _EB06.get((figure.period, figure.term))
    if period is None:
        raise InvalidArgumentError(
            f"a {figure.kind} {figure.period} for the term {figure.term} has no EB06 code"
        )
    code = "C" if figure.kind == "deductible" else "G"
    eb = _eb(
        code, _EB02[figure.level], [figure.service_type], period=period,
        amount=_number(figure.amount.amount), network=_EB12[figure.network],
    )  # fmt: skip
    return [eb, *_place(figure.place_of_service)]


def _cost_share(figure: CostShareFigure) -> list[list[str]]:
    copay = figure.kind == "copay"
    value = figure.amount.amount if copay and figure.amount is not None else figure.percent
    if value is None or (figure.percent if copay else figure.amount) is not None:
        raise InvalidArgumentError(
            "a copay has an amount and no percent; a coinsurance a percent and no amount"
        )
    eb = _eb(
        "B" if copay else "A", _EB02[figure.level], [figure.service_type],
        period=_PER[figure.per], amount=_number(value) if copay else "",
        percent="" if copay else _number(value), network=_EB12[figure.network],
    )  # fmt: skip
    return [eb, *_place(figure.place_of_service)]


def _authorization(note: AuthorizationNote, code: str) -> list[str]:
    flag = {True: "Y", False: "N", None: "U"}[note.required]
    return _eb(code, "", [note.service_type], authorization=flag, network=_EB12[note.network])


def _other_payer(payer: OtherPayer) -> list[list[str]]:
    code = "R" if payer.relation == "other_payer" else "U"
    lines = [_eb(code, "", payer.service_types, insurance_type=payer.insurance_type or "")]
    if payer.name or payer.identifier:
        nm1 = ["NM1", "PRP" if code == "R" else "VN", "2", payer.name or ""]
        if payer.identifier:
            nm1 += ["", "", "", "", "PI", payer.identifier]
        lines += [["LS", "2120"], nm1, ["LE", "2120"]]
    return lines


def _place(place: str | None) -> list[list[str]]:
    return [["III", "ZZ", place]] if place else []


def _number(value: object) -> str:
    """An X12 decimal: no insignificant zeros (``1500``, ``12.5``, ``0.2``)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _date(value: date) -> str:
    return value.strftime("%Y%m%d")
