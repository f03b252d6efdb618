"""National Drug Codes: the 10-digit label forms and the 11-digit 5-4-2 form claims carry.

A drug's NDC is printed on its package in one of three 10-digit layouts (labeler, product,
package): ``4-4-2``, ``5-3-2`` or ``5-4-1``. HIPAA claims (837P loop 2410 LIN03; the shaded
part of CMS-1500 item 24A after the ``N4`` qualifier) need the 11-digit ``5-4-2`` form, made
by putting one leading zero on the segment that is short; which segment that is depends on
the layout, so a 10-digit NDC without its hyphens cannot be converted:

=========  ===============  ===================================
layout     example          11-digit 5-4-2
=========  ===============  ===================================
4-4-2      0409-2051-05     00409-2051-05 (zero on the labeler)
5-3-2      50458-028-03     50458-0028-03 (zero on the product)
5-4-1      60575-4112-1     60575-4112-01 (zero on the package)
=========  ===============  ===================================

Sources: NDC conversion tables of payer billing manuals (e.g. the "National Drug Code (NDC)
Conversion Table" reproduced at online.documentine.com; daisyBill "How do I convert a
10-digit NDC number to 11 digits"); 21 CFR 207.33 for the three 10-digit layouts.

The quantity on the claim is in one of the NDC units of measure of the 837P (CTP05-1) and
CMS-1500: ``F2`` international unit, ``GR`` gram, ``ML`` millilitre, ``UN`` unit (each)
(NUCC CMS-1500 instructions for item 24; Medicaid physician-administered drug billing
manuals). ``ME`` (milligram) exists in the code list but payers refuse it for NDC quantities.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal

from ._errors import InvalidArgumentError

__all__ = [
    "NDC_LAYOUTS",
    "NDC_QUALIFIER",
    "NdcLayout",
    "NdcUnit",
    "ndc_claim_text",
    "ndc_label_form",
    "ndc_layout",
    "ndc_quantity_text",
    "to_ndc11",
]

NdcLayout = Literal["4-4-2", "5-3-2", "5-4-1"]
#: The three 10-digit layouts an NDC may be printed in.
NDC_LAYOUTS: tuple[NdcLayout, ...] = ("4-4-2", "5-3-2", "5-4-1")
#: The product-id qualifier that says the number after it is an NDC (837P LIN02, CMS-1500 24A).
NDC_QUALIFIER: Literal["N4"] = "N4"
#: NDC units of measure a professional claim accepts (837P CTP05-1; CMS-1500 24A shaded).
NdcUnit = Literal["F2", "GR", "ML", "UN"]

_SEGMENTS = re.compile(r"^([0-9]+)-([0-9]+)-([0-9]+)$")
# Where the padding zero goes for each layout: the index of the short segment.
_SHORT: dict[str, int] = {"4-4-2": 0, "5-3-2": 1, "5-4-1": 2}


def _segments(ndc: str) -> tuple[str, str, str]:
    found = _SEGMENTS.match(ndc) if isinstance(ndc, str) else None
    if found is None:
        raise InvalidArgumentError(
            f"an NDC is three groups of digits separated by hyphens, as printed on the "
            f"package (e.g. 0409-2051-05 or 50458-028-03); got {ndc!r}"
        )
    first, second, third = found.groups()
    return first, second, third


def ndc_layout(ndc: str) -> NdcLayout | Literal["5-4-2"]:
    """The layout of a hyphenated NDC: one of the three 10-digit ones, or ``5-4-2`` (11 digits).

    >>> ndc_layout("0409-2051-05"), ndc_layout("00409-2051-05")
    ('4-4-2', '5-4-2')

    Raises:
        InvalidArgumentError: not three hyphenated groups, or groups of other lengths.
    """
    layout = "-".join(str(len(s)) for s in _segments(ndc))
    if layout == "5-4-2":
        return "5-4-2"
    for known in NDC_LAYOUTS:
        if layout == known:
            return known
    raise InvalidArgumentError(
        f"an NDC has 10 digits in one of the layouts 4-4-2, 5-3-2 or 5-4-1, or 11 digits "
        f"as 5-4-2; {ndc!r} is {layout} ({sum(map(int, layout.split('-')))} digits)"
    )


def to_ndc11(ndc: str) -> str:
    """The 11-digit 5-4-2 form of an NDC, hyphenated (a 5-4-2 NDC is returned as it is).

    One leading zero goes on the short segment: the labeler in 4-4-2, the product in 5-3-2,
    the package in 5-4-1.

    >>> to_ndc11("0409-2051-05"), to_ndc11("50458-028-03"), to_ndc11("60575-4112-1")
    ('00409-2051-05', '50458-0028-03', '60575-4112-01')

    Raises:
        InvalidArgumentError: the NDC is not in one of the four hyphenated layouts.
    """
    layout = ndc_layout(ndc)
    segments = list(_segments(ndc))
    if layout != "5-4-2":
        short = _SHORT[layout]
        segments[short] = "0" + segments[short]
    return "-".join(segments)


def ndc_label_form(ndc11: str, layout: NdcLayout) -> str:
    """The 10-digit form of an 11-digit NDC in ``layout``: the padding zero taken off.

    >>> ndc_label_form("00409-2051-05", "4-4-2")
    '0409-2051-05'

    Raises:
        InvalidArgumentError: ``ndc11`` is not 5-4-2, ``layout`` is not one of the three, or
            the segment ``layout`` shortens does not start with the padding zero.
    """
    if layout not in _SHORT:
        known = ", ".join(NDC_LAYOUTS)
        raise InvalidArgumentError(f"layout must be one of {known}; got {layout!r}")
    if ndc_layout(ndc11) != "5-4-2":
        raise InvalidArgumentError(f"not an 11-digit 5-4-2 NDC: {ndc11!r}")
    segments = list(_segments(ndc11))
    short = _SHORT[layout]
    if not segments[short].startswith("0"):
        raise InvalidArgumentError(
            f"{ndc11} has no padding zero in its {('labeler', 'product', 'package')[short]} "
            f"segment, so it has no {layout} form"
        )
    segments[short] = segments[short][1:]
    return "-".join(segments)


def ndc_quantity_text(quantity: Decimal) -> str:
    """A quantity as a claim writes it: plain digits, no exponent, no trailing zeros (``0.35``)."""
    return format(quantity.normalize(), "f")


def ndc_claim_text(ndc: str, unit: NdcUnit, quantity: Decimal) -> str:
    """An NDC as the shaded part of CMS-1500 item 24 prints it: ``N400409205105 ML0.35``.

    The ``N4`` qualifier, the 11 digits without hyphens, a space, the unit and the quantity
    (NUCC instructions for items 24A and 24D; Medicaid NDC billing manuals).

    >>> ndc_claim_text("0409-2051-05", "ML", Decimal("0.350"))
    'N400409205105 ML0.35'
    """
    digits = to_ndc11(ndc).replace("-", "")
    return f"{NDC_QUALIFIER}{digits} {unit}{ndc_quantity_text(quantity)}"
