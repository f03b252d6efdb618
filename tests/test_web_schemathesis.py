"""schemathesis against ``/openapi.json``, in process (ASGI): every response to generated
requests must be documented, match its schema, and never be a 500.

Bounded: a fixed number of examples per operation, derandomized, so it runs in seconds.

One check is left out, ``positive_data_acceptance`` ("schema-valid data must get a 2xx"):
a 422 is also the answer to what JSON Schema cannot say, and the generated data is full of
it: an NPI whose check digit is wrong, a session the clinic does not have, a payer that is
not in the library, a date before a payer's first rule value is in force. Every other
check runs, including that no response is a 500.
"""

from __future__ import annotations

from datetime import date

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from ketacost.web import WebConfig, create_app

# the X12 271 route too (off by default), so that its example and problems are checked
app = create_app(WebConfig(eligibility_271=True), today=lambda: date(2026, 1, 5))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_openapi_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
