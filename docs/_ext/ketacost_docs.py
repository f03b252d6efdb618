"""Sphinx directives that generate reference pages from the code at build time.

Nothing here is copied by hand, so nothing can drift:

- ``.. ketacost-schema:: payer.schema.json`` renders every key of a JSON Schema that
  ``ketacost._schema.json_schemas()`` generates from the pydantic models (the same function
  that writes ``schemas/``): one section per object, one entry per key (type, required or
  default, constraints, description).
- ``.. ketacost-openapi::`` renders the routes of the web calculator's OpenAPI document,
  generated from ``ketacost.web.create_app(WebConfig())``, and writes the whole document to
  ``openapi.json`` beside the HTML.
- ``.. ketacost-example-output:: examples/NAME.py`` runs an example script (in a scratch
  folder) and shows what it prints; a script that fails is a build warning, hence an error.

The text generators (:func:`schema_reference_rst`, :func:`openapi_rst`) are plain functions,
so ``tests/test_docs.py`` checks their output without building the site.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

ROOT = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------- text helpers

_CODE = re.compile(r"``(.+?)``|`([^`]+?)`")


def rst_text(text: str) -> str:
    """Plain or markdown-ish text (single or double backticks) as safe inline rst."""
    out: list[str] = []
    pos = 0
    for m in _CODE.finditer(text):
        out.append(_escape(text[pos : m.start()]))
        out.append(_literal(m.group(1) or m.group(2)))
        pos = m.end()
    out.append(_escape(text[pos:]))
    # An escaped space starts the text, so it never opens a list, a comment or a table.
    return "\\ " + re.sub(r"[\n\r\t\v\f]", " ", "".join(out))


def _escape(text: str) -> str:
    return re.sub(r"([\\*_|`<>\[\]:])", r"\\\1", text)


def _literal(text: str) -> str:
    """An inline literal; a character rst cannot hold in ````...```` falls back to :code:."""
    text = re.sub(r"\s+", " ", text).strip() or "?"
    # Escaped spaces (``\\ ``) join the markup to the words around it whatever they are.
    if "``" in text or text.startswith("`") or text.endswith("`"):
        return "\\ :code:`" + text.replace("\\", "\\\\").replace("`", "\\`") + "`\\ "
    return f"\\ ``{text}``\\ "


def _label(prefix: str, name: str) -> str:
    return f"{prefix}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}"


# --------------------------------------------------------------------------- JSON Schema


class SchemaText:
    """A JSON Schema (or an OpenAPI document's components) rendered as rst."""

    def __init__(self, defs: dict[str, Any], ref_prefix: str, label_prefix: str) -> None:
        """Definitions by name; ``ref_prefix`` is how a ``$ref`` names them."""
        self.defs = defs
        self.ref_prefix = ref_prefix
        self.label_prefix = label_prefix

    def ref_name(self, ref: str) -> str:
        """``#/$defs/CostShare`` → ``CostShare``."""
        if not ref.startswith(self.ref_prefix):
            raise ValueError(f"unexpected $ref {ref!r}")
        return ref[len(self.ref_prefix) :]

    def ref(self, name: str) -> str:
        """A cross-reference to a definition's section."""
        return f":ref:`{name} <{_label(self.label_prefix, name)}>`"

    def type_of(self, s: dict[str, Any], outer: bool = True) -> str:
        """The type of a schema, in words, with links to the objects it names.

        A member of a union, a list, a mapping or a dated value (``outer`` false) also shows
        its own description and constraints (pattern, bounds, format), which are a named
        type's whole meaning: money's two decimal places, a rate's 0 to 1, a date.
        """
        base = self._type_of(s)
        if outer:
            return base
        notes = ([rst_text(s["description"])] if s.get("description") else []) + self.constraints(s)
        return f"{base} ({'; '.join(notes)})" if notes else base

    def _type_of(self, s: dict[str, Any]) -> str:
        if "$ref" in s:
            return self.ref(self.ref_name(s["$ref"]))
        if "const" in s:
            return "the value " + _literal(json.dumps(s["const"]))
        if "enum" in s:
            return "one of " + ", ".join(_literal(json.dumps(v)) for v in s["enum"])
        for key in ("anyOf", "oneOf", "allOf"):
            if key in s:
                parts = [self.type_of(x, outer=False) for x in s[key]]
                tag = s.get("discriminator", {}).get("propertyName")
                text = " or ".join(dict.fromkeys(parts))
                return text + (f" (chosen by its {_literal(tag)})" if tag else "")
        kind = s.get("type")
        if isinstance(kind, list):
            return " or ".join(self._type_of({**s, "type": k}) for k in kind)
        if kind == "array":
            items = s.get("items")
            return "list of " + (self.type_of(items, outer=False) if items else "any value")
        if kind == "object":
            return self._mapping(s)
        if kind is None:
            return "any value"
        if kind == "string" and s.get("format") == "date":
            return "date (YYYY-MM-DD)"
        return {"string": "string", "integer": "integer", "number": "number",
                "boolean": "boolean", "null": "null"}.get(kind, kind)  # fmt: skip

    def _mapping(self, s: dict[str, Any]) -> str:
        if "properties" in s:
            return "object"
        pattern = s.get("patternProperties")
        if pattern:
            (key_pattern, value), *_ = pattern.items()
            return (
                f"mapping of keys matching {_literal(key_pattern)} to "
                f"{self.type_of(value, outer=False)}"
            )
        value = s.get("additionalProperties")
        keys = s.get("propertyNames", {})
        if "enum" in keys:
            key_text = f"keys ({self.type_of(keys)})"
        elif keys.get("description"):
            key_text = f"keys ({rst_text(keys['description'])})"
        else:
            key_text = "string keys"
        if isinstance(value, dict):
            return f"mapping of {key_text} to {self.type_of(value, outer=False)}"
        return "object"

    @staticmethod
    def constraints(s: dict[str, Any]) -> list[str]:
        """Bounds, lengths and patterns, in words."""
        words = {
            "minimum": "at least {}",
            # pydantic writes ge/le as they are when a validator wraps a Decimal (rates).
            "ge": "at least {}",
            "le": "at most {}",
            "exclusiveMinimum": "more than {}",
            "maximum": "at most {}",
            "exclusiveMaximum": "less than {}",
            "minLength": "at least {} characters",
            "maxLength": "at most {} characters",
            "minItems": "at least {} items",
            "maxItems": "at most {} items",
            "pattern": "matching {}",
        }
        out = []
        for key, text in words.items():
            if key in s:
                value = s[key]
                out.append(text.format(_literal(str(value)) if key == "pattern" else value))
        return out

    def reachable(self, root: dict[str, Any]) -> list[str]:
        """Definition names in the order a reader meets them from ``root`` (depth first)."""
        seen: dict[str, None] = {}

        def visit(node: Any) -> None:
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str):
                    name = self.ref_name(ref)
                    if name not in seen:
                        seen[name] = None
                        visit(self.defs[name])
                for key, value in node.items():
                    if key != "$defs":
                        visit(value)
            elif isinstance(node, list):
                for value in node:
                    visit(value)

        visit(root)
        return list(seen)

    def object_rst(self, name: str, s: dict[str, Any], underline: str) -> Iterator[str]:
        """One object: its label, heading, description and one entry per key."""
        yield f".. _{_label(self.label_prefix, name)}:"
        yield ""
        yield name
        yield underline * len(name)
        yield ""
        if s.get("description"):
            yield rst_text(s["description"])
            yield ""
        properties: dict[str, Any] = s.get("properties", {})
        if not properties:
            yield f"Type: {self.type_of(s)}."
            yield ""
            return
        required = set(s.get("required", []))
        if s.get("additionalProperties") is False:
            yield "Keys (closed: no other key is allowed):"
        else:
            yield "Keys:"
        yield ""
        for key in sorted(properties, key=lambda k: (k not in required, k)):
            yield from self.key_rst(key, properties[key], key in required)

    def key_rst(self, key: str, p: dict[str, Any], required: bool) -> Iterator[str]:
        """One key as a definition list entry."""
        facts = [self.type_of(p)]
        if required:
            facts.append("**required**")
        elif "default" in p:
            facts.append("default " + _literal(json.dumps(p["default"], ensure_ascii=False)))
        facts += self.constraints(p)
        for key_name in ("items",):
            if isinstance(p.get(key_name), dict):
                facts += ["each " + c for c in self.constraints(p[key_name])]
        yield _literal(key)
        yield "   " + "; ".join(facts) + "."
        if p.get("description"):
            yield ""
            yield "   " + rst_text(p["description"])
        yield ""


