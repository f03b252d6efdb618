"""Shell completion: click's own, with payer ids completed from the payer folder.

The shell asks through an environment variable (``_KETACOST_COMPLETE=bash_complete``, as the
script ``ketacost completion bash`` prints does). A payer id is the stem of a payer file
(``payers/commercial-ppo.yaml`` is ``commercial-ppo``; the loader insists), so completing one
lists the file names of the folder ``--payers`` names (when it comes before the word being
completed), else ``$KETACOST_PAYERS``, else the bundled folder: no file is parsed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._app import cli

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem

__all__ = ["SHELLS", "complete_payer_ids", "complete_secondary_ids", "completion", "payer_ids"]

SHELLS = ("bash", "zsh", "fish")


def payer_ids(payers_dir: Path | None) -> list[str]:
    """The payer ids of a folder (default: the one the commands use), sorted; none if missing.

    Args:
        payers_dir: the ``--payers`` folder, or ``None``.
    """
    from ketacost._errors import MissingFileError
    from ketacost._paths import resolve_payer_dir

    try:
        folder, _ = resolve_payer_dir(payers_dir)
    except MissingFileError:
        return []
    return sorted(p.stem for p in folder.glob("*.yaml") if p.is_file())


def _folder(ctx: click.Context) -> Path | None:
    folder = ctx.params.get("payers_dir")
    return Path(folder) if folder else None


def complete_payer_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Complete a payer id (``shell_complete`` of an argument or option)."""
    from click.shell_completion import CompletionItem

    return [CompletionItem(i) for i in payer_ids(_folder(ctx)) if i.startswith(incomplete)]


def complete_secondary_ids(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Complete a second payer: a payer id, or ``none``."""
    from click.shell_completion import CompletionItem

    ids = ["none", *payer_ids(_folder(ctx))]
    return [CompletionItem(i) for i in ids if i.startswith(incomplete)]


@cli.command()
@click.argument("shell", metavar="SHELL", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    Payer ids complete from the payer folder (--payers, else $KETACOST_PAYERS, else the
    bundled one).

    The script asks ketacost itself (through $_KETACOST_COMPLETE) for each completion.

    \b
    Example (set-up, once per shell):
      bash: eval "$(ketacost completion bash)"     # in ~/.bashrc
      zsh:  eval "$(ketacost completion zsh)"      # in ~/.zshrc, after compinit
      fish: ketacost completion fish > ~/.config/fish/completions/ketacost.fish
    """
    from click.shell_completion import get_completion_class

    root = click.get_current_context().find_root()
    cls = get_completion_class(shell)
    assert cls is not None  # every name of SHELLS is one of click's
    # The bytes click prints for _KETACOST_COMPLETE=SHELL_source (no newline of its own).
    click.echo(cls(root.command, {}, "ketacost", "_KETACOST_COMPLETE").source(), nl=False)
