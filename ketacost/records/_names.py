"""The key a patient's name is looked up by: the same for every spelling of the same name."""

from __future__ import annotations

import unicodedata

__all__ = ["patient_key"]


def patient_key(name: str) -> str:
    """NFC, case-folded, whitespace collapsed: ``"  ÉLODIE   Durand"`` -> ``"élodie durand"``.

    Computed in Python, never by the database: SQLite's ``lower()`` folds ASCII letters only
    (``É`` stays ``É``), and a decomposed ``E`` + combining acute must match a composed ``É``.

    >>> patient_key("E\u0301LODIE  DURAND") == patient_key("élodie durand")
    True
    """
    folded = unicodedata.normalize("NFC", name).casefold()
    return " ".join(unicodedata.normalize("NFC", folded).split())
