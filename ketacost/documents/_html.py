"""Printable HTML: one Jinja2 template per document, autoescaped, no external resources.

The templates ship inside the package (``templates/``) and load through
:mod:`importlib.resources`, so they are found in a wheel, an editable install or a checkout.
"""

from __future__ import annotations

import functools
from datetime import date
from importlib.resources import files

import jinja2

from ._common import usd
from ._gfe import GoodFaithEstimate
from ._gfe_timing import timing_sentence
from ._superbill import Superbill

__all__ = ["long_date", "render_gfe_html", "render_superbill_html"]

_MONTHS = (
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
)


def long_date(day: date) -> str:
    """``January 5, 2027`` (no locale involved)."""
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


def _template_source(name: str) -> str:
    return files("ketacost.documents").joinpath("templates", name).read_text(encoding="utf-8")


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_template_source),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["usd"] = usd
    env.filters["longdate"] = long_date
    env.filters["isodate"] = date.isoformat
    env.filters["timing"] = timing_sentence
    return env


def render_gfe_html(gfe: GoodFaithEstimate) -> str:
    """The Good Faith Estimate as one printable HTML page (inline CSS, print styles)."""
    return _environment().get_template("gfe.html.j2").render(gfe=gfe)


def render_superbill_html(bill: Superbill) -> str:
    """The superbill as one printable HTML page (inline CSS, print styles)."""
    return _environment().get_template("superbill.html.j2").render(bill=bill)
