"""A treatment plan's dated sessions as an iCalendar file (RFC 5545), for a calendar app.

Made with the ``icalendar`` library (the ``calendar`` extra), imported only when a calendar is
made. Each session is one all-day ``VEVENT`` (a plan has dates, not times). The output is
deterministic: the ``UID`` of a session is derived from the clinic, the patient and the plan
start, plus the session's number, so exporting the same plan again updates the events in a
calendar app instead of duplicating them; ``DTSTAMP`` is the request's ``issued`` date (or the
plan start), never the clock.

>>> data = schedule_ics(request)                          # doctest: +SKIP
>>> Path("sessions.ics").write_bytes(data)                # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, time, timedelta
from typing import Any

from ._estimate import Estimate
from ._extras import require
from ._i18n import translator
from ._plain import phase_name
from ._plan import expand
from ._render import day, usd
from ._request import EstimateRequest

__all__ = ["event_summary", "event_uid_prefix", "schedule_ics"]

PRODID = "-//ketacost//treatment schedule//EN"


def event_uid_prefix(request: EstimateRequest) -> str:
    """The stable part of every session's UID (a digest: no patient data in clear)."""
    who = request.patient
    key = "|".join(
        [
            request.clinic.id or request.clinic.npi,
            who.name or "",
            who.birth_date.isoformat() if who.birth_date else "",
            who.member_id or "",
            request.plan.start.isoformat(),
        ]
    )
    return "ketacost-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def event_summary(description: str, phase: str) -> str:
    """An event's title: the session, and its phase unless the session already names it.

    >>> event_summary("Psychiatric diagnostic evaluation (intake)", "intake")
    'Psychiatric diagnostic evaluation (intake)'
    >>> event_summary("IV ketamine infusion", "boosters")
    'IV ketamine infusion (boosters)'
    """
    if re.search(rf"\b{re.escape(phase)}\b", description, re.IGNORECASE):
        return description
    return f"{description} ({phase})"


def schedule_ics(
    request: EstimateRequest, estimate: Estimate | None = None, *, lang: str = "en"
) -> bytes:
    """The plan's sessions as iCalendar bytes: one all-day VEVENT per session.

    With ``estimate``, each event's description also says what the patient is expected to pay
    for that visit. ``lang``: the language of the events' text (``en`` or ``es``); the session
    descriptions are the clinic's own words; a well-known phase name ("induction") is
    translated (:func:`ketacost._plain.phase_name`).

    Raises:
        MissingExtraError: ``icalendar`` is not installed (``pip install 'ketacost[calendar]'``).
    """
    t = translator(lang, "cli")
    ical: Any = require("icalendar", "calendar")
    clinic = request.clinic
    cal = ical.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", t.gettext("Treatment sessions at {clinic}").format(clinic=clinic.name))
    stamp_day = request.issued or request.plan.start
    stamp = datetime.combine(stamp_day, time(0, 0), tzinfo=UTC)
    prefix = event_uid_prefix(request)
    domain = (clinic.id or "clinic") + ".ketacost"
    owed = {v.number: v.totals.patient for v in estimate.visits} if estimate else {}
    location = f"{clinic.name}, {clinic.address.one_line()}"
    for visit in expand(request.plan):
        template = clinic.sessions[visit.session]
        event = ical.Event()
        event.add("uid", f"{prefix}-{visit.number:03d}@{domain}")
        event.add("dtstamp", stamp)
        event.add("dtstart", visit.date)
        event.add("dtend", visit.date + timedelta(days=1))
        phase = phase_name(visit.phase_name, lang)
        event.add("summary", event_summary(template.description, phase))
        lines = [
            t.gettext("Session {number} of the plan, {phase}.").format(
                number=visit.number, phase=phase
            )
        ]
        if template.minutes:
            lines.append(
                t.gettext("Plan for about {minutes} minutes at the clinic.").format(
                    minutes=template.minutes
                )
            )
        if visit.date != visit.nominal_date:
            lines.append(
                t.gettext("Moved from {date} (clinic closed).").format(
                    date=day(visit.nominal_date, lang)
                )
            )
        if visit.number in owed:
            lines.append(
                t.gettext("Estimated amount you pay for this visit: {amount}.").format(
                    amount=usd(owed[visit.number])
                )
            )
        if clinic.phone:
            lines.append(t.gettext("Clinic phone: {phone}.").format(phone=clinic.phone))
        event.add("description", "\n".join(lines))
        event.add("location", location)
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    data: bytes = cal.to_ical()
    return data
