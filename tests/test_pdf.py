"""The PDF documents: Unicode fonts shipped with the package, PDF/A, and page layout.

The worked example is the self-pay IV series (examples/requests/iv-series-self-pay.yaml, as in
test_documents.py), with the patient's name or the clinic's name changed through
``model_copy`` so the text under test is the only thing that differs.
"""

from __future__ import annotations

import ctypes
import io
import logging
import os
import subprocess
import sys
import textwrap
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from _document_text import pdf_page_texts, pdf_text
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

import ketacost
from ketacost.documents import (
    GoodFaithEstimate,
    _pdf,
    _pdf_layout,
    build_gfe,
    build_superbill,
    render_gfe_pdf,
    render_superbill_pdf,
)
from ketacost.documents._common import DocumentError
from ketacost.documents._pdf import FONTS

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
IV_SELF_PAY = ROOT / "examples/requests/iv-series-self-pay.yaml"
ISSUED = date(2026, 11, 21)
SHIPPED = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DroidSansFallbackFull.ttf",
    "LICENSE-DejaVu.txt",
    "LICENSE-Apache-2.0-DroidSansFallback.txt",
    "NanumGothic.ttf",
    "LICENSE-OFL-1.1-Nanum.txt",
    "README.md",
)


@pytest.fixture(scope="module")
def payers() -> ketacost.PayerLibrary:
    return ketacost.load_payers()


@pytest.fixture(scope="module")
def request_(payers: Any) -> ketacost.EstimateRequest:
    return ketacost.load_request(IV_SELF_PAY, payers=payers)


@pytest.fixture(scope="module")
def estimate(request_: ketacost.EstimateRequest, payers: Any) -> ketacost.Estimate:
    return ketacost.estimate(request_, payers=payers)


def gfe_for(
    request_: ketacost.EstimateRequest,
    estimate: ketacost.Estimate,
    *,
    patient: str | None = None,
    clinic: str | None = None,
) -> GoodFaithEstimate:
    """The example's GFE with the patient's and/or the clinic's name replaced."""
    req = request_
    if patient is not None:
        req = req.model_copy(update={"patient": req.patient.model_copy(update={"name": patient})})
    if clinic is not None:
        req = req.model_copy(update={"clinic": req.clinic.model_copy(update={"name": clinic})})
    return build_gfe(req, estimate, issued=ISSUED)


def font_names(data: bytes) -> set[str]:
    """The /BaseFont names of the fonts the PDF defines, without the subset prefix."""
    names = set()
    for chunk in data.split(b"/BaseFont /")[1:]:
        name = chunk.split(maxsplit=1)[0].split(b"/")[0].decode()
        names.add(name.split("+", 1)[-1])
    return names


# ---- 1. Unicode fonts shipped with the package ------------------------------------------------


