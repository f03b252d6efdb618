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
from datetime import UTC, datetime, time, timedelta
from typing import Any

from ._estimate import Estimate
from ._extras import require
from ._plan import expand
from ._render import usd
from ._request import EstimateRequest

__all__ = ["event_uid_prefix", "schedule_ics"]

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


def schedule_ics(request: EstimateRequest, estimate: Estimate | None = None) -> bytes:
    """The plan's sessions as iCalendar bytes: one all-day VEVENT per session.

    With ``estimate``, each event's description also says what the patient is expected to pay
    for that visit.

    Raises:
        MissingExtraError: ``icalendar`` is not installed (``pip install 'ketacost[calendar]'``).
    """
    ical: Any = require("icalendar", "calendar")
    clinic = request.clinic
    cal = ical.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Treatment sessions at {clinic.name}")
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
        event.add("summary", f"{template.description} ({visit.phase_name})")
        lines = [f"Session {visit.number} of the plan, {visit.phase_name}."]
        if template.minutes:
            lines.append(f"Plan for about {template.minutes} minutes at the clinic.")
        if visit.date != visit.nominal_date:
            lines.append(f"Moved from {visit.nominal_date.isoformat()} (clinic closed).")
        if visit.number in owed:
            lines.append(f"Estimated amount you pay for this visit: {usd(owed[visit.number])}.")
        if clinic.phone:
            lines.append(f"Clinic phone: {clinic.phone}.")
        event.add("description", "\n".join(lines))
        event.add("location", location)
        event.add("transp", "OPAQUE")
        cal.add_component(event)
    data: bytes = cal.to_ical()
    return data
