"""A light start: ``ketacost --help`` imports no model, and ``import ketacost`` builds none.

Behaviour, never time (``benchmarks/bench_cli.py`` measures): the command modules import the
library inside their commands, and ``ketacost``'s exports are imported on first use.
"""

from __future__ import annotations

import ast
import importlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import ketacost

ROOT = Path(__file__).resolve().parent.parent

#: What a help text must not import: the models, the engine, YAML, and every extra.
HEAVY = (
    "pydantic",
    "yaml",
    "ketacost._engine",
    "ketacost._estimate",
    "ketacost._request",
    "ketacost._payer",
    "ketacost.batch",
    "ketacost.documents",
    "ketacost.web",
    "rich",
    "jinja2",
    "fastapi",
    "uvicorn",
    "fpdf",
    "icalendar",
)


def _run(code: str) -> dict[str, object]:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def test_help_of_the_command_and_of_every_subcommand_imports_no_model() -> None:
    found = _run(
        f"""
        import contextlib, io, json, runpy, sys

        codes = {{}}
        # `python -m ketacost --help`, exactly as run from a shell.
        sys.argv = ["ketacost", "--help"]
        with contextlib.redirect_stdout(io.StringIO()) as text:
            try:
                runpy.run_module("ketacost", run_name="__main__", alter_sys=True)
            except SystemExit as exc:
                codes["--help"] = exc.code
        assert "estimate" in text.getvalue()

        from ketacost.cli import cli, main

        def paths(group, prefix):
            for name, command in group.commands.items():
                yield [*prefix, name]
                yield from paths(command, [*prefix, name]) if hasattr(command, "commands") else ()

        for path in paths(cli, []):
            with contextlib.redirect_stdout(io.StringIO()):
                codes[" ".join([*path, "--help"])] = main([*path, "--help"])
        heavy = [m for m in {HEAVY!r} if m in sys.modules]
        print(json.dumps({{"codes": codes, "heavy": heavy}}))
        """
    )
    codes = found["codes"]
    assert isinstance(codes, dict)
    assert {"--help", "estimate --help", "payers check --help", "serve --help"} <= set(codes)
    assert set(codes.values()) == {0}
    assert found["heavy"] == []


def test_import_ketacost_builds_nothing_until_an_export_is_used() -> None:
    found = _run(
        """
        import json, sys
        import ketacost
        before = "pydantic" in sys.modules or "ketacost._engine" in sys.modules
        money = ketacost.Money("1.50")
        after_money = "ketacost._engine" in sys.modules
        from ketacost import estimate
        print(json.dumps({"before": before, "after_money": after_money,
                          "engine": "ketacost._engine" in sys.modules, "money": str(money)}))
        """
    )
    assert found == {"before": False, "after_money": False, "engine": True, "money": "1.50"}


def _type_checking_imports() -> dict[str, str]:
    """``ketacost/__init__.py``'s ``if TYPE_CHECKING:`` imports: name -> module."""
    tree = ast.parse((ROOT / "ketacost" / "__init__.py").read_text(encoding="utf-8"))
    (block,) = (
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    return {
        alias.name: "." * statement.level + (statement.module or "")
        for statement in block.body
        if isinstance(statement, ast.ImportFrom)
        for alias in statement.names
    }


def test_the_lazy_exports_are_the_imports_type_checkers_see() -> None:
    exports = ketacost._EXPORTS
    assert exports == _type_checking_imports()
    assert sorted([*exports, "__version__"]) == ketacost.__all__
    for name, module in exports.items():
        assert getattr(ketacost, name) is getattr(importlib.import_module(module, "ketacost"), name)
    assert set(ketacost.__all__) <= set(dir(ketacost))
