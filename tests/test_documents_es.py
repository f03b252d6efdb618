"""The documents in Spanish (issue 16): the Good Faith Estimate (HTML and PDF), the superbill and
the dispute note, built with ``lang="es"`` or ``ketacost gfe/superbill --lang es``.

The worked example is the self-pay IV series of ``test_documents.py`` (examples/requests/
iv-series-self-pay.yaml): the same figures in both languages, the words and dates in Spanish.
Dates in words: "21 de noviembre de 2026"; in a table "5 ene 2027"; money "$7,600.00" in both
(CLDR es_US writes the dollar the US way).
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from _document_text import html_text, pdf_text
from click.testing import CliRunner

import ketacost
from ketacost._catalogs import check
from ketacost._i18n import UnknownLanguageError
from ketacost._plan import Phase, cadence_words
from ketacost._request import GoodFaithDates
from ketacost.cli import cli
from ketacost.documents import (
    FinalBill,
    GoodFaithEstimate,
    Superbill,
    build_gfe,
    build_superbill,
    compare_bill_to_gfe,
    render_gfe_html,
    render_gfe_pdf,
    render_superbill_html,
    render_superbill_pdf,
    timing_sentence,
)
from ketacost.documents._pdf_layout import Writer
from ketacost.documents._words import frequency, phase_name

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
IV_SELF_PAY = ROOT / "examples/requests/iv-series-self-pay.yaml"
ISSUED = date(2026, 11, 21)
MONEY = re.compile(r"\$[0-9,]+\.[0-9]{2}")
ISO_DATE = re.compile(r"\b[0-9]{4}-[0-9]{2}-[0-9]{2}\b")


@pytest.fixture(scope="module")
def series() -> tuple[ketacost.EstimateRequest, ketacost.Estimate]:
    request = ketacost.load_request(IV_SELF_PAY)
    return request, ketacost.estimate(request)


@pytest.fixture(scope="module")
def gfe_en(series: Any) -> GoodFaithEstimate:
    return build_gfe(*series, issued=ISSUED, expected_visits=(12, 24))


@pytest.fixture(scope="module")
def gfe_es(series: Any) -> GoodFaithEstimate:
    return build_gfe(*series, issued=ISSUED, expected_visits=(12, 24), lang="es")


@pytest.fixture(scope="module")
def pdf_en(gfe_en: GoodFaithEstimate) -> bytes:
    return render_gfe_pdf(gfe_en)


@pytest.fixture(scope="module")
def pdf_es(gfe_es: GoodFaithEstimate) -> bytes:
    return render_gfe_pdf(gfe_es)


def _required_es(gfe: GoodFaithEstimate) -> dict[str, list[str]]:
    """Each element of 45 CFR 149.610(c)(1), in Spanish (test_documents.py's ``_required``)."""
    p = gfe.providers[0]
    return {
        "(i) nombre y fecha de nacimiento": ["Alex Example", "12 de abril de 1988"],
        "(ii) servicio principal, fecha programada": [
            gfe.primary_service,
            "Fecha programada 5 de enero de 2027",
        ],
        "(iii) lista detallada por proveedor": [p.provider.name, "(proveedor convocante)"],
        "(iv) códigos de diagnóstico y de servicio, cargos esperados": [
            "Códigos de diagnóstico F33.2",
            "90791",
            "96365",
            "J3490",
            "$250.00",
            "$2,228.58",
            "$171.42",
            "$4,596.46",
            "$353.54",
            "Cargos totales esperados $7,600.00",
        ],
        "(v) NPI, TIN, estado y lugar": [
            "NPI 1234567893",
            "TIN 12-3456789",
            "Lugar del servicio 100 Example Street, Suite 200, Boston, MA 02134",
            "Estado MA",
        ],
        "(vi) programados por separado": [
            "Artículos o servicios que se programarán por separado",
            "90837",
        ],
        "(vii) estimaciones por separado": [
            "Recibirá una Estimación de buena fe por separado para cada uno de ellos"
        ],
        "(viii) otros artículos": [
            "Es posible que se le recomienden otros artículos o servicios como parte de su "
            "tratamiento"
        ],
        "(ix) solo una estimación": [
            "es solo una estimación",
            "en el momento en que se emitió (21 de noviembre de 2026)",
            "Los artículos, servicios o cargos reales pueden ser diferentes de esta estimación.",
        ],
        "(x) disputa: $400, 120 días, dónde, sin efecto en la atención": [
            "Su derecho a disputar la factura",
            "$400.00 o más por encima de sus cargos totales esperados",
            "proceso de resolución de disputas entre pacientes y proveedores",
            "dentro de los 120 días calendario siguientes a la fecha de la factura original",
            "hay una tarifa de $25",
            "www.cms.gov/nosurprises o llame al 1-800-985-3059",
            "no afectará la calidad de la atención que recibe",
        ],
        "(xi) no es un contrato": ["Esta Estimación de buena fe no es un contrato"],
        "recurrente: 12 meses, frecuencia, número de sesiones": [
            "del 4 de enero de 2027 al 3 de enero de 2028 (hasta 12 meses)",
            "cada 2 días o más (la clínica cierra: sábado y domingo)",
            "cada 4 semanas",
        ],
        "rango": ["de $4,900.00 a $10,300.00", "de 12 a 24 sesiones"],
        "fecha de emisión": ["Fecha de emisión: 21 de noviembre de 2026."],
    }


def _missing(text: str, gfe: GoodFaithEstimate) -> dict[str, list[str]]:
    found = {k: [s for s in v if s not in text] for k, v in _required_es(gfe).items()}
    return {k: v for k, v in found.items() if v}


# ---- the Good Faith Estimate -----------------------------------------------------------------


def test_spanish_gfe_html_has_every_required_element(gfe_es: GoodFaithEstimate) -> None:
    page = render_gfe_html(gfe_es)
    assert '<html lang="es">' in page
    text = html_text(page)
    assert text.startswith("Estimación de buena fe para artículos y servicios de atención médica")
    assert _missing(text, gfe_es) == {}
    for d in gfe_es.disclaimers:
        assert " ".join(d.text.split()) in text
    # The induction row: Spanish frequency and dates in a table (5 ene 2027 … 18 ene 2027).
    assert (
        "cada 2 días o más (la clínica cierra: sábado y domingo) 6 5 ene 2027 18 ene 2027 $2,400.00"
        in text
    )


def test_spanish_gfe_pdf_has_every_required_element(
    pdf_es: bytes, gfe_es: GoodFaithEstimate
) -> None:
    assert pdf_es.startswith(b"%PDF-")
    text = pdf_text(pdf_es)
    assert _missing(text, gfe_es) == {}
    for d in gfe_es.disclaimers:
        assert " ".join(d.text.split()) in text
    assert b"/Lang (es)" in pdf_es  # the document's language, for readers and screen readers


@pytest.mark.parametrize("kind", ["html", "pdf"])
def test_spanish_gfe_has_the_english_amounts_and_no_iso_date(
    kind: str, gfe_en: GoodFaithEstimate, gfe_es: GoodFaithEstimate, pdf_en: bytes, pdf_es: bytes
) -> None:
    if kind == "html":
        en, es = html_text(render_gfe_html(gfe_en)), html_text(render_gfe_html(gfe_es))
    else:
        en, es = pdf_text(pdf_en), pdf_text(pdf_es)
    # Money is exact and written alike: the same amounts, as often, in both languages.
    assert sorted(MONEY.findall(es)) == sorted(MONEY.findall(en))
    # Every date is in Spanish: no ISO date left (the English tables print them ISO).
    assert ISO_DATE.findall(en)
    assert ISO_DATE.findall(es) == []
    # No English label left on the Spanish page (clinic-entered names and descriptions aside).
    for english in ("Good Faith Estimate", "Disclaimers", "Patient name", "Expected charges"):
        assert english not in es, english


def test_spanish_gfe_has_the_same_figures(
    gfe_en: GoodFaithEstimate, gfe_es: GoodFaithEstimate
) -> None:
    assert gfe_es.lang == "es" and gfe_en.lang == "en"
    assert gfe_es.total_expected == gfe_en.total_expected == ketacost.Money("7600.00")
    assert gfe_es.range == gfe_en.range.model_copy(update={"basis": gfe_es.range.basis})  # type: ignore[union-attr]
    en_items = [
        (i.service_code, i.quantity, i.expected_charge) for p in gfe_en.providers for i in p.items
    ]
    es_items = [
        (i.service_code, i.quantity, i.expected_charge) for p in gfe_es.providers for i in p.items
    ]
    assert es_items == en_items


def test_english_json_is_unchanged_and_spanish_json_round_trips(
    gfe_en: GoodFaithEstimate, gfe_es: GoodFaithEstimate
) -> None:
    # English is the default and its JSON has no "lang" (the bytes documents were written in).
    assert "lang" not in json.loads(gfe_en.model_dump_json())
    assert json.loads(gfe_es.model_dump_json())["lang"] == "es"
    again = GoodFaithEstimate.model_validate_json(gfe_es.model_dump_json())
    assert again == gfe_es
    assert render_gfe_html(again) == render_gfe_html(gfe_es)  # renders in its own language


def test_an_unknown_language_is_refused(series: Any) -> None:
    with pytest.raises(
        UnknownLanguageError, match=r"unknown language 'fr' \(ketacost speaks: en, es\)"
    ):
        build_gfe(*series, issued=ISSUED, lang="fr")
    with pytest.raises(UnknownLanguageError, match="'xx'"):
        build_superbill(*series, lang="xx")


def test_spanish_characters_round_trip_through_the_pdf_fonts(series: Any) -> None:
    # Every Spanish letter and sign the documents can carry is drawn by the embedded fonts
    # (DejaVu Sans) and extracted back as itself, not as "?".
    sample = "¿Preguntas? ¡Llámenos! á é í ó ú ñ ü Á É Í Ó Ú Ñ Ü"
    w = Writer("Prueba", ISSUED, lang="es")
    w.paragraph(sample)
    assert sample in pdf_text(w.output())
    # And in a document: a patient's name with ñ and ü prints exactly.
    request, _ = series
    data = request.model_dump(mode="json")
    data["clinic"] = request.clinic
    data["patient"] = {**data["patient"], "name": "José Peña Agüero"}
    req = ketacost.request_from_data(data)
    est = ketacost.estimate(req)
    text = pdf_text(render_gfe_pdf(build_gfe(req, est, issued=ISSUED, lang="es")))
    assert "José Peña Agüero" in text


def test_gfe_pdf_first_page_in_english_and_spanish_as_png(pdf_en: bytes, pdf_es: bytes) -> None:
    """The CI artefacts the issue asks for: page 1 of the GFE PDF in both languages."""
    ARTIFACTS.mkdir(exist_ok=True)
    for lang, data in (("en", pdf_en), ("es", pdf_es)):
        doc = pdfium.PdfDocument(data)
        try:
            image = doc[0].render(scale=1.5).to_pil()
        finally:
            doc.close()
        target = ARTIFACTS / f"gfe-{lang}.png"
        image.save(target)
        (ARTIFACTS / f"gfe-{lang}.pdf").write_bytes(data)
        # Letter at 72 dpi × 1.5 = 918 × 1188; a page with text has dark pixels.
        assert image.size == (918, 1188)
        assert image.convert("L").getextrema()[0] < 64
        assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
        assert target.stat().st_size > 10_000


def test_spanish_dispute_note(gfe_es: GoodFaithEstimate) -> None:
    npi = gfe_es.providers[0].provider.npi
    # Billed $8,000.00 against $7,600.00 expected: exactly $400.00 over, so a dispute may start
    # within 120 days of the bill's date: 2028-03-01 + 120 days = 2028-06-29.
    bill = FinalBill(bill_date=date(2028, 3, 1), totals={npi: "8000.00"})
    [finding] = compare_bill_to_gfe(gfe_es, bill)
    assert finding.over == ketacost.Money("400.00")
    assert finding.deadline == date(2028, 6, 29)
    assert finding.note == (
        "Riverside Ketamine & Interventional Psychiatry (example) le facturó $8,000.00, $400.00 "
        "por encima de sus cargos esperados de $7,600.00 en la Estimación de buena fe del 21 de "
        "noviembre de 2026. Puede iniciar el proceso de resolución de disputas entre pacientes y "
        "proveedores a más tardar el 29 de junio de 2028 (120 días calendario desde la fecha de "
        "la factura original): visite www.cms.gov/nosurprises o llame al 1-800-985-3059. Hay una "
        "tarifa de $25 y decide una entidad de resolución de disputas seleccionada (SDR, por sus "
        "siglas en inglés)."
    )
    # The English note of the same estimate is as it always was.
    [english] = compare_bill_to_gfe(gfe_es, bill, lang="en")
    assert english.note.startswith(
        "Riverside Ketamine & Interventional Psychiatry (example) billed"
    )
    assert "by 2028-06-29 (120 calendar days" in english.note
    # The note says what starting a dispute costs and who decides (45 CFR 149.620), as the
    # estimate's own notice does: it used to stop at where to start one.
    assert english.note.endswith(
        "There is a $25 fee, and a selected dispute resolution (SDR) entity decides."
    )


def test_spanish_timing_sentence(series: Any) -> None:
    request, estimate = series
    scheduled = GoodFaithDates(scheduled_on=date(2026, 11, 20))
    dated = request.model_copy(update={"good_faith": scheduled})
    gfe = build_gfe(dated, estimate, issued=ISSUED, expected_visits=(12, 24), lang="es")
    assert gfe.timing is not None
    # Scheduled 2026-11-20, the first service 2027-01-04: at least 10 business days ahead, so
    # due within 3 business days of scheduling: Mon 23, Tue 24, Wed 25 November.
    assert timing_sentence(gfe.timing, lang="es") == (
        "Programada con al menos 10 días hábiles de anticipación: se debe entregar dentro de "
        "los 3 días hábiles siguientes a la programación, a más tardar el 25 de noviembre de "
        "2026 (45 CFR 149.610(b)(1)). Emitida el 21 de noviembre de 2026: a tiempo."
    )
    assert "Plazo de entrega: Programada" in html_text(render_gfe_html(gfe))


def test_spanish_frequencies_and_english_cadence_words() -> None:
    cases = [
        (Phase(session="s", sessions=1), (), "una vez"),
        (Phase(session="s", sessions=6, every_days=1), (), "todos los días"),
        (
            Phase(session="s", sessions=6, every_days=1),
            ("sat", "sun"),
            "cada día que abre la clínica (la clínica cierra: sábado y domingo)",
        ),
        (Phase(session="s", sessions=6, every_days=2), (), "cada 2 días"),
        (Phase(session="s", sessions=6, every_weeks=1), ("sun",), "una vez por semana"),
        (Phase(session="s", sessions=6, every_weeks=4), (), "cada 4 semanas"),
        (Phase(session="s", per_week=1, weeks=1), (), "una vez por semana durante 1 semana"),
        (
            Phase(session="s", per_week=2, weeks=4),
            ("sun",),
            "dos veces por semana durante 4 semanas, con 3 días o más entre sesiones (la clínica cierra: domingo)",
        ),
        (Phase(session="s", per_week=3, weeks=2), (), "3 veces por semana durante 2 semanas"),
    ]
    for phase, closed, spanish in cases:
        assert frequency(phase, closed, "es") == spanish  # type: ignore[arg-type]
        assert frequency(phase, closed, "en") == cadence_words(phase, closed)  # type: ignore[arg-type]


def test_spanish_gfe_names_the_plan_phases_in_spanish(
    gfe_en: GoodFaithEstimate, gfe_es: GoodFaithEstimate, pdf_en: bytes, pdf_es: bytes
) -> None:
    # The example plan's phases are intake, induction and boosters: a Spanish reader sees them
    # in Spanish in every table (recurring scope, itemized list); English keeps the plan's words.
    english = re.compile(r"\b(intake|induction|boosters)\b")
    for text in (html_text(render_gfe_html(gfe_es)), pdf_text(pdf_es)):
        assert english.findall(text) == []
        for spanish in ("evaluación inicial", "inducción", "refuerzos"):
            assert spanish in text
    for text in (html_text(render_gfe_html(gfe_en)), pdf_text(pdf_en)):
        assert {"intake", "induction", "boosters"} <= set(english.findall(text))
    assert phase_name("Induction", "es") == "inducción"
    assert phase_name("ketamine week", "es") == "ketamine week"  # the clinic's own name stays
    assert phase_name("induction", "en") == "induction"


def test_spanish_gfe_names_separately_scheduled_items_in_spanish(
    gfe_en: GoodFaithEstimate, gfe_es: GoodFaithEstimate, pdf_es: bytes
) -> None:
    # The clinic's integration session (90837) is scheduled separately from the infusions: a
    # Spanish reader sees what it is and what it goes with in Spanish (the code table of
    # ketacost._plain), the English document keeps the clinic's words.
    [en] = gfe_en.separately_scheduled
    [es] = gfe_es.separately_scheduled
    assert (en.description, en.related_to) == (
        "Integration psychotherapy, 60 minutes",
        "IV ketamine infusion (0.5 mg/kg over 40 minutes) with recovery monitoring",
    )
    assert (es.description, es.related_to) == (
        "Psicoterapia, 60 minutos",
        "Infusión intravenosa (IV) de ketamina, primera hora",
    )
    assert (es.service_codes, es.self_pay_price) == (en.service_codes, en.self_pay_price)
    for text in (html_text(render_gfe_html(gfe_es)), pdf_text(pdf_es)):
        assert "Integration" not in text and "recovery monitoring" not in text


@pytest.mark.parametrize("lang", ["en", "es"])
def test_no_word_breaks_inside_a_pdf_table_cell(series: Any, lang: str) -> None:
    # Narrow columns cut long words ("Modifica dores", "Can t.", "evaluació n inicial") until each
    # column was given the width of its longest word; every heading and cell word stays whole.
    request, estimate = series
    gfe = build_gfe(request, estimate, issued=ISSUED, lang=lang)  # type: ignore[arg-type]
    bill = build_superbill(request, estimate, issued=date(2027, 1, 31), lang=lang)  # type: ignore[arg-type]
    words = {
        "en": ["Modifiers", "Pointer", "Diagnosis", "induction", "Expected"],
        "es": [
            "Modificadores",
            "Unidades",
            "Indicador",
            "CPT/HCPCS",
            "(POS)",
            "Cant.",
            "código",
            "diagnóstico",
            "evaluación inicial",
            "unitario",
            "psiquiátrica",
        ],
    }[lang]
    text = pdf_text(render_gfe_pdf(gfe)) + " " + pdf_text(render_superbill_pdf(bill))
    assert [w for w in words if w not in text] == []


# ---- the superbill ---------------------------------------------------------------------------


def test_spanish_superbill(series: Any) -> None:
    request, estimate = series
    en = build_superbill(request, estimate, issued=date(2027, 1, 31))
    es = build_superbill(request, estimate, issued=date(2027, 1, 31), lang="es")
    assert (es.total_charge, es.total_paid) == (en.total_charge, en.total_paid)
    assert [(ln.date, ln.code, ln.charge) for ln in es.lines] == [
        (ln.date, ln.code, ln.charge) for ln in en.lines
    ]
    assert Superbill.model_validate_json(es.model_dump_json()) == es
    expected = [
        "Recibo detallado (superbill)",
        "Fecha de emisión: 31 de enero de 2027.",
        "No es un formulario de reclamación ni una garantía de cobertura o de pago.",
        "Fecha de nacimiento 12 abr 1988",
        "Diagnósticos (ICD-10-CM)",
        "Fecha del servicio",
        "4 ene 2027 11 90791",
        "18 ene 2027 11 96365",
        "Total $2,650.00 $2,650.00",
        "Saldo pendiente $0.00",
        "Firma del proveedor:",
    ]
    page = render_superbill_html(es)
    assert '<html lang="es">' in page
    for text in (html_text(page), pdf_text(render_superbill_pdf(es))):
        assert [s for s in expected if s not in text] == []
        assert ISO_DATE.findall(text) == []
        assert sorted(MONEY.findall(text)) == sorted(
            MONEY.findall(html_text(render_superbill_html(en)))
        )


# ---- the command line ------------------------------------------------------------------------


def _run(*args: object) -> Any:
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_cli_documents_in_spanish(tmp_path: Path) -> None:
    html = tmp_path / "gfe.html"
    result = _run("gfe", IV_SELF_PAY, "--lang", "es", "-o", html)
    assert result.exit_code == 0, result.output
    assert "Estimación de buena fe para artículos y servicios" in html_text(html.read_text())
    pdf = tmp_path / "bill.pdf"
    month = ["--from", "2027-01-01", "--to", "2027-01-31"]
    result = _run("superbill", IV_SELF_PAY, *month, "--format", "pdf", "--lang", "es", "-o", pdf)
    assert result.exit_code == 0, result.output
    assert "Recibo detallado (superbill)" in pdf_text(pdf.read_bytes())
    as_json = tmp_path / "gfe.json"
    assert (
        _run("gfe", IV_SELF_PAY, "--lang", "es", "--format", "json", "-o", as_json).exit_code == 0
    )
    assert json.loads(as_json.read_text())["lang"] == "es"


def test_cli_offers_the_languages_ketacost_speaks() -> None:
    from ketacost._i18n import LANGUAGES
    from ketacost.cli import _documents

    assert _documents.LANGUAGES == LANGUAGES


@pytest.mark.parametrize("command", ["gfe", "superbill"])
def test_cli_refuses_an_unknown_language(command: str, tmp_path: Path) -> None:
    out = tmp_path / "doc.html"
    result = _run(command, IV_SELF_PAY, "--lang", "xx", "-o", out)
    assert result.exit_code == 2
    # One line, naming the choices (click's usage error: exit 2).
    assert result.output.strip() == (
        f"error: Invalid value for '--lang': 'xx' is not one of 'en', 'es'. "
        f"(see 'ketacost {command} --help')"
    )
    assert not out.exists()


# ---- the catalog -----------------------------------------------------------------------------


def test_every_documents_message_has_a_spanish_translation() -> None:
    assert check(["documents"]) == []
