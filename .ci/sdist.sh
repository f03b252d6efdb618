#!/usr/bin/env bash
# CI: the package as a user installs it from source. `python -m build` makes the sdist, then
# the wheel FROM the unpacked sdist (build's default), each in an isolated build environment;
# a fresh virtual environment installs the sdist with pip (dependencies from the index) and,
# run from outside the source tree, finds its payer files, its example clinic and its JSON
# Schemas and prints an estimate. tests/test_packaging.py checks the same without network.
set -euo pipefail
cd "$(dirname "$0")/.."

work=build/sdist-check  # build/ is ignored by git
rm -rf "$work" && mkdir -p "$work"
python3 -m venv "$work/build-venv"
"$work/build-venv/bin/python" -m pip install --quiet --upgrade pip build
"$work/build-venv/bin/python" -m build --outdir "$work/dist" .
sdist=("$work"/dist/ketacost-*.tar.gz)

python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/python" -m pip install --quiet "${sdist[0]}"
request="$PWD/examples/requests/esketamine-commercial.yaml"
cd "$work"  # away from the source tree: only the installed copies can be found
env -u KETACOST_PAYERS venv/bin/python - <<'PY'
import json
from pathlib import Path

import ketacost

assert "site-packages" in ketacost.__file__, ketacost.__file__
payers = ketacost.load_payers()
assert payers.source == "package", payers.source
clinic = ketacost.load_clinic(Path(ketacost.__file__).parent / "_clinics" / "example-clinic.yaml")
for name in ("clinic", "estimate", "payer", "request"):
    assert json.loads(ketacost.schema_path(name).read_text())["$id"].endswith(f"{name}.schema.json")
print(f"installed from the sdist: {len(list(payers))} payers, clinic {clinic.name!r}, 4 schemas")
PY
env -u KETACOST_PAYERS venv/bin/ketacost estimate "$request" | head -3
