"""The text a person reads in a rendered document, for tests to look for phrases in.

PDF: each page's text layer (pypdfium2), whitespace runs (the non-breaking space too) made one
space. HTML: the body without its tags, entities decoded, whitespace runs made one space.
"""

from __future__ import annotations

import html as html_lib
import re

import pypdfium2 as pdfium


def pdf_page_texts(data: bytes) -> list[str]:
    """Each page's text, in order."""
    doc = pdfium.PdfDocument(data)
    try:
        return [" ".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc))]
    finally:
        doc.close()


def pdf_text(data: bytes) -> str:
    """The whole document's text, pages joined by a space."""
    return " ".join(pdf_page_texts(data))


def html_text(page: str) -> str:
    """The text of an HTML document after its style sheet."""
    body = page.split("</style>", 1)[1]
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", body)).split())
