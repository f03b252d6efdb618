#!/usr/bin/env bash
# PostgreSQL server binaries for the records tests (tests/_postgres.py starts a throw-away
# server from them). Installs Debian's `postgresql` package when no binaries are found and
# this runs as root with apt-get; otherwise it says why not and leaves the tests to skip
# (or to fail, with KETACOST_REQUIRE_POSTGRES=1). Quiet unless something goes wrong.
# KETACOST_PG_LIB: where Debian's versioned binaries are looked for (default
# /usr/lib/postgresql; the tests point it elsewhere).
set -euo pipefail

# PostgreSQL on PATH (Homebrew, a distribution's own layout, a CI image): nothing to install.
if command -v initdb >/dev/null; then
    exit 0
fi
if compgen -G "${KETACOST_PG_LIB:-/usr/lib/postgresql}/*/bin/initdb" >/dev/null; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "install_postgres: no PostgreSQL binaries, and not root with apt-get: not installed" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends postgresql; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"
command -v initdb >/dev/null || compgen -G "${KETACOST_PG_LIB:-/usr/lib/postgresql}/*/bin/initdb" >/dev/null
