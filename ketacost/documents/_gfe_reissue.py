"""A new Good Faith Estimate when the scope changes, with what changed.

When the expected items, their number, their dates (frequency, duration) or their charges
change, the provider gives a new Good
Faith Estimate no later than 1 business day before the first service the change affects (45
CFR 149.610(b)(1)(vi)–(vii); ``../shared/domain.md`` §5.1, §10.6); the new one says which
estimate it replaces and what changed from it (§5.3: a new estimate "communicating changes
from the prior one").
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from ketacost._business_days import add_business_days
from ketacost._estimate import CostRange, Estimate
from ketacost._money import Money
from ketacost._request import EstimateRequest

from ._common import DocumentError, usd
from ._gfe import GfeItem, GoodFaithEstimate, build_gfe_unchecked
from ._gfe_changes import ChangeKind, GfeChange, GfeReissue, ReplacedGfe
from ._gfe_timing import GfeTiming

__all__ = ["diff_gfes", "gfe_digest", "reissue_gfe"]


_Key = tuple[str, str, str, tuple[str, ...], int, str]


def _items(gfe: GoodFaithEstimate) -> dict[_Key, tuple[str, GfeItem]]:
    out: dict[_Key, tuple[str, GfeItem]] = {}
    for p in gfe.providers:
        for i in p.items:
            key = (p.provider.npi, i.phase, i.service_code, i.modifiers, i.units, i.description)
            out[key] = (p.provider.name, i)
    return out


def _sessions(item: GfeItem) -> list[tuple[date, Money]] | None:
    """The item's (date, charge) per session, or None for an estimate that did not keep them."""
    if not item.session_dates:
        return None
    return list(zip(item.session_dates, item.session_charges, strict=True))


def _affects_from(old: GfeItem, new: GfeItem) -> date:
    """The first date of service a change of an item touches (never later than it is)."""
    before, now = _sessions(old), _sessions(new)
    if before is not None and now is not None:
        # The first session whose date or charge differs; where one run is the other's
        # beginning, the first session only the longer one has.
        for a, b in zip(before, now, strict=False):
            if a != b:
                return min(a[0], b[0])
        longer = before if len(before) > len(now) else now
        return longer[min(len(before), len(now))][0]
    # An estimate without its sessions: from the first and last dates and the charge each.
    if old.first_date != new.first_date or old.charge_each is None or new.charge_each is None:
        return min(old.first_date, new.first_date)
    if old.charge_each != new.charge_each:
        return old.first_date
    # The same sessions at the same price, more or fewer of them: the first that differs comes
    # after the shorter run's last one.
    return min(old.last_date, new.last_date) + timedelta(days=1)


def _dates(item: GfeItem | None) -> list[date]:
    return list(item.session_dates) if item is not None else []


def _change(
    kind: ChangeKind,
    key: _Key,
    provider: str,
    old: GfeItem | None,
    new: GfeItem | None,
) -> GfeChange:
    item = new or old
    assert item is not None
    affects = _affects_from(old, new) if old is not None and new is not None else item.first_date
    before, now = _dates(old), _dates(new)
    return GfeChange(
        change=kind,
        provider=provider,
        provider_npi=key[0],
        phase=item.phase,
        service_code=item.service_code,
        description=item.description,
        old_quantity=old.quantity if old else None,
        new_quantity=new.quantity if new else None,
        old_charge=old.expected_charge if old else None,
        new_charge=new.expected_charge if new else None,
        affects_from=affects,
        old_dates=tuple(d for d in before if d not in set(now)),
        new_dates=tuple(d for d in now if d not in set(before)),
    )


def _kind(old: GfeItem, new: GfeItem) -> ChangeKind | None:
    """re-priced (sessions or charges), rescheduled (dates, frequency), or None (the same)."""
    if (old.quantity, old.expected_charge) != (new.quantity, new.expected_charge):
        return "re-priced"
    if (old.first_date, old.last_date) != (new.first_date, new.last_date):
        return "rescheduled"
    before, now = _sessions(old), _sessions(new)
    if before is not None and now is not None and before != now:
        # The same dates with charges moved between them is re-priced; other dates, rescheduled.
        return "rescheduled" if _dates(old) != _dates(new) else "re-priced"
    return None


