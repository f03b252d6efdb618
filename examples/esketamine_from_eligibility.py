"""A year of esketamine estimated from the payer's eligibility response.

    python examples/esketamine_from_eligibility.py

The billing office checked the patient's benefits on 2026-03-02 and got an X12 271
(examples/eligibility/commercial-ppo-271.x12): a $1,500.00 deductible with $1,200.00
remaining ($300.00 met), a $6,000.00 out-of-pocket maximum with $5,550.00 remaining ($450.00
met). The example clinic's
year of esketamine (examples/requests/esketamine-commercial.yaml, moved to start on 2026-03-09)
is estimated twice: from nothing met, and from the response. Prints what the response set,
with where each figure was read, the warnings, and the two totals.

The same benefits as a FHIR CoverageEligibilityResponse are in
examples/eligibility/commercial-ppo-fhir.json; ``read_eligibility`` reads either the same way.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import ketacost
from ketacost.eligibility import choose_member, read_eligibility
from ketacost.render import usd

HERE = Path(__file__).resolve().parent


def main() -> None:
    payers = ketacost.load_payers()
    request = ketacost.load_request(HERE / "requests" / "esketamine-commercial.yaml", payers=payers)
    plan = request.plan.model_copy(update={"start": date(2026, 3, 9)})
    request = request.model_copy(
        update={
            "plan": plan,
            "issued": date(2026, 3, 2),
            "coverage": request.coverage.model_copy(update={"accumulators": None}),
        }
    )
    response = (HERE / "eligibility" / "commercial-ppo-271.x12").read_bytes()
    snapshot = choose_member(read_eligibility(response))
    applied = snapshot.apply(request, payers)

    print(f"Eligibility response from {snapshot.payer_name}, as of {snapshot.as_of}:")
    for use in applied.used:
        value = use.amount if use.amount is not None else use.percent
        print(f"  {use.target} = {value} ({use.how}; {use.where()})")
    for warning in applied.warnings:
        print(f"  warning: {warning}")

    before = ketacost.estimate(request, payers=payers)
    after = ketacost.estimate(applied.request, payers=applied.payers)
    print(f"Nothing met: the patient pays {usd(before.totals.patient_net)}")
    print(f"From the eligibility response: the patient pays {usd(after.totals.patient_net)}")
    saved = before.totals.patient_net - after.totals.patient_net
    print(f"The response's accumulators lower the estimate by {usd(saved)}.")


if __name__ == "__main__":
    main()
