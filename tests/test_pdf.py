"""The PDF documents: Unicode fonts shipped with the package, PDF/A, and page layout.

The worked example is the self-pay IV series (examples/requests/iv-series-self-pay.yaml, as in
test_documents.py), with the patient's name or the clinic's name changed through
``model_copy`` so the text under test is the only thing that differs.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

import ketacost
from ketacost.documents import (
    GoodFaithEstimate,
    build_gfe,
    build_superbill,
    render_gfe_pdf,
    render_superbill_pdf,
)
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
    "README.md",
)


def text_of_pdf(data: bytes) -> str:
    """Every page's text layer, whitespace runs made one space."""
    doc = pdfium.PdfDocument(data)
    try:
        return " ".join(
            " ".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc))
        )
    finally:
        doc.close()


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
    assert "Zoë Ōtsuka–O’Brien ✓" in text_of_pdf(render_gfe_pdf(gfe))


def test_a_character_no_shipped_font_has_gets_a_stand_in_never_nothing(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    # ⑪ (CIRCLED NUMBER ELEVEN) is in neither font; its compatibility form "11" is. The Hangul
    # syllables 김 and 한 are in neither, nor are all the jamo they decompose to: each is "?".
    gfe = gfe_for(request_, estimate, patient="Kim ⑪ 김한")
    assert "Kim 11 ??" in text_of_pdf(render_gfe_pdf(gfe))


def test_the_cjk_font_is_embedded_only_where_needed(
    request_: ketacost.EstimateRequest, estimate: ketacost.Estimate
) -> None:
    latin = render_gfe_pdf(gfe_for(request_, estimate, patient="Nguyễn Thị Minh Khai"))
    assert font_names(latin) == {"DejaVuSansBook", "DejaVuSansBold"}
    cjk = render_gfe_pdf(gfe_for(request_, estimate, patient="王小明"))
    assert font_names(cjk) == {"DejaVuSansBook", "DejaVuSansBold", "DroidSansFallback"}
    # Subsets: the 4 MB CJK font adds a few kilobytes for three ideographs.
    assert len(cjk) - len(latin) < 40_000


def test_the_fonts_and_their_licences_are_in_the_package() -> None:
    assert sorted(p.name for p in FONTS.iterdir()) == sorted(SHIPPED)
    assert "Bitstream Vera" in (FONTS / "LICENSE-DejaVu.txt").read_text(encoding="utf-8")
    assert "Apache License" in (FONTS / "LICENSE-Apache-2.0-DroidSansFallback.txt").read_text(
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
                update={{"patient": req.patient.model_copy(update={{"name": "Nguyễn 王小明"}})}}
            )
            pdf = render_gfe_pdf(build_gfe(req, ketacost.estimate(req), issued=date(2026, 11, 21)))
            print("Nguyễn 王小明" in pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range())
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
    text = text_of_pdf(render_superbill_pdf(build_superbill(req, estimate)))
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
    assert len(first) == 16 and first == second


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
    assert "Alex Example" in text_of_pdf(render_gfe_pdf(gfe))
