"""The ``ketacost`` command group, and the one place where errors become exit codes.

Exit codes: 0 success; 1 a check found problems that are not errors (stale payer files) or an
internal error; 2 a user error (a bad file, an unknown payer, a bad option, a missing extra).
A user error prints one line to stderr (``file:line:column: field: message`` where the
problem has a position) and never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from ketacost._errors import KetacostError, escape_unprintable

__all__ = ["EXIT_PROBLEMS", "EXIT_USER_ERROR", "KetacostGroup", "cli"]

EXIT_PROBLEMS = 1
EXIT_USER_ERROR = 2


def _one_line(text: str) -> str:
    """One line, with any control or bidi character from the input escaped."""
    return escape_unprintable(" ".join(text.split()))


def _error(message: str) -> None:
    click.echo(f"error: {_one_line(message)}", err=True)


def _quiet_stdout() -> None:
    """Point standard output at the null device: what is still buffered is dropped at exit.

    Without it, Python's flush at exit fails again on the closed pipe and says so.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test runner's buffer)
        pass
    finally:
        os.close(devnull)


class KetacostGroup(click.Group):
    """A click group that maps every error to one line and an exit code (never a traceback)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        code = self.run(args, prog_name=prog_name or "ketacost", **extra)
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; output into a closed pipe (``| head``) ends it with exit 0.

        Caught here, inside click's own ``main``, which would otherwise exit 1 on it.
        """
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _quiet_stdout()
            raise click.exceptions.Exit(0) from None

    def run(self, args: Sequence[str] | None, prog_name: str, **extra: Any) -> int:
        """Run the command line ``args``; returns the exit code."""
        try:
            rv = super().main(args=args, prog_name=prog_name, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
            return EXIT_USER_ERROR
        except click.UsageError as exc:
            hint = ""
            if exc.ctx is not None:
                hint = f" (see '{exc.ctx.command_path} --help')"
            _error(exc.format_message() + hint)
            return EXIT_USER_ERROR
        except click.ClickException as exc:
            _error(exc.format_message())
            return EXIT_USER_ERROR
        except click.Abort:
            _error("aborted")
            return EXIT_PROBLEMS
        except KetacostError as exc:
            _error(str(exc))
            return EXIT_USER_ERROR
        except BrokenPipeError:
            # Output piped into a program that stopped reading (``| head``): not an error.
            _quiet_stdout()
            return 0
        except OSError as exc:  # a file or folder named on the command line: "path: reason"
            reason = exc.strerror or str(exc)
            _error(f"{exc.filename}: {reason}" if exc.filename else reason)
            return EXIT_USER_ERROR
        except Exception as exc:  # a bug: still one line, and how to see more
            if os.environ.get("KETACOST_DEBUG"):
                raise
            _error(
                f"internal error: {type(exc).__name__}: {exc} "
                "(set KETACOST_DEBUG=1 for the traceback, and please report it)"
            )
            return EXIT_PROBLEMS
        return rv if isinstance(rv, int) else 0


def fail(message: str) -> NoReturn:
    """Stop with a user error (one line, exit code 2)."""
    raise click.UsageError(message)


@click.group(
    "ketacost", cls=KetacostGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="ketacost", prog_name="ketacost")
@click.option(
    "--plain",
    is_flag=True,
    envvar="KETACOST_PLAIN",
    help="Plain-text tables even where rich is installed.",
)
@click.pass_context
def cli(ctx: click.Context, plain: bool) -> None:
    """Estimate what ketamine or esketamine treatment costs, and who pays what.

    \b
    Examples:
      ketacost estimate examples/requests/esketamine-commercial.yaml
      ketacost compare examples/requests/esketamine-commercial.yaml \\
          --payer commercial-ppo --payer medicare-part-b --payer self-pay
      ketacost payers list
    """
    ctx.obj = {"plain": plain}
