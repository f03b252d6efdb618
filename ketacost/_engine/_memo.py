"""The visit memo: a visit priced without state repeats an earlier visit's lines.

A visit whose lines are all priced without touching any state (self-pay, or not covered by a
rule whose decision does not depend on the date) repeats the lines of an earlier visit with
the same key, but for its number, date and accumulators.

An optimisation only: a property test turns it off (``ENABLED = False``) and checks that no
byte of any estimate changes.
"""

from __future__ import annotations

from datetime import date

from ketacost._estimate import Accumulators, EstimateLine, Totals
from ketacost._types import builder

__all__ = ["ENABLED", "Memo", "MemoEntry"]

#: Reuse the lines of an earlier, identical, stateless visit.
ENABLED = True

#: The fields of a result line that belong to its visit (the rest can repeat across visits).
_PER_VISIT = frozenset(
    {"visit", "date", "phase", "session", "accumulators_before", "accumulators_after"}
)

_line = builder(EstimateLine)

#: (the lines' fields that repeat, the visit's sums in TOTAL_FIELDS order, its totals)
MemoEntry = tuple[list[dict[str, object]], list[int], Totals]


class Memo:
    """Visits already priced, by key; and the sessions that were ever covered.

    Those sessions are never keyed: a covered line moves accumulators.
    """

    def __init__(self) -> None:
        self.entries: dict[tuple[object, ...], MemoEntry] = {}
        self.covered_once: set[tuple[int, str, str]] = set()

    def get(self, key: tuple[object, ...] | None) -> MemoEntry | None:
        return self.entries.get(key) if key is not None else None

    def keep(
        self, key: tuple[object, ...], lines: list[EstimateLine], sums: list[int], totals: Totals
    ) -> None:
        statics = [{k: v for k, v in o.__dict__.items() if k not in _PER_VISIT} for o in lines]
        self.entries[key] = (statics, sums, totals)


def replay(
    entry: MemoEntry, number: int, on: date, phase: str, session: str, running: Accumulators
) -> list[EstimateLine]:
    """The remembered lines, for this visit."""
    return [
        _line(
            {  # in field order: the JSON follows the dict's order
                "visit": number,
                "date": on,
                "phase": phase,
                "session": session,
                **static,
                "accumulators_before": running,
                "accumulators_after": running,
            }
        )
        for static in entry[0]
    ]
