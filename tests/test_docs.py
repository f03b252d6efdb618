"""The documentation site (docs/) cannot drift from the code: fast checks, no Sphinx build.

The build itself (warnings as errors, every example script run) is ``.ci/docs.sh``. Here:
every key of the payer, request and clinic schemas is in the reference generated from them,
and each format page shows that reference; every example script is in the cookbook, with its
output; every CLI command is on the CLI page; every route of the OpenAPI document is on the
web API page; and the text escaping the generators use gives rst that parses to the text it
was given.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import click
import pytest
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

pytest.importorskip("sphinx", reason="the docs extra: pip install -e '.[docs]'")
from docutils.core import publish_doctree  # noqa: E402 (docutils comes with the docs extra)
from docutils.nodes import system_message  # noqa: E402


def _load_ext() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "ketacost_docs", DOCS / "_ext" / "ketacost_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("ketacost_docs", module)
    spec.loader.exec_module(module)
    return module


ext = _load_ext()


def _documented_keys(rst: str) -> set[tuple[str, str]]:
    """(section title, key) for every key entry of a generated reference."""
    lines = rst.splitlines()
    found: set[tuple[str, str]] = set()
    section = None
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and lines[i + 1] and set(lines[i + 1]) == {"-"} and line:
            section = line
        m = re.fullmatch(r"\\ ``(.+)``\\ ", line)
        if m and i + 1 < len(lines) and lines[i + 1].startswith("   "):
            found.add((section or "", m.group(1)))
    return found


# The format pages and the schema each one renders.
PAGES = {
    "payer-format.rst": "payer.schema.json",
    "request-format.rst": "request.schema.json",
    "clinic-format.rst": "clinic.schema.json",
}


@pytest.mark.parametrize(("page", "schema_name"), sorted(PAGES.items()))
def test_every_schema_key_is_in_the_generated_reference(page: str, schema_name: str) -> None:
    schema = ext.generated_schemas()[schema_name]
    rst = ext.schema_reference_rst(schema, "schema-x")
    assert _documented_keys(rst) == ext.schema_keys(schema)
    # Payer files: a few keys a reader looks for, by name (the set above is the whole proof).
    if schema_name == "payer.schema.json":
        keys = {key for _, key in _documented_keys(rst)}
        assert {"networks", "cost_sharing", "copay_scope", "as_secondary", "coinsurance"} <= keys
    # ... and the page shows that reference (generated when the site is built).
    text = (DOCS / page).read_text(encoding="utf-8")
    assert f".. ketacost-schema:: {schema_name}" in text


def _members(s: object) -> list[dict[str, object]]:
    """Every sub-schema of a key's schema (union members, items, mapping values)."""
    out: list[dict[str, object]] = []
    if isinstance(s, dict):
        for key in ("anyOf", "oneOf", "allOf"):
            for member in s.get(key, []):
                out += [member, *_members(member)]
        for key in ("items", "additionalProperties", "propertyNames"):
            if isinstance(s.get(key), dict):
                out += [s[key], *_members(s[key])]
        for member in s.get("patternProperties", {}).values():
            out += [member, *_members(member)]
    return out


@pytest.mark.parametrize("schema_name", sorted(PAGES.values()))
def test_every_schema_key_has_a_meaning_and_a_type(schema_name: str) -> None:
    # A key is documented when the reader learns what it means (its description, written in
    # the model's Field(description=...)) and what to write (a type in words, not "any
    # value"); a named type's meaning (money's two places, a rate's 0 to 1, a date) is its
    # description, bounds, pattern or format, which the entry shows as well.
    schema = ext.generated_schemas()[schema_name]
    text = ext.SchemaText(schema.get("$defs", {}), "#/$defs/", "x")
    objects = {"Top level": schema, **schema.get("$defs", {})}
    undescribed = []
    for obj, key in sorted(ext.schema_keys(schema)):
        p = objects[obj]["properties"][key]
        if not str(p.get("description", "")).strip():
            undescribed.append(f"{obj}.{key}")
        entry = "\n".join(text.key_rst(key, p, False))
        assert "any value" not in entry, f"{obj}.{key}: no type"
        for member in _members(p):
            if member.get("description"):
                assert ext.rst_text(str(member["description"])) in entry, f"{obj}.{key}"
            for bound, words in (("ge", "at least"), ("minimum", "at least"),
                                 ("le", "at most"), ("maximum", "at most")):  # fmt: skip
                if bound in member:
                    assert f"{words} {member[bound]}" in entry, f"{obj}.{key}: {bound}"
            if member.get("format") == "date" or p.get("format") == "date":
                assert "date (YYYY-MM-DD)" in entry, f"{obj}.{key}: a date"
    assert undescribed == [], f"keys with no description in {schema_name}: {undescribed}"


