"""``ketacost serve --workers N``: the calculator in N processes under uvicorn's supervisor.

One process answers on one core (an estimate is CPU work, and Python runs one thread of it at
a time). With ``--workers N`` the parent binds the address once and uvicorn's supervisor
(``uvicorn.supervisors.Multiprocess``) starts N worker processes that share it. Each worker
has the same guards as a single ``ketacost serve`` (the header and send time-outs and the
app's 503 of :func:`~ketacost.web._server.guarded_protocol`, the log throttle, which then lets
through 5 lines a minute per worker) and the same settings; ``limit_concurrency`` holds per
worker.

- SIGTERM or Ctrl-C stops every worker, each within ``timeout_graceful_shutdown_seconds``;
  SIGTTIN and SIGTTOU add and remove one. The parent's own signal handlers are put back when
  it stops.
- A worker that dies is started again. One that cannot start (a file became invalid, or
  changed, since the server started: below) stops the server, which then raises
  :class:`WorkerError` (``ketacost serve`` exits 2, not 0, so a service manager restarts it).
- Every worker serves the same rules and code. The parent checks the configuration, the
  clinic and the payer folder before any worker starts (a bad file is one error, as with
  one process) and hands the workers their fingerprint (:func:`fingerprint`); a worker
  started later whose files or version differ refuses to start. SIGHUP replaces the
  workers one at a time, from the same files: it never reloads an edit (the new worker
  refuses, uvicorn keeps the old ones and logs it). After editing the files, restart the
  server.
- The workers share new connections more evenly (:mod:`ketacost.web._balance`: a worker that
  holds more connections than another waits a little before taking one).
- A worker whose parent is gone (killed with SIGKILL) stops itself within a second or two,
  freeing the address (the metrics folder below and the connections file then stay behind
  in ``$TMPDIR``).

Workers start in a fresh interpreter (``spawn``): what they need crosses in one environment
variable, :data:`SPEC` (JSON: the configuration file, the server settings, the access log's
form, the fingerprint, the parent's process id, the metrics folder made for them, the file
in which they count their connections), read by
:func:`app` (the factory uvicorn calls) and for the HTTP protocol (``Protocol``,
:func:`__getattr__`). A script that calls ``serve(..., workers=2)`` must do so under
``if __name__ == "__main__":`` (each worker imports the script again), from the main thread.
With ``--workers``, uvicorn binds one socket: a host name (``localhost``) is served on its
IPv4 address only (one process serves every address the name has); give the address.

Metrics: unless ``PROMETHEUS_MULTIPROC_DIR`` is set (then the operator's folder is used, as
under uvicorn or gunicorn: empty it before each start), the parent makes an empty folder for
the workers' counts (in ``$TMPDIR``; a worker that starts after it was removed makes it
again, the counts until then lost) and removes it when it stops, so ``GET /metrics`` answers
the sum over the workers whichever one the scrape reaches.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ketacost._errors import FileIssue, KetacostError
from ketacost._source import SourceMap
from ketacost._validation import validate
from ketacost._version import __version__

from ._balance import LOOP, Connections, CountedProtocol, make_slots_file
from ._config import Resolved, ServerSettings, WebConfigError, load_web_config, resolve
from ._ops import MULTIPROC_DIR, AccessLog, configure_access_log
from ._server import (
    WorkerError,
    connection_settings,
    freeze_startup,
    guarded_protocol,
    throttle_logs,
    throttled_logs,
)

if TYPE_CHECKING:
    import asyncio

    from fastapi import FastAPI

__all__ = ["SPEC", "app", "fingerprint", "run_workers"]

#: The environment variable that carries a worker's configuration from the parent (JSON).
SPEC = "KETACOST_SERVE_WORKER"
#: uvicorn's import strings for the workers' app factory and HTTP protocol (:func:`__getattr__`).
APP = "ketacost.web._workers:app"
PROTOCOL = "ketacost.web._workers:Protocol"
#: Exit code of a worker that cannot build the app (uvicorn's STARTUP_FAILURE): its
#: supervisor then stops every worker.
BOOT_ERROR = 3
#: Seconds between a worker's looks at whether its parent is still there.
PARENT_CHECK_SECONDS = 1.0

log = logging.getLogger("ketacost.web")


def fingerprint(resolved: Resolved) -> str:
    """What a worker must serve: the code's version, the rule files and the settings.

    sha256 over the version of ketacost (its bundled defaults with it), the
    :func:`ketacost.rules_hash` of every payer and the clinic, the hash of every file of the
    payer folder (payers, savings programs, claim edits, fee schedules), and the
    configuration's own values (treatments, limits, translations, ...).
    """
    from ketacost._engine import rules_hash

    library = resolved.library
    files = sorted(getattr(library, "file_hashes", {}).items())
    digest = hashlib.sha256(__version__.encode())
    digest.update(rules_hash(list(library.values()), resolved.clinic).encode())
    digest.update(json.dumps(files).encode())
    # the clinic's file by content (in the rules hash), not by the path naming it
    digest.update(resolved.config.model_dump_json(exclude={"clinic"}).encode())
    return digest.hexdigest()


def run_workers(
    config: str | os.PathLike[str] | None,
    resolved: Resolved,
    *,
    host: str,
    port: int,
    access_log: str,
    workers: int,
) -> None:
    """Serve with ``workers`` processes until SIGTERM or Ctrl-C (``ketacost serve --workers``).

    ``config`` (the file) and ``resolved`` (what it names, with the server settings) have
    been checked by the caller (:func:`ketacost.web.serve`), and the address tried.

    Raises:
        WorkerError: a worker could not start; every worker has been stopped.
        ValueError: called outside the main thread (signals are handled there only).
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess
    from uvicorn.supervisors.multiprocess import SIGNALS

    if threading.current_thread() is not threading.main_thread():
        raise ValueError("serve with workers runs in the main thread only (it handles signals)")
    settings = resolved.config.server
    spec: dict[str, Any] = {
        # absolute, as written: neither through symbolic links (a file it names is found
        # beside the link) nor with "x/.." taken away (x may be a link)
        "config": None if config is None else str(Path(config).absolute()),
        "server": settings.model_dump(),
        "access_log": access_log,
        "fingerprint": fingerprint(resolved),
        "parent": os.getpid(),
    }
    uvicorn_config = uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="info",
        http=PROTOCOL,
        loop=LOOP,  # the workers share new connections (ketacost.web._balance)
        ws="none",  # no WebSocket route: an upgrade is not handed to another protocol
        **connection_settings(settings),
    )
    handlers = {sig: signal.getsignal(sig) for sig in SIGNALS}  # the supervisor replaces them
    try:
        # the throttle after uvicorn.Config, which configures its loggers
        with throttled_logs(), _worker_environment(spec):
            sock = uvicorn_config.bind_socket()
            try:
                supervisor = Multiprocess(uvicorn_config, sockets=[sock])
                supervisor.run()
            finally:
                sock.close()
    finally:
        for sig, handler in handlers.items():
            if handler is not None:  # None: set outside Python, which cannot put it back
                signal.signal(sig, handler)
    failed = [p.pid for p in supervisor.processes if p.exitcode == BOOT_ERROR]
    if failed:
        raise WorkerError(
            f"worker {failed[0]} could not start (the log above says why); the server stopped"
        )


