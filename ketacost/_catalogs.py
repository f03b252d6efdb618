"""The message catalogs: extract, update, compile and check them (a development tool).

Run from a checkout with the test extra installed (Babel)::

    python -m ketacost._catalogs update [DOMAIN ...]   # .pot from the sources, .po merged, .mo
    python -m ketacost._catalogs check                 # exit 1 naming every problem

``update`` extracts each domain's messages from its sources (:data:`SOURCES`) into
``ketacost/locale/<domain>.pot``, merges them into each language's ``.po`` (a new message
arrives with an empty translation; a message no longer used is dropped) and compiles the
``.mo`` that :func:`ketacost._i18n.translator` reads. Translate by editing the ``.po`` files,
then run ``update`` again. The output is deterministic: no creation dates, sorted by message,
so a diff shows only what changed.

``check`` is what ``tests/test_i18n.py`` runs: the ``.pot`` equals a fresh extraction, every
message has a translation in every language that is not fuzzy and keeps the message's
``{placeholders}``, and every ``.mo`` equals the one compiled from its ``.po``.

Nothing in the package imports this module; Babel is imported only here.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._i18n import DOMAINS, LANGUAGES, LOCALES

__all__ = ["SOURCES", "check", "main", "update"]

PACKAGE = Path(__file__).resolve().parent
LOCALE = PACKAGE / "locale"

#: Per domain: (glob under ketacost/, extraction method). Jinja templates use Jinja's own
#: Babel extractor (``{% trans %}`` blocks and ``_()`` calls).
SOURCES: dict[str, tuple[tuple[str, str], ...]] = {
    "plain": (("_plain.py", "python"),),
    # Every web module but _pages.py (the page's messages are the calculator's).
    "web": tuple(
        (f"web/{name}.py", "python")
        for name in (
            "__init__",
            "_app",
            "_config",
            "_env",
            "_notices",
            "_openapi",
            "_ops",
            "_problems",
            "_server",
            "_service",
            "_summary",
        )
    ),
    "calculator": (
        ("web/_pages.py", "python"),
        ("web/templates/*.html", "jinja2.ext:babel_extract"),
    ),
    "documents": (
        ("documents/*.py", "python"),
        ("documents/templates/*.html", "jinja2.ext:babel_extract"),
    ),
    "cli": (
        ("cli/*.py", "python"),
        ("_render.py", "python"),
        ("render.py", "python"),
        ("ics.py", "python"),
    ),
}

#: One fixed date in every header, so the files change only when their messages do.
_FIXED = datetime(2026, 1, 1, tzinfo=UTC)
_PLACEHOLDER = re.compile(r"\{[a-z_][a-z0-9_]*\}")
_JINJA_OPTIONS = {"trimmed": "true", "extensions": "jinja2.ext.i18n"}


def _files(domain: str) -> Iterator[tuple[Path, str]]:
    for pattern, method in SOURCES[domain]:
        for path in sorted(PACKAGE.glob(pattern)):
            yield path, method


def _extract(domain: str) -> Any:
    from babel.messages.catalog import Catalog
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file

    catalog = Catalog(
        project="ketacost",
        domain=domain,
        creation_date=_FIXED,
        revision_date=_FIXED,
        fuzzy=False,
        header_comment=f"# Messages of ketacost's {domain!r} catalog (ketacost/_catalogs.py).",
    )
    for path, method in _files(domain):
        options = _JINJA_OPTIONS if method.startswith("jinja2") else {}
        for lineno, message, comments, context in extract_from_file(
            method, str(path), keywords=DEFAULT_KEYWORDS, options=options, strip_comment_tags=True
        ):
            where = (path.relative_to(PACKAGE.parent).as_posix(), lineno)
            catalog.add(message, locations=[where], auto_comments=comments, context=context)
    return catalog


def _po_bytes(catalog: Any, **options: Any) -> bytes:
    from babel.messages.pofile import write_po

    out = io.BytesIO()
    write_po(out, catalog, sort_output=True, width=96, **options)
    return out.getvalue()


def _mo_bytes(catalog: Any) -> bytes:
    from babel.messages.mofile import write_mo

    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def _read_po(path: Path, language: str | None) -> Any:
    from babel.messages.pofile import read_po

    locale = LOCALES[language] if language else None  # type: ignore[index]
    with path.open("rb") as fp:
        return read_po(fp, locale=locale, domain=path.stem)


def _ids(catalog: Any) -> set[Any]:
    return {(m.context, m.id) for m in catalog if m.id}


def _compiled(data: bytes) -> dict[Any, str]:
    """What gettext reads from ``.mo`` bytes: message (and context) to translation."""
    import gettext

    catalog = dict(gettext.GNUTranslations(io.BytesIO(data))._catalog)  # type: ignore[attr-defined]
    # The header entry names the Babel that compiled it ("Generated-By"): not a message.
    catalog.pop("", None)
    return catalog


def _paths(domain: str, language: str) -> tuple[Path, Path]:
    folder = LOCALE / language / "LC_MESSAGES"
    return folder / f"{domain}.po", folder / f"{domain}.mo"


def update(domains: Sequence[str] = DOMAINS) -> None:
    """Extract each domain's ``.pot``, merge it into every ``.po``, compile every ``.mo``."""
    for domain in domains:
        template = _extract(domain)
        (LOCALE / f"{domain}.pot").write_bytes(_po_bytes(template, omit_header=False))
        for language in LANGUAGES[1:]:
            po, mo = _paths(domain, language)
            po.parent.mkdir(parents=True, exist_ok=True)
            if po.exists():
                catalog = _read_po(po, language)
            else:
                from babel.messages.catalog import Catalog

                catalog = Catalog(locale=LOCALES[language], domain=domain, fuzzy=False)
            catalog.update(template, no_fuzzy_matching=True)
            catalog.obsolete.clear()
            catalog.creation_date = catalog.revision_date = _FIXED
            catalog.project, catalog.fuzzy = "ketacost", False
            po.write_bytes(_po_bytes(catalog))
            mo.write_bytes(_mo_bytes(_read_po(po, language)))


