"""Shell completion: click's own, with payer ids completed from the payer folder.

Driven two ways: through click's ``ShellComplete`` API, and the way a shell asks (the
``_KETACOST_COMPLETE`` variable with ``COMP_WORDS``/``COMP_CWORD``) through CliRunner.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner, Result

from ketacost.cli import cli
from ketacost.cli._complete import payer_ids

ROOT = Path(__file__).resolve().parent.parent
PAYERS = ROOT / "payers"
REQUEST = ROOT / "examples" / "requests" / "esketamine-commercial.yaml"
#: Every payer file of the bundled folder, by id (a payer's id is its file's stem).
BUNDLED = sorted(p.stem for p in PAYERS.glob("*.yaml"))


def completions(args: list[str], incomplete: str) -> list[str]:
    """What click completes after ``ketacost ARGS`` for the word ``incomplete``."""
    complete = ShellComplete(cli, {}, "ketacost", "_KETACOST_COMPLETE")
    return [item.value for item in complete.get_completions(args, incomplete)]


def shell_asks(words: str, env: dict[str, str] | None = None) -> Result:
    """Ask as the bash script does: the words typed so far, the last one being completed."""
    cword = str(len(words.split()) - (0 if words.endswith(" ") else 1))
    return CliRunner().invoke(
        cli,
        [],
        prog_name="ketacost",
        env={
            "_KETACOST_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": cword,
            **(env or {}),
        },
    )


@pytest.fixture(autouse=True)
def _bundled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KETACOST_PAYERS", raising=False)


def test_the_bundled_folder_is_the_payers_folder() -> None:
    assert "commercial-ppo" in BUNDLED and "medicare-part-b" in BUNDLED
    assert payer_ids(None) == BUNDLED


def test_payers_show_completes_every_payer_id() -> None:
    assert completions(["payers", "show"], "") == BUNDLED
    assert completions(["payers", "show"], "medig") == [
        "medigap-plan-f",
        "medigap-plan-g",
        "medigap-plan-n",
    ]
    assert completions(["payers", "show"], "nobody") == []


def test_compare_payer_and_secondary_complete() -> None:
    args = ["compare", str(REQUEST), "--payer"]
    assert completions(args, "comm") == ["commercial-hmo", "commercial-ppo"]
    second = completions(["compare", str(REQUEST), "--secondary"], "")
    assert second == ["none", *BUNDLED]


def test_the_payers_option_names_the_folder(tmp_path: Path) -> None:
    shutil.copy(PAYERS / "self-pay.yaml", tmp_path / "house-cash.yaml")
    (tmp_path / "notes.txt").write_text("not a payer")
    args = ["payers", "show", "--payers", str(tmp_path)]
    assert completions(args, "") == ["house-cash"]
    # A folder that is not there completes nothing (and raises nothing).
    assert completions(["payers", "show", "--payers", str(tmp_path / "gone")], "") == []


def test_the_environment_folder_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(PAYERS / "self-pay.yaml", tmp_path / "env-payer.yaml")
    monkeypatch.setenv("KETACOST_PAYERS", str(tmp_path))
    assert completions(["payers", "show"], "") == ["env-payer"]


def test_commands_and_choices_complete() -> None:
    assert completions([], "est") == ["estimate"]
    assert completions([], "comp") == ["compare", "completion"]
    assert completions(["estimate", str(REQUEST), "--format"], "js") == ["json", "jsonl"]
    assert completions(["completion"], "") == ["bash", "zsh", "fish"]


def test_the_shell_protocol_through_the_environment() -> None:
    result = shell_asks("ketacost payers show medicare-")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["plain,medicare-advantage", "plain,medicare-part-b"]
    every = shell_asks("ketacost payers show ")
    assert [line.split(",", 1)[1] for line in every.stdout.splitlines()] == BUNDLED


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script(shell: str) -> None:
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0, result.output
    assert "_KETACOST_COMPLETE" in result.stdout
    assert f"{shell}_complete" in result.stdout  # the instruction the script sends back
    # The same script click prints for _KETACOST_COMPLETE=SHELL_source.
    source = CliRunner().invoke(
        cli, [], prog_name="ketacost", env={"_KETACOST_COMPLETE": f"{shell}_source"}
    )
    assert source.stdout == result.stdout


def test_an_unknown_shell_is_a_user_error() -> None:
    result = CliRunner().invoke(cli, ["completion", "powershell"])
    assert result.exit_code == 2
    assert "'powershell' is not one of" in result.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_runs_the_script_and_completes_a_payer_id(tmp_path: Path) -> None:
    """The real round trip: bash sources the script and its function asks ketacost."""
    script = CliRunner().invoke(cli, ["completion", "bash"]).stdout
    # The script runs `env ... ketacost`: a program on PATH, here this Python's ketacost.
    program = tmp_path / "ketacost"
    program.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ketacost "$@"\n')
    program.chmod(0o755)
    shell = (
        f'PATH="{tmp_path}:$PATH"\n'
        + script
        + "\nCOMP_WORDS=(ketacost payers show commercial-)\nCOMP_CWORD=3\n"
        + "_ketacost_completion ketacost\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    done = subprocess.run(
        ["bash", "-c", shell], capture_output=True, text=True, check=True, timeout=60, cwd=ROOT
    )
    assert done.stdout.split() == ["commercial-hmo", "commercial-ppo"], done.stderr


def test_completing_a_payer_id_imports_no_model() -> None:
    """Completion runs on every TAB: it reads file names, never a model or the engine."""
    from test_cli_startup import HEAVY

    code = textwrap.dedent(
        f"""
        import contextlib, io, json, os, runpy, sys

        os.environ.update(_KETACOST_COMPLETE="bash_complete", COMP_CWORD="3",
                          COMP_WORDS="ketacost payers show medicare-p")
        sys.argv = ["ketacost"]
        raw = io.BytesIO()  # click writes the completions as bytes
        with contextlib.redirect_stdout(io.TextIOWrapper(raw, encoding="utf-8")) as text:
            try:
                runpy.run_module("ketacost", run_name="__main__", alter_sys=True)
            except SystemExit:
                pass
            text.flush()
        heavy = [m for m in {HEAVY!r} if m in sys.modules]
        print(json.dumps({{"out": raw.getvalue().decode(), "heavy": heavy}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    found = json.loads(done.stdout.splitlines()[-1])
    assert found == {"out": "plain,medicare-part-b\n", "heavy": []}
