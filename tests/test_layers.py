"""The import picture has one-way layers: no module imports a higher one.

Every module of the package is read with ``ast`` (not imported), and every import in it
counts: at the top, inside functions, under ``if TYPE_CHECKING:`` (a type-only import is still
knowledge of the higher layer), and ``importlib.import_module("...")`` / ``__import__("...")``
calls with a literal name. Importing ``a.b.c`` runs ``a`` and ``a.b`` first; those implied
edges to parent packages are not counted (every module would otherwise "import" the facade).

The layers, lowest first (STYLE.md, "Architecture"). Where this departs from the data-flow
picture, the reason is given:

0. foundation: errors, limits, money, version, the payer-folder rule, optional extras. No
   models; everything may use them.
1. values and parsing: constrained types, dated values, the source map and the YAML and JSON
   parsers, validation messages.
2. models: the rule models (payer, clinic, plan, request, savings program, claim edits) and the
   result models (``Estimate``, its lines, totals and range): what every layer above reads.
   The claim-edit check (``_edit_warnings``) sits here too: a pure function of an estimate and
   the edits, which ``estimate()`` calls.
3. renderers: tables, CSV, calendar, documents, JSON Schemas. In the data flow they come after
   the estimate, but in the import picture they sit right above the models they read and
   below loading, the engine, the range and ``estimate()``: a renderer receives estimates and
   ranges and never reads rule files or runs the engine (issue 10; STYLE.md, "a document
   running the engine is still an upward arrow").
4. loading: read and validate files, the request x payer-library checks, the payer library.
5. engine: ``ketacost._engine`` (pure adjudication).
6. range: low, expected and high; re-runs the engine through a function it is given, so the
   engine never imports it.
7. estimating: ``estimate()`` = validate + adjudicate + range.
8. uses of the estimate: ``compare`` (what-if variants), which runs estimates and is used
   by the interfaces.
9. the facade, ``ketacost/__init__.py``: the public API, which may import anything below.
10. interfaces: the CLI, the web calculator, batch (and its files), ``python -m ketacost``.

Imports within one layer are free. Known upward edges are listed with a reason each, so the
test fails on any new one, and on a listed one that is gone (remove it from the list).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ketacost"

#: Lowest first. A package's entry covers its submodules unless they have their own.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        (
            "_errors",
            "_limits",
            "_money",
            "_version",
            "_paths",
            "_extras",
            "_business_days",
            "_i18n",
        ),
    ),
    (
        "values and parsing",
        ("_types", "_dated", "_ndc", "_source", "_yaml_parser", "_json_parser", "_validation"),
    ),
    (
        "models",
        (
            "_secondary",
            "_payer",
            "_fee_schedule",
            "_clinic",
            "_plan",
            "_request",
            "_savings",
            "_estimate",
            "_comparison",
            "_claim_edits",
            "_edit_warnings",
            "_order",
        ),
    ),
    ("renderers", ("_plain", "_render", "render", "ics", "documents", "_schema")),
    (
        "loading",
        ("_checks", "_loader", "_edit_files", "_fee_schedule_files", "_library", "eligibility"),
    ),
    ("engine", ("_engine",)),
    ("range", ("_range",)),
    ("estimating", ("_estimating",)),
    ("uses of the estimate", ("compare", "records")),
    ("facade", ("",)),  # ketacost/__init__.py itself
    (
        "interfaces",
        (
            "batch",
            "_batch_files",
            "_batch_output",
            "_frames",
            "_dask",
            "_dask_connect",
            "_dask_parquet",
            "web",
            "cli",
            "__main__",
            "_catalogs",  # the catalog tool (development; nothing imports it)
        ),
    ),
)

#: (importer, imported): upward edges found when this test was written, each with why it is
#: there. Fix one, then delete its line; never add one without saying why here.
KNOWN_UPWARD: dict[tuple[str, str], str] = {}


def _layer_of() -> dict[str, int]:
    table: dict[str, int] = {}
    for rank, (_, names) in enumerate(LAYERS):
        for name in names:
            module = f"ketacost.{name}" if name else "ketacost"
            assert module not in table, f"{module} is in two layers"
            table[module] = rank
    return table


LAYER_OF = _layer_of()


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the package: dotted name -> (file, is a package's __init__)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        found[".".join(parts)] = (path, is_package)
    return found


MODULES = _modules()


def layer(module: str) -> int:
    """The layer of a module: its own entry, else its nearest package's (not the facade's)."""
    name = module
    while name != "ketacost":
        if name in LAYER_OF:
            return LAYER_OF[name]
        name = name.rsplit(".", 1)[0]
    if module == "ketacost":
        return LAYER_OF["ketacost"]
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {__file__}")


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute name of ``from <level dots><name> import ...`` written in ``module``."""
    if not level:
        return name or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _literal_import_call(node: ast.Call) -> tuple[str, str | None] | None:
    """(name, package argument) of ``import_module("x", ...)`` or ``__import__("x")``."""
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if called not in ("import_module", "__import__") or not node.args:
        return None
    first = node.args[0]
    if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
        return None  # a computed name: not followed (the facade's lazy exports)
    package = None
    if len(node.args) > 1 and isinstance(node.args[1], ast.Name):
        package = node.args[1].id
    return first.value, package


