"""``ketacost serve``: the web calculator (``ketacost.web``, the ``web`` extra), imported lazily."""

from __future__ import annotations

import importlib
from pathlib import Path

import click

from ketacost._extras import MissingExtraError

from ._app import cli

__all__ = ["serve"]


@cli.command()
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The web calculator's configuration file.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--limit-concurrency",
    type=int,
    default=None,
    help="Connections and requests at once; beyond it, 503 "
    "(default: the configuration's server.limit_concurrency, 64).",
)
@click.option(
    "--header-timeout",
    type=int,
    default=None,
    help="Seconds a client has to send the request line and headers "
    "(default: server.header_timeout_seconds, 10).",
)
@click.option(
    "--body-timeout",
    type=int,
    default=None,
    help="Seconds a client has to send the body; then 408 "
    "(default: server.body_timeout_seconds, 10).",
)
@click.option(
    "--timeout-keep-alive",
    type=int,
    default=None,
    help="Seconds an idle connection stays open (default: server.timeout_keep_alive_seconds, 5).",
)
def serve(
    config: Path | None,
    host: str,
    port: int,
    limit_concurrency: int | None,
    header_timeout: int | None,
    body_timeout: int | None,
    timeout_keep_alive: int | None,
) -> None:
    """Run the web calculator and its JSON API (needs the web extra).

    The options replace the configuration file's ``server:`` settings.

    \b
    Example:
      pip install 'ketacost[web]'
      ketacost serve --host 127.0.0.1 --port 8000
    """
    try:
        # import_module honours sys.modules["ketacost.web"] = None (a missing extra), where
        # `from ketacost import web` would find the attribute of an earlier import.
        web = importlib.import_module("ketacost.web")
    except ImportError:
        raise MissingExtraError("web", "the web calculator (FastAPI and uvicorn)") from None
    options = {
        "limit_concurrency": limit_concurrency,
        "header_timeout_seconds": header_timeout,
        "body_timeout_seconds": body_timeout,
        "timeout_keep_alive_seconds": timeout_keep_alive,
    }
    web.serve(
        config,
        host=host,
        port=port,
        server={name: value for name, value in options.items() if value is not None},
    )
