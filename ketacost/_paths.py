"""Where the payer rule files and the JSON Schemas are.

Resolution order (first match wins; documented in the README):

1. an explicit ``directory`` argument;
2. the ``KETACOST_PAYERS`` environment variable;
3. the copy packaged inside the installed wheel (``ketacost/_payers``);
4. the source tree's top-level ``payers/`` folder (an editable install or a checkout).

A top-level ``payers/`` folder is not part of the package by default: the wheel
force-includes it as ``ketacost/_payers`` (pyproject.toml), and an editable install does not
expose that copy, hence step 4. The JSON Schemas are found the same way, without steps 1
and 2: the wheel's ``ketacost/_schemas``, else the source tree's ``schemas/``
(:func:`schema_path`). This module reads the environment but no files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from ._errors import MissingFileError

__all__ = ["ENV_VAR", "PayerDirSource", "resolve_payer_dir", "schema_path"]

ENV_VAR = "KETACOST_PAYERS"

PayerDirSource = Literal["argument", "environment", "package", "source-tree"]

_PACKAGE_DIR = Path(__file__).resolve().parent


def resolve_payer_dir(
    directory: str | os.PathLike[str] | None = None,
) -> tuple[Path, PayerDirSource]:
    """The payer folder to use and which rule found it.

    Raises:
        MissingFileError: the named folder does not exist, or none was found (also a
            ``FileNotFoundError``).
    """
    if directory is not None:
        return _existing(Path(directory), "argument"), "argument"
    env = os.environ.get(ENV_VAR)
    if env:
        return _existing(Path(env), f"${ENV_VAR}"), "environment"
    packaged = _PACKAGE_DIR / "_payers"
    if packaged.is_dir():
        return packaged, "package"
    source = _PACKAGE_DIR.parent / "payers"
    if source.is_dir() and (_PACKAGE_DIR.parent / "pyproject.toml").is_file():
        return source, "source-tree"
    raise MissingFileError(
        "no payer folder found: pass one explicitly, set "
        f"{ENV_VAR}, or reinstall ketacost (its wheel ships the payer files)"
    )


def schema_path(name: str) -> Path:
    """The JSON Schema file of one kind of file ketacost reads or writes.

    Args:
        name: ``clinic``, ``estimate``, ``payer`` or ``request`` (or the file name,
            ``payer.schema.json``).

    Returns:
        The schema shipped in the installed wheel (``ketacost/_schemas``), else the source
        tree's ``schemas/`` (an editable install or a checkout).

    Raises:
        MissingFileError: no such schema (the message lists those there are), or no schema
            folder was found (also a ``FileNotFoundError``).
    """
    file_name = name if name.endswith(_SCHEMA_SUFFIX) else f"{name}{_SCHEMA_SUFFIX}"
    folder = _schema_dir()
    path = folder / file_name
    if "/" in name or "\\" in name or not path.is_file():
        known = sorted(
            p.name.removesuffix(_SCHEMA_SUFFIX) for p in folder.glob("*" + _SCHEMA_SUFFIX)
        )
        raise MissingFileError(f"no JSON Schema named {name!r}; there are: {', '.join(known)}")
    return path


_SCHEMA_SUFFIX = ".schema.json"


def _schema_dir() -> Path:
    packaged = _PACKAGE_DIR / "_schemas"
    if packaged.is_dir():
        return packaged
    source = _PACKAGE_DIR.parent / "schemas"
    if source.is_dir() and (_PACKAGE_DIR.parent / "pyproject.toml").is_file():
        return source
    raise MissingFileError("no JSON Schema folder found: reinstall ketacost (its wheel ships them)")


def _existing(path: Path, how: str) -> Path:
    if not path.is_dir():
        raise MissingFileError(f"payer folder {str(path)!r} (from {how}) does not exist")
    return path
