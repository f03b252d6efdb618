"""Second payers everywhere an estimate goes (issue 12 §3): tables, compare, GFE items.

The request is examples/requests/medicare-medigap.yaml: a year of esketamine at the example
clinic (8 visits of G2082, 26 of G2083) under Original Medicare with Medigap Plan G.

Its first visit, G2082 charged $1,000.00, Medicare approves $952.59 (Metropolitan Boston):
the Part B deductible $283.00 is the patient's, Medicare pays 80% of the other $669.59 =
$535.67 less the 2% sequestration ($10.71) = $524.96, Plan G pays the 20% coinsurance
$133.92, the clinic writes off $1,000.00 - $952.59 = $47.41 and the $10.71 (283.00 + 524.96
+ 133.92 + 58.12 = 1,000.00). Over the year Medicare pays $34,076.52 less the cut, rounded
per line, $681.59: $33,394.93. The patient pays the
deductible only, $283.00; Medicare alone leaves the patient $283.00 + $8,519.28 coinsurance.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import _builders as b
import pytest
from click.testing import CliRunner, Result

import ketacost
from ketacost._render import estimate_report, render_plain, secondary_notes
from ketacost.cli import cli
from ketacost.compare import Variant, compare, variants

ROOT = Path(__file__).resolve().parent.parent
MEDIGAP = ROOT / "examples" / "requests" / "medicare-medigap.yaml"
ESKETAMINE = ROOT / "examples" / "requests" / "esketamine-commercial.yaml"
PAYERS = ketacost.load_payers(ROOT / "payers")


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def medigap_estimate() -> ketacost.Estimate:
    return ketacost.estimate(ketacost.load_request(MEDIGAP, payers=PAYERS), payers=PAYERS)


# -- the estimate's tables ------------------------------------------------------------------
def test_table_has_the_second_payers_column_next_to_the_plans() -> None:
    report = estimate_report(medigap_estimate())
    visits, years = report.tables
    assert visits.headers[-2:] == ("Plan pays", "Medigap Plan G pays")
    # visit 1: Medicare $524.96, Plan G $133.92 (see the module docstring)
    assert visits.rows[0][-3:] == ("$283.00", "$524.96", "$133.92")
    assert years.headers[-2:] == ("Plan pays", "Medigap Plan G pays")
    assert years.rows[-1][-3:] == ("$283.00", "$33,394.93", "$8,519.28")
    assert report.title == "Estimate: Original Medicare (Part B) + Medigap Plan G (in network)"
    # Told the payer's kind (as the CLI does), Original Medicare is not called "in network":
    # it has no network in the commercial sense (issue 16 review).
    told = estimate_report(medigap_estimate(), kinds={"medicare-part-b": "medicare"})
    assert told.title == "Estimate: Original Medicare (Part B) + Medigap Plan G"
    assert (
        "$8,519.28 is paid by Medigap Plan G, the second payer, after Original Medicare "
        "(Part B), as a Medicare supplement" in " ".join(report.notes)
    )
    assert not any("Qualified Medicare Beneficiary" in n for n in report.notes)


def test_without_a_second_payer_the_tables_are_as_before() -> None:
    payers = PAYERS
    request = ketacost.load_request(ESKETAMINE, payers=payers)
    report = estimate_report(ketacost.estimate(request, payers=payers))
    visits, years = report.tables
    assert visits.headers == (
        "#", "Date", "Phase", "Codes", "Charge", "Coverage", "You pay", "Plan pays",
    )  # fmt: skip
    assert years.headers[-1] == "Plan pays"
    assert secondary_notes(ketacost.estimate(request, payers=payers)) == []


def test_a_qualified_medicare_beneficiary_is_told_the_clinic_may_not_bill_cost_sharing() -> None:
    data = ketacost.load_request(MEDIGAP, payers=PAYERS).model_dump(exclude_unset=True)
    data["coverage"]["secondary"] = {"payer": "medicaid", "qmb": True}
    est = ketacost.estimate(ketacost.request_from_data(data, payers=PAYERS), payers=PAYERS)
    # A QMB owes nothing on Medicare-covered lines: Medicaid pays the $8,802.28 Medicare left.
    assert est.totals.patient_net == ketacost.Money("0.00")
    assert est.totals.secondary == ketacost.Money("8802.28")
    assert est.coordination[0].balance_billing_prohibited
    notes = " ".join(estimate_report(est).notes)
    assert "Qualified Medicare Beneficiary" in notes
    assert "the clinic may not bill you Medicare's deductible, coinsurance or copays" in notes
    assert (
        "$8,802.28 is paid by Example State Medicaid (fee-for-service), the second payer" in notes
    )


def test_rich_table_never_cuts_money_short(monkeypatch: pytest.MonkeyPatch) -> None:
    # 100 columns: too narrow for the plan-year table with the second payer's column; the
    # text columns wrap and the table widens, the amounts stay whole.
    monkeypatch.setenv("COLUMNS", "100")
    result = run("estimate", MEDIGAP)
    assert result.exit_code == 0, result.output
    years = result.stdout[result.stdout.index("Plan years") :]
    for amount in ("$44,400.00", "$33,394.93", "$8,519.28", "$283.00"):
        assert amount in years, amount
    assert "$…" not in result.stdout and ".…" not in result.stdout


def test_plain_table_and_markdown_from_the_cli() -> None:
    plain = run("--plain", "estimate", MEDIGAP)
    assert plain.exit_code == 0, plain.output
    assert "Medigap Plan G pays" in plain.stdout
    kinds = {"medicare-part-b": "medicare"}  # as the CLI tells it: no "(in network)"
    assert plain.stdout == render_plain(estimate_report(medigap_estimate(), kinds=kinds))
    md = run("estimate", MEDIGAP, "--format", "markdown").stdout
    assert "| Plan pays | Medigap Plan G pays |" in md


def test_csv_lines_carry_what_the_second_payer_paid() -> None:
    result = run("estimate", MEDIGAP, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows[0]["secondary"] == "133.92"
    total = sum(ketacost.Money(r["secondary"]) for r in rows)
    assert total == ketacost.Money("8519.28")
    for r in rows:  # patient + plan + second payer + write-off = charge
        parts = ("patient", "payer", "secondary", "write_off")
        assert sum(ketacost.Money(r[k]) for k in parts) == ketacost.Money(r["charge"])


# -- compare ------------------------------------------------------------------------------------
def test_compare_medicare_alone_with_plan_g_and_plan_n() -> None:
    result = run(
        "compare", MEDIGAP, "--secondary", "none", "--secondary", "medigap-plan-g",
        "--secondary", "medigap-plan-n", "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["rows"]
    by_label = {r["label"]: r for r in rows}
    assert set(by_label) == {"no second payer", "+ medigap-plan-g", "+ medigap-plan-n"}
    alone = by_label["no second payer"]
    assert "secondary_payer_id" not in alone
    # Medicare alone: deductible $283.00 + 20% coinsurance $8,519.28.
    assert alone["patient_cost"] == "8802.28"
    for label in ("+ medigap-plan-g", "+ medigap-plan-n"):
        # Plan G and N pay the coinsurance, not the deductible (Plan N's $20 copay is for
        # office visit codes; Medicare is billed G2082/G2083).
        assert by_label[label]["patient_cost"] == "283.00"
        assert by_label[label]["totals"]["secondary"] == "8519.28"
    assert by_label["+ medigap-plan-n"]["secondary_payer_name"] == "Medigap Plan N"
    assert rows[-1]["label"] == "no second payer"


def test_compare_table_and_csv_name_the_second_payer() -> None:
    args = ["compare", MEDIGAP, "--secondary", "none", "--secondary", "medigap-plan-g"]
    table = run("--plain", *args).stdout
    assert "Second payer pays" in table and "Medigap Plan G" in table
    rows = list(csv.DictReader(io.StringIO(run(*args, "--format", "csv").stdout)))
    assert [r["secondary_payer_id"] for r in rows] == ["medigap-plan-g", ""]
    assert [r["secondary"] for r in rows] == ["8519.28", "0.00"]


def test_compare_secondary_user_errors() -> None:
    result = run("compare", MEDIGAP, "--secondary", "acme")
    assert result.exit_code == 2 and "unknown payer 'acme'" in result.stderr
    assert "--secondary" in run("compare", MEDIGAP).stderr


def test_compare_api_with_secondaries() -> None:
    request = ketacost.load_request(MEDIGAP, payers=PAYERS)
    made = variants(secondaries=["none", "medigap-plan-n"])
    assert [v.secondary for v in made] == ["none", "medigap-plan-n"]
    result = compare(
        request, [Variant(label="Medicare alone", secondary="none"), *made[1:]], PAYERS
    )
    assert [r.label for r in result.rows] == ["+ medigap-plan-n", "Medicare alone"]
    assert result.rows[1].secondary_payer_id is None
    assert result.rows[1].estimate is not None and not result.rows[1].estimate.coordination


def test_a_variant_keeps_the_requests_second_payer_when_it_does_not_name_one() -> None:
    request = ketacost.load_request(MEDIGAP, payers=PAYERS)
    result = compare(request, [Variant(network="in")], PAYERS)
    assert result.rows[0].secondary_payer_id == "medigap-plan-g"


# -- who is owed a Good Faith Estimate ------------------------------------------------------------
def _medicare_then_tfl() -> tuple[ketacost.Estimate, dict[str, ketacost.Payer]]:
    """A synthetic Medicare that excludes 90837 and 0820T; a TRICARE For Life that covers
    90837 and excludes 0820T too; one visit of 99214 + 90837 + 0820T."""
    medicare = b.payer(
        "test-medicare",
        kind="medicare",
        networks={"in": b.network(rates={"99214": "100.00", "90837": "150.00"},
                                  cost_sharing={"v": b.share(coinsurance="0.2")})},
        coverage=[b.covered("99214", category="v"),
                  b.excluded("90837", "0820T", reason="not a Medicare benefit here")],
    )  # fmt: skip
    tfl = b.payer(
        "test-tfl",
        kind="tricare",
        networks={"in": b.network(rates={"99214": "100.00", "90837": "150.00"},
                                  cost_sharing={"v": b.share(coinsurance="0.25")})},
        coverage=[b.covered("99214", "90837", category="v"),
                  b.excluded("0820T", reason="not a TRICARE benefit")],
    )  # fmt: skip
    tfl["as_secondary"] = [{"after": ["medicare"], "method": "tricare_for_life", "source": "test"}]
    payers = b.payers(medicare, tfl)
    clinic = b.clinic(
        {"99214": "200.00", "90837": "250.00", "0820T": "300.00"},
        {"s": b.session(b.line("99214"), b.line("90837"), b.line("0820T"))},
    )
    data = b.request(
        clinic, [{"session": "s", "sessions": 1}], start="2026-03-02", payer_id="test-medicare"
    )
    data["coverage"]["secondary"] = {"payer": "test-tfl"}
    request = ketacost.request_from_data(data, payers=payers)
    return ketacost.estimate(request, payers=payers), payers


def test_gfe_items_follow_the_final_responsibility() -> None:
    est, _ = _medicare_then_tfl()
    by_code = {ln.code: ln for ln in est.lines()}
    # 90837: Medicare excludes it, TRICARE For Life covers it (as the first payer of an item
    # only TRICARE covers): allowed $150.00, no deductible, 25% = $37.50 the patient's,
    # TFL pays $112.50, the clinic writes off $250.00 - $150.00 = $100.00.
    tricare_only = by_code["90837"]
    assert tricare_only.covered and tricare_only.rule.startswith("test-tfl:")
    assert (tricare_only.patient, tricare_only.secondary) == (
        ketacost.Money("37.50"),
        ketacost.Money("112.50"),
    )
    # 0820T: neither covers it; the patient owes the charge, $300.00: a GFE item.
    assert not by_code["0820T"].covered
    assert [(i.code, i.billed_as, i.price) for i in est.self_pay_items] == [
        ("0820T", "not covered", ketacost.Money("300.00"))
    ]
    notes = " ".join(estimate_report(est).notes)
    # The item in words with its code once (it was "code 0820T (0820T)").
    assert (
        "because neither plan covers them: In-person monitoring and therapy during the "
        "medicine session, first hour (0820T), 1 time, $300.00."
    ) in notes
    assert "code 0820T" not in notes
    assert "90837 (90837)" not in notes


def test_the_notes_say_who_pays_first_when_the_library_decides() -> None:
    data = ketacost.load_request(MEDIGAP, payers=PAYERS).model_dump(exclude_unset=True)
    data["coverage"] = {
        "payer": "medicare-part-b",
        "holder": {"relationship": "self", "employment": "retired"},
        "secondary": {
            "payer": "spouse-employer-ppo",
            "prior_authorization": "approved",
            "holder": {"relationship": "spouse", "employment": "active", "employer_size": 50},
        },
        "order": "decide",
    }
    est = ketacost.estimate(ketacost.request_from_data(data, payers=PAYERS), payers=PAYERS)
    report = estimate_report(est)
    # An employer plan of current employment with 20+ employees pays before Medicare.
    assert report.title.startswith("Estimate: Spouse's Employer PPO (example) + Original Medicare")
    assert report.tables[0].headers[-1] == "Original Medicare (Part B) pays"
    notes = " ".join(report.notes)
    assert "Spouse's Employer PPO (example) pays first: " in notes
    assert "42 CFR 411.172" in notes
    paid = sum((ln.secondary for ln in est.lines()), ketacost.Money(0))
    assert f"{paid:$} is paid by Original Medicare (Part B), the second payer" in notes
    assert "as Medicare Secondary Payer" in notes
