"""PDF/A-2b for the PDF documents (ISO 19005-2, level B: every page looks the same for ever).

fpdf2 (2.8.5 and later), told ``enforce_compliance="PDFA_2B"``, writes PDF 1.7, refuses what
PDF/A forbids (a font that is not embedded, encryption, file attachments), and at output adds
the OutputIntent ``GTS_PDFA1`` with the sRGB ICC profile it ships (sRGB2014 from the
International Color Consortium, free to embed). Its own XMP metadata would stamp the time of
writing as the modification date; the packet here uses the document's issue date for every
date, so the same document gives the same bytes (the file ID is a hash of those bytes).
"""

from __future__ import annotations

from datetime import datetime
from html import escape

__all__ = ["COMPLIANCE", "xmp_metadata"]

#: The fpdf2 name of the conformance level: ISO 19005-2, level B.
COMPLIANCE = "PDFA_2B"


def xmp_metadata(*, title: str, creator: str, created: datetime) -> str:
    """The XMP packet body: the PDF/A part and level, the title, the creator and the dates.

    With compliance on, fpdf2 writes no document information dictionary, so this packet is the
    document's only metadata. ``created`` carries its time zone.
    """
    when = escape(created.isoformat(timespec="seconds"))
    return "\n".join(
        [
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">',
            '  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">',
            '    <rdf:Description rdf:about=""',
            '        xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"',
            '        xmlns:dc="http://purl.org/dc/elements/1.1/"',
            '        xmlns:xmp="http://ns.adobe.com/xap/1.0/">',
            "      <pdfaid:part>2</pdfaid:part>",
            "      <pdfaid:conformance>B</pdfaid:conformance>",
            "      <dc:format>application/pdf</dc:format>",
            "      <dc:title><rdf:Alt>",
            f'        <rdf:li xml:lang="x-default">{escape(title)}</rdf:li>',
            "      </rdf:Alt></dc:title>",
            f"      <xmp:CreatorTool>{escape(creator)}</xmp:CreatorTool>",
            f"      <xmp:CreateDate>{when}</xmp:CreateDate>",
            f"      <xmp:ModifyDate>{when}</xmp:ModifyDate>",
            f"      <xmp:MetadataDate>{when}</xmp:MetadataDate>",
            "    </rdf:Description>",
            "  </rdf:RDF>",
            "</x:xmpmeta>",
        ]
    )
