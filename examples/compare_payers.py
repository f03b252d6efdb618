"""One treatment plan priced with every payer in the library, ranked by patient cost.

    python examples/compare_payers.py [REQUEST.yaml]

Default plan: the example year of esketamine (examples/requests/esketamine-commercial.yaml),
in network, prior authorization approved. Prints one table a clinic can hand to a patient.
"""

from __future__ import annotations

import sys
from pathlib import Path

import ketacost
from ketacost.compare import compare, variants
from ketacost.render import comparison_report, render_plain

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    payers = ketacost.load_payers()
    path = Path(argv[0]) if argv else HERE / "requests" / "esketamine-commercial.yaml"
    request = ketacost.load_request(path, payers=payers)
    # A Medigap plan pays only second, after Medicare: it is not a first payer to compare.
    firsts = [pid for pid, p in payers.items() if p.kind != "medigap"]
    result = compare(request, variants(payers=firsts), payers)
    print(render_plain(comparison_report(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
