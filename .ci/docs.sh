#!/usr/bin/env bash
# CI: the documentation site (docs/, Sphinx), built with warnings as errors.
#   bash .ci/docs.sh [OUTDIR]      (default: a fresh temporary folder, outside the repository)
# Uses the active Python environment and installs the `docs` extra into it. The key references,
# the web API and the cookbook's outputs are generated from the code while building, so a
# build that passes is a site that agrees with the code.
set -euo pipefail
cd "$(dirname "$0")/.."

out="${1:-$(mktemp -d "${TMPDIR:-/tmp}/ketacost-docs.XXXXXX")}"
python -m pip install --quiet -e '.[docs]'
# -W: every warning is an error; --keep-going: report them all before failing; -E: no cache.
python -m sphinx -E -W --keep-going -b html docs "$out"
echo "documentation built in $out (start at $out/index.html)"
