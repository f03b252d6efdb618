"""X12 tokenising for the 271 reader: the ISA's delimiters, segments, and the envelope.

The ISA is fixed length (106 characters): the element separator is its 4th character, the
repetition separator ISA11, the component separator ISA16 and the segment terminator the
character after ISA16 (ASC X12 005010 ISA; 005010X279A1 appendix B). Line breaks between
segments (or none) are tolerated. Every segment keeps its position in the interchange (the
ISA is 1), so any figure or error can point at it.

The work is linear in the size of the input, and the input is bounded before anything is
read (:data:`~ketacost._limits.MAX_X12_BYTES`).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Final

from ketacost._errors import EligibilityError, escape_unprintable
from ketacost._limits import MAX_X12_BYTES

__all__ = ["Delimiters", "Segment", "error_at", "segments_of", "transactions"]

#: The widths of ISA01..ISA16 (ASC X12 005010 ISA segment).
_ISA_WIDTHS: Final = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
ISA_LENGTH: Final = 106
_SEGMENT_ID: Final = re.compile(r"[A-Z][A-Z0-9]{1,2}", re.ASCII)
#: Shown of a segment in a message.
_SHOWN: Final = 80


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The four separators an interchange declares in its ISA."""

    element: str
    repetition: str
    component: str
    segment: str


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: its position (ISA = 1), its elements (0 is the id) and its text."""

    position: int
    elements: tuple[str, ...]
    text: str

    @property
    def id(self) -> str:
        """The segment identifier (``EB``)."""
        return self.elements[0]

    def get(self, number: int) -> str:
        """Element ``number`` (``EB07`` is 7), ``""`` when absent."""
        return self.elements[number] if number < len(self.elements) else ""


def error_at(where: Segment | int | None, message: str) -> EligibilityError:
    """An :class:`EligibilityError` naming the segment: ``271 segment 14 (EB*C*...): ...``."""
    if isinstance(where, Segment):
        text = escape_unprintable(where.text)
        shown = text if len(text) <= _SHOWN else text[:_SHOWN] + "..."
        return EligibilityError(f"271 segment {where.position} ({shown}): {message}")
    if isinstance(where, int):
        return EligibilityError(f"271 segment {where}: {message}")
    return EligibilityError(f"271: {message}")


def _decode(data: str | bytes) -> str:
    if isinstance(data, str):
        if len(data) > MAX_X12_BYTES:
            raise error_at(None, _too_large(len(data)))
        return data
    if len(data) > MAX_X12_BYTES:
        raise error_at(None, _too_large(len(data)))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        # Name the segment: count the terminators before the bad byte when the ISA says one.
        terminator = data[105:106] if data[:3] == b"ISA" and len(data) > 105 else b""
        if terminator:
            position = data[: error.start].count(terminator) + 1
            raise error_at(
                position, f"byte {error.start} is not text (not UTF-8): not an X12 file"
            ) from None
        raise error_at(
            None, f"byte {error.start} is not text (not UTF-8): not an X12 file"
        ) from None


def _too_large(size: int) -> str:
    return (
        f"the file is {size:,} bytes; a 271 may be at most {MAX_X12_BYTES:,} "
        "(split a batch response into several files)"
    )


def _delimiters(text: str) -> Delimiters:
    """The delimiters the ISA declares, after checking its fixed layout."""
    if not text.startswith("ISA"):
        raise error_at(1, f"an X12 interchange starts with ISA (got {text[:3]!r})")
    if len(text) < ISA_LENGTH:
        raise error_at(1, f"the ISA is {ISA_LENGTH} characters; the file has {len(text)}")
    separator = text[3]
    elements = text[: ISA_LENGTH - 1].split(separator)
    if len(elements) != len(_ISA_WIDTHS) + 1:
        raise error_at(
            1,
            f"the ISA has {len(_ISA_WIDTHS)} elements in {ISA_LENGTH} characters; with "
            f"{separator!r} as the element separator (its 4th character) it has "
            f"{len(elements) - 1} in the first {ISA_LENGTH - 1}: wrong length or delimiters",
        )
    for number, (value, width) in enumerate(zip(elements[1:], _ISA_WIDTHS, strict=True), 1):
        if len(value) != width:
            raise error_at(
                1,
                f"ISA{number:02} is {len(value)} characters; it must be {width} (the ISA "
                f"is fixed length, {ISA_LENGTH} characters)",
            )
    found = Delimiters(separator, elements[11], elements[16], text[ISA_LENGTH - 1])
    _check_delimiters(found)
    if elements[12] != "00501":
        raise error_at(1, f"ISA12 version {elements[12]!r}: only 00501 (5010) is read")
    return found


def _check_delimiters(found: Delimiters) -> None:
    chosen = (found.element, found.repetition, found.component, found.segment)
    for name, char in zip(("element", "repetition", "component", "segment"), chosen, strict=True):
        if char.isalnum() or char == " ":
            raise error_at(1, f"the {name} separator {char!r} is a letter, digit or space")
    if len(set(chosen)) != len(chosen):
        raise error_at(1, f"the ISA's delimiters {''.join(chosen)!r} are not all different")


def segments_of(data: str | bytes) -> tuple[Delimiters, list[Segment]]:
    """The delimiters and the segments of an interchange, each checked to be one."""
    text = _decode(data).lstrip("\ufeff \t\r\n")
    found = _delimiters(text)
    pieces = text.split(found.segment)
    tail = pieces.pop().strip("\r\n \t")
    segments: list[Segment] = []
    for number, piece in enumerate(pieces, 1):
        segment = piece.strip("\r\n")
        if not segment and number > 1:
            raise error_at(number, "an empty segment (two segment terminators in a row)")
        elements = tuple(segment.split(found.element))
        item = Segment(number, elements, segment)
        if not _SEGMENT_ID.fullmatch(elements[0]):
            raise error_at(item, f"{elements[0][:10]!r} is not a segment identifier")
        segments.append(item)
    if tail:
        raise error_at(
            len(pieces) + 1,
            f"the file ends inside a segment ({escape_unprintable(tail[:40])!r} has no "
            f"terminator {found.segment!r}): truncated",
        )
    return found, segments


def _count(segment: Segment, number: int, what: str) -> int:
    value = segment.get(number)
    if not value.isdigit() or len(value) > 10:
        raise error_at(segment, f"{segment.id}{number:02} must be {what} (got {value!r})")
    return int(value)


def transactions(segments: list[Segment]) -> Iterator[list[Segment]]:
    """The ST..SE transaction sets of an interchange, checking the envelope.

    ISA/IEA, GS/GE and ST/SE must pair, with matching control numbers and counts; a missing
    trailer is a truncated file.
    """
    isa = segments[0]
    groups = 0
    index = 1
    while index < len(segments) and segments[index].id == "GS":
        index = yield from _group(segments, index)
        groups += 1
    if index >= len(segments):
        raise error_at(segments[-1], "the interchange ends without IEA: truncated")
    iea = segments[index]
    if iea.id != "IEA":
        raise error_at(iea, f"expected GS or IEA here (got {iea.id})")
    if groups == 0:
        raise error_at(iea, "the interchange holds no functional group (GS)")
    if _count(iea, 1, "the number of groups") != groups or iea.get(2) != isa.get(13):
        raise error_at(
            iea,
            f"IEA says {iea.get(1)} groups, control {iea.get(2)!r}; the file has "
            f"{groups}, control {isa.get(13)!r}",
        )
    if index + 1 < len(segments):
        raise error_at(segments[index + 1], "a segment after IEA")


def _group(segments: list[Segment], index: int) -> Generator[list[Segment], None, int]:
    gs = segments[index]
    if gs.get(1) != "HB":
        kind = "HS: a 270 inquiry" if gs.get(1) == "HS" else repr(gs.get(1))
        raise error_at(gs, f"GS01 is {kind}; a 271 eligibility response is HB")
    sets = 0
    index += 1
    while index < len(segments) and segments[index].id == "ST":
        end = _transaction_end(segments, index)
        yield segments[index : end + 1]  # read first: a problem inside comes before the count
        _check_trailer(segments[index], segments[end], end - index + 1)
        sets += 1
        index = end + 1
    if index >= len(segments):
        raise error_at(segments[-1], "the group ends without GE: truncated")
    ge = segments[index]
    if ge.id != "GE":
        raise error_at(ge, f"expected ST or GE here (got {ge.id})")
    if _count(ge, 1, "the number of transactions") != sets or ge.get(2) != gs.get(6):
        raise error_at(
            ge,
            f"GE says {ge.get(1)} transactions, control {ge.get(2)!r}; the group "
            f"has {sets}, control {gs.get(6)!r}",
        )
    return index + 1


def _check_trailer(st: Segment, se: Segment, counted: int) -> None:
    if _count(se, 1, "the segment count") != counted:
        raise error_at(se, f"SE01 says {se.get(1)} segments; ST..SE has {counted}")
    if se.get(2) != st.get(2):
        raise error_at(se, f"SE02 {se.get(2)!r} does not match ST02 {st.get(2)!r}")


def _transaction_end(segments: list[Segment], start: int) -> int:
    st = segments[start]
    if st.get(1) != "271":
        kind = " (an eligibility inquiry, not the response)" if st.get(1) == "270" else ""
        raise error_at(st, f"ST01 is {st.get(1)!r}{kind}; this reader reads 271 responses")
    for end in range(start + 1, len(segments)):
        segment = segments[end]
        if segment.id == "SE":
            return end
        if segment.id in ("ST", "GE", "IEA", "GS"):
            break
    last = segments[min(end, len(segments) - 1)] if start + 1 < len(segments) else st
    raise error_at(last, "the transaction set has no SE: truncated")