def schema_reference_rst(schema: dict[str, Any], label_prefix: str) -> str:
    """Every key of a JSON Schema: the top-level object, then each object it refers to."""
    text = SchemaText(schema.get("$defs", {}), "#/$defs/", label_prefix)
    lines = list(text.object_rst("Top level", schema, "-"))
    for name in text.reachable(schema):
        lines += text.object_rst(name, text.defs[name], "-")
    return "\n".join(lines) + "\n"


def schema_keys(schema: dict[str, Any]) -> set[tuple[str, str]]:
    """(object, key) for every key of every object a schema defines."""
    out = {("Top level", k) for k in schema.get("properties", {})}
    for name, d in schema.get("$defs", {}).items():
        out |= {(name, k) for k in d.get("properties", {})}
    return out


def generated_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schemas, from the models (what ``python -m ketacost schemas`` writes)."""
    from ketacost._schema import json_schemas

    return json_schemas()


# --------------------------------------------------------------------------- OpenAPI


def openapi_document() -> dict[str, Any]:
    """The web calculator's OpenAPI document, from the app with its default configuration."""
    from ketacost.web import WebConfig, create_app

    document: dict[str, Any] = create_app(WebConfig()).openapi()
    return document


def openapi_rst(document: dict[str, Any]) -> str:
    """Every route of an OpenAPI document, then every schema it names."""
    components = document.get("components", {}).get("schemas", {})
    text = SchemaText(components, "#/components/schemas/", "openapi-schema")
    lines: list[str] = []
    for path, methods in document.get("paths", {}).items():
        for method, op in methods.items():
            lines += _operation_rst(text, path, method, op)
    lines += ["Schemas", "-" * 7, ""]
    lines += ["The objects the routes take and give, as the OpenAPI document defines them.", ""]
    for name in components:
        lines += list(text.object_rst(name, components[name], "~"))
    return "\n".join(lines) + "\n"


