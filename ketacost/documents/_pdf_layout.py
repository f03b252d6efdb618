"""The page layout of the PDF documents over fpdf2: fonts, headings, fields, tables, paragraphs.

Text is drawn in fonts shipped in ``documents/fonts/`` and embedded as subsets: DejaVu Sans
(Latin with Vietnamese, Greek, Cyrillic, arrows and maths signs) and, each only in a document
that needs it, Droid Sans Fallback for Chinese and Japanese and NanumGothic for Korean (all
11,172 Hangul syllables; Hangul is always drawn with it, so a name is in one typeface). A name
(:meth:`Writer.name`: the patient's, a provider's) must print exactly: a character none of the
fonts has (an ideograph of CJK Extension B such as 𠮷, a private-use character) raises
:class:`DocumentError` naming the field and the characters. In other text (descriptions,
disclaimers) such a character is drawn as its compatibility form where the fonts have that
(``🄐`` as ``(A)``) and as ``?`` otherwise, so nothing is silently dropped. The PDF's creation
date is the document's issue date, so the same document gives the same bytes. The PDFs are
PDF/A-2b (``_pdfa``).
"""

from __future__ import annotations

import functools
import importlib
import logging
import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ketacost._extras import require

from ._common import DocumentError
from ._html import long_date
from ._pdfa import COMPLIANCE, xmp_metadata

if TYPE_CHECKING:
    from fpdf import FPDF

__all__ = ["FONTS", "NBSP", "TO", "Writer", "day"]

#: The fonts the PDFs embed, with their licences (see README.md there).
FONTS = Path(__file__).resolve().parent / "fonts"
_LATIN = "dejavu"
_CJK = "droid"
_LATIN_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
_CJK_FILE = "DroidSansFallbackFull.ttf"
_HANGUL = "nanum"
_HANGUL_FILE = "NanumGothic.ttf"
#: The fallback fonts in the order fpdf2 tries them (Hangul goes to NanumGothic first).
_FALLBACKS = {_CJK: _CJK_FILE, _HANGUL: _HANGUL_FILE}
#: A no-break space: fpdf2 never wraps a line at one (it prints a space).
NBSP = "\u00a0"
#: Between the first and the last date of a range: the one place a date cell may wrap.
TO = " to "
_PADDING = 1.0
#: A heading is kept with at least this many lines of the paragraph after it.
_KEEP_LINES = 2


