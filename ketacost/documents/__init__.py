"""Documents for patients and billing offices: the Good Faith Estimate and the superbill.

A renderer layer over the estimate: it reads requests and estimates, never the CLI or web.
HTML needs only Jinja2 (a core dependency); PDF needs the ``pdf`` extra (fpdf2), imported
when a PDF is made.

>>> from ketacost.documents import build_gfe, render_gfe_html        # doctest: +SKIP
>>> gfe = build_gfe(request, estimate, issued=date(2026, 11, 21))     # doctest: +SKIP
>>> html = render_gfe_html(gfe)                                       # doctest: +SKIP
"""

from __future__ import annotations

from ketacost._errors import MissingExtraError

from ._common import DocumentError, Party
from ._dispute import BilledLine, DisputeFinding, FinalBill, compare_bill_to_gfe
from ._fhir import gfe_fhir_bundle, render_gfe_fhir, validate_gfe_fhir
from ._gfe import (
    CostRange,
    Disclaimer,
    GfeItem,
    GfePatient,
    GfeProviderEstimate,
    GfeTiming,
    GoodFaithEstimate,
    NotIncludedItem,
    RecurringService,
    SeparatelyScheduledItem,
    build_gfe,
)
from ._gfe_changes import GfeChange, GfeReissue, ReplacedGfe
from ._gfe_reissue import reissue_gfe
from ._gfe_timing import gfe_timing, timing_sentence
from ._html import render_gfe_html, render_superbill_html
from ._pdf import render_gfe_pdf, render_superbill_pdf
from ._superbill import (
    Diagnosis,
    Superbill,
    SuperbillLine,
    SuperbillPatient,
    build_superbill,
    render_superbill_csv,
)

__all__ = [
    "BilledLine",
    "CostRange",
    "Diagnosis",
    "Disclaimer",
    "DisputeFinding",
    "DocumentError",
    "FinalBill",
    "GfeChange",
    "GfeItem",
    "GfePatient",
    "GfeProviderEstimate",
    "GfeReissue",
    "GfeTiming",
    "GoodFaithEstimate",
    "MissingExtraError",
    "NotIncludedItem",
    "Party",
    "RecurringService",
    "ReplacedGfe",
    "SeparatelyScheduledItem",
    "Superbill",
    "SuperbillLine",
    "SuperbillPatient",
    "build_gfe",
    "build_superbill",
    "compare_bill_to_gfe",
    "gfe_fhir_bundle",
    "gfe_timing",
    "reissue_gfe",
    "render_gfe_fhir",
    "render_gfe_html",
    "render_gfe_pdf",
    "render_superbill_csv",
    "render_superbill_html",
    "render_superbill_pdf",
    "timing_sentence",
    "validate_gfe_fhir",
]
