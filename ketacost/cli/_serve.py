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
def serve(config: Path | None, host: str, port: int) -> None:
    """Run the web calculator and its JSON API (needs the web extra).

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
    web.serve(config, host=host, port=port)
