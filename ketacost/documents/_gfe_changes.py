"""What a re-issued Good Faith Estimate replaces and what changed (the models).

Built by :func:`ketacost.documents.reissue_gfe` (``_gfe_reissue``); kept apart so that the
Good Faith Estimate's model can hold them.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from ketacost._i18n import N_
from ketacost._money import Money
from ketacost._types import Model

__all__ = ["ChangeKind", "GfeChange", "GfeReissue", "ReplacedGfe"]


class ReplacedGfe(Model):
    """The Good Faith Estimate a new one replaces."""

    issued: date
    sha256: str = Field(description="of the replaced estimate's JSON, as written")
    total_expected: Money


#: added, removed, re-priced (its number of sessions or its charges changed), rescheduled (the
#: same number of sessions and charges on other dates: a change of frequency or dates).
ChangeKind = Literal["added", "removed", "re-priced", "rescheduled"]
#: The kinds of change in the reader's words (the documents catalog).
CHANGE_WORDS = (N_("added"), N_("removed"), N_("re-priced"), N_("rescheduled"))


class GfeChange(Model):
    """One item added, removed, re-priced or rescheduled."""

    change: ChangeKind
    provider: str
    provider_npi: str
    phase: str
    service_code: str
    description: str
    old_quantity: int | None
    new_quantity: int | None
    old_charge: Money | None = Field(description="expected charges before (None: added)")
    new_charge: Money | None = Field(description="expected charges now (None: removed)")
    affects_from: date = Field(description="the first date of service the change affects")
    old_dates: tuple[date, ...] = Field(
        default=(), description="its dates of service before that are no longer on it"
    )
    new_dates: tuple[date, ...] = Field(
        default=(), description="its dates of service now that were not on it before"
    )


class GfeReissue(Model):
    """What a re-issued Good Faith Estimate replaces and changes, and when it was due."""

    replaces: ReplacedGfe
    changes: tuple[GfeChange, ...] = Field(min_length=1)
    first_affected: date
    must_issue_by: date = Field(description="1 business day before first_affected")
    on_time: bool
