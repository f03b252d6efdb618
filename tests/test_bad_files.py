"""A table of bad payer, clinic and request files, and the exact message each must give.

Each case edits a known-good file (``PAYER``, ``CLINIC``, ``REQUEST``) in one place, writes it
to ``tmp_path`` under the right name and loads it with the public loader. The message is
``file:line:column: field.path: message``; ``{path}`` in the expected text stands for the
file as passed to the loader. The line and column point at the bad input as written below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import _builders as b
import pytest

import ketacost
from ketacost import ClinicFileError, Money, PayerFileError, RequestFileError, RuleFileError
from ketacost._edit_files import load_edits

PAYER = """\
id: acme
name: Acme PPO
kind: commercial
metadata:
  reference:
    - {title: Acme plan document, href: "https://example.com/acme"}
  last_reviewed: 2026-01-01
networks:
  in:
    deductible: {individual: 500.00}
    out_of_pocket_max: {individual: 3000.00}
    allowed:
      basis: fee_schedule
      rates:
        "99214": 175.00
    cost_sharing:
      office-visit: {copay: 30.00, coinsurance: 0.2}
coverage:
  - codes: ["99214"]
    status: covered
    category: office-visit
"""

CLINIC = """\
name: Test Clinic
npi: "1234567893"
tin: "12-3456789"
address: {line1: 1 Test St, city: Boston, state: MA, zip: "02134"}
chargemaster:
  "99214": 200.00
  "96365": 650.00
sessions:
  visit:
    description: Office visit
    lines:
      - {code: "99214", description: Office visit}
    self_pay: 150.00
packages:
  - {id: visits-3, session: visit, sessions: 3, price: 400.00}
"""

REQUEST = """\
patient:
  age: 40
coverage:
  payer: acme
clinic: clinic.yaml
plan:
  start: 2026-03-02
  phases:
    - {session: visit, sessions: 2, every_days: 7}
"""

# A claim-edit file (payers/edits/<id>.yaml): a same-day pair and a per-day unit limit.
EDITS = """\
id: ncci
name: Test NCCI
metadata:
  reference:
    - {title: CMS NCCI edits, href: "https://www.cms.gov/ncci"}
  last_reviewed: 2026-01-01
edits:
  - id: infusion-injection
    kind: same-day-pair
    name: an injection with an infusion
    payers: [acme]
    column_1: "96365"
    column_2: "96372"
    bypass_modifiers: ["59", "XU"]
    effective_from: 2026-01-01
    reference:
      - {title: CMS NCCI PTP edits, href: "https://www.cms.gov/ncci"}
  - id: j0013-a-day
    kind: unit-limit
    name: esketamine a day
    payer_kinds: [commercial]
    code: "J0013"
    max_units_per_day: 84
    effective_from: 2026-01-01
    reference:
      - {title: the label, href: "https://example.com/label"}