def test_the_generated_reference_is_the_checked_in_schema() -> None:
    # The reference is generated from the models; schemas/ holds the same schemas (checked
    # byte for byte by the schema tests), so the site documents the files users validate.
    import json

    generated = ext.generated_schemas()
    for name in PAGES.values():
        assert name in generated
    for name, schema in generated.items():
        path = ROOT / "schemas" / name
        assert path.exists(), f"schemas/{name} is missing: python -m ketacost schemas schemas"
        assert json.loads(path.read_text(encoding="utf-8")) == schema, f"regenerate {name}"


def test_every_example_script_is_in_the_cookbook_with_its_output() -> None:
    cookbook = (DOCS / "cookbook.rst").read_text(encoding="utf-8")
    scripts = sorted(p.name for p in (ROOT / "examples").glob("*.py"))
    assert scripts
    included = re.findall(r"^\.\. literalinclude:: \.\./examples/(\S+)$", cookbook, re.M)
    outputs = re.findall(r"^\.\. ketacost-example-output:: examples/(\S+)$", cookbook, re.M)
    assert sorted(included) == scripts
    assert sorted(outputs) == scripts


def _commands(group: click.Command, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [path]
    if isinstance(group, click.Group):
        for name, command in group.commands.items():
            out += _commands(command, (*path, name))
    return out


def test_every_cli_command_is_on_the_cli_page() -> None:
    # sphinx-click renders the group and, with `:nested: full`, every command under it that
    # is not hidden: so the page has them all exactly when none is hidden.
    text = (DOCS / "cli.rst").read_text(encoding="utf-8")
    m = re.search(r"^\.\. click:: (\S+):(\S+)\n((?:   :.*\n)*)", text, re.M)
    assert m, "cli.rst renders the command group with sphinx-click"
    assert "   :nested: full\n" in m.group(3)
    module = importlib.import_module(m.group(1))
    group = getattr(module, m.group(2))
    from ketacost.cli import cli

    assert group is cli
    commands = _commands(cli)
    assert ("estimate",) in commands and ("payers", "list") in commands
    hidden = [p for p in commands if p and _lookup(cli, p).hidden]
    assert hidden == [], f"hidden commands are left off the CLI page: {hidden}"


def _lookup(group: click.Command, path: tuple[str, ...]) -> click.Command:
    for name in path:
        assert isinstance(group, click.Group)
        group = group.commands[name]
    return group


def test_every_route_of_the_openapi_document_is_on_the_web_api_page() -> None:
    pytest.importorskip("fastapi", reason="the web extra")
    document = ext.openapi_document()
    rst = ext.openapi_rst(document)
    routes = [(m.upper(), p) for p, ms in document["paths"].items() for m in ms]
    assert routes
    for method, path in routes:
        title = f"{method} {path}"
        assert f"{title}\n{'-' * len(title)}\n" in rst
    for name in document.get("components", {}).get("schemas", {}):
        assert f"\n{name}\n{'~' * len(name)}\n" in rst
    assert ".. ketacost-openapi::" in (DOCS / "web-api.rst").read_text(encoding="utf-8")


def test_every_page_is_in_the_table_of_contents() -> None:
    index = (DOCS / "index.rst").read_text(encoding="utf-8")
    api = (DOCS / "api" / "index.rst").read_text(encoding="utf-8")
    pages = {p.stem for p in [*DOCS.glob("*.rst"), *DOCS.glob("*.md")]} - {"index"}
    assert {p for p in pages if re.search(rf"^   {p}$", index, re.M)} == pages
    for module in (DOCS / "api").glob("*.rst"):
        if module.stem != "index":
            assert re.search(rf"^   {module.stem}$", api, re.M), module


def _parse(rst: str) -> tuple[str, list[str]]:
    doctree = publish_doctree(rst, settings_overrides={"report_level": 5, "halt_level": 5})
    problems = [m.astext() for m in doctree.findall(system_message)]
    return doctree.astext(), problems


# Text a description may hold: anything printable on one line, markup characters included.
TEXT = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs"), exclude_characters="`"),
    max_size=60,
)


@given(TEXT)
def test_escaped_text_reads_back_as_written(text: str) -> None:
    # "1. x", "- x", ".. x", "x_", "*x", "|x|", "a::" ... stay the characters they are.
    parsed, problems = _parse(ext.rst_text(text))
    assert problems == []
    assert parsed.strip() == text.strip()


@given(TEXT, TEXT.filter(str.strip), TEXT, st.sampled_from(["`", "``"]))
def test_code_in_backticks_becomes_a_literal(before: str, code: str, after: str, tick: str) -> None:
    # "`x`" and "``x``" in a model's description show x as code, whatever is around it.
    parsed, problems = _parse(ext.rst_text(f"{before}{tick}{code}{tick}{after}"))
    assert problems == []
    shown = re.sub(r"\s+", " ", code).strip()
    assert parsed.strip() == (before + shown + after).strip()


def test_a_worked_example_of_the_escaping() -> None:
    assert ext.rst_text("1. `copay` *first*_") == r"\ 1. \ ``copay``\  \*first\*\_"


def test_request_examples_of_the_openapi_document_are_shown() -> None:
    # The web API's request examples (OpenAPI `examples`) appear as JSON on the page.
    document = {
        "paths": {
            "/v1/estimate": {
                "post": {
                    "operationId": "estimate",
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/In"},
                                "examples": {
                                    "self-pay": {"summary": "Self-pay", "value": {"payer": "x"}},
                                    "far": {"externalValue": "https://example.org/e.json"},
                                },
                            }
                        }
                    },
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
        "components": {"schemas": {"In": {"type": "object", "properties": {"payer": {}}}}},
    }
    rst = ext.openapi_rst(document)
    assert "Example (\\ Self-pay), \\ ``application/json``\\ :" in rst
    assert '.. code-block:: json\n\n   {\n     "payer": "x"\n   }\n' in rst
    assert "far" not in rst  # an external example has no value to show
    assert "Operation id: \\ ``estimate``\\ " in rst


def test_the_web_api_page_shows_every_request_example_of_the_real_document() -> None:
    # The calculator's own OpenAPI document (not a made-up one): every request example with
    # a value and every operation id is on the page.
    pytest.importorskip("fastapi", reason="the web extra")
    import json

    document = ext.openapi_document()
    rst = ext.openapi_rst(document)
    shown = 0
    for ms in document["paths"].values():
        for op in ms.values():
            assert f"Operation id: \\ ``{op['operationId']}``\\ " in rst
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                for name, example in (content.get("examples") or {}).items():
                    if "value" not in example:
                        continue
                    caption = example.get("summary") or name
                    assert f"Example ({ext.rst_text(caption)}), \\ ``{media}``\\ :" in rst
                    body = json.dumps(example["value"], indent=2, ensure_ascii=False)
                    assert "\n".join("   " + ln for ln in body.splitlines()) in rst
                    shown += 1
    assert shown >= 1  # the estimate route has request examples


def test_every_public_module_has_an_api_page() -> None:
    # Public modules: ketacost and its submodules without a leading underscore (the CLI has
    # its own page, generated from the click group; __main__ is the entry point).
    import pkgutil

    import ketacost

    public = {"ketacost"} | {
        f"ketacost.{m.name}"
        for m in pkgutil.iter_modules(ketacost.__path__)
        if not m.name.startswith("_") and m.name != "cli"
    }
    pages = {}
    for page in (DOCS / "api").glob("*.rst"):
        text = page.read_text(encoding="utf-8")
        for module in re.findall(r"^\.\. automodule:: (\S+)$", text, re.M):
            pages[module] = text
    assert set(pages) == public
    for module, text in pages.items():
        # The constants of __all__ (autodoc finds their comments only where defined).
        assert f".. ketacost-data:: {module}\n" in text
    # A name a page leaves out is documented elsewhere, and the page says where.
    for module, text in pages.items():
        for names in re.findall(r"^   :exclude-members: (.+)$", text, re.M):
            for name in names.split(","):
                name = name.strip()
                assert f"ketacost.{name}" in text or f"ketacost.records.{name}" in text, (
                    module,
                    name,
                )


def test_the_constants_of_a_module_are_listed_with_their_comments() -> None:
    # ketacost.render imports CSV_COLUMNS from ketacost._render, where its #: comment is.
    assert "CSV_COLUMNS" in ext.module_constants("ketacost.render")
    rst = ext.data_rst("ketacost.render")
    assert ".. py:data:: CSV_COLUMNS\n" in rst
    assert "   Columns of :func:`render_csv`, one row per estimate line" in rst
    # A short value is shown; classes and functions are autodoc's.
    assert ".. py:data:: __version__\n   :value: '" in ext.data_rst("ketacost")
    assert "Estimate" not in ext.module_constants("ketacost")
