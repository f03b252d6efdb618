"""The type of a service code, from its form (the HHS standard GFE's "service code type").

The HHS standard Good Faith Estimate (CMS-10791 data elements) names each service code's type.
Read from the code's form, as the code sets define them:

* five digits (``90791``, ``96365``): CPT Category I (AMA);
* four digits and ``A`` (``0001A``): CPT Category I vaccine administration codes (AMA, "CPT
  Category I New SARS-CoV-2 Vaccine Codes Long Descriptors": 0001A, 0002A, 0011A, ...,
  docslib.org/doc/1740394); four digits and ``M`` (``0002M``): CPT administrative codes for
  multianalyte assays with algorithmic analyses (CPT Appendix O; UNVERIFIED from a primary
  source here);
* four digits and ``F`` (``3725F``): CPT Category II; four digits and ``T`` (``0820T``):
  CPT Category III; four digits and ``U`` (``0001U``): CPT PLA (proprietary laboratory
  analyses), also CPT;
* ``D`` and four digits (``D0120``–``D9999``): CDT, the ADA's Code on Dental Procedures and
  Nomenclature (carried in HCPCS Level II, but its own code set: AAP Coding News, "Current
  Dental Terminology Codes", publications.aap.org/codingnews);
* a letter and four digits (``J3490``, ``G2082``, ``S0013``): HCPCS Level II (CMS), whose
  codes begin with A, B, C, E, G, H, J, K, L, M, P, Q, R, S, T or V (Wikipedia, "HCPCS Level
  2", en.wikipedia.org/wiki/HCPCS_Level_2) or U (CMS's U0001–U0005 laboratory codes of 2020).
  No Level II code begins with F, I, N or O; W, X, Y and Z are Level III local codes assigned
  by state Medicaid agencies (AAPC glossary, "Healthcare Common Procedural Coding System",
  aapc.com/medicalcodingglossary), so ``other``;
* anything else is ``other`` (a clinic's own code).

CPT Categories II and III, PLA and the A and M codes are named ``CPT`` too, as the standard
form's code type does not distinguish them.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = ["CodeType", "code_type"]

CodeType = Literal["CPT", "HCPCS", "CDT", "other"]

_CPT = re.compile(r"^[0-9]{5}$|^[0-9]{4}[AFMTU]$")
_CDT = re.compile(r"^D[0-9]{4}$")
_HCPCS = re.compile(r"^[ABCEGHJ-MP-V][0-9]{4}$")


def code_type(code: str) -> CodeType:
    """``CPT``, ``HCPCS`` (Level II), ``CDT`` or ``other``, from the form of ``code``.

    >>> code_type("90791"), code_type("0820T"), code_type("J3490"), code_type("X-1")
    ('CPT', 'CPT', 'HCPCS', 'other')
    """
    if _CPT.match(code):
        return "CPT"
    if _CDT.match(code):
        return "CDT"
    if _HCPCS.match(code):
        return "HCPCS"
    return "other"