def check(domains: Sequence[str] = DOMAINS) -> list[str]:
    """Every problem with the catalogs, one line each (empty: all is well)."""
    problems: list[str] = []
    for domain in domains:
        pot = LOCALE / f"{domain}.pot"
        wanted = {(m.context, m.id) for m in _extract(domain) if m.id}
        # Compared by message, not by bytes: Babel versions format the header differently.
        if not pot.exists() or _ids(_read_po(pot, None)) != wanted:
            problems.append(
                f"{pot.relative_to(PACKAGE.parent)}: not the messages in the sources; run "
                f"`python -m ketacost._catalogs update {domain}`"
            )
        for language in LANGUAGES[1:]:
            problems.extend(_check_language(domain, language, wanted))
    return problems


def _check_language(domain: str, language: str, wanted: set[Any]) -> list[str]:
    po, mo = _paths(domain, language)
    name = po.relative_to(PACKAGE.parent)
    if not po.exists():
        return [f"{name}: missing"]
    catalog = _read_po(po, language)
    problems: list[str] = []
    have = {(m.context, m.id): m for m in catalog if m.id}
    for key in sorted(wanted, key=str):
        message = have.get(key)
        label = key[1] if isinstance(key[1], str) else key[1][0]
        if message is None:
            problems.append(f"{name}: no entry for {label!r}")
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        ids = key[1] if isinstance(key[1], tuple) else (key[1],)
        if message.fuzzy or not all(strings):
            problems.append(f"{name}:{message.lineno}: no {language} translation for {label!r}")
            continue
        expected = set(_PLACEHOLDER.findall(" ".join(ids)))
        for text in strings:
            if set(_PLACEHOLDER.findall(text)) != expected:
                problems.append(
                    f"{name}:{message.lineno}: the translation of {label!r} has placeholders "
                    f"{sorted(set(_PLACEHOLDER.findall(text)))}, the message {sorted(expected)}"
                )
    if not mo.exists() or _compiled(mo.read_bytes()) != _compiled(_mo_bytes(catalog)):
        problems.append(
            f"{mo.relative_to(PACKAGE.parent)}: not compiled from its .po; run "
            f"`python -m ketacost._catalogs update {domain}`"
        )
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """``update [DOMAIN ...]`` or ``check``; 0 when done or all is well, 1 with problems."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in {"update", "check"}:
        print("usage: python -m ketacost._catalogs update [DOMAIN ...] | check", file=sys.stderr)
        return 2
    domains = args[1:] or list(DOMAINS)
    unknown = [d for d in domains if d not in DOMAINS]
    if unknown:
        print(f"unknown domain(s): {', '.join(unknown)} (known: {', '.join(DOMAINS)})")
        return 2
    if args[0] == "update":
        update(domains)
        return 0
    problems = check(domains)
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
