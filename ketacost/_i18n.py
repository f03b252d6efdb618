"""Languages: the gettext catalogs of patient- and staff-facing text, and locale formatting.

ketacost speaks English (``en``, the source text) and Spanish (``es``, formatted as CLDR's
``es_US``: Spanish as written in the United States, where the money is the dollar and the
number separators are the US ones). Anything that shows text to a person takes a ``lang``;
nothing below the renderers does (the engine's trace stays in English, for billing staff).

Catalogs are standard gettext files, one *domain* per part of the product, so each part keeps
its own messages::

    ketacost/locale/<domain>.pot                       the template (extracted, never edited)
    ketacost/locale/es/LC_MESSAGES/<domain>.po         the Spanish translations (edited)
    ketacost/locale/es/LC_MESSAGES/<domain>.mo         compiled from the .po (committed)

They are extracted and compiled with Babel at development time (``python -m
ketacost._catalogs``); at run time the standard library's :mod:`gettext` reads the compiled
``.mo`` files, so no extra package is needed. Numbers, dates and money are formatted from the
small tables below, which the tests compare with Babel's CLDR data for both locales.

Money stays exact: :meth:`Translator.money` formats whole cents, never a float; in both
locales it reads ``$1,234.56`` (CLDR es_US uses the dollar sign and US separators).

Usage::

    t = translator("es", "web")
    t.gettext("Your estimate")            # "Su estimado"
    t.ngettext("{n} visit", "{n} visits", 3).format(n=3)
    t.date(date(2026, 11, 26))            # "26 de noviembre de 2026"
    t.money(Money("1234.5"))              # "$1,234.50"

Babel extracts the calls ``_``, ``gettext``, ``ngettext``, ``pgettext`` and ``N_`` (the last
marks a constant for extraction without translating it where it is defined; translate it where
it is shown with ``t.gettext(value)``).
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Final, Literal, get_args

from ._errors import InvalidArgumentError
from ._money import Money

__all__ = [
    "DOMAINS",
    "LANGUAGES",
    "N_",
    "Language",
    "Translator",
    "UnknownLanguageError",
    "check_language",
    "negotiate",
    "translator",
]

Language = Literal["en", "es"]
#: The languages ketacost speaks, the source language first.
LANGUAGES: Final[tuple[Language, ...]] = get_args(Language)

#: The gettext domains: one per part of the product that shows text to people.
#: ``plain``: the plain-language explanations of an estimate's lines (web, CLI, documents);
#: ``web``: the web answers (assumptions, ranges); ``calculator``: the calculator page and its
#: script; ``documents``: the Good Faith Estimate, superbill and dispute letter; ``cli``: the
#: command line's patient-facing sentences and tables.
DOMAINS: Final = ("plain", "web", "calculator", "documents", "cli")

#: CLDR locale used for formatting, per language.
LOCALES: Final[dict[Language, str]] = {"en": "en_US", "es": "es_US"}

_MONTHS: Final[dict[Language, tuple[str, ...]]] = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "es": (
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ),
}
# Spanish September: "sep" as in CLDR 47 (Babel 2.19); CLDR before it wrote "sept".
_MONTHS_ABBREVIATED: Final[dict[Language, tuple[str, ...]]] = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "es": ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"),
}
_WEEKDAYS: Final[dict[Language, tuple[str, ...]]] = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}

_AND: Final[dict[Language, str]] = {"en": "and", "es": "y"}

DateForm = Literal["long", "medium", "short", "month_year", "weekday"]


class UnknownLanguageError(InvalidArgumentError):
    """A language ketacost does not speak was asked for (a ``ValueError`` too)."""


def check_language(lang: str) -> Language:
    """``lang`` as a :data:`Language`, or :class:`UnknownLanguageError` naming the choices.

    >>> check_language("es")
    'es'
    """
    if lang not in LANGUAGES:
        raise UnknownLanguageError(
            f"unknown language {lang!r} (ketacost speaks: {', '.join(LANGUAGES)})"
        )
    return lang


def N_(message: str) -> str:  # noqa: N802 - the gettext convention Babel extracts
    """Mark ``message`` for extraction without translating it here (see the module text)."""
    return message


def negotiate(accept_language: str | None, default: Language = "en") -> Language:
    """The language to answer in, from an HTTP ``Accept-Language`` header (RFC 9110 §12.5.4).

    The highest-weighted range that names a language ketacost speaks wins (``es-MX`` and
    ``es`` both mean Spanish); ``q=0`` refuses a language; ties keep the header's order. A
    missing or unreadable header gives ``default``.

    >>> negotiate("es-MX,es;q=0.9,en;q=0.8"), negotiate("fr, en;q=0.5"), negotiate(None)
    ('es', 'en', 'en')
    """
    if not accept_language:
        return default
    best: tuple[float, int, Language] | None = None
    for index, item in enumerate(accept_language.split(",")[:32]):
        parts = [p.strip() for p in item.split(";")]
        tag = parts[0].lower()
        weight = 1.0
        for param in parts[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
        primary = tag.split("-")[0]
        if primary not in LANGUAGES or not 0 < weight <= 1:
            continue
        candidate = (-weight, index, check_language(primary))
        if best is None or candidate < best:
            best = candidate
    return best[2] if best is not None else default


class Translator:
    """The messages of one domain in one language, and the locale's formats."""

    def __init__(self, lang: Language, domain: str, catalog: _gettext.NullTranslations) -> None:
        """Use :func:`translator`, which caches one per language and domain."""
        self.lang: Language = lang
        self.domain = domain
        self.locale = LOCALES[lang]
        self._catalog = catalog

    def gettext(self, message: str) -> str:
        """``message`` in this language (the English text when no translation is found)."""
        return self._catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form for ``n`` (``{n}`` is not filled in: call ``.format(n=...)``)."""
        return self._catalog.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        """``message`` in ``context`` (the same English word with two meanings)."""
        return self._catalog.pgettext(context, message)

    # -- formats ------------------------------------------------------------------------
    def money(self, amount: Money) -> str:
        """``$1,234.56`` (both locales); negative ``-$5.00``. Exact: whole cents."""
        return format(amount, "$")

    def number(self, value: int | Decimal) -> str:
        """A count or an exact decimal with the locale's separators (``12,345.5``)."""
        if isinstance(value, int):
            return f"{value:,}"
        exponent = value.as_tuple().exponent
        places = -int(exponent) if isinstance(exponent, int) and exponent < 0 else 0
        return f"{value:,.{places}f}"

    def percent(self, rate: Decimal) -> str:
        """A rate (``0.2``) as ``20%``, exact (``0.125`` gives ``12.5%``)."""
        return f"{self.number((rate * 100).normalize())}%"

    def date(self, day: date, form: DateForm = "long") -> str:
        """A date in the locale's words.

        ``long``: "November 26, 2026" / "26 de noviembre de 2026"; ``medium``: "Nov 26, 2026"
        / "26 nov 2026"; ``short``: "11/26/26" / "26/11/2026"; ``month_year``: "Nov 2026" /
        "nov 2026" (a month, never mistaken for a day); ``weekday``: "Thursday" / "jueves".
        """
        months, abbreviated = _MONTHS[self.lang], _MONTHS_ABBREVIATED[self.lang]
        m, d, y = day.month, day.day, day.year
        if form == "weekday":
            return _WEEKDAYS[self.lang][day.weekday()]
        if form == "month_year":
            return f"{abbreviated[m - 1]} {y}"
        if self.lang == "es":
            return {
                "long": f"{d} de {months[m - 1]} de {y}",
                "medium": f"{d} {abbreviated[m - 1]} {y}",
                "short": f"{d}/{m}/{y}",
            }[form]
        return {
            "long": f"{months[m - 1]} {d}, {y}",
            "medium": f"{abbreviated[m - 1]} {d}, {y}",
            "short": f"{m}/{d}/{y % 100:02d}",
        }[form]

    def join(self, items: Iterable[str]) -> str:
        """Join words as a sentence does: "a, b and c" / "a, b y c"."""
        words = list(items)
        if len(words) < 2:
            return "".join(words)
        last = _AND[self.lang]
        return f"{', '.join(words[:-1])} {last} {words[-1]}"


@cache
def translator(lang: str, domain: str) -> Translator:
    """The :class:`Translator` for ``lang`` (see :data:`LANGUAGES`) and ``domain``.

    English needs no catalog (the source text is English). A Spanish catalog missing from the
    installation is a packaging defect and raises :class:`FileNotFoundError` from gettext.

    Raises:
        UnknownLanguageError: ``lang`` is not one of :data:`LANGUAGES`, or ``domain`` is not
            one of :data:`DOMAINS`.
    """
    language = check_language(lang)
    if domain not in DOMAINS:
        raise UnknownLanguageError(f"unknown catalog {domain!r} (known: {', '.join(DOMAINS)})")
    if language == "en":
        return Translator(language, domain, _gettext.NullTranslations())
    folder = resources.files("ketacost") / "locale" / language / "LC_MESSAGES"
    with (folder / f"{domain}.mo").open("rb") as fp:
        catalog = _gettext.GNUTranslations(fp)
    return Translator(language, domain, catalog)
