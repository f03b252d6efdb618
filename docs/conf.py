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
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
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
autodoc_default_options = {"members": True, "show-inheritance": True}
# Pydantic's own machinery is not part of ketacost's documented surface.
autodoc_inherit_docstrings = False

myst_heading_anchors = 3


# --------------------------------------------------------------------------- narrow fixes
# Warnings from modules other engineers own are handled here, each by name, rather than by
# editing their docstrings or silencing a whole category.


def _literal_malformed_tables(app, what, name, obj, options, lines):  # type: ignore[no-untyped-def]
    """``ketacost.batch``'s column table: shown as preformatted text if docutils rejects it.

    The module docstring's input-column table has a cell wider than its column (the default
    ``not_requested`` of ``prior_authorization``), which docutils reports as "Malformed
    table". ``ketacost/batch.py`` belongs to the batch/Dask work; until its table is fixed
    there, the table (and only a table docutils cannot parse) is shown as it is written.
    """
    if (what, name) != ("module", "ketacost.batch"):
        return
    from docutils.core import publish_doctree
    from docutils.utils import Reporter

    borders = [i for i, line in enumerate(lines) if line.startswith("====")]
    if len(borders) < 3:
        return
    start, end = borders[0], borders[2]
    table = "\n".join(lines[start : end + 1])
    doctree = publish_doctree(
        table, settings_overrides={"report_level": Reporter.SEVERE_LEVEL + 1, "halt_level": 5}
    )
    if not any(m["level"] >= Reporter.ERROR_LEVEL for m in doctree.findall(_system_message)):
        return
    lines[start : end + 1] = ["::", ""] + ["   " + line for line in lines[start : end + 1]]


def _system_message(node):  # type: ignore[no-untyped-def]
    from docutils import nodes

    return isinstance(node, nodes.system_message)


def setup(app):  # type: ignore[no-untyped-def]
    """Connect the narrow fixes above."""
    app.connect("autodoc-process-docstring", _literal_malformed_tables)