"""

BASES = {"payer": PAYER, "clinic": CLINIC, "request": REQUEST, "edits": EDITS}
ERRORS: dict[str, type[RuleFileError]] = {
    "edits": PayerFileError,
    "payer": PayerFileError,
    "clinic": ClinicFileError,
    "request": RequestFileError,
}
# The payer library a request is checked against (``load_request(..., payers=LIBRARY)``).
LIBRARY = b.payers(
    b.payer(
        "acme",
        networks={
            "in": b.network(
                deductible="500.00",
                family_deductible="1000.00",
                oop="3000.00",
                family_oop="6000.00",
            )
        },
    )
)


def accumulators(deductible: str, out_of_pocket: str = "{}") -> str:
    """The request with starting accumulators. An error about them as a whole is reported at
    their first key (``as_of``, line 6), one about an amount at the amount (lines 7 and 8)."""
    return edit(
        "request",
        "  payer: acme\n",
        "  payer: acme\n  accumulators:\n    as_of: 2026-03-01\n"
        f"    deductible_met: {deductible}\n    out_of_pocket_met: {out_of_pocket}\n",
    )


def edit(kind: str, old: str, new: str) -> str:
    """The good file of ``kind`` with ``old`` replaced by ``new`` (``old`` must be there)."""
    base = BASES[kind]
    assert base.count(old) == 1, old
    return base.replace(old, new)


def load(kind: str, path: Path) -> Any:
    if kind == "payer":
        return ketacost.load_payer(path)
    if kind == "clinic":
        return ketacost.load_clinic(path)
    if kind == "edits":
        return load_edits(path, payers=LIBRARY)
    return ketacost.load_request(path, payers=LIBRARY)


def write(tmp_path: Path, name: str, text: str) -> Path:
    """Write ``text`` as ``name``, with the good clinic beside it (requests name it)."""
    (tmp_path / "clinic.yaml").write_text(CLINIC, encoding="utf-8")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def assert_plain_error(exc: BaseException) -> None:
    """A user error: in the KetacostError tree, also a ValueError, and no chained traceback."""
    assert isinstance(exc, ketacost.KetacostError)
    assert isinstance(exc, ValueError)
    assert exc.__cause__ is None
    assert exc.__suppress_context__ or exc.__context__ is None


def test_the_good_files_load(tmp_path: Path) -> None:
    for kind, name in (
        ("payer", "acme.yaml"),
        ("clinic", "c.yaml"),
        ("request", "r.yaml"),
        ("edits", "ncci.yaml"),
    ):
        load(kind, write(tmp_path, name, BASES[kind]))


CASES = [
    # ------------------------------------------------------------------ payer files
    # a second payer's method (issue 12): each entry fits its method and the payer's kind
    pytest.param(
        "payer",
        "acme.yaml",
        PAYER + "as_secondary:\n  - {after: [commercial], method: pays_everything, source: x}\n",
        "{path}:23:35: as_secondary[0].method: must be one of 'supplement', "
        "'medicare_crossover', 'tricare_for_life', 'standard', 'non_duplication', "
        "'medicare_secondary_payer', 'last_resort' (got 'pays_everything')",
        id="payer-secondary-unknown-method",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        PAYER + "as_secondary:\n  - {after: [medicare], method: supplement, pays: [coinsurance], "
        "source: x}\n",
        "{path}:23:33: as_secondary[0].method: only a medigap plan pays as a supplement",
        id="payer-secondary-supplement-not-medigap",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        PAYER
        + "as_secondary:\n  - {after: [commercial, spaceship], method: standard, source: x}\n",
        "{path}:23:26: as_secondary[0].after[1]: not a kind of primary payer: 'spaceship'",
        id="payer-secondary-unknown-kind",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        PAYER + "as_secondary:\n  - {after: [commercial], method: standard, source: x}\n"
        "  - {after: [commercial], method: non_duplication, source: y}\n",
        "{path}:24:14: as_secondary[1].after[0]: commercial is in as_secondary[0]",
        id="payer-secondary-kind-twice",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        PAYER + "as_secondary:\n  - {after: [commercial], method: standard, payment: lesser_of, "
        "source: x}\n",
        "{path}:23:54: as_secondary[0].payment: lesser_of belongs to Medicaid's methods",
        id="payer-secondary-lesser-of-not-medicaid",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        # a misplaced key: coinsurance belongs under cost_sharing.<category>
        edit("payer", "    allowed:\n", "    coinsurance: 0.2\n    allowed:\n"),
        "{path}:12:5: networks.in.coinsurance: unknown key 'coinsurance'",
        id="payer-unknown-key",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit("payer", "kind: commercial\n", "kind: commercial\nname: Acme Again\n"),
        "{path}:4:1: duplicate key 'name' (first at line 2)",
        id="payer-duplicate-key",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit("payer", "kind: commercial\n", "kind: commercial\nplan_year_start: {month: July}\n"),
        "{path}:4:26: plan_year_start.month: expected a whole number (got 'July')",
        id="payer-wrong-type-int",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit("payer", "last_reviewed: 2026-01-01", "last_reviewed: soon"),
        "{path}:7:18: metadata.last_reviewed: expected a date (YYYY-MM-DD) (got 'soon')",
        id="payer-wrong-type-date",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit("payer", "copay: 30.00", "copay: thirty"),
        "{path}:17:29: networks.in.cost_sharing.office-visit.copay: "
        "not an amount of money: 'thirty' (write dollars as digits with at most two decimals, "
        'e.g. 450, 450.00 or "$1,234.56")',
        id="payer-wrong-type-money",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit("payer", "coinsurance: 0.2}", "coinsurance: 1.2}"),
        "{path}:17:49: networks.in.cost_sharing.office-visit.coinsurance: "
        "must be at most 1 (got 1.2)",
        id="payer-coinsurance-above-1",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit("payer", "individual: 500.00", "individual: -500.00"),
        "{path}:10:30: networks.in.deductible.individual: must not be negative (got -500.00)",
        id="payer-negative-money",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit("payer", '"99214": 175.00', '"99214": 175.005'),
        "{path}:15:18: networks.in.allowed.rates.99214: "
        "money has at most 2 decimal places (got 175.005)",
        id="payer-money-three-places",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit("payer", "individual: 500.00", "individual: 5000.00"),
        "{path}:10:30: networks.in.deductible.individual: "
        "deductible 5000.00 is above the out-of-pocket maximum 3000.00",
        id="payer-deductible-above-oop-max",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit(
            "payer",
            "deductible: {individual: 500.00}",
            "deductible:\n      individual: {2026-01-01: 500.00, 2025-01-01: 400.00}",
        ),
        "{path}:11:19: networks.in.deductible.individual: "
        "dated keys must be in increasing date order (2025-01-01 comes after 2026-01-01)",
        id="payer-dated-keys-out-of-order",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit("payer", "category: office-visit", "category: drug"),
        "{path}:21:15: coverage[0].category: "
        "category 'drug' does not exist in networks.in.cost_sharing (known: office-visit)",
        id="payer-unknown-category",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit("payer", "id: acme", "id: acme-ppo"),
        "{path}:1:5: id: must equal the file name 'acme': payers/<id>.yaml holds payer <id> "
        "(got 'acme-ppo')",
        id="payer-id-not-file-stem",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit("payer", "individual: 500.00", "individual: .inf"),
        "{path}:10:30: networks.in.deductible.individual: expected a finite number (got .inf)",
        id="payer-money-inf",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        # YAML reads 99214 as a number: the message says to quote it, at the code itself.
        # (The loader currently puts a spurious "codes: must have at least 1 item(s)" first.)
        edit("payer", 'codes: ["99214"]', "codes: [99214]"),
        '{path}:19:13: coverage[0].codes[0]: write codes as quoted text, e.g. "90791" '
        "(got the number 99214)",
        id="payer-unquoted-code",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit("payer", "kind: commercial\n", ""),
        "{path}:1:1: kind: required field is missing",
        id="payer-missing-field",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit("payer", "name: Acme PPO", "name: [Acme PPO"),
        "{path}:3:5: invalid YAML: did not find expected ',' or ']' "
        "(while parsing a flow sequence at line 2)",
        id="payer-yaml-syntax",
    ),
    # ------------------------------------------------------------------ clinic files
    pytest.param(
        "clinic",
        "c.yaml",
        # 123456789 with the 80840 prefix has check digit 3, not 0
        edit("clinic", 'npi: "1234567893"', 'npi: "1234567890"'),
        "{path}:2:6: npi: not a valid NPI: 10 digits with a correct check digit (got '1234567890')",
        id="clinic-npi-check-digit",
    ),
    pytest.param(
        "clinic",
        "c.yaml",
        edit("clinic", 'npi: "1234567893"', "npi: 1234567893"),
        '{path}:2:6: npi: write NPIs as quoted text, e.g. "1234567893" (got the number 1234567893)',
        id="clinic-npi-unquoted",
    ),
    pytest.param(
        "clinic",
        "c.yaml",
        edit(
            "clinic",
            '{code: "99214", description: Office visit}',
            '{code: "90837", description: Therapy}',
        ),
        "{path}:12:16: sessions.visit.lines[0].code: code 90837 has no charge in the chargemaster",
        id="clinic-code-not-in-chargemaster",
    ),
    pytest.param(
        "clinic",
        "c.yaml",
        edit("clinic", "session: visit, sessions: 3", "session: infusion, sessions: 3"),
        "{path}:15:29: packages[0].session: no session 'infusion' (known: visit)",
        id="clinic-package-unknown-session",
    ),
    pytest.param(
        "clinic",
        "c.yaml",
        edit("clinic", '  "96365": 650.00\n', '  "99214": 210.00\n'),
        "{path}:7:3: duplicate key '99214' (first at line 6)",
        id="clinic-duplicate-key",
    ),
    # issue 12 §1: the clinic's status with Original Medicare
    pytest.param(
        "clinic",
        "c.yaml",
        edit("clinic", "packages:\n", "medicare: {participation: non_participating}\npackages:\n"),
        "{path}:14:11: medicare: a non_participating clinic chooses assignment claim by claim: "
        "give assignment: accepted or not_accepted",
        id="clinic-medicare-non-participating-without-assignment",
    ),
    pytest.param(
        "clinic",
        "c.yaml",
        edit(
            "clinic",
            "packages:\n",
            "medicare: {participation: participating, assignment: not_accepted}\npackages:\n",
        ),
        "{path}:14:11: medicare: a participating clinic accepts assignment on every claim: "
        "assignment not_accepted contradicts participation participating",
        id="clinic-medicare-participating-not-accepting-assignment",
    ),
    pytest.param(
        "clinic",
        "c.yaml",
        edit(
            "clinic",
            "packages:\n",
            "medicare: {participation: opted_out, assignment: accepted}\npackages:\n",
        ),
        "{path}:14:11: medicare: an opted-out clinic files no Medicare claims (private "
        "contracts): leave assignment out",
        id="clinic-medicare-opted-out-with-assignment",
    ),
    pytest.param(
        "clinic",
        "c.yaml",
        edit("clinic", "packages:\n", "medicare: {participation: retired}\npackages:\n"),
        "{path}:14:27: medicare.participation: must be one of 'participating', "
        "'non_participating', 'opted_out' (got 'retired')",
        id="clinic-medicare-unknown-participation",
    ),
    # issue 12 §1: liability notices, the non-participating terms and payment cuts
    pytest.param(
        "payer",
        "acme.yaml",
        edit(
            "payer",
            "    category: office-visit\n",
            "    category: office-visit\n"
            '  - codes: ["96365"]\n    status: excluded\n    reason: off-label\n'
            "    liability: not_reasonable_and_necessary\n",
        ),
        "{path}:25:16: coverage[1].liability: an Advance Beneficiary Notice is Original "
        "Medicare's: not_reasonable_and_necessary needs kind medicare (got commercial)",
        id="payer-abn-liability-not-medicare",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit(
            "payer",
            "    category: office-visit\n",
            "    category: office-visit\n"
            '  - codes: ["96365"]\n    status: excluded\n    reason: off-label\n'
            "    liability: maybe\n",
        ),
        "{path}:25:16: coverage[1].liability: must be one of 'statutory', "
        "'not_reasonable_and_necessary' (got 'maybe')",
        id="payer-unknown-liability",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit(
            "payer",
            "networks:\n",
            "non_participating: {allowed: 0.95, limiting_charge: 1.15}\nnetworks:\n",
        ),
        "{path}:8:20: non_participating: applies to kind medicare only (got commercial)",
        id="payer-non-participating-not-medicare",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit(
            "payer",
            "networks:\n",
            "payment_reduction: {percent: {2013-04-01: 2}, reason: sequestration}\nnetworks:\n",
        ),
        "{path}:8:43: payment_reduction.percent.2013-04-01: must be at most 1 (got 2)",
        id="payer-payment-reduction-above-1",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit("payer", "networks:\n", "payment_reduction: {percent: 0.02}\nnetworks:\n"),
        "{path}:8:20: payment_reduction.reason: required field is missing",
        id="payer-payment-reduction-without-reason",
    ),
    # ------------------------------------------------------------------ request files
    # issue 12 §1: an ABN and Medicare entitlement
    pytest.param(
        "request",
        "r.yaml",
        edit("request", "  payer: acme\n", "  payer: acme\n  abn_signed: true\n"),
        "{path}:5:15: coverage.abn_signed: an Advance Beneficiary Notice is for Original "
        "Medicare; payer 'acme' is kind commercial",
        id="request-abn-not-medicare",
    ),
    pytest.param(
        "request",
        "r.yaml",
        edit(
            "request",
            "clinic: clinic.yaml\n",
            "coverage_periods:\n  - {starts: "
            "medicare_entitlement, payer: acme}\nclinic: clinic.yaml\n",
        ),
        "{path}:6:14: coverage_periods[0].starts: medicare_entitlement is computed from "
        "patient.birth_date: give the patient's birth_date",
        id="request-entitlement-without-birth-date",
    ),
    pytest.param(
        "request",
        "r.yaml",
        edit(
            "request",
            "clinic: clinic.yaml\n",
            "coverage_periods:\n  - {starts: at-65, payer: acme}\nclinic: clinic.yaml\n",
        ),
        "{path}:6:14: coverage_periods[0].starts: expected a date (YYYY-MM-DD) or "
        "medicare_entitlement (got 'at-65')",
        id="request-bad-period-start",
    ),
    pytest.param(
        "request",
        "r.yaml",
        edit("request", "session: visit,", "session: infusion,"),
        "{path}:9:17: plan.phases[0].session: the clinic has no session 'infusion' (known: visit)",
        id="request-unknown-session",
    ),
    pytest.param(
        "request",
        "r.yaml",
        edit("request", "payer: acme", "payer: acme-hmo"),
        "{path}:4:10: coverage.payer: unknown payer 'acme-hmo' (known: acme)",
        id="request-unknown-payer",
    ),
    pytest.param(
        "request",
        "r.yaml",
        # (The loader currently puts a spurious "plan.phases: must have at least 1 item(s)"
        # first, at the list.)
        edit("request", "every_days: 7}", "every_days: 7, per_week: 2, weeks: 3}"),
        "{path}:9:7: plan.phases[0]: a phase needs exactly one cadence: give either 'sessions' "
        "with 'every_days' or 'every_weeks', or 'per_week' with 'weeks'",
        id="request-two-cadences",
    ),
    pytest.param(
        "request",
        "r.yaml",
        # reported at the plan mapping (its first key), where the field belongs
        edit("request", "  start: 2026-03-02\n", ""),
        "{path}:7:3: plan.start: required field is missing",
        id="request-missing-field",
    ),
    pytest.param(
        "request",
        "r.yaml",
        edit("request", "  age: 40\n", '  diagnoses: ["F33.2"]\n'),
        "{path}:2:3: patient: give the patient's birth_date or age",
        id="request-no-birth-date-or-age",
    ),
    pytest.param(
        "request",
        "r.yaml",
        edit("request", "payer: acme", "payer: acme\n  network: outside"),
        "{path}:5:12: coverage.network: must be one of 'in', 'out' (got 'outside')",
        id="request-bad-network",
    ),
    pytest.param(
        "payer",
        "acme.yaml",
        edit("payer", "{copay: 30.00, coinsurance: 0.2}", "{copay: 30.00, deductible_applies: no}"),
        "{path}:17:56: networks.in.cost_sharing.office-visit.deductible_applies: "
        "expected true or false (got 'no')",
        id="payer-yaml11-boolean-is-not-a-boolean",
    ),
    pytest.param(
        "request",
        "r.yaml",
        edit("request", "  age: 40\n", "  age: 40\n   failed_trials: 2\n"),
        "{path}:3:17: invalid YAML: mapping values are not allowed in this context",
        id="request-yaml-syntax",
    ),
    pytest.param(
        "request",
        "r.yaml",
        # YAML's true is not a number of failed trials (pydantic's lax mode would read 1)
        edit("request", "  age: 40\n", "  age: 40\n  failed_trials: true\n"),
        "{path}:3:18: patient.failed_trials: expected a whole number (got true)",
        id="request-boolean-count",
    ),
    pytest.param(
        "request",
        "r.yaml",
        edit("request", "sessions: 2,", "sessions: false,"),
        "{path}:9:34: plan.phases[0].sessions: expected a whole number (got false)",
        id="request-boolean-sessions",
    ),
    # ------------------------------------------------------------------ claim-edit files
    pytest.param(
        "edits",
        "ncci.yaml",
        # NCCI's modifier indicator is written as the bypass modifiers, not as a number
        edit("edits", '    bypass_modifiers: ["59", "XU"]\n', "    modifier_indicator: 1\n"),
        "{path}:14:5: edits[0].modifier_indicator: unknown key 'modifier_indicator'",
        id="edits-unknown-key",
    ),
    pytest.param(
        "edits",
        "ncci.yaml",
        edit("edits", 'column_2: "96372"', 'column_2: "9637"'),
        "{path}:13:15: edits[0].column_2: must match '^[0-9A-Z]{{5}}$' (got '9637')",
        id="edits-bad-code",
    ),
    pytest.param(
        "edits",
        "ncci.yaml",
        edit("edits", 'column_1: "96365"', "column_1: 96365"),
        '{path}:12:15: edits[0].column_1: write codes as quoted text, e.g. "90791" '
        "(got the number 96365)",
        id="edits-unquoted-code",
    ),
    pytest.param(
        "edits",
        "ncci.yaml",
        edit("edits", 'bypass_modifiers: ["59", "XU"]', 'bypass_modifiers: ["59", "X"]'),
        "{path}:14:30: edits[0].bypass_modifiers[1]: must match '^[0-9A-Z]{{2}}$' (got 'X')",
        id="edits-bad-modifier",
    ),
    pytest.param(
        "edits",
        "ncci.yaml",
        edit(
            "edits",
            "    effective_from: 2026-01-01\n    reference:\n      - {title: CMS",
            "    effective_from: 2026-02-30\n    reference:\n      - {title: CMS",
        ),
        "{path}:15:21: edits[0].effective_from: expected a date (YYYY-MM-DD) (got '2026-02-30')",
        id="edits-bad-date",
    ),
    pytest.param(
        "edits",
        "ncci.yaml",
        edit(
            "edits",
            "    max_units_per_day: 84\n",
            "    max_units_per_day: {2026-01-01: 84, 2025-01-01: 112}\n",
        ),
        "{path}:23:24: edits[1].max_units_per_day: "
        "dated keys must be in increasing date order (2025-01-01 comes after 2026-01-01)",
        id="edits-dated-limit-out-of-order",
    ),
    pytest.param(
        "edits",
        "ncci.yaml",
        edit("edits", "    max_units_per_day: 84\n", "    max_units_per_day: 0\n"),
        "{path}:23:24: edits[1].max_units_per_day: must be at least 1 (got 0)",
        id="edits-zero-units",
    ),
    pytest.param(
        "edits",
        "ncci.yaml",
        edit("edits", "kind: unit-limit", "kind: unit-cap"),
        "{path}:19:11: edits[1]: expected kind one of 'same-day-pair', 'unit-limit' "
        "(got 'unit-cap')",
        id="edits-unknown-kind",
    ),
    pytest.param(
        "edits",
        "ncci.yaml",
        edit("edits", "payer_kinds: [commercial]", "payer_kinds: [commercial-ppo]"),
        "{path}:21:19: edits[1].payer_kinds[0]: must be one of 'commercial', 'commercial-hdhp', "
        "'medicare', 'medicare-advantage', 'medicaid', 'tricare', 'va', 'medigap', "
        "'self-pay' "
        "(got 'commercial-ppo')",
        id="edits-unknown-payer-kind",
    ),
    pytest.param(
        "edits",
        "ncci.yaml",
        edit("edits", "payers: [acme]", "payers: [acme-ppo]"),
        "{path}:11:14: edits[0].payers[0]: payer 'acme-ppo' does not exist (known: acme)",
        id="edits-unknown-payer",
    ),
    pytest.param(
        "edits",
        "ncci.yaml",
        edit("edits", "    payers: [acme]\n", ""),
        "{path}:8:5: edits[0]: an edit must name the payers or payer_kinds it applies to",
        id="edits-no-payer",
    ),
    pytest.param(
        "edits",
        "ncci.yaml",
        edit("edits", 'column_2: "96372"', 'column_2: "96365"'),
        "{path}:13:15: edits[0].column_2: a pair needs two different codes (both are 96365)",
        id="edits-pair-of-one-code",
    ),
    pytest.param(
        "edits",
        "ncci.yaml",
        edit(
            "edits",
            "    effective_from: 2026-01-01\n    reference:\n      - {title: the",
            "    effective_from: 2026-01-01\n    effective_until: 2025-12-31\n    reference:\n      - {title: the",
        ),
        "{path}:25:22: edits[1].effective_until: 2025-12-31 is before effective_from 2026-01-01",
        id="edits-until-before-from",
    ),
    pytest.param(
        "edits",
        "ncci.yaml",
        edit("edits", "id: j0013-a-day", "id: infusion-injection"),
        "{path}:18:9: edits[1].id: duplicate edit id 'infusion-injection' (first at edits[0])",
        id="edits-duplicate-id",
    ),
    pytest.param(
        "edits",
        "ncci.yaml",
        # the same pair again, written the other way round, for the same payer and dates
        EDITS
        + """\
  - id: injection-infusion
    kind: same-day-pair
    name: the same pair again
    payers: [acme]
    column_1: "96372"
    column_2: "96365"
    effective_from: 2026-06-01
    reference:
      - {title: CMS NCCI PTP edits, href: "https://www.cms.gov/ncci"}
