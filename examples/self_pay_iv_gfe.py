"""A self-pay IV ketamine series and its Good Faith Estimate (No Surprises Act).

    python examples/self_pay_iv_gfe.py [OUTPUT.html]

Estimates the example self-pay IV plan (intake, a 6-infusion induction, boosters every 4
weeks), writes the Good Faith Estimate as printable HTML (to the path given, or a temporary
folder) and prints the summary to hand to the patient.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import ketacost
from ketacost.documents import build_gfe, render_gfe_html
from ketacost.render import usd

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    payers = ketacost.load_payers()
    request = ketacost.load_request(HERE / "requests" / "iv-series-self-pay.yaml", payers=payers)
    estimate = ketacost.estimate(request, payers=payers)
    assert request.issued is not None  # the example request carries its issue date
    gfe = build_gfe(request, estimate, issued=request.issued)
    out = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="ketacost-")) / "gfe.html"
    out.write_text(render_gfe_html(gfe), encoding="utf-8")

    print(f"Good Faith Estimate for {gfe.patient.name} (born {gfe.patient.birth_date})")
    print(f"Issued {gfe.issued}; covers {gfe.period_start} to {gfe.period_end}")
    print(f"Primary service: {gfe.primary_service}, first scheduled {gfe.scheduled_date}")
    for p in gfe.providers:
        print(f"  {p.provider.name} (NPI {p.provider.npi}): {usd(p.expected_total)}")
        for item in p.items:
            print(
                f"    {item.service_code:<6} {item.description[:48]:<48} "
                f"x{item.quantity:<3} {usd(item.expected_charge):>10}"
            )
    for r in gfe.recurring:
        sessions = "1 session" if r.sessions == 1 else f"{r.sessions} sessions"
        print(f"  Recurring: {r.phase}: {sessions}, {r.frequency}")
    print(f"Total expected charges: {usd(gfe.total_expected)}")
    if gfe.range is not None:
        print(f"Range: {usd(gfe.range.low)} to {usd(gfe.range.high)}")
    print(
        "If your bill is $400 or more above this estimate, you may dispute it (see the document)."
    )
    print(f"Written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
