#!/usr/bin/env bash
# CI: the lowest versions pyproject.toml allows. A fresh virtual environment gets every direct
# dependency (the core's, and the extras the `test` extra brings) at its lower bound (uv's
# --resolution lowest-direct; what those need resolves to its newest), then runs the whole
# suite with the `lowest` hypothesis profile (20 examples a property): a lower bound that does not install or fails
# a test is one to raise (pyproject.toml says why beside each raised bound). The `docs` extra
# (Sphinx) is not part of `test`: its bounds get an import and a tiny use at the end.
# KETACOST_REQUIRE_POSTGRES is passed through (.ci/run installs PostgreSQL before this step).
#   bash .ci/lowest-versions.sh [install|check|all]   (default: all)
# `install` makes the environment (network and disk: .ci/run runs it while the main suite
# runs); `check` runs the checks in the environment `install` made.
set -euo pipefail
cd "$(dirname "$0")/.."

phase="${1:-all}"
case "$phase" in install|check|all) ;; *) echo "usage: $0 [install|check|all]" >&2; exit 2;; esac
venv=build/lowest-venv  # build/ is ignored by git
py="$PWD/$venv/bin/python"
uv=("$py" -m uv pip)

if [ "$phase" != check ]; then
echo "== lowest direct versions: install =="
rm -rf "$venv" && mkdir -p build
python3 -m venv "$venv"
"$py" -m pip install --quiet --upgrade pip uv
"${uv[@]}" install --quiet --python "$py" --resolution lowest-direct -e '.[test]'
# The docs extra's bounds are checked in a copy of this environment (made now, used last).
rm -rf "$venv-docs"
python3 -m venv "$venv-docs"
"$venv-docs/bin/python" -m pip install --quiet --upgrade pip uv
"$venv-docs/bin/python" -m uv pip install --quiet --python "$venv-docs/bin/python" \
    --resolution lowest-direct -e '.[test,docs]'
fi
[ "$phase" = install ] && exit 0
"${uv[@]}" freeze --python "$py" > "$venv/lowest-freeze.txt"
"$py" - <<'PY'
# Which versions were installed, for the log (the bound each direct dependency sits on).
from importlib.metadata import version
names = ["pydantic", "PyYAML", "click", "Jinja2", "holidays", "rich", "fpdf2", "icalendar",
         "fastapi", "starlette", "uvicorn", "prometheus-client", "pandas", "numpy", "pyarrow",
         "dask", "distributed", "fhir.resources", "SQLAlchemy", "alembic", "psycopg",
         "platformdirs", "pytest", "pytest-xdist", "hypothesis", "python-dateutil",
         "hatchling", "httpx", "httpx2", "schemathesis", "playwright", "pypdfium2", "pypdf",
         "babel", "axe-playwright-python"]
print(" ".join(f"{n}=={version(n)}" for n in names))
PY

echo "== lowest direct versions: frames, dask and metrics (import and a tiny use) =="
"$py" - <<'PY'
# The frames/dask/web-metrics code lands with other branches; whatever its tests, the bounds
# must at least import together and do the one conversion ketacost relies on: money as
# exact decimal strings in a pandas frame -> Arrow decimal128(12, 2), never through float.
from decimal import Decimal
import dask.dataframe as dd
import distributed  # noqa: F401
import pandas as pd
import prometheus_client
import pyarrow as pa
frame = pd.DataFrame({"patient": ["1234.56", "0.01"]})
money = pa.array([Decimal(v) for v in frame["patient"]], type=pa.decimal128(12, 2))
table = pa.Table.from_pandas(frame.assign(patient=money.to_pandas()), preserve_index=False)
assert table.column("patient").to_pylist() == [Decimal("1234.56"), Decimal("0.01")]
parts = dd.from_pandas(frame, npartitions=2)
assert parts.map_partitions(len).compute(scheduler="sync").sum() == 2
counter = prometheus_client.Counter("smoke", "a smoke test", registry=prometheus_client.CollectorRegistry())
counter.inc()
print("frames/dask/prometheus smoke: ok")
PY

echo "== lowest direct versions: the whole suite (hypothesis lowest profile, 20 examples a property) =="
start=$SECONDS
env -u HYPOTHESIS_PROFILE -u CI HYPOTHESIS_PROFILE=lowest "$py" -m pytest -q -p no:cacheprovider
echo "suite at the lowest versions: $((SECONDS - start)) s"

echo "== lowest direct versions: the docs extra (a tiny Sphinx build, warnings as errors) =="
py="$PWD/$venv-docs/bin/python"
"$py" -c 'from importlib.metadata import version as v; print(*(f"{n}=={v(n)}" for n in ["sphinx", "sphinx-click", "myst-parser"]))'
docs="$venv/tiny-docs"
mkdir -p "$docs"
cat > "$docs/conf.py" <<'PY'
project = "ketacost"
extensions = ["myst_parser", "sphinx_click", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
PY
cat > "$docs/index.md" <<'MD'
# Lowest versions

```{eval-rst}
.. autofunction:: ketacost.schema_path

.. click:: ketacost.cli._app:cli
   :prog: ketacost
```
MD
"$py" -m sphinx -W -q -b html "$docs" "$docs/_build"
echo "docs extra at its lower bounds: built"
