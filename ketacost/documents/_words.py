"""The documents' words in the reader's language: the ``documents`` catalog and locale formats.

Every document takes ``lang`` (``"en"``, the default, or ``"es"``). English is the source text,
so an English document is what it always was; Spanish comes from
``ketacost/locale/es/LC_MESSAGES/documents.po``. Money is exact and reads ``$1,234.56`` in both
(:meth:`ketacost._i18n.Translator.money`); dates are written in words, as the reader's language
writes them ("November 21, 2026" / "21 de noviembre de 2026"); in a table a Spanish date is
``21 nov 2026`` where the English one is ISO (``2026-11-21``, as the documents always printed).
"""

from __future__ import annotations

from datetime import date
from typing import Final

from ketacost._estimate import EstimateLine
from ketacost._i18n import N_, Language, Translator, check_language, translator
from ketacost._plain import cadence, describe, phase_name
from ketacost._plan import Phase
from ketacost._types import Weekday

__all__ = [
    "CONTACT_PREFERENCES",
    "frequency",
    "line_words",
    "phase_name",
    "table_date",
    "words",
]


def words(lang: str) -> Translator:
    """The ``documents`` catalog in ``lang``.

    Raises:
        UnknownLanguageError: ``lang`` is not a language ketacost speaks (names the choices).
    """
    return translator(check_language(lang), "documents")


def table_date(day: date, lang: Language) -> str:
    """A date in a table cell: ISO in English (as always), ``21 nov 2026`` in Spanish."""
    return day.isoformat() if lang == "en" else translator(lang, "documents").date(day, "medium")


#: How a patient asked to be contacted (HHS standard form, CMS-10791), in words.
CONTACT_PREFERENCES: Final = {
    "mail": N_("mail"),
    "email": N_("email"),
    "phone": N_("phone"),
    "portal": N_("portal"),
}


def frequency(phase: Phase, closed_weekdays: tuple[Weekday, ...], lang: Language) -> str:
    """How often a phase's sessions happen, in ``lang``.

    ``ketacost._plain.cadence``: one home for the words the web page and the Good Faith
    Estimate share.
    """
    return cadence(phase, closed_weekdays, lang)


def line_words(line: EstimateLine, lang: Language, fallback: str | None = None) -> str:
    """What a line is, for the patient, in ``lang``.

    English: ``fallback`` or the line's own description, as the documents always printed
    them; another language: :func:`ketacost._plain.describe` (the service code stays in its
    own column, as 45 CFR 149.610(c)(1)(iv) asks).
    """
    if lang == "en":
        return line.description if fallback is None else fallback
    return describe(line, lang)
