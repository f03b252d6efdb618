#!/usr/bin/env bash
# CI: the documentation site (docs/, Sphinx), built with warnings as errors.
#   bash .ci/docs.sh [OUTDIR]      (default: a fresh temporary folder, outside the repository)
# Uses the active virtual environment and installs the `docs` extra into it. The key references,
# the web API and the cookbook's outputs are generated from the code while building, so a
# build that passes is a site that agrees with the code.
set -euo pipefail
cd "$(dirname "$0")/.."

# It installs packages: never into a system or shared interpreter.
if ! python -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)'; then
    echo ".ci/docs.sh: run it inside a virtual environment (.ci/run makes one)" >&2
    exit 2
fi

out="${1:-$(mktemp -d "${TMPDIR:-/tmp}/ketacost-docs.XXXXXX")}"
python -m pip install --quiet -e '.[docs,test]'  # test: tests/test_docs.py runs under pytest
# The site's own checks (tests/test_docs.py skips where Sphinx is not installed, as in the
# plain test run): every schema key, example script, CLI command and web route is on it.
python -m pytest -q -n 0 tests/test_docs.py
# -W: every warning is an error; --keep-going: report them all before failing; -E: no cache.
python -m sphinx -E -W --keep-going -b html docs "$out"
echo "documentation built in $out (start at $out/index.html)"
