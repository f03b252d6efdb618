"""A final bill file for ``ketacost bill check``: the bill, and whose it is.

```yaml
patient: {name: Alex Example, birth_date: 1988-04-12}   # finds the GFE (or give --gfe ID)
service_date: 2027-01-04          # default: the first dated line
bill_date: 2027-03-01             # a dispute starts within 120 days of it
totals: {"1234567893": "8000.01"} # billed per provider NPI; or lines: [{npi, amount, date}]
```
"""

from __future__ import annotations

import os
from datetime import date

from pydantic import Field, model_validator

from ketacost._errors import RequestFileError
from ketacost._loader import read_document
from ketacost._types import Day, Model
from ketacost._validation import validate
from ketacost.documents import FinalBill

__all__ = ["BillFile", "BillPatient", "load_bill"]


class BillPatient(Model):
    """Whose bill: the name (and birth date) on the Good Faith Estimate."""

    name: str = Field(min_length=1, max_length=200)
    birth_date: Day | None = None


class BillFile(FinalBill):
    """A final bill with the patient and the date of service that find its GFE."""

    patient: BillPatient | None = None
    service_date: Day | None = Field(
        default=None, description="date of service; default: the first dated line"
    )

    @model_validator(mode="after")
    def _has_amounts(self) -> BillFile:
        if not self.totals and not self.lines:
            raise ValueError(
                "the bill has no amounts: give totals (billed per provider NPI) or lines"
            )
        return self

    def bill(self) -> FinalBill:
        """The bill alone."""
        return FinalBill(bill_date=self.bill_date, totals=self.totals, lines=self.lines)

    def first_service_date(self) -> date | None:
        """``service_date``, else the earliest dated line."""
        dated = [ln.date for ln in self.lines if ln.date is not None]
        return self.service_date or (min(dated) if dated else None)


def load_bill(path: str | os.PathLike[str]) -> BillFile:
    """Load and check a bill file (YAML or JSON): errors name file, line and column."""
    data, source, _ = read_document(path, RequestFileError)
    return validate(BillFile, data, source, RequestFileError)
