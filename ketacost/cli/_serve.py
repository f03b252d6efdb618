"""``ketacost serve``: the web calculator (``ketacost.web``, the ``web`` extra), imported lazily.

Every option can be set by an environment variable (the option wins). This is the one table
of them (``ENV``); ``ketacost.web.app_from_env``, the factory for uvicorn and gunicorn, reads
the first three:

======================================  ==================================
Variable                                Option
======================================  ==================================
``KETACOST_WEB_CONFIG``                 ``--config``
``KETACOST_ACCESS_LOG``                 ``--access-log`` (text, json, off)
``KETACOST_BODY_TIMEOUT``               ``--body-timeout``
``KETACOST_HOST``                       ``--host``
``KETACOST_PORT``                       ``--port``
``KETACOST_WORKERS``                    ``--workers``
``KETACOST_HEADER_TIMEOUT``             ``--header-timeout``
``KETACOST_SEND_TIMEOUT``               ``--send-timeout``
``KETACOST_TIMEOUT_KEEP_ALIVE``         ``--timeout-keep-alive``
``KETACOST_LIMIT_CONCURRENCY``          ``--limit-concurrency``
``KETACOST_GRACEFUL_SHUTDOWN_TIMEOUT``  ``--graceful-shutdown-timeout``
``KETACOST_MAX_HEADER_BYTES``           ``--max-header-bytes``
``KETACOST_BACKLOG``                    ``--backlog``
======================================  ==================================

A bad value is one line naming the variable (``Invalid value for '--port' (env var:
'KETACOST_PORT'): ...``) and exit code 2; so is a configuration file, named by
``KETACOST_WEB_CONFIG``, that is missing or invalid (``KETACOST_WEB_CONFIG: web.yaml:3:5:
...``). An empty variable counts as not set.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from ketacost._errors import KetacostError, MissingFileError, RuleFileError
from ketacost._extras import MissingExtraError

from ._app import cli

__all__ = ["ENV", "SERVER_OPTIONS", "serve"]

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


#: The most ``--workers``: ``ketacost.web.MAX_WORKERS`` (written out: the web extra is
#: imported only when a command runs).
MAX_WORKERS = 32

#: Each option (without ``--``) and its environment variable: the table of the module's doc.
ENV: dict[str, str] = {
    "config": "KETACOST_WEB_CONFIG",
    "access-log": "KETACOST_ACCESS_LOG",
    "body-timeout": "KETACOST_BODY_TIMEOUT",
    "host": "KETACOST_HOST",
    "port": "KETACOST_PORT",
    "workers": "KETACOST_WORKERS",
    "header-timeout": "KETACOST_HEADER_TIMEOUT",
    "send-timeout": "KETACOST_SEND_TIMEOUT",
    "timeout-keep-alive": "KETACOST_TIMEOUT_KEEP_ALIVE",
    "limit-concurrency": "KETACOST_LIMIT_CONCURRENCY",
    "graceful-shutdown-timeout": "KETACOST_GRACEFUL_SHUTDOWN_TIMEOUT",
    "max-header-bytes": "KETACOST_MAX_HEADER_BYTES",
    "backlog": "KETACOST_BACKLOG",
}


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


class _Option(click.Option):
    """An option whose error names its environment variable when the value came from there.

    (click names the variable also when the value was given on the command line.)
    """

    def get_error_hint(self, ctx: click.Context | None) -> str:
        source = ctx.get_parameter_source(self.name) if ctx is not None and self.name else None
        if source is ParameterSource.ENVIRONMENT:
            return super().get_error_hint(ctx)
        return click.Parameter.get_error_hint(self, ctx)


def _server_options(command: F) -> F:
    for option, setting, text, default in reversed(SERVER_OPTIONS):
        decorate = click.option(
            option,
            setting,  # the parameter's name: the setting's
            type=ServerSetting(setting),
            default=None,
            cls=_Option,
            envvar=ENV[option.removeprefix("--")],
            show_envvar=True,
            help=f"{text}  [default: the configuration's server.{setting}, {default}]",
        )
        command = decorate(command)
    return command


@cli.command()
@click.option(
    "--config",
    cls=_Option,
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    envvar=ENV["config"],
    show_envvar=True,
    help="The web calculator's configuration file.",
)
@click.option(
    "--host",
    cls=_Option,
    default="127.0.0.1",
    show_default=True,
    envvar=ENV["host"],
    show_envvar=True,
    help="Address to listen on.",
)
@click.option(
    "--port",
    cls=_Option,
    type=click.IntRange(1, 65535),
    default=8000,
    show_default=True,
    envvar=ENV["port"],
    show_envvar=True,
)
@click.option(
    "--access-log",
    cls=_Option,
    type=click.Choice(["text", "json", "off"]),
    default="text",
    show_default=True,
    envvar=ENV["access-log"],
    show_envvar=True,
    help="Each request's method, route, status and duration on stdout: text or JSON lines.",
)
@click.option(
    "--workers",
    cls=_Option,
    type=click.IntRange(1, MAX_WORKERS),
    default=1,
    show_default=True,
    envvar=ENV["workers"],
    show_envvar=True,
    help="Processes that answer, one per core (the server settings hold in each).",
)
@_server_options
def serve(
    config: Path | None,
    host: str,
    port: int,
    access_log: str,
    workers: int,
    **settings: int | None,
) -> None:
    """Run the web calculator and its JSON API (needs the web extra).

    The options replace the configuration file's server: settings. Each option can be
    given as an environment variable instead (shown with it); the option wins.

    \b
    Example:
      pip install 'ketacost[web]'
      ketacost serve --host 127.0.0.1 --port 8000
      ketacost serve --workers 2   # one process per core
    """
    web = _web()
    from_env = click.get_current_context().get_parameter_source("config")
    try:
        web.serve(
            config,
            host=host,
            port=port,
            access_log=access_log,
            workers=workers,
            server={name: value for name, value in settings.items() if value is not None},
        )
    except (RuleFileError, MissingFileError) as exc:  # the configuration file, or one it names
        if from_env is not ParameterSource.ENVIRONMENT:
            raise
        raise KetacostError(f"{ENV['config']}: {exc}") from None
