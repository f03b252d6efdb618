"""Prior authorization: the approvals that cover a rule's visits, and what they count.

An approval is the payer's first (``authorization_days`` from the first visit decided under
the rule or its group, or from the request's ``authorization_start``; at most
``authorization_visits`` visits) unless the request says the patient holds approvals for the
rule's codes or group (``authorizations``). A visit within an approval counts its date and
units against it; a visit no approval covers (past one, or between two held ones) is covered
by a payer that renews (``renewal_days``) unless the request says the renewal is denied, and
the renewal periods used become a warning, one per approval that ran out (issue 11 §3).

One :class:`Approvals` per coverage in force keeps what the visits counted so far.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import NamedTuple

from ketacost._payer import CoveredRule
from ketacost._request import Coverage, HeldAuthorization

__all__ = ["Approvals", "Counted"]

_STATUS_WORDS = {"denied": "denied", "pending": "pending", "not_requested": "not requested"}


class Approvals:
    """The approvals of one coverage, and what the visits decided so far counted on them."""

    def __init__(self, cov: Coverage, payer_name: str) -> None:
        self.cov = cov
        self.payer_name = payer_name
        self.auth_start: dict[str | int, date] = {}
        self.auth_visits: dict[tuple[str | int, int], set[date]] = {}  # dates per approval
        self.auth_units: dict[tuple[str | int, int], int] = {}  # units used per approval
        # Per approval that ran out: (how it ended, the first renewal's first day, the
        # renewal periods used: first -> last day).
        self.renewals: dict[tuple[str | int, int], tuple[str, date, dict[date, date]]] = {}
        # Per rule (by identity): the approvals held, and the approvals once their start is
        # known.
        self.held_by_rule: dict[int, list[tuple[int, HeldAuthorization]]] = {}
        self.lists: dict[int, list[_Approval]] = {}

    def authorizing(
        self, counting: Iterable[tuple[CoveredRule, int]], on: date
    ) -> tuple[Counted, ...] | None:
        """What deciding a visit's lines on ``on`` would count against approvals, or None.

        ``counting``: the rules of its lines that count visits against an approval, each with
        its line's units, whose other conditions the patient meets. None unless each is
        either not covered for want of an approval (none held, none approved) or covered by
        an approval in force with room for the visit and its units; an approval that has
        ended or is used up (a renewal, a denial) gives None. Counts nothing itself
        (:meth:`count` does, for a visit the memo repeats).
        """
        out: list[Counted] = []
        pending: dict[tuple[str | int, int], int] = {}
        for rule, n in counting:
            held = bool(self.held(rule))
            if not held and self.cov.prior_authorization != "approved":
                continue
            approvals = self.for_rule(rule, on, counting=False)
            approval, _ = self.approval_for(approvals, on, n, pending)
            if approval is None:
                return None
            pending[approval.key] = pending.get(approval.key, 0) + n
            out.append(Counted(None if held else approval.window, approval.key, n))
        return tuple(out)

    def count(self, counted: tuple[Counted, ...], on: date) -> None:
        """Count a repeated visit's lines against their approvals (what deciding would)."""
        for window, key, units in counted:
            if window is not None:
                self.auth_start.setdefault(window, on)
            self.auth_visits.setdefault(key, set()).add(on)
            self.auth_units[key] = self.auth_units.get(key, 0) + units

    def stateful(self, rule: CoveredRule) -> bool:
        """Whether a decision under ``rule`` depends on the date or on visits counted so far."""
        c = rule.conditions
        if not c.prior_authorization:
            return False
        return (
            c.authorization_days is not None
            or c.authorization_visits is not None
            or bool(self.held(rule))
        )

    def held(self, rule: CoveredRule) -> list[tuple[int, HeldAuthorization]]:
        """The authorizations the request says the patient holds for ``rule``, in order.

        Each with its place in the request's list (from 1): one approval for every rule of
        its group or codes, whichever rules see it.
        """
        found = self.held_by_rule.get(id(rule))
        if found is None:
            group = rule.conditions.authorization_group
            found = self.held_by_rule[id(rule)] = [
                (n, held)
                for n, held in enumerate(self.cov.authorizations, start=1)
                if (held.group is not None and held.group == group)
                or not set(held.codes).isdisjoint(rule.codes)
            ]
        return found

    def for_rule(self, rule: CoveredRule, on: date, counting: bool = True) -> list[_Approval]:
        """The approvals for ``rule``: those the request says are held, else the payer's first.

        A held approval without an end or a visit count takes the payer's initial length.
        The payer's first starts on the first visit decided under it (``counting``: this one,
        if none was before). Remembered per rule once its start is known.
        """
        found = self.lists.get(id(rule))
        if found is not None:
            return found
        c = rule.conditions
        window: str | int = c.authorization_group or id(rule)
        held = self.held(rule)
        if not held:
            first = self.auth_start.setdefault(window, on) if counting else (
                self.auth_start.get(window, on)
            )  # fmt: skip
            start = self.cov.authorization_start or first
            end = None if c.authorization_days is None else _last_day(start, c.authorization_days)
            initial = [
                _Approval(
                    (window, 0),
                    start,
                    end,
                    c.authorization_visits,
                    c.authorization_days,
                    None,
                    window,
                )
            ]
            if window in self.auth_start or self.cov.authorization_start is not None:
                self.lists[id(rule)] = initial
            return initial
        out = []
        for n, h in held:
            end, days = h.approved_to, None
            if end is None and h.visits is None and c.authorization_days is not None:
                end, days = _last_day(h.approved_from, c.authorization_days), c.authorization_days
            visits = h.visits if (h.visits is not None or h.approved_to is not None) else (
                c.authorization_visits
            )  # fmt: skip
            # one approval, one count, whichever rules (and windows) see it
            key = (_HELD, n)
            out.append(_Approval(key, h.approved_from, end, visits, days, h.units, window))
        found = self.lists[id(rule)] = sorted(out, key=lambda a: a.start)
        return found

    def problem(self, rule: CoveredRule, on: date, units: int) -> str | None:
        """Why no approval covers ``on``, or None (issue 11 §3: approvals renew).

        The approvals are those the request says the patient holds for the rule's codes or
        group, else the payer's initial one (``authorization_days`` from its start, at most
        ``authorization_visits`` visits). Past them, a payer that renews (``renewal_days``)
        covers the visit unless the request says the renewal is denied.
        """
        c, cov = rule.conditions, self.cov
        if not self.held(rule) and cov.prior_authorization != "approved":
            return f"prior authorization {_STATUS_WORDS[cov.prior_authorization]} (required)"
        if not self.stateful(rule):
            return None
        approvals = self.for_rule(rule, on)
        approval, last = self.approval_for(approvals, on, units)
        if approval is not None:
            self.auth_visits.setdefault(approval.key, set()).add(on)
            self.auth_units[approval.key] = self.auth_units.get(approval.key, 0) + units
            return None
        if last is None:
            return f"prior authorization starts {approvals[0].start.isoformat()}"
        counted = self.auth_visits.get(last.key, set())
        in_dates = last.end is None or on <= last.end
        units_out = last.units is not None and in_dates and (
            self.auth_units.get(last.key, 0) + units > last.units
        )  # fmt: skip
        used_up = units_out or (
            last.visits is not None and len(counted) >= last.visits and in_dates
        )
        if units_out:
            ended = (
                f"prior authorization for {last.units} units from {last.start.isoformat()} "
                f"is used up ({self.auth_units.get(last.key, 0)} used, {units} more billed)"
            )
        else:
            ended = _ended(last.start, None if used_up else last.end, last.visits, last.days)
        if not c.renewal_days:
            return ended
        if cov.authorization_renewal == "denied":
            return f"{ended}; its renewal is denied"
        self._renewal_on(last, c.renewal_days, on, ended, used_up)
        return None

    def approval_for(
        self,
        approvals: list[_Approval],
        on: date,
        units: int,
        pending: Mapping[tuple[str | int, int], int] | None = None,
    ) -> tuple[_Approval | None, _Approval | None]:
        """The approval that covers a visit on ``on``, and the last one begun that does not.

        The first is the approval in force on ``on`` with room for the visit and ``units``
        (or None); the second the last approval begun by ``on`` before it that has none.
        ``pending``: what a visit's earlier lines would count, not yet counted (units per
        approval; each of those approvals would also have counted this visit's date).
        """
        last: _Approval | None = None
        for approval in approvals:
            if on < approval.start:
                break
            counted = self.auth_visits.get(approval.key, ())
            within_visits = (
                approval.visits is None
                or on in counted
                or len(counted) < approval.visits
                or (pending is not None and approval.key in pending)
            )
            used_units = self.auth_units.get(approval.key, 0)
            if pending:
                used_units += pending.get(approval.key, 0)
            within_units = approval.units is None or used_units + units <= approval.units
            if (approval.end is None or on <= approval.end) and within_visits and within_units:
                return approval, last
            last = approval
        return None, last

    def _renewal_on(
        self, last: _Approval, lengths: tuple[int, ...], on: date, ended: str, used_up: bool
    ) -> None:
        """Remember the renewal period that covers ``on`` (for the estimate's warning).

        Per approval that ran out: an approval held for codes of two rules renews once.
        """
        first = on if used_up or last.end is None else last.end + timedelta(days=1)
        _, begin, periods = self.renewals.setdefault(last.key, (ended, first, {}))
        k = 0
        while True:
            length = lengths[min(k, len(lengths) - 1)]
            end = _last_day(begin, length)
            if on <= end or end == date.max:
                periods.setdefault(begin, end)
                return
            begin, k = end + timedelta(days=1), k + 1

    def checkpoint(self) -> tuple[object, ...]:
        """The state visits move (authorizations counted), to bill a visit again from here."""
        return (
            dict(self.auth_start),
            {k: set(v) for k, v in self.auth_visits.items()},
            dict(self.auth_units),
            {k: (a, b, dict(c)) for k, (a, b, c) in self.renewals.items()},
        )

    def restore(self, state: tuple[object, ...]) -> None:
        """Go back to a :meth:`checkpoint`."""
        start, visits, units, renewals = state
        self.auth_start = start  # type: ignore[assignment]
        self.auth_visits = visits  # type: ignore[assignment]
        self.auth_units = units  # type: ignore[assignment]
        self.renewals = renewals  # type: ignore[assignment]
        self.lists.clear()  # a start may be forgotten

    def renewal_warnings(self) -> list[str]:
        """One warning per approval that renewals extend, with the renewal periods used."""
        out = []
        for ended, _, periods in self.renewals.values():
            spans = ", ".join(
                f"{a.isoformat()} to {b.isoformat()}" for a, b in sorted(periods.items())
            )
            out.append(
                f"{self.payer_name}: {ended}; the later visits are estimated as covered under "
                f"renewals on documented response ({spans}); request each before it starts. "
                "If a renewal is denied, its visits are self-pay."
            )
        return out


