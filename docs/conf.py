"""Sphinx configuration of the ketacost documentation (built by ``.ci/docs.sh``).

Build: ``sphinx-build -W --keep-going -b html docs OUTDIR`` with ``pip install -e '.[docs]'``.
The key references (payer, request and clinic files), the web API and the example outputs
are generated at build time from the code (``_ext/ketacost_docs.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

from ketacost import __version__  # noqa: E402 - after the path set-up

project = "ketacost"
author = "the ketacost authors"
copyright = "the ketacost authors"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx_click",
    "myst_parser",
    "ketacost_docs",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}  # changelog.md
exclude_patterns = ["_build"]
# Command lines keep their "--" and quotes as typed (no en dashes, no curly quotes).
smartquotes = False
html_theme = "alabaster"
html_title = f"ketacost {release}"
html_theme_options = {"page_width": "1180px", "sidebar_width": "240px"}

# The docstrings are Google style (ruff's pydocstyle convention).
napoleon_google_docstring = True
napoleon_numpy_docstring = False
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_class_signature = "separated"
autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    "exclude-members": "model_post_init",  # pydantic's hook, not an API
}
# Pydantic's own machinery is not part of ketacost's documented surface.
autodoc_inherit_docstrings = False


# Every cross-reference must resolve (nitpicky), except these, which are named but not linked:
nitpicky = True
nitpick_ignore_regex = [
    # The standard library and third parties: the build is offline (no intersphinx).
    (r"py:.*", r"(collections\.abc|datetime|decimal|os|pathlib|typing|enum)\..+"),
    (r"py:class", r"date|datetime|Path|Decimal|FastAPI|BaseModel"),
    # Private implementation names (a module or object whose name starts with "_") that
    # public signatures mention: base classes, return types, type variables.
    (r"py:.*", r"ketacost(\.\w+)*\._\w+(\.\w+)*"),
    # ketacost/_frames.py (batch work's file): estimate_batches's docstring names
    # :func:`arrow_schema`, which ketacost.batch does not export.
    (r"py:func", r"arrow_schema"),
]


def _unexported_errors() -> list[tuple[str, str]]:
    """Exceptions a docstring's ``Raises:`` names that no public module exports.

    ``InvalidArgumentError``, ``MissingFileError`` and the like live in private modules
    (``ketacost._errors``, ``ketacost._dated``, ``ketacost.web._service``); a reader catches
    them by their public bases (``KetacostError`` and the built-in each also is).
    """
    import ketacost.web  # noqa: F401 - its errors too
    from ketacost import KetacostError

    found: set[str] = set()
    todo = [KetacostError]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        found.add(cls.__name__)
    return [("py:exc", name) for name in sorted(found - _public_names())]


# --------------------------------------------------------------------------- narrow fixes
# Warnings from modules other engineers own are handled here, each by name, rather than by
# editing their docstrings or silencing a whole category.


def _model_fields(app, what, name, obj, options, lines):  # type: ignore[no-untyped-def]
    """A pydantic model's fields, listed under its docstring (autodoc does not see them)."""
    from ketacost_docs import rst_text
    from pydantic import BaseModel

    if what != "class" or not (isinstance(obj, type) and issubclass(obj, BaseModel)):
        return
    if not obj.model_fields:
        return
    lines += ["", ".. rubric:: Fields", ""]
    for field, info in obj.model_fields.items():
        key = info.serialization_alias or info.alias or field
        text = f"- ``{key}``"
        if info.description:
            text += ": " + rst_text(info.description)
        lines.append(text)
    lines.append("")


def _keep_public_names(app, what, name, obj, skip, options):  # type: ignore[no-untyped-def]
    """Every name in a documented module's ``__all__`` is shown, with a docstring or not.

    (``:undoc-members:`` would do it too, but also repeats the attributes that dataclasses
    already describe in their docstrings.) A name the page excludes stays excluded.
    """
    excluded = getattr(options, "exclude_members", None) or ()
    if what != "module" or name in excluded:
        return None
    return False if name in _PUBLIC_NAMES else None


def _public_names() -> frozenset[str]:
    import importlib

    modules = ["", ".batch", ".compare", ".render", ".ics", ".documents", ".eligibility"]
    modules += [".records", ".web"]
    names: set[str] = set()
    for suffix in modules:
        names |= set(importlib.import_module("ketacost" + suffix).__all__)
    return frozenset(names)


_PUBLIC_NAMES = _public_names()
nitpick_ignore = _unexported_errors()


def setup(app):  # type: ignore[no-untyped-def]
    """Connect the narrow fixes above, and the list of each model's fields."""
    app.connect("autodoc-process-docstring", _model_fields)
    app.connect("autodoc-skip-member", _keep_public_names)
