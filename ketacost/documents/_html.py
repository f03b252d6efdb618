"""Printable HTML: one Jinja2 template per document, autoescaped, no external resources.

The templates ship inside the package (``templates/``) and load through
:mod:`importlib.resources`, so they are found in a wheel, an editable install or a checkout.
"""

from __future__ import annotations

import functools
from datetime import date
from importlib.resources import files

import jinja2
from markupsafe import Markup

from ketacost._i18n import Language, translator

from ._gfe import GoodFaithEstimate
from ._gfe_timing import timing_sentence
from ._superbill import Superbill
from ._words import CONTACT_PREFERENCES, phase_name, table_date, words

__all__ = ["long_date", "render_gfe_html", "render_superbill_html"]


def long_date(day: date) -> str:
    """``January 5, 2027``: the English long date of ``ketacost._i18n`` (one home)."""
    return translator("en", "documents").date(day)


def _template_source(name: str) -> str:
    return files("ketacost.documents").joinpath("templates", name).read_text(encoding="utf-8")


@functools.cache
def _environment(lang: Language = "en") -> jinja2.Environment:
    """The templates' environment in ``lang``: ``_``/``ngettext`` from the documents catalog.

    A message is template text, as the English source always was (marked safe: the catalog
    is ours); the values put into it are escaped (``Markup.format``).
    """
    t = words(lang)
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["_"] = lambda message: Markup(t.gettext(message))
    env.globals["ngettext"] = lambda one, many, n: Markup(t.ngettext(one, many, n))
    env.globals["lang"] = t.lang
    env.filters["usd"] = t.money
    env.filters["longdate"] = long_date if lang == "en" else t.date
    env.filters["isodate"] = functools.partial(table_date, lang=t.lang)
    env.filters["timing"] = functools.partial(timing_sentence, lang=t.lang)
    env.filters["said"] = t.gettext
    env.filters["phase"] = functools.partial(phase_name, lang=t.lang)
    env.filters["contact"] = lambda how: t.gettext(CONTACT_PREFERENCES[how])
    return env


def render_gfe_html(gfe: GoodFaithEstimate) -> str:
    """The Good Faith Estimate as one printable HTML page (inline CSS, print styles).

    In the language it was built in (``gfe.lang``: ``build_gfe(..., lang=...)``).
    """
    return _environment(gfe.lang).get_template("gfe.html").render(gfe=gfe)


def render_superbill_html(bill: Superbill) -> str:
    """The superbill as one printable HTML page (inline CSS, print styles).

    In the language it was built in (``bill.lang``: ``build_superbill(..., lang=...)``).
    """
    return _environment(bill.lang).get_template("superbill.html").render(bill=bill)
