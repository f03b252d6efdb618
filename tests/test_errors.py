"""One exception tree: every error ketacost raises is a KetacostError and also a built-in.

The tree is drawn in ``ketacost/_errors.py``'s docstring; these tests hold the drawing, the
classes and the public functions to each other.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import pkgutil
import sys
from datetime import date
from pathlib import Path
from types import ModuleType

import pytest

import ketacost
import ketacost.batch
import ketacost.documents
import ketacost.web
from ketacost import _errors, _paths
from ketacost.compare import compare

ROOT = Path(__file__).resolve().parent.parent

#: Exceptions used as signals inside one module: raised and caught there, never seen outside.
INTERNAL_SIGNALS = {
    "ketacost._source.ParseAbortedError",  # a parser gives up; its issues are reported
    "ketacost._json_parser._RefusedError",  # the fast JSON path hands over to the slow one
    "ketacost.batch._RowError",  # one bad cell, turned into the row's error message
    "ketacost.web._app._TooLargeError",  # a body past the limit, turned into a 413
}

_BUILTIN_EXCEPTIONS = {
    obj
    for obj in vars(builtins).values()
    if isinstance(obj, type) and issubclass(obj, BaseException)
} - {BaseException, Exception}


def _modules() -> list[ModuleType]:
    names = [
        info.name
        for info in pkgutil.walk_packages(ketacost.__path__, "ketacost.")
        if info.name != "ketacost.__main__"  # runs the command line
    ]
    return [ketacost, *(importlib.import_module(name) for name in names)]


def _exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class defined in ketacost, by qualified name."""
    found: dict[str, type[BaseException]] = {}
    for module in _modules():
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_every_exception_is_in_the_tree_and_also_a_builtin() -> None:
    classes = _exception_classes()
    assert set(classes) >= INTERNAL_SIGNALS, "an internal signal was renamed: update the list"
    for name, cls in classes.items():
        if name in INTERNAL_SIGNALS:
            continue
        assert issubclass(cls, ketacost.KetacostError), f"{name} is not a KetacostError"
        if cls is not ketacost.KetacostError:
            builtin = [base for base in cls.__mro__ if base in _BUILTIN_EXCEPTIONS]
            assert builtin, f"{name} is not also a built-in exception"


def test_the_drawing_names_every_class_of_the_tree() -> None:
    doc = _errors.__doc__ or ""
    for name, cls in _exception_classes().items():
        if name not in INTERNAL_SIGNALS:
            assert f"{cls.__name__}(" in doc or f" {cls.__name__} " in doc, name


def test_one_missing_extra_error() -> None:
    found = {
        cls
        for name, cls in _exception_classes().items()
        if name.rsplit(".", 1)[1] == "MissingExtraError"
    }
    assert found == {_errors.MissingExtraError}
    assert ketacost.documents.MissingExtraError is _errors.MissingExtraError
    assert issubclass(_errors.MissingExtraError, ImportError)


def test_web_without_fastapi_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)  # `import fastapi` raises ImportError
    with pytest.raises(_errors.MissingExtraError) as exc:
        ketacost.web.create_app(ketacost.web.WebConfig())
    assert str(exc.value) == "the web calculator needs fastapi: pip install 'ketacost[web]'"
    assert exc.value.extra == "web"


def test_calendar_without_icalendar_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from ketacost.ics import schedule_ics

    request = ketacost.load_request(ROOT / "examples/requests/iv-series-self-pay.yaml")
    monkeypatch.setitem(sys.modules, "icalendar", None)
    with pytest.raises(_errors.MissingExtraError, match=r"pip install 'ketacost\[calendar\]'"):
        schedule_ics(request, ketacost.estimate(request))


def test_no_value_in_force_is_a_ketacost_error_and_still_a_lookup_error() -> None:
    value = ketacost.Dated.of({date(2025, 1, 1): 257})
    with pytest.raises(ketacost.KetacostError, match="no value in force on 2024-12-31"):
        value.at(date(2024, 12, 31))
    with pytest.raises(LookupError):
        value.at(date(2024, 12, 31))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x", "not an amount of money: 'x'"),
        ("4.505", "money has at most 2 decimal places"),
        ("1" * 20, "too large|at most"),
    ],
)
def test_bad_money_text_is_a_money_error_and_a_value_error(text: str, message: str) -> None:
    with pytest.raises(_errors.MoneyError, match=message) as exc:
        ketacost.Money(text)
    assert isinstance(exc.value, ketacost.KetacostError)
    assert isinstance(exc.value, ValueError)


def test_money_from_a_float_stays_a_type_error() -> None:
    # A float is a mistake in code, not in input (py-moneyed): not part of the tree.
    with pytest.raises(TypeError, match="float"):
        ketacost.Money(4.5)  # type: ignore[arg-type]


def test_a_missing_payer_folder_is_a_missing_file_error(tmp_path: Path) -> None:
    for call in (ketacost.resolve_payer_dir, ketacost.load_payers):
        with pytest.raises(_errors.MissingFileError, match="does not exist") as exc:
            call(tmp_path / "nope")
        assert isinstance(exc.value, ketacost.KetacostError)
        assert isinstance(exc.value, FileNotFoundError)


def test_no_payer_folder_anywhere_is_a_missing_file_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(_paths.ENV_VAR, raising=False)
    monkeypatch.setattr(_paths, "_PACKAGE_DIR", tmp_path / "ketacost")
    with pytest.raises(_errors.MissingFileError, match="KETACOST_PAYERS"):
        ketacost.default_payers()


def test_no_default_clinic_is_a_missing_file_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Path, "is_file", lambda self: False)
    with pytest.raises(_errors.MissingFileError, match="--clinic FILE"):
        ketacost.batch.default_clinic_path()


def test_bad_arguments_are_the_librarys_errors() -> None:
    request = ketacost.load_request(ROOT / "examples/requests/iv-series-self-pay.yaml")
    with pytest.raises(_errors.InvalidArgumentError, match="at least one variant") as exc:
        compare(request, [], ketacost.default_payers())
    assert isinstance(exc.value, ValueError)
    with pytest.raises(_errors.InvalidArgumentError, match="at least one date"):
        ketacost.Dated.of({})
    with pytest.raises(_errors.InvalidArgumentError, match="increasing date order"):
        ketacost.Dated.of({date(2026, 1, 1): 1, date(2025, 1, 1): 2})


def test_a_missing_file_is_a_rule_file_error(tmp_path: Path) -> None:
    for load in (ketacost.load_request, ketacost.load_clinic, ketacost.load_payer):
        with pytest.raises(ketacost.RuleFileError, match="cannot read the file"):
            load(tmp_path / "nope.yaml")


def test_variants_refuse_a_bad_payer_id_with_the_librarys_error() -> None:
    from ketacost.compare import VariantError, variants

    with pytest.raises(VariantError) as caught:
        variants(payers=["Bad Payer"])
    assert isinstance(caught.value, ketacost.RequestFileError)
    assert str(caught.value) == (
        "<variants>: payer: must match '^[a-z0-9]+(-[a-z0-9]+)*$' (got 'Bad Payer')"
    )


def test_a_file_the_cli_cannot_write_is_one_line_with_its_path(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ketacost.cli import cli

    target = tmp_path / "no-such-folder" / "gfe.html"
    request = Path(__file__).resolve().parents[1] / "examples/requests/iv-series-self-pay.yaml"
    result = CliRunner().invoke(cli, ["gfe", str(request), "-o", str(target)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {target}: No such file or directory\n"