@contextmanager
def _worker_environment(spec: dict[str, Any]) -> Iterator[None]:
    """:data:`SPEC` for the workers, and the folders and files it names.

    A metrics folder of our own unless one is set, and the file in which the workers count
    their connections (:mod:`ketacost.web._balance`); both removed at the end.
    """
    made = None if os.environ.get(MULTIPROC_DIR) else tempfile.mkdtemp(prefix="ketacost-metrics-")
    try:
        slots: str | None = make_slots_file()
    except OSError as exc:  # the workers then take connections without sharing (a warning)
        log.warning("Cannot make the workers' connections file: %s", exc.strerror)
        slots = None
    saved = {name: os.environ.get(name) for name in (SPEC, MULTIPROC_DIR)}
    os.environ[SPEC] = json.dumps({**spec, "metrics_made": made, "connections": slots})
    if made is not None:
        os.environ[MULTIPROC_DIR] = made
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        if slots is not None:
            with contextlib.suppress(OSError):
                os.remove(slots)


def _spec() -> dict[str, Any]:
    """The parent's hand-over (:data:`SPEC`), its server settings checked."""
    text = os.environ.get(SPEC)
    if not text:
        issue = FileIssue(SPEC, 0, 0, "", "not set: a worker is started by `ketacost serve`")
        raise WebConfigError([issue])
    spec: dict[str, Any] = json.loads(text)
    spec["server"] = validate(ServerSettings, spec["server"], SourceMap.empty(SPEC), WebConfigError)
    return spec