def _examples_rst(media: str, content: dict[str, Any]) -> list[str]:
    """A request body's examples (OpenAPI ``example`` or ``examples``) as JSON blocks."""
    examples: dict[str, Any] = dict(content.get("examples") or {})
    if "example" in content:
        examples = {"example": {"value": content["example"]}, **examples}
    lines: list[str] = []
    for name, example in examples.items():
        if not isinstance(example, dict) or "value" not in example:
            continue  # an external example (externalValue) has no value to show
        caption = example.get("summary") or name
        lines += [f"Example ({rst_text(caption)}), {_literal(media)}:", ""]
        lines += [".. code-block:: json", ""]
        body = json.dumps(example["value"], indent=2, ensure_ascii=False)
        lines += ["   " + line for line in body.splitlines()] + [""]
    return lines


def _operation_rst(text: SchemaText, path: str, method: str, op: dict[str, Any]) -> list[str]:
    title = f"{method.upper()} {path}"
    lines = [f".. _{_label('openapi-op', title)}:", "", title, "-" * len(title), ""]
    if op.get("summary"):
        lines += [f"**{rst_text(op['summary'])}**", ""]
    if op.get("operationId"):
        lines += [f"Operation id: {_literal(op['operationId'])}", ""]
    if op.get("description"):
        lines += [rst_text(para) + "\n" for para in op["description"].split("\n\n")]
    params = op.get("parameters", [])
    if params:
        lines += ["Parameters:", ""]
        for p in params:
            where = p.get("in", "")
            need = "required" if p.get("required") else "optional"
            kind = text.type_of(p.get("schema", {}))
            lines += [f"- {_literal(p['name'])} ({where}, {need}): {kind}."]
            if p.get("description"):
                lines[-1] += " " + rst_text(p["description"])
        lines += [""]
    body = op.get("requestBody")
    if body:
        lines += ["Request body" + (" (required):" if body.get("required") else ":"), ""]
        for media, content in body.get("content", {}).items():
            lines += [f"- {_literal(media)}: {text.type_of(content.get('schema', {}))}"]
        lines += [""]
        for media, content in body.get("content", {}).items():
            lines += _examples_rst(media, content)
    lines += ["Responses:", ""]
    for status, response in op.get("responses", {}).items():
        entry = f"- **{status}**: {rst_text(response.get('description', ''))}"
        media = [
            f"{_literal(m)} {text.type_of(c.get('schema', {}))}"
            for m, c in response.get("content", {}).items()
        ]
        lines += [entry + (" — " + "; ".join(media) if media else "")]
    lines += [""]
    return lines


# --------------------------------------------------------------------------- directives


class _GeneratedRst(SphinxDirective):
    """A directive whose body is rst text generated from the code."""

    def generate(self) -> str:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        source = f"<generated by {self.name}>"
        content = StringList(self.generate().splitlines(), source=source)
        holder = nodes.section()
        holder.document = self.state.document
        nested_parse_with_titles(self.state, content, holder)
        return list(holder.children)


class SchemaDirective(_GeneratedRst):
    """``.. ketacost-schema:: payer.schema.json``: every key of one generated schema."""

    required_arguments = 1

    def generate(self) -> str:
        """The reference of the schema named in the argument."""
        name = self.arguments[0]
        schemas = generated_schemas()
        if name not in schemas:
            raise self.error(f"no schema {name!r}; ketacost has {sorted(schemas)}")
        return schema_reference_rst(schemas[name], "schema-" + name.split(".")[0])


