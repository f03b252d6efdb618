"""Ids and keep-until dates: shared by the store, the bill checks and the purge."""

from __future__ import annotations

import uuid
from datetime import date

__all__ = ["RETENTION_YEARS", "new_id", "years_after"]

#: How long a GFE (and a bill checked against it) is kept by default: 6 years, configurable
#: (``retention_years``). The figure follows 45 CFR 164.316(b)(2)(i), HIPAA's "Time limit":
#: "Retain the documentation required by paragraph (b)(1) of this section for 6 years from the
#: date of its creation or the date when it last was in effect, whichever is later" (45 CFR
#: 164.316, https://law.lawstack.com/cfr/45/164.316/ and the 2008 CFR text at
#: http://edocket.access.gpo.gov/cfr_2008/octqtr/45cfr164.316.htm). That rule is for the
#: Security Rule's own documentation; a GFE is kept as part of the patient's record, whose
#: period state law sets and which differs by state (Maine hospitals, for one, keep records 7
#: years: http://healthinfolaw.org/state-topics/20,60/f_topics). UNVERIFIED for any one
#: state: a clinic sets its own period.
RETENTION_YEARS = 6


def years_after(day: date, years: int) -> date:
    """The same day ``years`` later (1 March for 29 February: never a day short)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def new_id() -> str:
    return uuid.uuid4().hex
