"""``ketacost serve``: the web calculator (``ketacost.web``, the ``web`` extra), imported lazily."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import click

from ketacost._extras import MissingExtraError

from ._app import cli

__all__ = ["SERVER_OPTIONS", "serve"]

F = TypeVar("F", bound=Callable[..., Any])

#: One option for each of the configuration's ``server:`` settings (``ServerSettings``, whose
#: fields hold the ranges): the option, the setting, what it does, and the default setting.
SERVER_OPTIONS = (
    ("--header-timeout", "header_timeout_seconds",
     "Seconds a client has to send the request line and headers.", 10),
    ("--body-timeout", "body_timeout_seconds",
     "Seconds a client has to send the body; then 408.", 10),
    ("--send-timeout", "send_timeout_seconds",
     "Seconds an answer may wait for a client that does not read it; then the connection "
     "is dropped.", 10),
    ("--timeout-keep-alive", "timeout_keep_alive_seconds",
     "Seconds an idle connection stays open.", 5),
    ("--limit-concurrency", "limit_concurrency",
     "Connections and requests at once; beyond it, 503.", 64),
    ("--graceful-shutdown-timeout", "timeout_graceful_shutdown_seconds",
     "Seconds left to requests in progress after SIGTERM or Ctrl-C.", 10),
    ("--max-header-bytes", "max_header_bytes",
     "Largest request line and headers together; larger: 400.", 16_384),
    ("--backlog", "backlog",
     "Connections the system queues before the server accepts them.", 512),
)  # fmt: skip


def _web() -> ModuleType:
    try:
        # import_module honours sys.modules["ketacost.web"] = None (a missing extra), where
        # `from ketacost import web` would find the attribute of an earlier import.
        return importlib.import_module("ketacost.web")
    except ImportError:
        raise MissingExtraError("web", "the web calculator (FastAPI and uvicorn)") from None


class ServerSetting(click.types.IntParamType):
    """A whole number for one ``server:`` setting, checked as the option is read.

    The check (range and message) is the configuration file's, so the error names the option:
    ``Invalid value for '--limit-concurrency': must be at least 1 (got 0)``.
    """

    def __init__(self, setting: str) -> None:
        self.setting = setting

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        number = super().convert(value, param, ctx)
        _web()  # the check lives with the settings, in the web extra
        from ketacost.web._config import server_setting_problem

        problem = server_setting_problem(self.setting, number)
        if problem is not None:
            self.fail(problem, param, ctx)
        return number


def _server_options(command: F) -> F:
    for option, setting, text, default in reversed(SERVER_OPTIONS):
        decorate = click.option(
            option,
            setting,  # the parameter's name: the setting's
            type=ServerSetting(setting),
            default=None,
            help=f"{text}  [default: the configuration's server.{setting}, {default}]",
        )
        command = decorate(command)
    return command


@cli.command()
@click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="The web calculator's configuration file.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@_server_options
def serve(config: Path | None, host: str, port: int, **settings: int | None) -> None:
    """Run the web calculator and its JSON API (needs the web extra).

    The options replace the configuration file's server: settings.

    \b
    Example:
      pip install 'ketacost[web]'
      ketacost serve --host 127.0.0.1 --port 8000
    """
    _web().serve(
        config,
        host=host,
        port=port,
        server={name: value for name, value in settings.items() if value is not None},
    )
