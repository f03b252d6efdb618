"""Manufacturer savings (contract rule 12).

What a program pays of the patient's cost share on its drug lines, per calendar year, and how
a copay accumulator counts it.
"""

from __future__ import annotations

from datetime import date

from ketacost._estimate import AssistanceYear
from ketacost._payer import Payer
from ketacost._savings import SavingsProgram
from ketacost._types import builder

from . import _explain as explain
from ._coverage import value_on
from ._ledger import Accumulated, BillLine, money

__all__ = ["Assistance"]

_assistance_year = builder(AssistanceYear)


class Assistance:
    """A savings program's payments over the plan, by calendar year."""

    def __init__(self) -> None:
        self.used: dict[int, int] = {}
        self.exhausted: dict[int, tuple[int, date]] = {}  # (visit, date) it ran out
        self.program: dict[int, SavingsProgram] = {}
        self.cap: dict[int, int] = {}

    def pay(
        self,
        program: SavingsProgram,
        payer: Payer,
        lines: list[BillLine],
        number: int,
        on: date,
        accumulated: Accumulated,
    ) -> None:
        """Pay the patient's cost share on the visit's drug lines above the program's floor.

        It pays up to what is left of the calendar year's maximum.
        """
        drug = [line for line in lines if line.covered and line.code in program.codes]
        share = sum(line.cost_share for line in drug)
        if not share:
            return
        year = on.year
        floor = value_on(program.patient_pays, on, f"{program.id}.patient_pays").cents
        # One maximum per calendar year: the one in force on the year's first visit the
        # program considers (a maximum that changes mid-year applies from the next year).
        cap = self.cap.get(year)
        if cap is None:
            cap = value_on(program.annual_max, on, f"{program.id}.annual_max").cents
            self.cap[year] = cap
        used = self.used.get(year, 0)
        want = max(0, share - floor)
        give = min(want, max(0, cap - used))
        self.program.setdefault(year, program)
        if want and give == cap - used and year not in self.exhausted:
            self.exhausted[year] = (number, on)
        self.used[year] = used + give
        left = give
        for line in drug:
            cost = line.cost_share
            part = min(cost, left)
            left -= part
            line.assistance = part
            if part:
                remaining = cap - used - (give - left)
                line.note(explain.assistance_note, program.name, part, floor, remaining, cap, year)
            elif want and cost:
                line.note(explain.program_used_up_note, program.name, cap, year)
            if part and payer.copay_accumulator:
                _not_counted(line, part, payer, accumulated)

    def years(self) -> tuple[AssistanceYear, ...]:
        """One summary per calendar year the program paid in (or was used up)."""
        out = []
        for year in sorted(self.program):
            program = self.program[year]
            cap = self.cap[year]
            used = self.used.get(year, 0)
            gone = self.exhausted.get(year)
            out.append(
                _assistance_year(
                    {
                        "program_id": program.id,
                        "program_name": program.name,
                        "year": year,
                        "annual_max": money[cap],
                        "used": money[used],
                        "remaining": money[max(0, cap - used)],
                        "exhausted_visit": gone[0] if gone else None,
                        "exhausted_on": gone[1] if gone else None,
                    }
                )
            )
        return tuple(out)


def _not_counted(line: BillLine, part: int, payer: Payer, accumulated: Accumulated) -> None:
    """A copay accumulator.

    The program's money pays coinsurance first, then deductible, then copay; only the
    patient's own payments count toward the deductible and the maximum.
    """
    from_deductible = max(0, min(line.deductible, part - line.coinsurance))
    if line.accumulates == "pharmacy":
        accumulated.pharmacy_deductible -= from_deductible
        accumulated.pharmacy_out_of_pocket -= part
    else:
        line.credit_deductible -= from_deductible
        line.credit_out_of_pocket -= part
        accumulated.add(-from_deductible, -part)
    line.note(explain.copay_accumulator_note, payer.name, part)