def app() -> FastAPI:
    """The app of one worker (uvicorn's factory, called in the worker's process).

    A configuration that no longer loads, or whose files changed since the parent checked
    them, is one line at ERROR and exit code 3, on which the supervisor stops.
    """
    from ._app import build_app

    try:
        spec = _spec()
        if os.getppid() != spec["parent"]:  # gone while this worker started
            raise WorkerError("the server's parent process has gone")
        if spec["metrics_made"] is not None:  # removed under us (a cleaner of $TMPDIR)
            _make_folder(spec["metrics_made"])
        config = load_web_config(spec["config"])
        resolved = resolve(config.model_copy(update={"server": spec["server"]}))
        if fingerprint(resolved) != spec["fingerprint"]:
            raise WorkerError(
                "the configuration, clinic or payer files changed since `ketacost serve` "
                "started; restart it to serve them (every worker must serve the same rules)"
            )
        application = build_app(resolved)
    except KetacostError as exc:
        log.error("Cannot start the calculator: %s", exc)
        sys.exit(BOOT_ERROR)
    configure_access_log(cast("AccessLog", spec["access_log"]))
    throttle_logs()
    freeze_startup()
    _watch_parent(spec["parent"])
    _share_connections(spec.get("connections"))
    return application


def _share_connections(path: str | None) -> None:
    """Claim this worker's slot of the connections file; without one it never waits."""
    if path is None:
        why = "no file was given"
    else:
        try:
            if Connections.share(path):
                return
            why = "no slot of the file is free (or this system has no file locks)"
        except OSError as exc:
            why = f"cannot read {path}: {exc.strerror}"
        except ValueError as exc:  # mmap: a file made short under us
            why = f"cannot share {path}: {exc}"
    log.warning("This worker takes new connections without counting them with the others: %s", why)


def _make_folder(folder: str) -> None:
    """Make the metrics folder again; an error names it (the worker then cannot start)."""
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        issue = FileIssue(MULTIPROC_DIR, 0, 0, "", f"cannot make {folder}: {exc.strerror}")
        raise WebConfigError([issue]) from None


def _watch_parent(parent: int) -> None:
    """Stop this worker (SIGTERM: a graceful shutdown) once its parent is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        log.error("The server's parent process has gone; this worker stops")
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="ketacost-parent-watch", daemon=True).start()


def __getattr__(name: str) -> type[asyncio.Protocol]:
    """``Protocol``, in a worker: the guarded HTTP protocol with the parent's time-outs.

    uvicorn imports it by name (:data:`PROTOCOL`) in each worker, where the parent's
    settings are in :data:`SPEC`.
    """
    if name != "Protocol":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    server: ServerSettings = _spec()["server"]
    guarded = guarded_protocol(server.header_timeout_seconds, server.send_timeout_seconds)
    protocol = type("Protocol", (CountedProtocol, guarded), {})
    globals()["Protocol"] = protocol
    return protocol
