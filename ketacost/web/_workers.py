"""``ketacost serve --workers N``: the calculator in N processes under uvicorn's supervisor.

One process answers on one core (an estimate is CPU work, and Python runs one thread of it at
a time). With ``--workers N`` the parent binds the address once and uvicorn's supervisor
(``uvicorn.supervisors.Multiprocess``) starts N worker processes that share it. Each worker
has the same guards as a single ``ketacost serve`` (the header and send time-outs and the
app's 503 of :func:`~ketacost.web._server.guarded_protocol`, the log throttle) and the same
settings; ``limit_concurrency`` holds per worker. The supervisor starts a worker again if it
dies, stops when a worker cannot start (exit code 3), and on SIGTERM or Ctrl-C stops every
worker, each within ``timeout_graceful_shutdown_seconds``.

The parent checks the configuration, the clinic and the payers before any worker starts (a
bad file is one error, as with one process); each worker then loads them itself. Workers
start in a fresh interpreter (``spawn``): what they need crosses in one environment
variable, :data:`SPEC` (JSON: the configuration file, the server settings, the access log's
form), read by :func:`app` (the factory uvicorn calls) and for the HTTP protocol
(:func:`_protocol`).

Metrics: unless ``PROMETHEUS_MULTIPROC_DIR`` is set (then the operator's folder is used, as
under uvicorn or gunicorn), the parent makes an empty folder for the workers' counts and
removes it when it stops, so ``GET /metrics`` answers the sum over the workers whichever one
the scrape reaches.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from ketacost._errors import FileIssue, KetacostError
from ketacost._source import SourceMap
from ketacost._validation import validate

from ._config import ServerSettings, WebConfigError, load_web_config
from ._ops import MULTIPROC_DIR, AccessLog, configure_access_log
from ._server import THROTTLED, guarded_protocol, throttle_logs

if TYPE_CHECKING:
    import asyncio

    from fastapi import FastAPI

__all__ = ["SPEC", "app", "run_workers"]

#: The environment variable that carries a worker's configuration from the parent (JSON).
SPEC = "KETACOST_SERVE_WORKER"
#: uvicorn's import string for the workers' app factory.
APP = "ketacost.web._workers:app"
#: Exit code of a worker that cannot build the app: uvicorn's supervisor then stops.
BOOT_ERROR = 3
log = logging.getLogger("ketacost.web")


def run_workers(
    config: str | os.PathLike[str] | None,
    settings: ServerSettings,
    *,
    host: str,
    port: int,
    access_log: str,
    workers: int,
) -> None:
    """Serve with ``workers`` processes until SIGTERM or Ctrl-C (``ketacost serve --workers``).

    ``config`` and ``settings`` have been checked by the caller (:func:`ketacost.web.serve`),
    and the address tried.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    spec = {
        "config": None if config is None else str(Path(config).resolve()),
        "server": settings.model_dump(),
        "access_log": access_log,
    }
    uvicorn_config = uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="info",
        http=_protocol(settings),
        limit_concurrency=settings.limit_concurrency,
        timeout_keep_alive=settings.timeout_keep_alive_seconds,
        timeout_graceful_shutdown=settings.timeout_graceful_shutdown_seconds,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        backlog=settings.backlog,
    )
    throttle = throttle_logs()  # after uvicorn.Config, which configures its loggers
    try:
        with _worker_environment(json.dumps(spec)):
            sock = uvicorn_config.bind_socket()
            try:
                # uvicorn 0.29-0.52 take the target (a server's run); later ones make it
                target: dict[str, Any] = {}
                if "target" in inspect.signature(Multiprocess).parameters:
                    target["target"] = uvicorn.Server(uvicorn_config).run
                Multiprocess(uvicorn_config, sockets=[sock], **target).run()
            finally:
                sock.close()
    finally:
        for name in THROTTLED:
            logging.getLogger(name).removeFilter(throttle)


@contextmanager
def _worker_environment(spec: str) -> Iterator[None]:
    """:data:`SPEC` for the workers, and a metrics folder of our own unless one is set."""
    made = None if os.environ.get(MULTIPROC_DIR) else tempfile.mkdtemp(prefix="ketacost-metrics-")
    saved = {name: os.environ.get(name) for name in (SPEC, MULTIPROC_DIR)}
    os.environ[SPEC] = spec
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


def _spec() -> tuple[str | None, ServerSettings, str]:
    """A worker's configuration file, server settings and access log form (from :data:`SPEC`)."""
    text = os.environ.get(SPEC)
    if not text:
        issue = FileIssue(SPEC, 0, 0, "", "not set: a worker is started by `ketacost serve`")
        raise WebConfigError([issue])
    spec = json.loads(text)
    server = validate(ServerSettings, spec["server"], SourceMap.empty(SPEC), WebConfigError)
    return spec["config"], server, str(spec["access_log"])


def app() -> FastAPI:
    """The app of one worker (uvicorn's factory, called in the worker's process).

    A configuration that no longer loads (changed since the parent checked it) is one line
    at ERROR and exit code 3, on which the supervisor stops.
    """
    from . import create_app

    try:
        path, server, access_log = _spec()
        config = load_web_config(path)
        application = create_app(config.model_copy(update={"server": server}))
    except KetacostError as exc:
        log.error("Cannot start the calculator: %s", exc)
        sys.exit(BOOT_ERROR)
    configure_access_log(cast("AccessLog", access_log))
    throttle_logs()
    return application


def _protocol(server: ServerSettings) -> type[asyncio.Protocol]:
    """The guarded protocol with ``server``'s time-outs, as this module's ``Protocol``.

    uvicorn's configuration crosses to each worker pickled, and a class is pickled by its
    name: in the worker, the name finds the class :func:`__getattr__` makes from :data:`SPEC`.
    """
    protocol = guarded_protocol(server.header_timeout_seconds, server.send_timeout_seconds)
    protocol.__module__, protocol.__name__, protocol.__qualname__ = __name__, "Protocol", "Protocol"
    globals()["Protocol"] = protocol
    return protocol


def __getattr__(name: str) -> type[asyncio.Protocol]:
    """``Protocol``, in a worker: the guarded HTTP protocol with the parent's time-outs."""
    if name != "Protocol":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    _, server, _ = _spec()
    return _protocol(server)
