"""Manufacturer savings (contract rule 12).

What a program pays of the patient's cost share on its drug lines, per calendar year, and how
a copay accumulator counts it.
"""

from __future__ import annotations

from datetime import date

from ketacost._dated import Dated
from ketacost._estimate import AssistanceYear
from ketacost._money import Money, cents_times_rate
from ketacost._payer import Payer
from ketacost._savings import SavingsProgram
from ketacost._types import builder

from . import _explain as explain
from ._coverage import value_on
from ._ledger import Accumulated, BillLine, money

__all__ = ["Assistance"]

_assistance_year = builder(AssistanceYear)


class _Offer:
    """One offer's payments over the plan, by calendar year.

    One maximum per year: the one in force on the year's first visit it considers (a maximum
    that changes mid-year applies from the next year).
    """

    def __init__(self, program_id: str, name: str) -> None:
        self.program_id, self.name = program_id, name
        self.used: dict[int, int] = {}
        self.cap: dict[int, int] = {}
        self.exhausted: dict[int, tuple[int, date]] = {}  # (visit, date) it ran out

    def pay(
        self,
        parts: list[tuple[BillLine, int]],
        floor: int,
        annual_max: Dated[Money],
        number: int,
        on: date,
    ) -> list[tuple[BillLine, int, int]]:
        """Pay ``parts`` (line, what of its cost share the offer covers) above ``floor``.

        Returns (line, paid, left of the maximum after it) for each line.
        """
        share = sum(part for _, part in parts)
        year = on.year
        cap = self.cap.get(year)
        if cap is None:
            cap = value_on(annual_max, on, f"{self.program_id}.annual_max").cents
            self.cap[year] = cap
        used = self.used.get(year, 0)
        want = max(0, share - floor)
        give = min(want, max(0, cap - used))
        if want and give == cap - used and year not in self.exhausted:
            self.exhausted[year] = (number, on)
        self.used[year] = used + give
        left, out = give, []
        for line, part in parts:
            paid = min(part, left)
            left -= paid
            out.append((line, paid, cap - used - (give - left)))
        return out

    def years(self) -> list[AssistanceYear]:
        out = []
        for year in sorted(self.cap):
            cap, used, gone = self.cap[year], self.used.get(year, 0), self.exhausted.get(year)
            out.append(
                _assistance_year(
                    {
                        "program_id": self.program_id,
                        "program_name": self.name,
                        "year": year,
                        "annual_max": money[cap],
                        "used": money[used],
                        "remaining": money[max(0, cap - used)],
                        "exhausted_visit": gone[0] if gone else None,
                        "exhausted_on": gone[1] if gone else None,
                    }
                )
            )
        return out


class Assistance:
    """A savings program's payments over the plan, by calendar year.

    The medication offer, and the observation rebate where the program has one.
    """

    def __init__(self) -> None:
        self.offers: dict[str, _Offer] = {}

    def _offer(self, key: str, name: str) -> _Offer:
        found = self.offers.get(key)
        if found is None:
            found = self.offers[key] = _Offer(key, name)
        return found

    def pay(
        self,
        program: SavingsProgram,
        payer: Payer,
        lines: list[BillLine],
        number: int,
        on: date,
        accumulated: Accumulated,
        state: str,
    ) -> None:
        """Pay the patient's cost share on the visit's medication above the program's floor.

        The medication is the drug lines' cost share, and the medication share of a code that
        bundles the drug with the visit (G2082/G2083). Then the observation rebate pays the
        observation lines' cost share above its own floor, for residents of a state it does
        not exclude. Each offer pays up to what is left of its calendar year's maximum.
        """
        parts = []
        for line in lines:
            if not line.covered or not line.cost_share:
                continue
            if line.code in program.codes:
                parts.append((line, line.cost_share))
            elif line.code in program.bundled:
                rate = value_on(program.bundled[line.code], on, f"{program.id}.bundled")
                # The named rounding point ``savings-bundled``: half-up, per line.
                parts.append((line, cents_times_rate(line.cost_share, rate)))
        if parts:
            floor = value_on(program.patient_pays, on, f"{program.id}.patient_pays").cents
            offer = self._offer(program.id, program.name)
            for line, paid, left in offer.pay(parts, floor, program.annual_max, number, on):
                self._paid(line, paid, left, program.name, floor, offer, on, payer, accumulated)
        rebate = program.observation
        if rebate is None or state in rebate.excluded_states:
            return
        parts = [
            (line, line.cost_share - line.assistance)
            for line in lines
            if line.covered and line.code in rebate.codes and line.cost_share > line.assistance
        ]
        if parts:
            floor_amount = value_on(
                rebate.patient_pays, on, f"{program.id}.observation.patient_pays"
            )
            name = f"{program.name} (observation rebate)"
            offer = self._offer(f"{program.id}:observation", name)
            rebate_floor = floor_amount.cents
            for line, paid, left in offer.pay(parts, rebate_floor, rebate.annual_max, number, on):
                self._paid(line, paid, left, name, rebate_floor, offer, on, payer, accumulated)

    @staticmethod
    def _paid(
        line: BillLine,
        paid: int,
        left: int,
        name: str,
        floor: int,
        offer: _Offer,
        on: date,
        payer: Payer,
        accumulated: Accumulated,
    ) -> None:
        cap = offer.cap[on.year]
        line.assistance += paid
        if paid:
            line.note(explain.assistance_note, name, paid, floor, left, cap, on.year)
        elif offer.used.get(on.year, 0) >= cap:
            line.note(explain.program_used_up_note, name, cap, on.year)
        if paid and payer.copay_accumulator:
            _not_counted(line, paid, payer, accumulated)

    def years(self) -> tuple[AssistanceYear, ...]:
        """One summary per offer and calendar year the program considered."""
        rows = [row for offer in self.offers.values() for row in offer.years()]
        return tuple(sorted(rows, key=lambda r: (r.year, r.program_id)))


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
