"""The type of a service code, from its form (the HHS standard GFE's "service code type").

The HHS standard Good Faith Estimate (CMS-10791 data elements) names each service code's type.
Read from the code's form, as the code sets define them:

* five digits (``90791``, ``96365``): CPT Category I (AMA);
* four digits and ``F`` (``3725F``): CPT Category II; four digits and ``T`` (``0820T``):
  CPT Category III; four digits and ``U`` (``0001U``): CPT PLA (proprietary laboratory
  analyses), also CPT;
* a letter and four digits (``J3490``, ``G2082``, ``S0013``): HCPCS Level II (CMS);
* anything else is ``other`` (a clinic's own code).

CPT Categories II and III and PLA codes are named ``CPT`` too, as the standard form's code
type does not distinguish them.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["CodeType", "code_type"]

CodeType = Literal["CPT", "HCPCS", "other"]

_CPT = re.compile(r"^[0-9]{5}$|^[0-9]{4}[FTU]$")
_HCPCS = re.compile(r"^[A-V][0-9]{4}$")


def code_type(code: str) -> CodeType:
    """``CPT``, ``HCPCS`` (Level II) or ``other``, from the form of ``code``.

    >>> code_type("90791"), code_type("0820T"), code_type("J3490"), code_type("X-1")
    ('CPT', 'CPT', 'HCPCS', 'other')
    """
    if _CPT.match(code):
        return "CPT"
    if _HCPCS.match(code):
        return "HCPCS"
    return "other"
