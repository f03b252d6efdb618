"""A Good Faith Estimate for an insured patient's excluded infusions, kept and checked.

    python examples/insured_gfe_kept.py [FOLDER]

The example commercial PPO covers the psychiatric intake and excludes IV ketamine: for the
infusions the patient is a self-pay individual (45 CFR 149.610(a)(2)) and is owed a Good Faith
Estimate, due 3 business days after the series was scheduled. The script builds it, writes it
as HTML and as an HL7 Da Vinci PCT FHIR document, keeps it in a records database (SQLite in
the folder given, or a temporary one; needs ``ketacost[records]``) and checks a final bill
$400.01 above it, as a billing office would when the patient asks.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import date
from pathlib import Path

import ketacost
from ketacost.documents import (
    FinalBill,
    build_gfe,
    render_gfe_fhir,
    render_gfe_html,
    timing_sentence,
)
from ketacost.render import usd

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="ketacost-"))
    payers = ketacost.load_payers()
    request = ketacost.load_request(HERE / "requests" / "iv-series-commercial.yaml", payers=payers)
    estimate = ketacost.estimate(request, payers=payers)
    assert request.issued is not None  # the example request carries its issue date
    gfe = build_gfe(request, estimate, issued=request.issued)

    print(f"Good Faith Estimate for {gfe.patient.name}, issued {gfe.issued}")
    if gfe.timing is not None:
        print(f"Due: {timing_sentence(gfe.timing)}")
    for p in gfe.providers:
        print(f"  {p.provider.name} (NPI {p.provider.npi}): {usd(p.expected_total)}")
    print(f"Total expected charges: {usd(gfe.total_expected)}")
    for n in gfe.not_included:
        print(f"  Not part of it: {n.description} ({n.service_code}), {n.why}")

    html = render_gfe_html(gfe)
    (folder / "gfe.html").write_text(html, encoding="utf-8")
    (folder / "gfe.fhir.json").write_text(render_gfe_fhir(gfe) + "\n", encoding="utf-8")
    print(f"Written to {folder / 'gfe.html'} and {folder / 'gfe.fhir.json'}")

    try:
        from ketacost.records import init_records, rule_files_of, used_rule_paths

        records = init_records(f"sqlite:///{folder / 'records.sqlite3'}")
    except ketacost.MissingExtraError as exc:
        print(f"Not kept: {exc}")
        return 0
    with records:
        gfe_id = records.save_gfe(
            request=request,
            estimate=estimate,
            gfe=gfe,
            html=html,
            pdf=None,
            rule_files=rule_files_of(request, payers),
            used=used_rule_paths(request, payers),
        )
        print(f"Kept as record {gfe_id[:12]} until {records.kept_until(gfe_id)}")
        # The clinic bills $7,750.01 for the series: $400.01 above its $7,350.00 estimate.
        npi = gfe.providers[0].provider.npi
        bill = FinalBill(bill_date=date(2027, 11, 15), totals={npi: "7750.01"})
        check = records.check_bill(bill, gfe_id=gfe_id)
        for f in check.findings:
            print(
                f"Dispute possible: {f.provider} billed {usd(f.billed)}, {usd(f.over)} above "
                f"the estimate; start by {f.deadline}"
            )
        problems = records.verify()
        print("Audit log: intact" if not problems else f"Audit log: {problems}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
