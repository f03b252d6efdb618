"""The visit memo: a visit repeats the lines of an earlier visit with the same key.

Three kinds of visit are remembered:

- a self-pay visit, keyed by its session, codes, charges and price;
- a visit of a session the plan has not covered so far, kept only when no line of it is
  covered, keyed by what prices it and the stretch between change dates it falls in
  (``CoverageInForce.stretch``);
- a visit of a session the plan has covered before, keyed as the one above and by what is
  left of the deductible when it starts: its cost share depends on nothing else, but for the
  out-of-pocket maximum, which caps a line only when the visit would add more than is left
  of it. A visit that added less than was left repeats whenever at least what it adds is
  left; one that reached the maximum repeats only with the same amount left
  (:meth:`Memo.get`, :meth:`Memo.keep`). Its lines move the accumulators by the same
  amounts each time.

A visit whose rules count visits against an approval (an authorization window, a visit or
unit count, an approval the request says is held) repeats only while every such approval is
in force with room for it (``CoverageInForce.authorizing``): its decisions are then the
rules' alone, and the repeat counts the visit and its units against the approvals as
deciding them would (``CoverageInForce.count``). A visit past an approval (ended, used up,
renewed, its renewal denied) is adjudicated afresh and never kept.

Never a visit under a session limit, a second payer, a superbill, the pharmacy benefit or
(for a covered session) a savings program.

A repeat differs from the visit it repeats only in its number, date and accumulators.

An optimisation only, like the session shapes the visit loop keeps per stretch between
change dates: a property test turns both off (``ENABLED = False``) and checks that no byte of
any estimate changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ketacost._estimate import Accumulators, EstimateLine, Totals
from ketacost._types import builder

from ._ledger import BillLine, snapshot

__all__ = [
    "COVERED",
    "ENABLED",
    "Memo",
    "MemoEntry",
    "credit_of",
    "credits",
    "replay",
    "statics",
]

#: Reuse the lines of an earlier visit with the same key.
ENABLED = True

#: The first item of a covered visit's key.
COVERED = "covered"

#: The fields of a result line that belong to its visit (the rest can repeat across visits).
_PER_VISIT = frozenset(
    {"visit", "date", "phase", "session", "accumulators_before", "accumulators_after"}
)

_line = builder(EstimateLine)


@dataclass(frozen=True, slots=True)
class MemoEntry:
    """A visit's outcome, to repeat.

    ``statics``: each result line's fields that repeat (none on the totals-only path);
    ``sums``: the visit's amounts in ``TOTAL_FIELDS`` order; ``credits``: what each line adds
    to the deductible and the out-of-pocket maximum met; ``wholly_not_covered``: an insured
    visit no line of which the plan covers.
    """

    statics: tuple[dict[str, object], ...]
    sums: list[int]
    totals: Totals
    credits: tuple[tuple[int, int], ...]
    wholly_not_covered: bool
    #: What the visit adds to the deductible and the out-of-pocket maximum met (the sums of
    #: ``credits``, added up once: a repeat adds them on every hit).
    credit: tuple[int, int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "credit", credit_of(self.credits))


def credits(lines: list[BillLine]) -> tuple[tuple[int, int], ...]:
    """What each billed line adds to the deductible and the out-of-pocket maximum met."""
    return tuple(
        (line.credit_deductible, line.credit_out_of_pocket) if line.covered else (0, 0)
        for line in lines
    )


def credit_of(credits: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    """What a visit adds to the deductible and the out-of-pocket maximum: its lines' sums."""
    return sum(c[0] for c in credits), sum(c[1] for c in credits)


class Memo:
    """Visits already priced, by key; and the sessions that were ever covered.

    A session ever covered is keyed with the accumulators (a covered line moves them).
    """

    def __init__(self) -> None:
        self.entries: dict[tuple[object, ...], MemoEntry] = {}
        self.covered_once: set[tuple[int, str, str]] = set()

    def get(self, key: tuple[object, ...] | None, oop_left: int | None = None) -> MemoEntry | None:
        """The visit kept under ``key``, if it holds with ``oop_left`` left of the maximum.

        A covered visit kept without a cap holds while what is left of the out-of-pocket
        maximum is at least what the visit adds to it (then no line of it reaches the cap);
        else the one kept with exactly ``oop_left`` left, if any (:meth:`keep`).
        """
        if key is None:
            return None
        found = self.entries.get(key)
        if oop_left is None or (found is not None and found.credit[1] <= oop_left):
            return found
        return self.entries.get((key, oop_left))

    def keep(self, key: tuple[object, ...], entry: MemoEntry, oop_left: int | None = None) -> None:
        """Keep a visit's outcome; ``oop_left``: what was left of the maximum when it began.

        A visit that added less than that reached no cap: kept for any amount left at least
        what it adds. One that added all of it may have been capped: kept for that amount.
        """
        if oop_left is not None and entry.credit[1] >= oop_left:
            key = (key, oop_left)
        self.entries[key] = entry


def statics(lines: list[EstimateLine]) -> tuple[dict[str, object], ...]:
    """The fields of each result line that repeat across visits."""
    return tuple({k: v for k, v in o.__dict__.items() if k not in _PER_VISIT} for o in lines)


def replay(
    entry: MemoEntry, number: int, on: date, phase: str, session: str, running: Accumulators
) -> list[EstimateLine]:
    """The remembered lines, for this visit, its accumulators moved from ``running``."""
    out = []
    ded_i, ded_f = running.deductible_individual.cents, running.deductible_family.cents
    oop_i, oop_f = running.out_of_pocket_individual.cents, running.out_of_pocket_family.cents
    for static, (ded, oop) in zip(entry.statics, entry.credits, strict=True):
        after = running
        if ded or oop:
            ded_i, ded_f, oop_i, oop_f = ded_i + ded, ded_f + ded, oop_i + oop, oop_f + oop
            after = snapshot(ded_i, ded_f, oop_i, oop_f)
        out.append(
            _line(
                {  # in field order: the JSON follows the dict's order
                    "visit": number,
                    "date": on,
                    "phase": phase,
                    "session": session,
                    **static,
                    "accumulators_before": running,
                    "accumulators_after": after,
                }
            )
        )
        running = after
    return out
