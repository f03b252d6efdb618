"""Original Medicare alone, and with a Medigap supplement: who pays what for a year of esketamine.

    python examples/medicare_with_medigap.py

The example clinic's year of esketamine (examples/requests/medicare-medigap.yaml) priced three
ways: Medicare alone, Medicare + Medigap Plan G, Medicare + Medigap Plan N. Medicare pays
first; the supplement pays second, on what Medicare approved. Prints the three side by side,
ranked by what the patient pays, then what the second payer paid and why.
"""

from __future__ import annotations

from pathlib import Path

import ketacost
from ketacost.compare import Variant, compare
from ketacost.render import comparison_report, render_plain, secondary_notes, usd

HERE = Path(__file__).resolve().parent


def main() -> None:
    payers = ketacost.load_payers()
    request = ketacost.load_request(HERE / "requests" / "medicare-medigap.yaml", payers=payers)
    result = compare(
        request,
        [
            Variant(label="Medicare alone", secondary="none"),
            Variant(label="Medicare + Plan G", secondary="medigap-plan-g"),
            Variant(label="Medicare + Plan N", secondary="medigap-plan-n"),
        ],
        payers,
    )
    print(render_plain(comparison_report(result)))
    for row in result.rows:
        assert row.estimate is not None
        print(f"{row.label}: the patient pays {usd(row.patient_cost)}")
        for note in secondary_notes(row.estimate):
            print(f"  - {note}")


if __name__ == "__main__":
    main()
