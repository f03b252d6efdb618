"""One year of esketamine (Spravato): Original Medicare against a commercial PPO.

    python examples/medicare_vs_commercial_esketamine.py

The same clinical sessions bill differently: G2082/G2083 (drug, visit and 2-hour observation
in one code) to Original Medicare, J0013 per mg plus an office visit to the commercial plan.
Prints who pays what under each, ranked by what the patient pays, and what each charge is.
"""

from __future__ import annotations

from pathlib import Path

import ketacost
from ketacost.compare import Variant, compare
from ketacost.render import charge_notes, comparison_report, render_plain, usd

HERE = Path(__file__).resolve().parent


def main() -> None:
    payers = ketacost.load_payers()
    request = ketacost.load_request(HERE / "requests" / "esketamine-commercial.yaml", payers=payers)
    result = compare(
        request,
        [
            Variant(label="Original Medicare (Part B)", payer="medicare-part-b"),
            Variant(label="Commercial PPO, in network", payer="commercial-ppo"),
        ],
        payers,
    )
    print(render_plain(comparison_report(result)))
    for row in result.rows:
        assert row.estimate is not None
        codes = sorted({ln.code for ln in row.estimate.lines()})
        print(f"{row.label}: billed as {', '.join(codes)}")
        for note in charge_notes(row.totals, row.payer_name):
            print(f"  - {note}")
    low, high = result.rows[0], result.rows[-1]
    print(
        f"\nFor this year of sessions the patient pays {usd(low.patient_cost)} under "
        f"{low.label} and {usd(high.patient_cost)} under {high.label}."
    )


if __name__ == "__main__":
    main()