""",
        "{path}:27:5: edits[2]: duplicate edit: ncci:infusion-injection is about the same codes "
        "for a payer it also applies to, on overlapping dates",
        id="edits-duplicate-edit",
    ),
    pytest.param(
        "edits",
        "ncci.yaml",
        edit("edits", "id: ncci\n", "id: medicare-ncci\n"),
        "{path}:1:5: id: must equal the file name 'ncci': edits/<id>.yaml holds claim edits <id> "
        "(got 'medicare-ncci')",
        id="edits-id-is-not-the-file-name",
    ),
    # ------------------------------------------- inputs that contradict each other (§6)
    # The plan: two visits, Mon 2026-03-02 and Mon 2026-03-09.
    pytest.param(
        "request",
        "r.yaml",
        edit("request", "  age: 40\n", "  birth_date: 2030-01-01\n"),
        "{path}:2:15: patient.birth_date: the patient is born (2030-01-01) after the first "
        "visit (2026-03-02)",
        id="request-born-after-the-first-visit",
    ),
    pytest.param(
        "request",
        "r.yaml",
        # born 2026-03-03: after the first visit (03-02), though before the second
        edit("request", "  age: 40\n", "  birth_date: 2026-03-03\n"),
        "{path}:2:15: patient.birth_date: the patient is born (2026-03-03) after the first "
        "visit (2026-03-02)",
        id="request-born-between-the-visits",
    ),
    pytest.param(
        "request",
        "r.yaml",
        # 2026-03-09 − 1890-01-01: 136 whole years on the last visit
        edit("request", "  age: 40\n", "  birth_date: 1890-01-01\n"),
        "{path}:2:15: patient.birth_date: the patient would be 136 on the last visit "
        "(2026-03-09) by birth_date 1890-01-01; at most 130 is accepted",
        id="request-older-than-130",
    ),
    pytest.param(
        "request",
        "r.yaml",
        # born 1990-06-15: 35 on 2026-03-02 (the 36th birthday is in June), not 40
        edit("request", "  age: 40\n", "  age: 40\n  birth_date: 1990-06-15\n"),
        "{path}:2:8: patient.age: age 40 disagrees with birth_date 1990-06-15: the patient is "
        "35 on the first visit (2026-03-02); give the age on that day, or leave age out",
        id="request-age-disagrees-with-birth-date",
    ),
    pytest.param(
        "request",
        "r.yaml",
        accumulators("{individual: 400.00}", "{individual: 300.00}"),
        "{path}:6:5: coverage.accumulators: out_of_pocket_met.individual (300.00) is below "
        "deductible_met.individual (400.00): deductible paid counts toward the out-of-pocket "
        "maximum",
        id="request-deductible-met-above-out-of-pocket-met",
    ),
    pytest.param(
        "request",
        "r.yaml",
        accumulators(
            "{individual: 400.00, family: 800.00}", "{individual: 500.00, family: 700.00}"
        ),
        "{path}:6:5: coverage.accumulators: out_of_pocket_met.family (700.00) is below "
        "deductible_met.family (800.00): deductible paid counts toward the out-of-pocket maximum",
        id="request-family-deductible-met-above-family-out-of-pocket-met",
    ),
    pytest.param(
        "request",
        "r.yaml",
        # no family deductible met given, but the family's maximum met is below the
        # individual's deductible met, which counts toward it
        accumulators("{individual: 400.00}", "{family: 350.00}"),
        "{path}:6:5: coverage.accumulators: out_of_pocket_met.family (350.00) is below "
        "deductible_met.individual (400.00): deductible paid counts toward the out-of-pocket "
        "maximum",
        id="request-individual-deductible-met-above-family-out-of-pocket-met",
    ),
    pytest.param(
        "request",
        "r.yaml",
        accumulators("{individual: 400.00, family: 300.00}"),
        "{path}:7:21: coverage.accumulators.deductible_met: family (300.00) is below individual "
        "(400.00): the family amount includes the individual's",
        id="request-individual-met-above-family-met",
    ),
    pytest.param(
        "request",
        "r.yaml",
        accumulators("{individual: 500.01}"),
        "{path}:7:34: coverage.accumulators.deductible_met.individual: 500.01 is above the "
        "plan's individual amount, 500.00 (payer 'acme': networks.in.deductible.individual on "
        "2026-03-01)",
        id="request-deductible-met-above-the-plans",
    ),
    pytest.param(
        "request",
        "r.yaml",
        accumulators("{individual: 500.00, family: 1000.01}", "{family: 1000.01}"),
        "{path}:7:50: coverage.accumulators.deductible_met.family: 1000.01 is above the plan's "
        "family amount, 1000.00 (payer 'acme': networks.in.deductible.family on 2026-03-01)",
        id="request-family-deductible-met-above-the-plans",
    ),
    pytest.param(
        "request",
        "r.yaml",
        accumulators("{individual: 500.00}", "{individual: 3000.01}"),
        "{path}:8:37: coverage.accumulators.out_of_pocket_met.individual: 3000.01 is above the "
        "plan's individual amount, 3000.00 (payer 'acme': networks.in.out_of_pocket_max."
        "individual on 2026-03-01)",
        id="request-out-of-pocket-met-above-the-plans",
    ),
]


@pytest.mark.parametrize(("kind", "name", "text", "expected"), CASES)
def test_bad_file(tmp_path: Path, kind: str, name: str, text: str, expected: str) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(ERRORS[kind]) as info:
        load(kind, path)
    assert str(info.value) == expected.format(path=path)
    assert_plain_error(info.value)


def test_request_clinic_file_not_found(tmp_path: Path) -> None:
    path = write(tmp_path, "r.yaml", edit("request", "clinic: clinic.yaml", "clinic: gone.yaml"))
    with pytest.raises(RequestFileError) as info:
        load("request", path)
    assert str(info.value) == (
        f"{path}:5:9: clinic: clinic file 'gone.yaml' not found "
        f"(looked at {tmp_path / 'gone.yaml'})"
    )
    assert_plain_error(info.value)


def test_float_looking_money_is_fine(tmp_path: Path) -> None:
    # 500.5 is read as the exact Decimal 500.5, never a float: 500.50
    payer = ketacost.load_payer(
        write(tmp_path, "acme.yaml", edit("payer", "individual: 500.00", "individual: 500.5"))
    )
    assert payer.networks["in"].deductible.individual.at(payer.metadata.last_reviewed) == Money(
        "500.50"
    )


# --------------------------------------------------------------------------- folders

PERCENT_OF_MISSING_PAYER = edit(
    "payer",
    "coverage:\n",
    """\
  out:
    deductible: {individual: 1000.00}
    out_of_pocket_max: {individual: 6000.00}
    allowed: {basis: percent_of_payer, payer: medicare, percent: 1.4}
    balance_billing: true
    cost_sharing:
      office-visit: {coinsurance: 0.4}
