"""A superbill for one month of visits, for the patient to send to their plan.

    python examples/superbill_month.py [OUTPUT.html] [--month 2027-01]

Takes the example self-pay IV series, lists the month's visits (date, place of service,
codes with modifiers and units, diagnosis pointers, charge and amount paid), writes the
printable HTML (to the path given, or a temporary folder) and prints the lines as a table.
"""

from __future__ import annotations

import argparse
import calendar
import tempfile
from datetime import date
from pathlib import Path

import ketacost
from ketacost.documents import build_superbill, render_superbill_html
from ketacost.render import usd

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("output", nargs="?", type=Path)
    parser.add_argument("--month", default="2027-01", help="YYYY-MM (default 2027-01)")
    args = parser.parse_args()
    year, month = (int(part) for part in args.month.split("-"))
    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])

    payers = ketacost.load_payers()
    request = ketacost.load_request(HERE / "requests" / "iv-series-self-pay.yaml", payers=payers)
    estimate = ketacost.estimate(request, payers=payers)
    bill = build_superbill(request, estimate, start=first, end=last)
    out = args.output or Path(tempfile.mkdtemp(prefix="ketacost-")) / "superbill.html"
    out.write_text(render_superbill_html(bill), encoding="utf-8")

    p = bill.provider
    print(f"Superbill: {p.name}, NPI {p.npi}, TIN {p.tin}")
    print(f"Patient: {bill.patient.name}, born {bill.patient.birth_date}")
    print("Diagnoses: " + ", ".join(f"{d.pointer} {d.code}" for d in bill.diagnoses))
    print(f"{'Date':<10}  {'POS':<3}  {'Code':<12}  {'Units':>5}  {'Charge':>9}  {'Paid':>9}")
    for ln in bill.lines:
        code = ln.code + ("-" + "-".join(ln.modifiers) if ln.modifiers else "")
        print(
            f"{ln.date.isoformat():<10}  {ln.place_of_service:<3}  {code:<12}  {ln.units:>5}  "
            f"{usd(ln.charge):>9}  {usd(ln.paid):>9}"
        )
    print(f"Total charged {usd(bill.total_charge)}, paid {usd(bill.total_paid)}")
    print(f"Written to {out}")


if __name__ == "__main__":
    main()