class Counted(NamedTuple):
    """What a line covered under an approval counts.

    The payer's first approval's window (None for one the request says is held), the
    approval, and the units billed.
    """

    window: str | int | None
    approval: tuple[str | int, int]
    units: int


#: The first item of the key of an approval the request says is held (a group is a slug:
#: never this).
_HELD = "held approval"


class _Approval(NamedTuple):
    """One approval for a rule, and the rule's window (its group, else the rule).

    Its key for counting visits, first and last day, visits, length and units. The payer's
    first approval is keyed ``(window, 0)``; the approvals the request says are
    held, ``(_HELD, n)`` by their place in the request: one count for every rule that sees
    one, whatever its window. Renewals are kept per window.
    """

    key: tuple[str | int, int]
    start: date
    end: date | None
    visits: int | None
    days: int | None
    units: int | None
    window: str | int


def _last_day(start: date, days: int) -> date:
    """The last day of ``days`` days from ``start`` (the calendar's last day at most)."""
    try:
        return start + timedelta(days=days - 1)
    except OverflowError:
        return date.max


def _ended(start: date, end: date | None, visits: int | None, days: int | None) -> str:
    """``prior authorization window of 28 days (... to ...) has ended``, in words."""
    if end is not None and days is not None:
        return (
            f"prior authorization window of {days} days ({start.isoformat()} to "
            f"{end.isoformat()}) has ended"
        )
    if end is not None:
        return f"prior authorization ({start.isoformat()} to {end.isoformat()}) has ended"
    return f"prior authorization for {visits} visits from {start.isoformat()} is used up"
