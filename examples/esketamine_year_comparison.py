"""One year of esketamine across payers, and one year of IV ketamine, ranked by patient cost.

    python examples/esketamine_year_comparison.py

Esketamine (twice weekly for 4 weeks, weekly for 4 weeks, then every 2 weeks) under Original
Medicare, the commercial PPO without and with the manufacturer's savings program and with the
drug through the pharmacy benefit (a specialty pharmacy bills it; the clinic bills the visit),
Medicaid and self-pay; and a year of IV infusions (intake, 6-infusion induction, boosters
every 4 weeks) self-pay and under the payer that covers IV ketamine for treatment-resistant
depression. One table, cheapest for the patient first. A payer missing from the payer library
in use is named and left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ketacost
from ketacost.compare import Comparison, Variant, compare
from ketacost.render import comparison_report, render_plain

HERE = Path(__file__).resolve().parent

ESKETAMINE = [
    Variant(label="Esketamine, Original Medicare", payer="medicare-part-b"),
    Variant(label="Esketamine, commercial PPO", payer="commercial-ppo"),
    Variant(
        label="Esketamine, commercial PPO + savings program",
        payer="commercial-ppo",
        coverage={"savings_program": "spravato-withme"},
    ),
    Variant(
        label="Esketamine, commercial PPO, drug from a specialty pharmacy",
        payer="commercial-ppo",
        coverage={"drug_benefit": "pharmacy"},
    ),
    Variant(label="Esketamine, Medicaid", payer="medicaid"),
    Variant(label="Esketamine, self-pay", payer="self-pay"),
]
IV = [
    Variant(label="IV ketamine, self-pay", payer="self-pay"),
    Variant(label="IV ketamine, IV-covering payer", payer="iv-trd-payer"),
]


def iv_request(payers: ketacost.PayerLibrary) -> ketacost.EstimateRequest:
    """The example IV year, for a patient with 4 failed trials and prior authorization."""
    base = ketacost.load_request(HERE / "requests" / "iv-series-self-pay.yaml", payers=payers)
    data: dict[str, Any] = {name: getattr(base, name) for name in type(base).model_fields}
    data["patient"] = base.patient.model_copy(update={"failed_trials": 4})
    data["coverage"] = {"payer": "self-pay", "prior_authorization": "approved"}
    return ketacost.request_from_data(data, payers=payers)


def main() -> None:
    payers = ketacost.load_payers()
    esketamine = ketacost.load_request(
        HERE / "requests" / "esketamine-commercial.yaml", payers=payers
    )
    known = set(payers)
    missing = sorted({str(v.payer) for v in ESKETAMINE + IV if v.payer not in known})
    chosen = [
        (request, [v for v in vs if v.payer in known])
        for request, vs in ((esketamine, ESKETAMINE), (iv_request(payers), IV))
    ]
    rows = [row for request, vs in chosen for row in compare(request, vs, payers).rows]
    rows.sort(key=lambda r: r.patient_cost)  # stable: ties keep the order above
    table = Comparison(
        library_version=ketacost.__version__,
        rows=tuple(r.model_copy(update={"rank": i}) for i, r in enumerate(rows, start=1)),
    )
    print(render_plain(comparison_report(table)))
    for payer in missing:
        print(f"Not in this payer library, left out: {payer}")


if __name__ == "__main__":
    main()