@functools.cache
def _code_points(name: str) -> frozenset[int]:
    """The characters a shipped font draws (its cmap; fontTools comes with fpdf2)."""
    ttlib: Any = importlib.import_module("fontTools.ttLib")
    font = ttlib.TTFont(FONTS / name, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def day(when: date) -> str:
    """``January 5, 2027`` that never wraps inside (no-break spaces)."""
    return long_date(when).replace(" ", NBSP)


def _fpdf() -> Any:
    # An optional extra, imported when a PDF is made.
    return require("fpdf", "pdf", library="fpdf2", feature="a PDF document")


def _hangul(ch: str) -> bool:
    """A Hangul syllable or jamo (any block: conjoining, compatibility, half-width)."""
    return unicodedata.name(ch, "").startswith("HANGUL")


@functools.cache
def _pdf_class() -> type[FPDF]:
    """fpdf2's FPDF drawing every Hangul character with NanumGothic when it has it.

    Droid Sans Fallback has three Hangul syllables (가 힢 힣) and the jamo: left to fpdf2's
    order, "가영" would mix two typefaces.
    """
    _fpdf()
    from fpdf import FPDF

    class _Pdf(FPDF):
        def get_fallback_font(self, char: str, style: str = "") -> str | None:
            if _HANGUL in self.fonts and _hangul(char) and ord(char) in _code_points(_HANGUL_FILE):
                return _HANGUL
            return super().get_fallback_font(char, style)

    return _Pdf


class Writer:
    """A few layout steps over fpdf2: title, heading, fields, table, paragraph."""

    def __init__(
        self,
        title: str,
        issued: date | None,
        landscape: bool = False,
        to: str = TO,
        lang: str = "en",
    ) -> None:
        fpdf = _fpdf()
        pdf = _pdf_class()(
            orientation="L" if landscape else "P",
            unit="mm",
            format="Letter",
            enforce_compliance=COMPLIANCE,
        )
        pdf.set_margins(14, 14, 14)
        pdf.set_auto_page_break(True, margin=16)
        when = issued or date(2000, 1, 1)
        created = datetime(when.year, when.month, when.day, tzinfo=UTC)
        pdf.set_creation_date(created)
        pdf.set_title(title)
        pdf.set_creator("ketacost")
        pdf.set_xmp_metadata(xmp_metadata(title=title, creator="ketacost", created=created))
        if lang != "en":
            # The document's language for readers and screen readers (/Lang); an English one
            # is left as it always was, byte for byte.
            pdf.set_lang(lang)
        for style, name in _LATIN_FILES.items():
            pdf.add_font(_LATIN, style, FONTS / name)
        self._latin = _code_points(_LATIN_FILES[""]) & _code_points(_LATIN_FILES["B"])
        self._fallbacks: list[str] = []
        #: Headings waiting for the block that follows them (text as drawn, size).
        self._headings: list[tuple[str, float]] = []
        self.total_alone = False
        #: Between the first and the last date of a range, in the document's language.
        self.to = to
        pdf.add_page()
        self.pdf = pdf
        self.xpos = fpdf.XPos
        self.ypos = fpdf.YPos

    def _text(self, text: str) -> str:
        """``text`` as the embedded fonts can draw it (the module docstring says how).

        Composed first (NFC): a name typed as "e" plus combining marks is drawn with the
        font's own "ễ", not marks stacked by a renderer that does no shaping.
        """
        return "".join(self._char(ch) for ch in unicodedata.normalize("NFC", text))

    def _char(self, ch: str) -> str:
        if ch == "\n":
            return ch
        if ch < " ":
            return " "  # a tab or other control character has no glyph (.notdef: not PDF/A)
        return ch if self._drawn(ch) else self._stand_in(ch)

    def _drawn(self, ch: str) -> bool:
        if ord(ch) in self._latin:
            return True
        order = (_HANGUL, _CJK) if _hangul(ch) else (_CJK, _HANGUL)
        family = next((f for f in order if ord(ch) in _code_points(_FALLBACKS[f])), None)
        if family is None:
            return False
        if family not in self._fallbacks:
            # Only a document that needs it embeds (a subset of) a 4 MB CJK or Korean font.
            self.pdf.add_font(family, "", FONTS / _FALLBACKS[family])
            self._fallbacks.append(family)
            # Bold text falls back to the regular face (exact_match=False): neither has bold.
            self.pdf.set_fallback_fonts(
                [f for f in _FALLBACKS if f in self._fallbacks], exact_match=False
            )
        return True

    def name(self, field: str, text: str) -> str:
        """``text``, a name, checked to print exactly (the module docstring says why).

        Raises:
            DocumentError: a character of it is in none of the fonts (names the field and
                the characters).
        """
        composed = unicodedata.normalize("NFC", text)
        missing = dict.fromkeys(ch for ch in composed if ch >= " " and not self._drawn(ch))
        if missing:
            listed = ", ".join(f"U+{ord(ch):04X} {ch!r}" for ch in missing)
            self.close()  # the document will not be made: its font files are closed now
            raise DocumentError(
                f"{field} {text!r}: the PDF's fonts cannot draw {listed}, and a legal "
                "document must carry a name exactly as written"
            )
        return text

    def _stand_in(self, ch: str) -> str:
        form = unicodedata.normalize("NFKD", ch)
        if form != ch and all(self._drawn(c) for c in form):
            return form
        return "?"

    def title(self, text: str, subtitle: str) -> None:
        self.pdf.set_font(_LATIN, "B", 15)
        self.pdf.multi_cell(0, 7, self._text(text), new_x=self.xpos.LMARGIN, new_y=self.ypos.NEXT)
        self.paragraph(subtitle, size=8.5)

    def heading(self, text: str, size: float = 11.5) -> None:
        """A heading, drawn with what follows it: never alone at the foot of a page.

        It waits for the next block (a table, fields, a paragraph), which draws it on the page
        where the block's first rows or lines fit too, a new one if need be.
        """
        self._headings.append((self._text(text), size))

    def _place_headings(self, need: float) -> None:
        """Draws the waiting headings, first opening a page if ``need`` mm more would not fit."""
        if not self._headings:
            return
        tall = need
        for text, size in self._headings:
            self.pdf.set_font(_LATIN, "B", size)
            lines: Any = self.pdf.multi_cell(0, 6, text, dry_run=True, output="LINES")
            tall += 2 + 6 * len(lines)
        if self.pdf.y + tall > self.pdf.page_break_trigger and self.pdf.y > self.pdf.t_margin:
            self.pdf.add_page()
        for text, size in self._headings:
            self.pdf.ln(2)
            self.pdf.set_font(_LATIN, "B", size)
            self.pdf.multi_cell(0, 6, text, new_x=self.xpos.LMARGIN, new_y=self.ypos.NEXT)
        self._headings.clear()

    def _row_height(self, cells: Sequence[str], widths: Sequence[float]) -> float:
        """The height (mm) of a table row: its tallest cell, in bold (the wider, to be safe)."""
        self.pdf.set_font(_LATIN, "B", 8.5)
        lines = 1
        for text, share in zip(cells, widths, strict=True):
            # A table cell is padded instead of multi_cell's own c_margin on either side.
            width = share / sum(widths) * self.pdf.epw - 2 * _PADDING + 2 * self.pdf.c_margin
            found: Any = self.pdf.multi_cell(width, 4.4, text, dry_run=True, output="LINES")
            lines = max(lines, len(found))
        self.pdf.set_font(_LATIN, "", 8.5)
        return lines * 4.4 + 2 * _PADDING

    def paragraph(self, text: str, *, size: float = 9, bold_lead: str = "") -> None:
        self._place_headings(_KEEP_LINES * 4.4)  # a heading keeps the first lines with it
        # write() flows text with word wrap; no markdown, so "*" or "--" in data stay as typed.
        if bold_lead:
            self.pdf.set_font(_LATIN, "B", size)
            self.pdf.write(4.4, self._text(bold_lead) + " ")
        self.pdf.set_font(_LATIN, "", size)
        self.pdf.write(4.4, self._text(text))
        self.pdf.ln(5.4)

    def fields(self, pairs: Sequence[tuple[str, str]]) -> None:
        self.table(("", ""), [list(p) for p in pairs], widths=(1, 3), header=False)

    def total(self, pairs: Sequence[tuple[str, str]]) -> None:
        """A grand total; ``total_alone`` says whether it opened a page by itself."""
        page = self.pdf.page
        self.fields(pairs)
        self.total_alone = self.pdf.page != page

    def table(
        self,
        head: Sequence[str],
        rows: Sequence[Sequence[str]],
        *,
        widths: Sequence[float],
        right: Sequence[int] = (),
        dates: Sequence[int] = (),
        header: bool = True,
        bold_last: bool = False,
        new_page_for_last: int = 0,
    ) -> None:
        """A table with a heading row (repeated on each page it spans).

        Args:
            head: the heading row.
            rows: the body.
            widths: the columns' shares of the page width.
            right: columns aligned right (amounts and counts).
            dates: columns of dates (a date, or ``first to last``): a date never breaks in its
                cell, the column is widened (from the widest other column) to hold one whole.
            header: False for label/value pairs, the labels bold.
            bold_last: the last row is a total, in bold.
            new_page_for_last: that many last rows start a new page with the heading again
                (keeps a total with the rows above it).
        """
        self.pdf.set_font(_LATIN, "", 8.5)
        body = [[self._text(c) for c in r] for r in rows]
        for i in dates:
            for r in body:
                r[i] = self.to.join(d.replace(" ", NBSP) for d in r[i].split(self.to))
        widths = self._fit(widths, dates, body)
        widths = self._fit_words(widths, [self._text(c) for c in head] if header else [], body)
        # A heading above keeps the table's heading row and first row with it.
        opening = ([[self._text(c) for c in head]] if header else []) + body[:1]
        self._place_headings(sum(self._row_height(r, widths) for r in opening))
        self.pdf.set_font(_LATIN, "", 8.5)
        split = len(body) - new_page_for_last if 0 < new_page_for_last < len(body) else 0
        for n, part in enumerate((body[:split], body[split:]) if split else (body,)):
            if n:
                self.pdf.add_page()
            last = len(rows) - 1 - (split if n else 0)
            self._table(head, part, widths, right, header, bold_last, last)
        self.pdf.ln(1)

    def _fit(
        self, widths: Sequence[float], dates: Sequence[int], body: Sequence[Sequence[str]]
    ) -> tuple[float, ...]:
        """``widths`` with each date column wide enough for its longest date (bold or not)."""
        out = [float(w) for w in widths]
        scale = sum(out) / self.pdf.epw
        for i in dates:
            pieces = [d for r in body for d in r[i].split(self.to)]
            longest = 0.0
            for style in ("", "B"):  # a total row is bold, and bold is wider
                self.pdf.set_font(_LATIN, style, 8.5)
                longest = max([longest, *(self.pdf.get_string_width(d) for d in pieces)])
            self.pdf.set_font(_LATIN, "", 8.5)
            need = (longest + 2 * _PADDING + 0.5) * scale
            if out[i] < need:
                widest = max((j for j in range(len(out)) if j not in dates), key=out.__getitem__)
                out[widest] -= need - out[i]
                out[i] = need
        return tuple(out)

    def _fit_words(
        self, widths: Sequence[float], head: Sequence[str], body: Sequence[Sequence[str]]
    ) -> tuple[float, ...]:
        """``widths`` with each column wide enough for its longest word, which never breaks.

        A long Spanish heading word ("Modificadores", "diagnóstico") in a narrow column would
        otherwise be cut mid-word ("Modifica / dores"). The width a column needs is taken from
        the columns with the most room to spare; when the page cannot give every column its
        longest word, the widths stay as they were (the words then break, as before).
        """
        out = [float(w) for w in widths]
        scale = sum(out) / self.pdf.epw
        need = [0.0] * len(out)
        cells: list[tuple[int, str, str]] = [(i, c, "B") for i, c in enumerate(head)]
        for row in body:
            cells += [(i, c, style) for i, c in enumerate(row) for style in ("", "B")]
        for i, text, style in cells:
            self.pdf.set_font(_LATIN, style, 8.5)
            for word in text.replace("\n", " ").split(" "):
                width = (self.pdf.get_string_width(word) + 2 * _PADDING + 0.5) * scale
                need[i] = max(need[i], width)
        self.pdf.set_font(_LATIN, "", 8.5)
        if sum(need) > sum(out):
            return tuple(out)
        for i in range(len(out)):
            while out[i] < need[i]:
                spare = max(range(len(out)), key=lambda j: out[j] - need[j])
                give = min(need[i] - out[i], out[spare] - need[spare])
                if give <= 0:
                    return tuple(float(w) for w in widths)
                out[spare] -= give
                out[i] += give
        return tuple(out)

    def _table(
        self,
        head: Sequence[str],
        body: Sequence[Sequence[str]],
        widths: Sequence[float],
        right: Sequence[int],
        header: bool,
        bold_last: bool,
        last: int,
    ) -> None:
        align = tuple("RIGHT" if i in right else "LEFT" for i in range(len(widths)))
        with self.pdf.table(
            col_widths=tuple(widths),
            text_align=align,
            first_row_as_headings=header,
            line_height=4.4,
            padding=_PADDING,
        ) as table:
            if header:
                heading = table.row()
                for cell in head:
                    heading.cell(self._text(cell))
            for n, cells in enumerate(body):
                row = table.row()
                for i, text in enumerate(cells):
                    if (bold_last and n == last) or (not header and i == 0):
                        row.cell(text, style=self._bold())
                    else:
                        row.cell(text)

    def _bold(self) -> Any:
        from fpdf.fonts import FontFace

        return FontFace(emphasis="BOLD")

    def footer_note(self, text: str) -> None:
        self.pdf.ln(2)
        self.paragraph(text, size=7.5)

    def close(self) -> None:
        """Closes the font files of pages that will not be output (output() closes them)."""
        self._headings.clear()
        for font in self.pdf.fonts.values():
            if hasattr(font, "close"):
                font.close()

    def output(self) -> bytes:
        self._place_headings(0)
        # NanumGothic carries VTT hinting sources (TSI0-TSI5) that fontTools drops from the
        # subset, warning each time (on stderr, through logging's last resort): nothing a
        # reader of the document loses, so those warnings are not passed on.
        subset = logging.getLogger("fontTools.subset")
        level = subset.level
        subset.setLevel(logging.ERROR)
        try:
            return bytes(self.pdf.output())
        finally:
            subset.setLevel(level)
