"""A throw-away PostgreSQL server for the records tests, started once per test process.

The binaries are found in /usr/lib/postgresql/*/bin (installed by tests/install_postgres.sh,
which this runs when they are missing). The server's data directory and unix socket live in a
temporary directory; it listens on no TCP address (``listen_addresses=''``). As root (initdb
and postgres refuse to run as root) both run as the ``postgres`` user, else ``nobody``, which
owns the temporary directory. It is stopped at exit (``pg_ctl stop -m fast``), also after a
failure. When it cannot be started the tests skip, saying why, unless
``KETACOST_REQUIRE_POSTGRES=1`` (set by .ci/run): then they fail.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INSTALL = ROOT / "tests" / "install_postgres.sh"
REQUIRED = os.environ.get("KETACOST_REQUIRE_POSTGRES") == "1"


def _bin_dir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: (
            int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0
        ),
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _run_as() -> list[str]:
    """The command prefix that runs a server program as an unprivileged user."""
    if os.geteuid() != 0:
        return []
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return ["runuser", "-u", user, "--"]
    raise RuntimeError("running as root and there is no 'postgres' or 'nobody' user")


class Server:
    """A running server: its socket directory, and how to stop it."""

    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None and INSTALL.exists():
            subprocess.run(["bash", str(INSTALL)], check=False, capture_output=True)
            bin_dir = _bin_dir()
        if bin_dir is None:
            raise RuntimeError(
                "no PostgreSQL binaries (tests/install_postgres.sh could not add them)"
            )
        self.bin = bin_dir
        self.prefix = _run_as()
        # Under /tmp when switching user: $TMPDIR may sit in a folder that user cannot enter,
        # and a unix socket's path must stay short (about 100 bytes).
        where = "/tmp" if self.prefix and Path("/tmp").is_dir() else None
        self.tmp = Path(tempfile.mkdtemp(prefix="ketacost-pg-", dir=where))
        self.data = self.tmp / "data"
        if self.prefix:
            user = self.prefix[2]
            entry = pwd.getpwnam(user)
            os.chown(self.tmp, entry.pw_uid, entry.pw_gid)
        self.tmp.chmod(0o700)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
            "--no-sync", "--locale=C",
        )  # fmt: skip
        options = f"-c listen_addresses='' -k {self.tmp} -c fsync=off -c full_page_writes=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.tmp / "log"), "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip
        self.running = True
        atexit.register(self.stop)

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [*self.prefix, str(self.bin / program), *args], capture_output=True, text=True
        )
        if done.returncode != 0:
            log = self.tmp / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{program} failed: {done.stderr.strip()} {tail}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.tmp}"

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        subprocess.run(
            [*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.tmp, ignore_errors=True)


_SERVER: Server | None = None
_PROBLEM: str | None = None


def server() -> Server:
    """The process's server, started on first use; skips (or fails) when it cannot start."""
    global _SERVER, _PROBLEM
    if _SERVER is None and _PROBLEM is None:
        try:
            _SERVER = Server()
        except (RuntimeError, OSError) as exc:
            _PROBLEM = str(exc)
    if _SERVER is None:
        message = f"PostgreSQL is not available: {_PROBLEM}"
        if REQUIRED:
            pytest.fail(message + " (KETACOST_REQUIRE_POSTGRES=1)")
        pytest.skip(message)
    return _SERVER


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new empty database on the server (its URL), dropped afterwards."""
    import sqlalchemy as sa

    srv = server()
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(srv.url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield srv.url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