def diff_gfes(previous: GoodFaithEstimate, current: GoodFaithEstimate) -> list[GfeChange]:
    """Items added, removed, re-priced and rescheduled from ``previous`` to ``current``.

    In that order. An item with the same number of sessions and charges on other dates (a
    change of frequency, of duration within the period, or of dates) is rescheduled; each
    change lists the dates of service it took away and those it added.
    """
    old, new = _items(previous), _items(current)
    added = [_change("added", k, new[k][0], None, new[k][1]) for k in new if k not in old]
    removed = [_change("removed", k, old[k][0], old[k][1], None) for k in old if k not in new]
    changed = [
        (kind, k) for k in new if k in old and (kind := _kind(old[k][1], new[k][1])) is not None
    ]
    repriced = [_change(c, k, new[k][0], old[k][1], new[k][1]) for c, k in changed
                if c == "re-priced"]  # fmt: skip
    moved = [_change(c, k, new[k][0], old[k][1], new[k][1]) for c, k in changed
             if c == "rescheduled"]  # fmt: skip
    return [*added, *removed, *repriced, *moved]


def gfe_digest(gfe: GoodFaithEstimate) -> str:
    """The sha256 of a Good Faith Estimate's JSON (as ``--format json`` writes it, indent 2)."""
    return hashlib.sha256((gfe.model_dump_json(indent=2) + "\n").encode()).hexdigest()


def reissue_gfe(
    previous: GoodFaithEstimate,
    request: EstimateRequest,
    estimate: Estimate,
    *,
    issued: date,
    expected_visits: tuple[int, int] | None = None,
    period_range: CostRange | None = None,
    previous_sha256: str | None = None,
    lang: str | None = None,
) -> GoodFaithEstimate:
    """A new Good Faith Estimate replacing ``previous`` after a change of scope.

    It is written in ``previous``'s language unless ``lang`` says otherwise (the items are
    compared by their descriptions, so a change of language shows every item as changed).

    ``previous_sha256`` is the sha256 of the file ``previous`` was read from (its bytes as the
    patient holds them); without it, ``gfe_digest`` of ``previous`` (its JSON as ``ketacost
    gfe --format json`` writes it).

    Built as :func:`build_gfe` builds one (it may be issued during the course of care), with
    ``reissue``: the estimate it replaces, the items added, removed and re-priced, and
    ``must_issue_by``, 1 business day before the first service a change affects; its
    ``timing`` says whether it is on time.

    Raises:
        DocumentError: as :func:`build_gfe`; ``previous`` is another patient's; nothing changed.
    """
    current = build_gfe_unchecked(
        request,
        estimate,
        issued=issued,
        expected_visits=expected_visits,
        period_range=period_range,
        lang=previous.lang if lang is None else lang,
    )
    if (previous.patient.name, previous.patient.birth_date) != (
        current.patient.name,
        current.patient.birth_date,
    ):
        raise DocumentError(
            f"the Good Faith Estimate to replace is {previous.patient.name}'s (born "
            f"{previous.patient.birth_date.isoformat()}), not {current.patient.name}'s"
        )
    if issued < previous.issued:
        raise DocumentError(
            f"the new Good Faith Estimate ({issued.isoformat()}) is dated before the one it "
            f"replaces ({previous.issued.isoformat()})"
        )
    changes = diff_gfes(previous, current)
    if not changes:
        raise DocumentError(
            f"nothing changed from the Good Faith Estimate of {previous.issued.isoformat()} "
            f"(the same items, sessions and charges, {usd(current.total_expected)}): no new "
            "one is needed"
        )
    first = min(c.affects_from for c in changes)
    # 45 CFR 149.610(b)(1): a new estimate no later than 1 business day before the service.
    due = add_business_days(first, -1)
    reissue = GfeReissue(
        replaces=ReplacedGfe(
            issued=previous.issued,
            sha256=previous_sha256 if previous_sha256 is not None else gfe_digest(previous),
            total_expected=previous.total_expected,
        ),
        changes=tuple(changes),
        first_affected=first,
        must_issue_by=due,
        on_time=issued <= due,
    )
    timing = GfeTiming(
        rule="change",
        scheduled_on=None,
        requested_on=None,
        first_service=first,
        business_days_ahead=None,
        due_by=due,
        issued=issued,
        on_time=issued <= due,
        timing_rule=(
            f"A change of scope from the estimate of {previous.issued.isoformat()}, first "
            f"affecting the service on {first.isoformat()}: a new estimate is due at least 1 "
            f"business day before it, by {due.isoformat()} (45 CFR 149.610(b)(1))"
        ),
    )
    # Validated again (model_copy would not validate the update).
    return GoodFaithEstimate(**{**dict(current), "reissue": reissue, "timing": timing})
