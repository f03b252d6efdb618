"""What a patient or front-desk person reads in the terminal (issue 16).

Every amount whole at any width (rich and plain), why a line is not covered in words,
self-pay said as such, ranges in words, payers' cost sharing, plurals, the calendar's titles,
and the same estimate in Spanish with identical money.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import Case, rich_cases

import ketacost
from ketacost._i18n import translator
from ketacost._library import default_payers
from ketacost._plain import describe, not_covered_reason
from ketacost._render import (
    comparison_report,
    estimate_report,
    is_self_pay,
    range_notes,
    render_plain,
)
from ketacost.cli import cli
from ketacost.compare import compare, variants
from ketacost.ics import event_summary

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = ROOT / "examples" / "requests"
ESKETAMINE = REQUESTS / "esketamine-commercial.yaml"
IV_COMMERCIAL = REQUESTS / "iv-series-commercial.yaml"
IV_SELF_PAY = REQUESTS / "iv-series-self-pay.yaml"
MEDIGAP = REQUESTS / "medicare-medigap.yaml"
EXAMPLES = sorted(REQUESTS.glob("*.yaml"))

#: An amount as the CLI prints it: "$1,234.56" (or "-$5.00").
MONEY = re.compile(r"-?\$\d{1,3}(?:,\d{3})*\.\d{2}")
#: A bare amount with no "$" before it ("4,629.88", "0.00"), in a sentence.
BARE = re.compile(r"(?<![\$\d,.])\d{1,3}(?:,\d{3})*\.\d{2}\b")

#: Every command whose output holds a rich table, the tables the issue names.
TABLE_COMMANDS: list[tuple[str, ...]] = [
    *(("estimate", str(p)) for p in EXAMPLES),
    ("compare", str(ESKETAMINE), "--payer", "commercial-ppo", "--payer", "medicare-part-b",
     "--payer", "self-pay"),
    ("compare", str(MEDIGAP), "--secondary", "none", "--secondary", "medigap-plan-g",
     "--secondary", "medigap-plan-n"),
    ("schedule", str(IV_SELF_PAY)),
    ("schedule", str(ESKETAMINE)),
    ("payers", "show", "commercial-ppo"),
    ("payers", "show", "medicare-part-b"),
    ("payers", "list"),
]  # fmt: skip


def run(*args: str | Path, columns: int | None = None) -> Result:
    env = {"COLUMNS": str(columns)} if columns else {}
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env)
    assert result.exit_code == 0, result.output
    return result


def amounts(text: str) -> Counter[str]:
    return Counter(MONEY.findall(text))


# -- money is never cut ---------------------------------------------------------------------
@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("command", TABLE_COMMANDS, ids=lambda c: "-".join(Path(x).stem for x in c))
def test_every_amount_whole_at_every_width(command: tuple[str, ...], width: int) -> None:
    # Plain text never cuts a cell: its amounts are the reference. The rich tables at 60, 80
    # and 120 columns hold the same amounts, as many times each, and no line is wider than
    # the terminal (before issue 16 the console widened past it, to 178 columns for compare,
    # and an amount cut short, "$6,000…", counted as missing here).
    plain = run("--plain", *command).stdout
    drawn = run(*command, columns=width).stdout
    assert amounts(drawn) == amounts(plain)
    assert drawn.count("…") == plain.count("…")  # rich's ellipsis of a cut cell: none
    assert max(len(line) for line in drawn.splitlines()) <= width


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("width", [60, 80, 100, 120])
@pytest.mark.parametrize("command", TABLE_COMMANDS, ids=lambda c: "-".join(Path(x).stem for x in c))
def test_plain_text_fits_the_terminal_and_never_splits_an_amount(
    command: tuple[str, ...], width: int, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: `--plain` (and any install without rich) printed rows 130-180 characters wide,
    # and the terminal cut "$1,5|00.00" across lines. Now the plain tables fit the terminal
    # (text cells wrap at spaces, or the table is stacked) and so do the sentences: no line is
    # wider than the terminal, and the amounts are the same, as many times each, as unwrapped.
    import ketacost.cli._output as output

    args = (
        [*command, "--lang", lang] if command[0] in ("estimate", "compare", "schedule") else command
    )
    whole = run("--plain", *args).stdout
    monkeypatch.setattr(output, "_plain_width", lambda: width)
    fitted = run("--plain", *args).stdout
    assert amounts(fitted) == amounts(whole)
    # Only a single word longer than the terminal (a source's URL) may pass its edge.
    too_wide = [line for line in fitted.splitlines() if len(line) > width]
    assert all(len(line.split()) == 1 for line in too_wide), too_wide
    # An id a person types (``medicare-advantage``) is never cut mid-word.
    for payer_id in re.findall(r"\b[a-z]+(?:-[a-z0-9]+)+\b", whole):
        assert payer_id in fitted or width < len(payer_id), payer_id


def test_plain_tables_wrap_text_cells_and_keep_ids_whole() -> None:
    from ketacost._render import Report, Table

    table = Table(
        "Payers",
        ("Id", "Name", "Deductible"),
        (("medicare-advantage", "Example Medicare Advantage plan (HMO)", "$1,500.00"),),
        frozenset({2}),
    )
    text = render_plain(Report("Payers", (table,), notes=("You pay " + "$1,500.00 " * 12,)), 40)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 40
    assert any("medicare-advantage" in line for line in lines)
    assert sum(line.count("$1,500.00") for line in lines) == 13


@pytest.mark.parametrize("request_path", EXAMPLES, ids=lambda p: p.stem)
def test_every_visit_and_total_of_the_estimate_is_printed_whole(request_path: Path) -> None:
    est = ketacost.estimate(ketacost.load_request(request_path))
    wanted = Counter(
        format(m, "$")
        for v in est.visits
        for m in (v.totals.charge, v.totals.patient_net, v.totals.payer)
    )
    wanted.update(
        format(getattr(est.totals, f), "$")
        for f in ("charge", "deductible", "assistance", "patient_net", "payer")
    )
    for width in (60, 80, 120):
        found = amounts(run("estimate", request_path, columns=width).stdout)
        assert not wanted - found, width
    assert not wanted - amounts(run("--plain", "estimate", request_path).stdout)


@settings(max_examples=40, deadline=None)
@given(case=rich_cases(), width=st.sampled_from([40, 60, 80, 120]))
def test_generated_estimates_keep_every_amount_at_any_width(case: Case, width: int) -> None:
    pytest.importorskip("rich")
    from ketacost.cli._output import render_rich

    report = estimate_report(case.estimate())
    drawn = render_rich(report, width=width, color=False)
    assert amounts(drawn) == amounts(render_plain(report))
    assert max(len(line) for line in drawn.splitlines()) <= width


# -- why a line is not covered, in words ----------------------------------------------------
@pytest.mark.parametrize("request_path", EXAMPLES, ids=lambda p: p.stem)
def test_every_not_covered_line_says_why_in_words(request_path: Path) -> None:
    est = ketacost.estimate(ketacost.load_request(request_path))
    report = estimate_report(est)
    visits = report.tables[0]
    coverage = visits.headers.index("Coverage")
    notes = "\n".join(report.notes)
    for v, row in zip(est.visits, visits.rows, strict=True):
        reasons = [not_covered_reason(ln) for ln in v.lines if not ln.covered]
        if not reasons:
            assert row[coverage] == "covered"
            continue
        # Before issue 16 the cell was "partly" or "not covered" and no reason was given.
        marks = re.fullmatch(r"(self-pay|not covered|partly covered) \[([\d, ]+)\]", row[coverage])
        assert marks, row[coverage]
        for reason, line in zip(reasons, (ln for ln in v.lines if not ln.covered), strict=True):
            assert reason and f": {reason}." in notes
            assert describe(line) in notes


def test_the_visit_table_names_the_plans_exclusion() -> None:
    text = run("--plain", "estimate", IV_COMMERCIAL).stdout
    assert "not covered [1]" in text
    assert "[1] IV ketamine infusion" in text and "experimental" in text
    # The items to ask a Good Faith Estimate for: in words (as the notes name them) and the
    # code once; it was the engine's "Ketamine HCl (unclassified drug) (J3490)".
    assert "Ketamine (the medicine) (J3490), 17 times, $524.96" in text


# -- self-pay is self-pay -------------------------------------------------------------------
def test_a_self_pay_estimate_says_self_pay_and_no_network() -> None:
    est = ketacost.estimate(ketacost.load_request(IV_SELF_PAY))
    assert is_self_pay(est)
    text = run("--plain", "estimate", IV_SELF_PAY).stdout
    title = text.splitlines()[0]
    # Before: "Estimate: Self-pay (no insurance billed) (in network)", cells "not covered".
    assert title == "Estimate: Self-pay (no insurance billed)"
    # In Spanish, the payer file's English name is not the title (it was).
    es = run("--plain", "estimate", IV_SELF_PAY, "--lang", "es").stdout.splitlines()[0]
    assert es == "Estimación: Pago por cuenta propia (no se factura a ningún seguro)"
    assert "network" not in title
    assert "not covered" not in text
    assert "self-pay [" in text
    assert "$7,600.00 at the clinic's self-pay prices" in text
    assert "you are paying the clinic directly" in text
    insured = ketacost.estimate(ketacost.load_request(IV_COMMERCIAL))
    assert not is_self_pay(insured)
    assert "(in network)" in estimate_report(insured).title


def test_compare_says_a_self_pay_row_has_no_network() -> None:
    request = ketacost.load_request(ESKETAMINE)
    found = compare(request, variants(payers=["commercial-ppo", "self-pay"]), default_payers())
    table = comparison_report(found).tables[0]
    network = table.headers.index("Network")
    cells = {row[2]: row[network] for row in table.rows}
    assert cells == {
        "Example Commercial PPO": "in",
        "Self-pay (no insurance billed)": "none (self-pay)",
    }
    # The option is the payer's name (it was its id), and what self-pay pays is "Self-pay",
    # never counted in "Not covered+balance" (it was $43,100.00 there).
    options = [row[1] for row in table.rows]
    assert options == ["Example Commercial PPO", "Self-pay (no insurance billed)"]
    self_pay = table.headers.index("Self-pay")
    not_covered = table.headers.index("Not covered+balance")
    row = table.rows[options.index("Self-pay (no insurance billed)")]
    assert (row[self_pay], row[not_covered]) == ("$43,100.00", "$0.00")
    notes = " ".join(comparison_report(found).notes)
    assert "Cheapest for the patient: Example Commercial PPO" in notes
    es = comparison_report(found, lang="es")
    assert "Self-pay (no insurance billed)" not in str(es)
    assert "Pago por cuenta propia (no se factura a ningún seguro)" in str(es)


def test_compare_says_when_every_option_costs_the_same() -> None:
    # a review found "Most expensive: ..., $0.00 more" for two options that cost the same
    request = ketacost.load_request(ESKETAMINE)
    found = compare(
        request, variants(payers=["commercial-ppo", "commercial-ppo"]), default_payers()
    )
    notes = comparison_report(found).notes
    assert "Every option costs the patient the same." in notes
    assert not any("Most expensive" in n for n in notes)
    assert (
        "Todas las opciones le cuestan lo mismo al paciente."
        in comparison_report(found, lang="es").notes
    )


def test_compare_options_in_spanish_and_medicare_has_no_network() -> None:
    request = ketacost.load_request(ESKETAMINE)
    found = compare(request, variants(networks=["in", "out"]), default_payers())
    text = str(comparison_report(found, lang="es"))
    # Before: "Opción: in network / out network", "Lo más costoso: out network".
    assert "in network" not in text and "out network" not in text
    assert "dentro de la red" in text and "fuera de la red" in text
    medigap = ketacost.load_request(MEDIGAP)
    both = compare(medigap, variants(secondaries=["none", "medigap-plan-g"]), default_payers())
    table = comparison_report(both, kinds={"medicare-part-b": "medicare"}).tables[0]
    network = table.headers.index("Network")
    assert {row[network] for row in table.rows} == {"Medicare"}
    assert [row[1] for row in table.rows] == ["+ Medigap Plan G", "no second payer"]
    assert "(in network)" not in run("--plain", "estimate", MEDIGAP).stdout.splitlines()[0]


# -- ranges in words -----------------------------------------------------------------------
def _iv_request(tmp_path: Path, payer: str, unknowns: str, boosters: int = 11) -> Path:
    text = (
        "issued: 2026-11-21\n"
        "patient: {name: A, birth_date: 1985-06-02, diagnoses: ['F33.2'], failed_trials: 3}\n"
        f"coverage: {{payer: {payer}}}\n"
        f"clinic: {ROOT / 'examples' / 'clinics' / 'example-clinic.yaml'}\n"
        "plan:\n  start: 2027-01-04\n  closed_weekdays: [sat, sun]\n  phases:\n"
        "    - {name: intake, session: intake, sessions: 1}\n"
        "    - {name: induction, session: iv-infusion, sessions: 6, every_days: 2}\n"
        f"    - {{name: boosters, session: iv-infusion, sessions: {boosters}, every_weeks: 4}}\n"
        f"unknowns:\n{unknowns}"
    )
    path = tmp_path / "request.yaml"
    path.write_text(text)
    return path


def test_a_range_where_nothing_changes_is_not_a_range(tmp_path: Path) -> None:
    # Self-pay: how much of a deductible is met changes nothing. Before: "you may pay from
    # $7,600.00 to $7,600.00; $7,600.00 is expected."
    path = _iv_request(tmp_path, "self-pay", "  deductible_met: {low: 0, high: 1500}\n")
    est = ketacost.estimate(ketacost.load_request(path))
    assert est.range is not None and est.range.low == est.range.high
    amount = format(est.range.expected, "$")
    for lang in ("en", "es"):
        first = range_notes(est, lang=lang)[0]
        assert f"{amount} to {amount}" not in first and f"{amount} a {amount}" not in first
        assert f"entre {amount} y {amount}" not in first
    assert range_notes(est)[0] == (
        f"Some inputs are not known yet, but they do not change what you pay: {amount}."
    )


def test_a_range_input_that_changes_nothing_says_so(tmp_path: Path) -> None:
    path = _iv_request(
        tmp_path,
        "commercial-ppo",
        "  sessions: [{phase: boosters, low: 6, high: 12}]\n"
        "  deductible_met: {low: 0, high: 500}\n"
        "  prior_authorization: [approved, denied]\n",
    )
    est = ketacost.estimate(ketacost.load_request(path))
    notes = range_notes(est)
    text = "\n".join(notes)
    # Before: "...met: $7,380.00 if 0.00, $7,380.00 if 0.00." and "if not_requested".
    assert "if 0.00" not in text and "not_requested" not in text
    assert "How much of the deductible is already met does not change what you pay" in text
    assert "The prior authorization decision does not change what you pay" in text
    assert re.search(r"\$[\d,.]+ with 6 sessions, \$[\d,.]+ with 12 sessions\.", text), text
    for note in notes:
        assert not BARE.findall(note), note


def test_a_sessions_unknown_reports_session_counts(tmp_path: Path) -> None:
    # The plan as written has 22 boosters; the unknown says 6 to 12. The expected case is the
    # plan as written, so the high end is 22 sessions: said as "22 sessions (as planned)",
    # where it was "if 22" before.
    path = _iv_request(
        tmp_path, "self-pay", "  sessions: [{phase: boosters, low: 6, high: 12}]\n", boosters=22
    )
    est = ketacost.estimate(ketacost.load_request(path))
    text = "\n".join(range_notes(est))
    assert "if 22" not in text
    assert "with 6 sessions" in text and "with 22 sessions (as planned)" in text
    # With the request, the note says the plan's own count is outside the range given.
    request = ketacost.load_request(path)
    told = "\n".join(range_notes(est, request=request))
    assert (
        "The plan has 22 sessions in boosters, outside the 6 to 12 given as not known yet; "
        "the expected figure is for 22."
    ) in told
    assert "outside the 6 to 12" in run("--plain", "estimate", path).stdout
    # in Spanish the phase reads as on the rest of the estimate ("refuerzos", not "boosters")
    spanish = "\n".join(range_notes(est, lang="es", request=request))
    assert "sesiones en refuerzos" in spanish and "boosters" not in spanish
    one = _iv_request(tmp_path, "self-pay", "  sessions: [{phase: boosters, low: 1, high: 3}]\n")
    text = "\n".join(range_notes(ketacost.estimate(ketacost.load_request(one))))
    assert "with 1 session," in text and not re.search(r"(?<!\d)1 sessions", text)


# -- payers show: copays, coinsurance, the deductible -----------------------------------------
def test_payers_show_gives_each_networks_cost_sharing() -> None:
    text = run("--plain", "payers", "show", "commercial-ppo").stdout
    cost = text[text.index("Cost sharing") : text.index("Coverage rules")]
    rows = {tuple(line.split()[:2]): line for line in cost.splitlines()[3:] if line.strip()}
    # payers/commercial-ppo.yaml: in network office visits $40 and behavioral health $30
    # copays, the drug 20% after the deductible; out of network 40% after the deductible.
    assert (
        "$40.00" in rows[("in", "office-visit")]
        and "does not apply" in rows[("in", "office-visit")]
    )
    assert "$30.00" in rows[("in", "behavioral-health")]
    assert "20%" in rows[("in", "drug")] and "applies first" in rows[("in", "drug")]
    assert "esketamine" in rows[("in", "drug")]
    assert all("40%" in rows[("out", c)] for c in ("office-visit", "behavioral-health", "drug"))
    # Every amount with "$" (before: "1500.00"); a rate as a percent (before: "1.4 ×").
    assert "$1,500.00" in text and "140% of the medicare-part-b fee schedule" in text
    assert not BARE.findall(text.split("Coverage rules")[0])


# -- plurals -----------------------------------------------------------------------------
def test_no_plural_after_one_in_any_table_output() -> None:
    wrong = re.compile(
        r"(?<![\d,.])1 (sessions|times|events|payers|codes|findings|records|rows|days|"
        r"diagnoses|trials|failed trials|entries|estimates)\b"
    )
    for command in TABLE_COMMANDS:
        assert not wrong.search(run("--plain", *command).stdout), command


def test_counts_of_one_are_singular(tmp_path: Path) -> None:
    folder = tmp_path / "payers"
    folder.mkdir()
    (folder / "self-pay.yaml").write_text((ROOT / "payers" / "self-pay.yaml").read_text())
    assert run("--plain", "payers", "list", "--payers", folder).stdout.startswith("1 payer\n")
    t = translator("en", "cli")
    assert t.ngettext("{n} failed trial", "{n} failed trials", 1).format(n=1) == "1 failed trial"


# -- the calendar ---------------------------------------------------------------------------
def test_calendar_titles_do_not_repeat_the_phase(tmp_path: Path) -> None:
    pytest.importorskip("icalendar")
    ics = tmp_path / "s.ics"
    run("schedule", IV_SELF_PAY, "--ics", ics)
    summaries = [
        line[len("SUMMARY:") :]
        for line in ics.read_text().splitlines()
        if line.startswith("SUMMARY:")
    ]
    assert summaries[0] == "Psychiatric diagnostic evaluation (intake)"  # was "(intake) (intake)"
    assert not any(re.search(r"(\([^)]+\)) \1", s) for s in summaries)
    assert event_summary("IV ketamine infusion", "boosters") == "IV ketamine infusion (boosters)"
    assert event_summary("Office visit (Intake)", "intake") == "Office visit (Intake)"


# -- Spanish ------------------------------------------------------------------------------
@pytest.mark.parametrize("columns", [None, 80])
def test_an_estimate_in_spanish_has_spanish_words_and_dates_and_the_same_money(
    columns: int | None,
) -> None:
    plain = ("--plain",) if columns is None else ()
    en = run(*plain, "estimate", IV_COMMERCIAL, columns=columns).stdout
    es = run(*plain, "estimate", IV_COMMERCIAL, "--lang", "es", columns=columns).stdout
    for heading in ("Visitas", "Fecha", "Cobertura", "Años del plan"):
        assert heading in es
    if columns is None:  # a rich table may wrap a cell or a header over two lines
        assert "Usted paga" in es and "Paga el plan" in es and "no cubierto [1]" in es
    assert "4 ene" in es and "2027" in es  # the first visit, 2027-01-04 (may wrap at 80)
    assert "4 ene 2027" in run("--plain", "estimate", IV_COMMERCIAL, "--lang", "es").stdout
    assert "21 de noviembre de 2026" in es  # the estimate's date
    assert "[1]" in es and "experimental" in es
    assert "Visits" not in es and "You pay" not in es
    assert amounts(es) == amounts(en)


def test_compare_and_schedule_in_spanish(tmp_path: Path) -> None:
    args = ("compare", ESKETAMINE, "--payer", "commercial-ppo", "--payer", "self-pay")
    en, es = run("--plain", *args).stdout, run("--plain", *args, "--lang", "es").stdout
    assert "Comparación" in es and "Lo más económico para el paciente" in es
    # One term for self-pay (it was "pago propio" here and "pago por cuenta propia" elsewhere).
    assert "ninguna (pago por cuenta propia)" in es and "pago propio" not in es
    assert amounts(es) == amounts(en)
    es = run("--plain", "schedule", IV_SELF_PAY, "--lang", "es").stdout
    assert "Calendario de sesiones en" in es and "lunes" in es and "4 ene 2027" in es
    # the plan's phases by their Spanish names, as on the Good Faith Estimate (a review found
    # "intake", "induction" and "boosters" left in English here and in the calendar)
    assert "evaluación inicial" in es and "inducción" in es and "refuerzos" in es
    assert "induction" not in es and "boosters" not in es
    table = run("--plain", "estimate", IV_SELF_PAY, "--lang", "es").stdout
    assert "inducción" in table and "induction" not in table
    pytest.importorskip("icalendar")
    ics = tmp_path / "s.ics"
    run("schedule", IV_SELF_PAY, "--lang", "es", "--ics", ics)
    text = ics.read_bytes().decode().replace("\r\n ", "")
    assert "Sesión 1 del plan\\, evaluación inicial." in text
    assert "(inducción)" in text and "(induction)" not in text


def test_machine_formats_do_not_change_with_the_language() -> None:
    for fmt in ("json", "jsonl", "csv"):
        en = run("estimate", IV_COMMERCIAL, "--format", fmt).stdout
        assert run("estimate", IV_COMMERCIAL, "--format", fmt, "--lang", "es").stdout == en
    assert json.loads(run("estimate", IV_COMMERCIAL, "--format", "json").stdout)


def test_an_unknown_language_is_one_usage_error() -> None:
    result = CliRunner().invoke(cli, ["estimate", str(IV_COMMERCIAL), "--lang", "xx"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "'xx' is not one of 'en', 'es'" in result.stderr
    assert "Traceback" not in result.output


def test_the_language_can_come_from_the_environment() -> None:
    result = CliRunner().invoke(
        cli, ["--plain", "estimate", str(IV_COMMERCIAL)], env={"KETACOST_LANG": "es"}
    )
    assert result.exit_code == 0 and "Visitas" in result.stdout


def test_help_says_what_stays_in_english() -> None:
    text = run("estimate", "--help").stdout
    assert "--lang [en|es]" in text and "stays in English" in " ".join(text.split())


def test_spanish_cli_catalog_uses_one_term_for_each_idea() -> None:
    # The review of issue 16's Spanish: one word per idea across the catalogs, and none that
    # says the opposite ("cancelar" a bill means to pay it off in much of Latin America).
    from babel.messages.pofile import read_po

    path = ROOT / "ketacost" / "locale" / "es" / "LC_MESSAGES" / "cli.po"
    with path.open("rb") as f:
        catalog = read_po(f, locale="es")
    text = " ".join(
        s for m in catalog if m.id for s in ([m.string] if isinstance(m.string, str) else m.string)
    )
    for wrong in ("cancela", "gastos de bolsillo", "pago propio", "en efectivo", "cantidad "
                  "permitida", "Buena Fe", "reclamo", "se niega", "factura detallada"):  # fmt: skip
        assert wrong not in text, wrong
    for right in ("desembolso máximo", "no cobra", "monto permitido", "pago por cuenta propia",
                  "Estimación de buena fe", "recibo detallado (superbill)"):  # fmt: skip
        assert right in text, right


def test_spanish_estimate_has_no_english_patient_sentence() -> None:
    # Before: "• Good Faith Estimate: Scheduled on 2026-11-20, ..." and "Se cobran ...: IV
    # infusion, first hour (96365), 17 veces" under --lang es.
    es = run("--plain", "estimate", IV_COMMERCIAL, "--lang", "es").stdout
    assert "Good Faith Estimate" not in es and "Scheduled" not in es
    assert "Estimación de buena fe: " in es
    assert "IV infusion" not in es and "Ketamine HCl" not in es
    assert "Ketamina (el medicamento) (J3490), 17 veces, $524.96" in es


def test_plan_year_rows_split_by_a_coverage_change_say_their_own_dates() -> None:
    # turning-65: the commercial PPO until Medicare starts on 2027-03-01. Before, both 2027
    # rows read "Jan 1, 2027 to Dec 31, 2027".
    turning = REQUESTS / "turning-65.yaml"
    text = run("--plain", "estimate", turning).stdout
    assert "Jan 1, 2027 to Feb 28, 2027" in text and "Mar 1, 2027 to Dec 31, 2027" in text
    assert "Jan 1, 2027 to Dec 31, 2027" not in text
    assert "Jan 1, 2026 to Dec 31, 2026" in text  # a year without a change keeps its dates
