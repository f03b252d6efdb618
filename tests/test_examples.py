"""Every example script runs as-is (a subprocess, this interpreter) and prints what it should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

#: Text each script's output must contain (a script with no entry here fails the test).
EXPECTED: dict[str, list[str]] = {
    "self_pay_iv_gfe.py": [
        "Good Faith Estimate for Alex Example",
        # intake $250 + 6-infusion package $2,400 + 11 boosters x $450 = $7,600
        "Total expected charges: $7,600.00",
        "Written to",
    ],
    "medicare_vs_commercial_esketamine.py": [
        "Original Medicare (Part B): billed as G2082, G2083",
        "Commercial PPO, in network: billed as 99214, 99415, 99416, J0013",
        "goes to your Original Medicare (Part B) deductible",
    ],
    "esketamine_year_comparison.py": [
        "Esketamine, commercial PPO + savings program",
        "Esketamine, Original Medicare",
        "IV ketamine, self-pay",
        "Esketamine, Medicaid",
        "IV ketamine, IV-covering payer",
        "Cheapest for the patient: Esketamine, Medicaid",
    ],
    "medicare_with_medigap.py": [
        "Second payer pays",
        # Medicare alone: the Part B deductible $283.00 + 20% coinsurance $8,519.28 = $8,802.28.
        # Plan G and Plan N pay the coinsurance (Plan N's $20 office-visit copay is for office
        # visit codes; Medicare is billed G2082/G2083), neither pays the deductible: $283.00.
        "Cheapest for the patient: Medicare + Plan G, $283.00 in all.",
        "Most expensive: Medicare alone, $8,519.28 more.",
        "$8,519.28 is paid by Medigap Plan N, the second payer",
    ],
    "esketamine_from_eligibility.py": [
        # EB06 23 the 1,500.00 deductible, EB06 29 1,200.00 remaining: 1,500 − 1,200 = 300.00
        "deductible_met.individual = 300.00 (total − remaining; "
        "segment 19 (EB*C*IND*30***23*1500*****Y), EB07; "
        "segment 20 (EB*C*IND*30***29*1200*****Y), EB07)",
        # 2026 reaches the $6,000.00 maximum either way: from the response $6,000.00 − $450.00
        # met = $5,550.00; then the 2027 plan year's $2,065.60: 5,550.00 + 2,065.60 = 7,615.60
        "Nothing met: the patient pays $8,065.60",
        "From the eligibility response: the patient pays $7,615.60",
        "The response's accumulators lower the estimate by $450.00.",
    ],
    "insured_gfe_kept.py": [
        # The commercial PPO covers the intake and excludes the infusions: the GFE holds the
        # 17 infusions, $2,400.00 + 11 x $450.00 = $7,350.00, and lists the intake as not part.
        "Total expected charges: $7,350.00",
        "Not part of it: Psychiatric diagnostic evaluation (90791)",
        # Scheduled Fri 2026-11-20, 10+ business days ahead: due in 3 business days, Wed 11-25.
        "by 2026-11-25",
        # $7,750.01 billed - $7,350.00 expected = $400.01 (at least $400: 45 CFR 149.620).
        "$400.01 above the estimate",
        "Audit log: intact",
    ],
    "compare_payers.py": ["Ranked by what the patient pays", "Cheapest for the patient"],
    "superbill_month.py": ["Superbill: Riverside Ketamine", "Total charged $2,650.00"],
    "batch_from_csv.py": [
        "9 rows, 2 with errors",
        "error: line 33: age: must be a whole number (got 'forty')",
    ],
}


def test_every_example_has_expectations() -> None:
    assert {p.name for p in EXAMPLES} == set(EXPECTED)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # scripts find their files relative to themselves, not the cwd
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    for text in EXPECTED[script.name]:
        assert text in done.stdout, (text, done.stdout)