coverage:
""",
)


def test_folder_percent_of_payer_naming_a_missing_payer(tmp_path: Path) -> None:
    folder = tmp_path / "payers"
    folder.mkdir()
    (folder / "acme.yaml").write_text(PERCENT_OF_MISSING_PAYER, encoding="utf-8")
    # the file alone is fine: the reference is checked across the folder
    ketacost.load_payer(folder / "acme.yaml")
    with pytest.raises(PayerFileError) as info:
        ketacost.load_payers(folder)
    assert str(info.value) == (
        f"{folder / 'acme.yaml'}:21:47: networks.out.allowed.payer: "
        "payer 'medicare' does not exist (known: acme)"
    )
    assert_plain_error(info.value)


def test_failed_folder_load_leaves_nothing_half_loaded(tmp_path: Path) -> None:
    folder = tmp_path / "payers"
    folder.mkdir()
    (folder / "acme.yaml").write_text(PAYER, encoding="utf-8")
    library = ketacost.load_payers(folder)
    before = {pid: p.model_dump_json() for pid, p in library.items()}

    # a second, good file and a third, bad one: nothing is returned, every problem is listed
    (folder / "beta.yaml").write_text(PAYER.replace("id: acme", "id: beta"), encoding="utf-8")
    bad = PAYER.replace("id: acme", "id: gamma").replace("coinsurance: 0.2", "coinsurance: 1.2")
    (folder / "gamma.yaml").write_text(bad, encoding="utf-8")
    result = None
    with pytest.raises(PayerFileError) as info:
        result = ketacost.load_payers(folder)
    assert result is None
    assert str(info.value) == (
        f"{folder / 'gamma.yaml'}:17:49: networks.in.cost_sharing.office-visit.coinsurance: "
        "must be at most 1 (got 1.2)"
    )
    assert_plain_error(info.value)
    assert [str(i) for i in ketacost.check_payers(folder)] == [str(info.value)]

    # the library loaded before is unchanged
    assert list(library) == ["acme"]
    assert {pid: p.model_dump_json() for pid, p in library.items()} == before
    with pytest.raises(ketacost.UnknownPayerError):
        library["beta"]