def imports(module: str) -> list[tuple[str, int]]:
    """(imported ketacost module, line) for every import written in ``module``."""
    path, is_package = MODULES[module]
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node.level, node.module)
            submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in MODULES]
            # `from ketacost import _paths` imports the module _paths, not the facade's names.
            targets = submodules if len(submodules) == len(node.names) else [base, *submodules]
        elif isinstance(node, ast.Call) and (call := _literal_import_call(node)) is not None:
            name, package = call
            if name.startswith("."):
                if package not in ("__name__", "__package__"):
                    continue
                level = len(name) - len(name.lstrip("."))
                name = _absolute(module, is_package, level, name.lstrip(".") or None)
            targets = [name]
        out.extend(
            (t, node.lineno) for t in targets if t == "ketacost" or t.startswith("ketacost.")
        )
    return out


def upward_edges() -> dict[tuple[str, str], list[int]]:
    edges: dict[tuple[str, str], list[int]] = {}
    for module in MODULES:
        for target, line in imports(module):
            assert target in MODULES, f"{module}:{line} imports {target}, which does not exist"
            if layer(target) > layer(module):
                edges.setdefault((module, target), []).append(line)
    return edges


def test_every_module_has_a_layer_and_every_entry_a_module() -> None:
    for module in MODULES:
        layer(module)
    for entry in LAYER_OF:
        assert entry in MODULES, f"LAYERS names {entry}, which is not a module"


def test_no_module_imports_a_higher_layer() -> None:
    edges = upward_edges()
    names = [name for name, _ in LAYERS]
    new = [
        f"{a} ({names[layer(a)]}) imports {b} ({names[layer(b)]}), line {', '.join(map(str, ls))}"
        for (a, b), ls in sorted(edges.items())
        if (a, b) not in KNOWN_UPWARD
    ]
    assert not new, "upward imports:\n" + "\n".join(new)
    gone = sorted(set(KNOWN_UPWARD) - set(edges))
    assert not gone, f"these known upward edges are gone, remove them from KNOWN_UPWARD: {gone}"


def test_the_walker_sees_imports_inside_functions_and_by_name() -> None:
    # Guards the walker itself: an import inside a function (web/__init__.py imports ._app in
    # create_app) and a literal import_module call (the CLI's serve) are edges.
    assert "ketacost.web._app" in {t for t, _ in imports("ketacost.web")}
    assert "ketacost.web" in {t for t, _ in imports("ketacost.cli._serve")}
    assert "ketacost._engine" in {t for t, _ in imports("ketacost._estimating")}
    assert "ketacost" not in {t for t, _ in imports("ketacost._estimating")}