class ModelDirective(_GeneratedRst):
    """``.. ketacost-model:: ketacost._savings.SavingsProgram``: every key of one file model.

    For the file formats that have no schema in ``schemas/`` (savings programs, claim edits,
    fee schedules): the model's own JSON Schema, rendered as the other references are.
    """

    required_arguments = 1

    def generate(self) -> str:
        """The reference of the model named in the argument."""
        module_name, _, name = self.arguments[0].rpartition(".")
        import importlib

        model = getattr(importlib.import_module(module_name), name)
        return schema_reference_rst(model.model_json_schema(), "model-" + name.lower())


class OpenApiDirective(_GeneratedRst):
    """``.. ketacost-openapi::``: every route of the web calculator's OpenAPI document."""

    def generate(self) -> str:
        """The routes and schemas of the app's OpenAPI document."""
        return openapi_rst(openapi_document())


class ExampleOutputDirective(SphinxDirective):
    """``.. ketacost-example-output:: examples/NAME.py``: what the script prints."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        """Run the script; its standard output as a literal block."""
        script = ROOT / self.arguments[0]
        self.env.note_dependency(str(script))
        if not script.is_file():
            raise self.error(f"no example script {self.arguments[0]}")
        env = {**os.environ, "PYTHONHASHSEED": "0", "COLUMNS": "200", "NO_COLOR": "1"}
        with tempfile.TemporaryDirectory(prefix="ketacost-docs-") as scratch:
            result = subprocess.run(
                [sys.executable, str(script)],
                cwd=scratch,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        if result.returncode != 0:
            raise self.error(
                f"{self.arguments[0]} exited {result.returncode}:\n{result.stderr[-2000:]}"
            )
        # Scratch folders are named anew on every run.
        output = re.sub(r"/tmp/[^/\s]+", "/tmp/…", result.stdout.rstrip())
        block = nodes.literal_block(output, output)
        block["language"] = "text"
        return [block]


class DataDirective(_GeneratedRst):
    """``.. ketacost-data:: ketacost.compare``: the constants in a module's ``__all__``.

    autodoc documents a module's classes and functions, wherever they are defined, but finds
    the doc comment (``#:``) of a constant only in the module it documents; the public modules
    import their constants from private ones. This lists each constant with the doc comment
    of the module that defines it, and its value.
    """

    required_arguments = 1

    def generate(self) -> str:
        """One ``py:data`` entry per constant of the module's ``__all__``."""
        return data_rst(self.arguments[0])


def module_constants(modname: str) -> dict[str, object]:
    """The names of a module's ``__all__`` that are neither classes, functions nor modules."""
    import importlib
    import inspect

    module = importlib.import_module(modname)
    out = {}
    for name in module.__all__:
        value = getattr(module, name)
        if not (inspect.isclass(value) or inspect.isroutine(value) or inspect.ismodule(value)):
            out[name] = value
    return out


def _doc_comment(name: str, value: object) -> list[str]:
    """The ``#:`` comment of ``name`` in the ketacost module that defines ``value``."""
    from sphinx.errors import PycodeError
    from sphinx.pycode import ModuleAnalyzer

    for modname, module in sorted(sys.modules.items()):
        if not modname.startswith("ketacost") or getattr(module, name, None) is not value:
            continue
        try:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except PycodeError:  # a module without source has no comments
            continue
        if ("", name) in docs:
            return list(docs[("", name)])
    return []


def data_rst(modname: str) -> str:
    """Each constant of a module: its name, value and doc comment."""
    from sphinx.pycode import ModuleAnalyzer

    own = ModuleAnalyzer.for_module(modname).find_attr_docs()
    lines = [f".. py:currentmodule:: {modname}", ""]
    for name, value in module_constants(modname).items():
        if ("", name) in own:
            continue  # a constant with its doc comment in this module: autodoc shows it
        lines += [f".. py:data:: {name}"]
        if len(repr(value)) <= 80:
            lines += [f"   :value: {value!r}"]
        lines += [""]
        lines += ["   " + line if line else "" for line in _doc_comment(name, value)]
        lines += [""]
    return "\n".join(lines) + "\n"


def _write_openapi(app: Sphinx, exception: Exception | None) -> None:
    """Write the OpenAPI document beside the HTML (``openapi.json``)."""
    if exception is None and app.builder.format == "html":
        out = Path(app.outdir) / "openapi.json"
        out.write_text(json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n")


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directives."""
    app.add_directive("ketacost-schema", SchemaDirective)
    app.add_directive("ketacost-openapi", OpenApiDirective)
    app.add_directive("ketacost-model", ModelDirective)
    app.add_directive("ketacost-example-output", ExampleOutputDirective)
    app.add_directive("ketacost-data", DataDirective)
    app.connect("build-finished", _write_openapi)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
