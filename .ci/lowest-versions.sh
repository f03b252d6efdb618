#!/usr/bin/env bash
# CI: the lowest versions pyproject.toml allows. A fresh virtual environment gets every direct
# dependency (the core's, and the extras the `test` extra brings) at its lower bound (uv's
# --resolution lowest-direct; what those need resolves to its newest), then runs the whole
# suite with the `lowest` hypothesis profile (20 examples a property): a lower bound that does not install or fails
# a test is one to raise (pyproject.toml says why beside each raised bound). The `docs` extra
# (Sphinx) is not part of `test`: its bounds get an import and a tiny use at the end.
# KETACOST_REQUIRE_POSTGRES is passed through (.ci/run installs PostgreSQL before this step).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=build/lowest-venv  # build/ is ignored by git
rm -rf "$venv" && mkdir -p build
python3 -m venv "$venv"
py="$PWD/$venv/bin/python"
"$py" -m pip install --quiet --upgrade pip uv
uv=("$py" -m uv pip)

echo "== lowest direct versions: install =="
"${uv[@]}" install --quiet --python "$py" --resolution lowest-direct -e '.[test]'
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
"${uv[@]}" install --quiet --python "$py" --resolution lowest-direct -e '.[test,docs]'
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