def test_text_outside_latin1_prints_as_written(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    # Until issue 14 the PDF drew "Zoë Otsuka-O'Brien ?" (Latin-1 core fonts): now the macron,
    # the en dash, the typographic apostrophe and the check mark are DejaVu Sans glyphs.
    gfe = gfe_for(request_, estimate, patient="Zoë Ōtsuka–O’Brien ✓")
    assert "Zoë Ōtsuka–O’Brien ✓" in pdf_text(render_gfe_pdf(gfe))


def test_a_character_no_shipped_font_has_gets_a_stand_in_in_free_text() -> None:
    # 🄐 (U+1F110, PARENTHESIZED LATIN CAPITAL LETTER A) is in no shipped font; its compatibility
    # form "(A)" is. 𠮷
    # (U+20BB7, CJK Extension B) and U+E000 (private use) are in none and have no such form:
    # each is "?". Free text (a description, a disclaimer) may carry a stand-in; a name may not.
    w = _pdf_layout.Writer("Stand-ins", ISSUED)
    w.paragraph("Room 🄐 𠮷\ue000 west")
    assert "Room (A) ?? west" in pdf_text(w.output())


@pytest.mark.parametrize(
    ("name", "shown"),
    [("Kim 𝐀", "U+1D400 '𝐀'"), ("𠮷田 陽子", "U+20BB7 '𠮷'"), ("Lee\ue000 Park", "U+E000")],
)
def test_a_name_the_fonts_cannot_print_exactly_is_refused(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate, name: str, shown: str
) -> None:
    # A legal document must not carry a wrong name: no "?", and no "A" for "𝐀" (U+1D400,
    # MATHEMATICAL BOLD CAPITAL A, in no shipped font) in a name.
    # The error names the field and the character (only that one: 田 陽 子 print).
    with pytest.raises(DocumentError, match=r"^Patient name .*cannot draw U\+") as caught:
        render_gfe_pdf(gfe_for(request_, estimate, patient=name))
    assert shown in str(caught.value)
    assert "U+7530" not in str(caught.value)  # 田
    with pytest.raises(DocumentError, match=r"^Provider name "):
        render_gfe_pdf(gfe_for(request_, estimate, clinic=name))
    # The superbill too: its provider and its patient.
    req = request_.model_copy(update={"clinic": request_.clinic.model_copy(update={"name": name})})
    bill = build_superbill(req, estimate)
    with pytest.raises(DocumentError, match=r"^Provider name "):
        render_superbill_pdf(bill)
    req = request_.model_copy(
        update={"patient": request_.patient.model_copy(update={"name": name})}
    )
    bill = build_superbill(req, estimate)
    with pytest.raises(DocumentError, match=r"^Patient name "):
        render_superbill_pdf(bill)


def test_a_korean_name_prints_as_written(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    # Until now "김민준" printed "???": Droid Sans Fallback has 3 of the 11,172 Hangul syllables
    # (가 힢 힣). NanumGothic draws them all, and every Hangul character (가 too, so "가영" is
    # one typeface), embedded only in a document that needs it.
    gfe = gfe_for(request_, estimate, patient="김민준 가영", clinic="서울 케타민 클리닉")
    data = render_gfe_pdf(gfe)
    text = pdf_text(data)
    assert "김민준 가영" in text
    assert "서울 케타민 클리닉 (convening provider)" in text
    assert "?" not in text
    assert font_names(data) == {"DejaVuSansBook", "DejaVuSansBold", "NanumGothic"}
    doc = pdfium.PdfDocument(data)
    try:
        for needle in ("김민준", "가영"):
            n, box, fonts = placed(doc, needle)
            assert {f.split("+", 1)[-1] for f in fonts} == {"NanumGothic"}, fonts
            assert 0.05 < ink(doc, n, box, f"gfe-korean-page-{n + 1}.png") < 0.6, needle
    finally:
        doc.close()


def test_a_korean_document_logs_no_subsetting_warnings(
    request_: ketacost.EstimateRequest,
    estimate: ketacost.Estimate,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # NanumGothic's VTT tables (TSI0-TSI5) are dropped from the subset; fontTools warned
    # "TSI0 NOT subset; don't know how to subset; dropped" five times, on the CLI's stderr.
    with caplog.at_level(logging.WARNING):
        render_gfe_pdf(gfe_for(request_, estimate, patient="김민준"))
    assert [r.getMessage() for r in caplog.records if r.name.startswith("fontTools")] == []
    assert logging.getLogger("fontTools.subset").level == logging.NOTSET  # put back


def test_a_name_typed_with_combining_marks_is_drawn_composed(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    # "Nguyễn" as N-g-u-y-e + U+0302 (circumflex) + U+0303 (tilde) + n, as some keyboards send
    # it: the PDF draws (and its text layer holds) the composed ễ (U+1EC5).
    typed = unicodedata.normalize("NFD", "Nguyễn")
    assert len(typed) == len("Nguyễn") + 2
    text = pdf_text(render_gfe_pdf(gfe_for(request_, estimate, patient=typed)))
    assert "Nguy\u1ec5n" in text


def test_the_cjk_font_is_embedded_only_where_needed(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    latin = render_gfe_pdf(gfe_for(request_, estimate, patient="Nguyễn Thị Minh Khai"))
    assert font_names(latin) == {"DejaVuSansBook", "DejaVuSansBold"}
    cjk = render_gfe_pdf(gfe_for(request_, estimate, patient="王小明"))
    assert font_names(cjk) == {"DejaVuSansBook", "DejaVuSansBold", "DroidSansFallback"}
    # Subsets: the 4 MB CJK font adds a few kilobytes for three ideographs, and the 4.7 MB
    # Korean font as few for three syllables.
    assert len(cjk) - len(latin) < 40_000
    korean = render_gfe_pdf(gfe_for(request_, estimate, patient="김민준"))
    assert font_names(korean) == {"DejaVuSansBook", "DejaVuSansBold", "NanumGothic"}
    assert len(korean) - len(latin) < 40_000
    both = render_gfe_pdf(gfe_for(request_, estimate, patient="김민준 王小明"))
    assert font_names(both) == {
        "DejaVuSansBook",
        "DejaVuSansBold",
        "DroidSansFallback",
        "NanumGothic",
    }


def test_the_fonts_and_their_licences_are_in_the_package() -> None:
    assert sorted(p.name for p in FONTS.iterdir()) == sorted(SHIPPED)
    assert "Bitstream Vera" in (FONTS / "LICENSE-DejaVu.txt").read_text(encoding="utf-8")
    assert "Apache License" in (FONTS / "LICENSE-Apache-2.0-DroidSansFallback.txt").read_text(
        encoding="utf-8"
    )
    assert "SIL OPEN FONT LICENSE" in (FONTS / "LICENSE-OFL-1.1-Nanum.txt").read_text(
        encoding="utf-8"
    )


@pytest.mark.slow
def test_the_built_wheel_ships_the_fonts_and_an_install_uses_them(tmp_path: Path) -> None:
    """A real wheel build: the fonts and licences are in it, and an install draws with them."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(tmp_path / "dist"), str(ROOT)],
        check=True,
    )  # fmt: skip
    [wheel] = (tmp_path / "dist").glob("ketacost-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        listed = set(zf.namelist())
    assert {f"ketacost/documents/fonts/{n}" for n in SHIPPED} <= listed
    # The font licences are declared in the metadata too (PEP 639 License-File).
    licences = {n for n in SHIPPED if n.startswith("LICENSE-")}
    info = "ketacost-0.1.0.dist-info"
    assert {f"{info}/licenses/ketacost/documents/fonts/{n}" for n in licences} <= listed
    with zipfile.ZipFile(wheel) as zf:
        metadata = zf.read(f"{info}/METADATA").decode()
    for n in licences:
        assert f"License-File: ketacost/documents/fonts/{n}" in metadata
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
         str(wheel)],
        check=True,
    )  # fmt: skip
    script = tmp_path / "use.py"
    script.write_text(
        textwrap.dedent(
            f"""
            from datetime import date

            import ketacost
            from ketacost.documents import build_gfe, render_gfe_pdf
            from ketacost.documents._pdf import FONTS
            import pypdfium2 as pdfium
            print(FONTS)
            req = ketacost.load_request({str(IV_SELF_PAY)!r})
            req = req.model_copy(
                update={{"patient": req.patient.model_copy(update={{"name": "Nguyễn 王小明 김민준"}})}}
            )
            pdf = render_gfe_pdf(build_gfe(req, ketacost.estimate(req), issued=date(2026, 11, 21)))
            print("Nguyễn 王小明 김민준" in pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range())
            """
        ),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "KETACOST_PAYERS"}
    env["PYTHONPATH"] = str(target)
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, check=True, capture_output=True,
        text=True, encoding="utf-8",
    ).stdout.split("\n")  # fmt: skip
    assert out[0] == str(target / "ketacost" / "documents" / "fonts")
    assert out[1] == "True"


def test_the_superbill_prints_names_as_written(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    req = request_.model_copy(
        update={
            "patient": request_.patient.model_copy(update={"name": "Trần Văn Đức"}),
            "clinic": request_.clinic.model_copy(update={"name": "安康诊所"}),
        }
    )
    text = pdf_text(render_superbill_pdf(build_superbill(req, estimate)))
    assert "Trần Văn Đức" in text
    assert "安康诊所" in text


# ---- 2. PDF/A-2b -------------------------------------------------------------------------------
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
}


def resolved(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def fonts_of(reader: PdfReader) -> Iterator[tuple[str, DictionaryObject]]:
    """(name, font descriptor) of every font any page uses, descendant fonts included."""
    for page in reader.pages:
        for font in resolved(page["/Resources"]).get("/Font", {}).values():
            font = resolved(font)
            parts = [font] + [resolved(d) for d in font.get("/DescendantFonts", ArrayObject())]
            for part in parts:
                if "/FontDescriptor" in part:
                    yield str(part["/BaseFont"]), resolved(part["/FontDescriptor"])


@pytest.fixture(scope="module")
def documents(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> dict[str, tuple[bytes, date]]:
    """Both PDFs, one with Vietnamese and Chinese text, and the date each was issued."""
    gfe = gfe_for(request_, estimate, patient="Nguyễn Thị Minh Khai", clinic="安康诊所")
    bill = build_superbill(request_, estimate)
    assert bill.issued is not None
    return {
        "gfe": (render_gfe_pdf(gfe), gfe.issued),
        "superbill": (render_superbill_pdf(bill), bill.issued),
    }


@pytest.mark.parametrize("kind", ["gfe", "superbill"])
def test_the_pdfs_are_pdf_a_2b(kind: str, documents: dict[str, tuple[bytes, date]]) -> None:
    data, issued = documents[kind]
    assert data.startswith(b"%PDF-1.7\n")  # PDF/A-2 is based on PDF 1.7 (ISO 32000-1)
    reader = PdfReader(io.BytesIO(data))
    assert not reader.is_encrypted and "/Encrypt" not in reader.trailer
    root = reader.trailer["/Root"]
    # The XMP packet names the part and conformance level, and holds the title, the creator
    # and the dates: every date is the issue date (no clock). With PDF/A on, fpdf2 writes no
    # information dictionary, so nothing can disagree with the XMP (ISO 19005-2, 6.6).
    xmp = ElementTree.fromstring(resolved(root["/Metadata"]).get_data())
    [desc] = xmp.findall("rdf:RDF/rdf:Description", NS)
    assert desc.findtext("pdfaid:part", namespaces=NS) == "2"
    assert desc.findtext("pdfaid:conformance", namespaces=NS) == "B"
    assert "/Info" not in reader.trailer
    title = {"gfe": "Good Faith Estimate", "superbill": "Superbill"}[kind]
    assert desc.findtext("dc:title/rdf:Alt/rdf:li", namespaces=NS) == title
    assert desc.findtext("xmp:CreatorTool", namespaces=NS) == "ketacost"
    stamp = f"{issued.isoformat()}T00:00:00+00:00"
    for tag in ("CreateDate", "ModifyDate", "MetadataDate"):
        assert desc.findtext(f"xmp:{tag}", namespaces=NS) == stamp
    # One OutputIntent for PDF/A with an embedded ICC profile of an RGB device.
    [intent] = [resolved(i) for i in root["/OutputIntents"]]
    assert intent["/S"] == "/GTS_PDFA1"
    profile = resolved(intent["/DestOutputProfile"])
    icc = profile.get_data()
    assert profile["/N"] == 3
    assert icc[36:40] == b"acsp"  # the ICC profile file signature (ICC.1, 7.2.9)
    assert icc[16:20] == b"RGB "  # its data colour space
    # Every font is embedded as a TrueType (FontFile2) or compact (FontFile3) program.
    fonts = dict(fonts_of(reader))
    assert fonts
    assert {n for n, d in fonts.items() if not {"/FontFile2", "/FontFile3"} & set(d)} == set()
    # A document ID: two byte strings, equal when the file is first written.
    first, second = reader.trailer["/ID"]
    # (as bytes: pypdf may decode a string that happens to look like UTF-16 as text)
    assert len(first.original_bytes) == 16 and first.original_bytes == second.original_bytes


def test_the_superbill_pdf_is_the_same_bytes_each_time(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    bill = build_superbill(request_, estimate)
    assert render_superbill_pdf(bill) == render_superbill_pdf(bill)


def test_a_tab_in_a_name_becomes_a_space_not_a_missing_glyph(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    # A control character has no glyph; drawing one would use .notdef, which PDF/A forbids.
    gfe = gfe_for(request_, estimate, patient="Alex\tExample")
    assert "Alex Example" in pdf_text(render_gfe_pdf(gfe))


# ---- 3. Layout: a total keeps its rows, a date keeps its line -------------------------------


def lines_of(data: bytes, needle: str) -> list[int]:
    """For each place ``needle`` is printed, on how many lines its characters sit (1 = whole).

    A string broken across lines is not found at all (the text layer has a line break in it).
    """
    found = []
    doc = pdfium.PdfDocument(data)
    try:
        for i in range(len(doc)):
            page = doc[i].get_textpage()
            searcher = page.search(needle, match_case=True)
            while (hit := searcher.get_next()) is not None:
                start, count = hit
                bottoms = {
                    round(page.get_charbox(j, loose=True)[1])
                    for j in range(start, start + count)
                    if not page.get_text_range(j, 1).isspace()
                }
                found.append(len(bottoms))
    finally:
        doc.close()
    return found


def total_opens_a_page(w: Any) -> bool:
    """Whether the writer's grand total opened a page by itself (its fonts then closed)."""
    w.close()
    return bool(w.total_alone)


def long_gfe(gfe: GoodFaithEstimate, repeat: int) -> GoodFaithEstimate:
    """``gfe`` with its provider's item rows repeated: longer tables, same everything else (the
    subtotal no longer adds up; only the layout is under test)."""
    [p] = gfe.providers
    return gfe.model_copy(update={"providers": (p.model_copy(update={"items": p.items * repeat}),)})


@pytest.fixture(scope="module")
def gfe(request_: ketacost.EstimateRequest, estimate: ketacost.Estimate) -> GoodFaithEstimate:
    return gfe_for(request_, estimate)


def _first_alone(make: Callable[[int], GoodFaithEstimate]) -> GoodFaithEstimate:
    """The first of ``make(1..40)`` whose grand total, laid out plainly, opens a page alone.

    Searched rather than fixed, so a change elsewhere on the page (a new field) does not leave
    the test laying out a document where nothing needed keeping together.
    """
    for n in range(1, 41):
        candidate = make(n)
        if total_opens_a_page(_pdf._gfe_pages(candidate, 0)):
            return candidate
    raise AssertionError("no length up to 40 leaves the grand total alone")


def test_the_grand_total_takes_the_last_rows_to_its_page(gfe: GoodFaithEstimate) -> None:
    # The item rows repeated until, laid out plainly, the last item and the subtotal end a page
    # and "Total expected charges, all providers and facilities" would open the next alone
    # (five times the 5 rows when this was written).
    long = _first_alone(lambda n: long_gfe(gfe, n))
    pages = pdf_page_texts(render_gfe_pdf(long))
    [on] = [n for n, text in enumerate(pages) if "all providers and facilities" in text]
    page = pages[on]
    # The page opens with the table's heading row again, then the last item (J3490, the
    # boosters' drug, 2027-02-01 to 2027-11-08), the subtotal and the grand total.
    last = "boosters Ketamine HCl (unclassified drug) J3490 HCPCS F33.2 11 2027-02-01 to 2027-11-08"
    subtotal = "Total expected charges from this provider"
    assert page.index("Item or service") < page.index(last) < page.index(subtotal)
    assert page.index(subtotal) < page.index("all providers and facilities")
    assert subtotal not in pages[on - 1]


def test_a_last_provider_with_one_item_moves_whole_with_the_grand_total(
    gfe: GoodFaithEstimate,
) -> None:
    # The clinic with n item rows (19 when this was written), then a co-provider with one item
    # (its table: the item and the subtotal, nothing to split): plainly laid out, the total
    # would open a page alone, so the co-provider's heading, fields and table start it with it.
    [p] = gfe.providers
    dana = p.provider.model_copy(update={"name": "Dana Lee", "key": "lee"})

    def with_rows(n: int) -> GoodFaithEstimate:
        clinic_items = (p.items * 40)[:n]
        return gfe.model_copy(
            update={
                "providers": (
                    p.model_copy(update={"items": clinic_items}),
                    p.model_copy(
                        update={"items": p.items[-1:], "role": "co-provider", "provider": dana}
                    ),
                )
            }
        )

    long = _first_alone(with_rows)
    pages = pdf_page_texts(render_gfe_pdf(long))
    [on] = [n for n, text in enumerate(pages) if "all providers and facilities" in text]
    assert on >= 1
    assert pages[on].startswith("Dana Lee NPI")
    assert "Dana Lee" not in pages[on - 1]


def test_the_grand_total_never_opens_a_page_alone(gfe: GoodFaithEstimate) -> None:
    # Every length up to 15 repeats (5 and 14 would leave it alone when this was written,
    # pages 3 and 5; the search keeps finding them as the page's other content changes).
    for repeat in range(1, 16):
        long = long_gfe(gfe, repeat)
        w = _pdf._kept_together(lambda keep, g=long: _pdf._gfe_pages(g, keep))
        assert not total_opens_a_page(w), repeat


def test_a_gfe_whose_providers_have_no_items_still_prints(gfe: GoodFaithEstimate) -> None:
    # Hand-built: the clinic and a co-provider, neither with an item (every service scheduled
    # separately, say). There is no table to keep with the grand total; until now finding "the
    # last provider with items" raised IndexError (with ``keep`` 0 as well as 2).
    [p] = gfe.providers
    dana = p.provider.model_copy(update={"name": "Dana Lee", "key": "lee"})
    empty = gfe.model_copy(
        update={
            "providers": (
                p.model_copy(update={"items": ()}),
                p.model_copy(update={"items": (), "role": "co-provider", "provider": dana}),
            ),
        }
    )
    for keep in (0, 2):
        assert not total_opens_a_page(_pdf._gfe_pages(empty, keep))
    text = pdf_text(render_gfe_pdf(empty))
    assert "Dana Lee NPI" in text
    assert "Diagnosis codes Qty" not in text  # no item table
    assert "Total expected charges, all providers and facilities" in text


def test_the_superbill_balance_due_takes_the_last_rows_to_its_page(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    # Its first five service lines: plainly laid out, "Balance due" would open page 2 alone.
    bill = build_superbill(request_, estimate)
    short = bill.model_copy(update={"lines": bill.lines[:5]})
    assert total_opens_a_page(_pdf._superbill_pages(short, 0))
    pages = pdf_page_texts(render_superbill_pdf(short))
    [on] = [n for n, text in enumerate(pages) if "Balance due" in text]
    assert on == 1
    assert pages[on].index("Date of service") < pages[on].index("Total $")
    assert pages[on].index("Total $") < pages[on].index("Balance due")


HEADINGS = (
    "Recurring treatment: frequency and number of sessions",
    "Itemised estimate by provider and facility",
    "Items or services to be scheduled separately",
    "Disclaimers",
)


def test_a_heading_never_ends_a_page(gfe: GoodFaithEstimate) -> None:
    # With 9, 18 and 22 times the item rows, "Items or services to be scheduled separately" was
    # the last line of pages 3, 5 and 6, its table starting the next page. Now it starts that
    # page with the table's heading row and first row under it.
    for repeat in (9, 18, 22):
        pages = pdf_page_texts(render_gfe_pdf(long_gfe(gfe, repeat)))
        for n, text in enumerate(pages[:-1]):
            assert not text.endswith(HEADINGS), (repeat, n)
        [on] = [n for n, t in enumerate(pages) if HEADINGS[2] in t]
        page = pages[on]
        first = gfe.separately_scheduled[0].description
        assert page.index(HEADINGS[2]) < page.index("Self-pay price") < page.index(first)


@pytest.mark.parametrize("then", ["table", "paragraph"])
def test_a_heading_goes_to_the_next_page_with_its_first_rows(then: str) -> None:
    # A heading with room for itself (2 + 6 mm) but not for a table's heading row and first
    # row (2 x 6.4 mm) or a paragraph's first two lines (2 x 4.4 mm) under it opens the next page.
    w = _pdf_layout.Writer("Headings", ISSUED)
    w.pdf.set_y(w.pdf.page_break_trigger - 12)
    w.heading("Items or services to be scheduled separately")
    if then == "table":
        w.table(("Item or service", "Self-pay price"), [["IV infusion", "$400.00"]], widths=(3, 1))
    else:
        w.paragraph("These are expected before or after the period of care. " * 3)
    pages = pdf_page_texts(w.output())
    assert pages[0] == ""
    assert pages[1].startswith("Items or services to be scheduled separately")
    assert ("IV infusion" if then == "table" else "These are expected") in pages[1]


def test_a_date_never_breaks_inside_its_cell() -> None:
    # A date column given 1/31 of the page (6 mm) is widened to hold "2027-01-05" whole
    # (about 18 mm at 8.5 pt, plus the padding); a range wraps only between its dates.
    def table(dates: tuple[int, ...]) -> bytes:
        w = _pdf_layout.Writer("Dates", ISSUED)
        w.table(
            ("Dates", "Item"),
            [["2027-01-05 to 2027-01-18", "IV infusion"], ["January 4, 2027", "Total"]],
            widths=(1, 30),
            dates=dates,
            bold_last=True,
        )
        return w.output()

    data = table(dates=(0,))
    for date_text in ("2027-01-05", "2027-01-18", "January 4, 2027"):
        assert lines_of(data, date_text) == [1], date_text
    # The check can fail: without the rule the same column breaks a date in words inside (each
    # column is still widened to its longest word, so "2027-01-05" alone would stay whole).
    plain = table(dates=())
    assert lines_of(plain, "January 4, 2027") != [1]


def test_an_iso_date_in_running_text_never_breaks_at_its_hyphens() -> None:
    # fpdf2 breaks a line of flowing text only at a space or a soft hyphen (FPDF.write, 2.8.9:
    # "a line break occurs at the most recent space or soft-hyphen character"), never after
    # "-", so a date in a disclaimer stays whole without a non-breaking hyphen (U+2011 would
    # keep "2026-11-21" from being found or copied as typed). Pinned: the date at every
    # offset along a line (0 to 119 characters before it, after a bold lead or not).
    w = _pdf_layout.Writer("Dates", ISSUED)
    for k in range(120):
        w.paragraph("x" * k + " issued (2026-11-21); first visit 2027-01-04.")
        w.paragraph("2027-12-31 is " + "y" * k + " 2026-11-21.", bold_lead="Lead" + "z" * (k % 40))
    data = w.output()
    for text, times in (("2026-11-21", 240), ("2027-01-04", 120), ("2027-12-31", 120)):
        assert lines_of(data, text) == [1] * times, text
    # The check can fail: the same text wrapped at any character breaks dates inside.
    w = _pdf_layout.Writer("Dates", ISSUED)
    w.pdf.set_font("dejavu", "", 9)
    for k in range(120):
        w.pdf.write(4.4, "x" * k + " issued (2026-11-21).", wrapmode="CHAR")
        w.pdf.ln(5.4)
    assert lines_of(w.output(), "2026-11-21") != [1] * 120


@pytest.mark.parametrize("kind", ["gfe", "superbill"])
def test_every_date_in_the_documents_is_on_one_line(
    kind: str,
    gfe: GoodFaithEstimate,
    request_: ketacost.EstimateRequest,
    estimate: ketacost.Estimate,
) -> None:
    if kind == "gfe":
        data = render_gfe_pdf(gfe)
        dates = {d for r in gfe.recurring for d in (r.first_date, r.last_date)}
        dates |= {d for p in gfe.providers for i in p.items for d in (i.first_date, i.last_date)}
        dates.add(gfe.issued)  # in the disclaimers' running text and the footer
        longs = ["January 4, 2027", "January 3, 2028", "January 5, 2027", "April 12, 1988"]
    else:
        bill = build_superbill(request_, estimate)
        data = render_superbill_pdf(bill)
        dates = {ln.date for ln in bill.lines}
        # dated its last date of service (issue 16: never before the visits it lists as paid)
        assert bill.issued == date(2027, 11, 8)
        longs = ["November 8, 2027"]
    for text in [d.isoformat() for d in sorted(dates)] + longs:
        found = lines_of(data, text)
        assert found and set(found) == {1}, (text, found)


# ---- 4. Worked example: a Vietnamese patient at a Chinese-named clinic ----------------------
PATIENT = "Nguyễn Thị Minh Khai"
CLINIC = "安康诊所"
SCALE = 2.0  # 144 dpi


def font_of(page: Any, index: int) -> str:
    """The name of the font pdfium draws character ``index`` of the text page with."""
    buffer = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    size = pdfium_c.FPDFText_GetFontInfo(page.raw, index, buffer, len(buffer), flags)
    return buffer.raw[: max(size - 1, 0)].decode()


def placed(doc: Any, needle: str) -> tuple[int, tuple[float, float, float, float], set[str]]:
    """The page ``needle`` is first drawn on, its box (PDF points), and the fonts drawing it."""
    for n in range(len(doc)):
        page = doc[n].get_textpage()
        hit = page.search(needle, match_case=True).get_next()
        if hit is None:
            continue
        start, count = hit
        boxes = [page.get_charbox(j, loose=True) for j in range(start, start + count)]
        fonts = {font_of(page, j) for j in range(start, start + count)}
        box = (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
        return n, box, fonts
    raise AssertionError(f"{needle!r} is not in the text layer")


def ink(doc: Any, n: int, box: tuple[float, float, float, float], png: str) -> float:
    """The share of dark pixels in ``box`` on page ``n`` rendered (saved as ``png``).

    Ink there, and not a solid block (a missing glyph's box or a fill), is between 5 and 60 %.
    """
    left, bottom, right, top = box
    height = doc[n].get_height()
    image = doc[n].render(scale=SCALE).to_pil().convert("L")
    ARTIFACTS.mkdir(exist_ok=True)
    image.save(ARTIFACTS / png)
    # The box on the image (PDF points from the bottom left; pixels from the top left).
    area = image.crop(
        (
            int(left * SCALE),
            int((height - top) * SCALE),
            int(right * SCALE) + 1,
            int((height - bottom) * SCALE) + 1,
        )
    )
    return sum(area.histogram()[:128]) / (area.width * area.height)


def test_a_vietnamese_patient_and_a_chinese_clinic_print_as_written(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    # Built through the public API: the example's self-pay request, the patient's and the
    # clinic's names changed (the clinic convenes, so its name heads the itemised estimate and
    # is in the disclaimers).
    gfe = gfe_for(request_, estimate, patient=PATIENT, clinic=CLINIC)
    data = render_gfe_pdf(gfe)
    text = pdf_text(data)
    assert PATIENT in text  # every tone mark kept: ễ ị, not "Nguyen Thi"
    assert f"{CLINIC} (convening provider)" in text
    assert "??" not in text
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "gfe-unicode.pdf").write_bytes(data)
    doc = pdfium.PdfDocument(data)
    try:
        for needle, font in ((PATIENT, "DejaVuSansBook"), (CLINIC, "DroidSansFallback")):
            n, box, fonts = placed(doc, needle)
            # The name's glyphs come from the embedded subset (prefix "ABCDEF+"), not a
            # substitute the viewer picked.
            assert {f.split("+", 1)[-1] for f in fonts} == {font}, fonts
            dark = ink(doc, n, box, f"gfe-unicode-page-{n + 1}.png")
            assert 0.05 < dark < 0.6, (needle, dark)
    finally:
        doc.close()
