"""Public API, payer-folder resolution, schemas and the installed package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pydantic
import pytest

import ketacost
from ketacost import _paths, documents, web
from ketacost.__main__ import main
from ketacost._schema import GENERATED_WITH, json_schemas, schema_outline, schema_text

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = ROOT / "examples" / "requests"


def test_public_api_is_small_sorted_and_pinned() -> None:
    expected = [
        "Accumulators", "Address", "AmountRange", "AssistanceYear", "Clinic", "ClinicFileError",
        "CostRange", "Coverage", "CoveragePeriod", "Dated", "DoseChoice", "EligibilityError",
        "Estimate", "EstimateError",
        "EstimateLine", "EstimateRange", "EstimateRequest", "FileIssue", "KetacostError",
        "Money", "OrderOfBenefits", "Package", "Patient", "Payer", "PayerFileError", "PayerLibrary", "Phase",
        "Plan", "PlanYearSummary", "Provider", "RangeDriver", "RequestFileError", "RuleFileError",
        "SavingsProgram", "ScheduledVisit", "SessionTemplate", "SessionsRange",
        "StartingAccumulators", "TemplateLine", "Totals", "UnknownPayerError", "Unknowns",
        "VisitEstimate", "__version__", "adjudicate", "check_payers", "clinic_from_data",
        "default_payers", "estimate", "expand", "good_faith_range", "load_clinic", "load_payer",
        "load_payers",
        "load_program", "load_request", "order_of_benefits", "payer_from_data", "program_from_data",
        "request_from_data", "resolve_payer_dir", "rules_hash", "schema_path", "stale_payers",
    ]  # fmt: skip
    assert ketacost.__all__ == expected
    assert ketacost.__all__ == sorted(ketacost.__all__)
    for name in ketacost.__all__:
        assert hasattr(ketacost, name), name


def test_documents_api_is_sorted_and_pinned() -> None:
    expected = [
        "BilledLine", "CostRange", "Diagnosis", "Disclaimer", "DisputeFinding", "DocumentError",
        "FinalBill", "GfeChange", "GfeItem", "GfePatient", "GfeProviderEstimate", "GfeReissue",
        "GfeTiming", "GoodFaithEstimate", "MissingExtraError", "NotIncludedItem", "Party",
        "RecurringService", "ReplacedGfe", "SeparatelyScheduledItem", "Superbill",
        "SuperbillLine", "SuperbillPatient", "build_gfe", "build_superbill",
        "compare_bill_to_gfe", "gfe_fhir_bundle", "gfe_timing", "reissue_gfe", "render_gfe_fhir",
        "render_gfe_html", "render_gfe_pdf", "render_superbill_csv", "render_superbill_html",
        "render_superbill_pdf", "timing_sentence", "validate_gfe_fhir",
    ]  # fmt: skip
    assert documents.__all__ == expected
    assert documents.__all__ == sorted(documents.__all__)
    for name in documents.__all__:
        assert hasattr(documents, name), name


def test_web_api_is_sorted_and_pinned() -> None:
    expected = [
        "Calculator", "CalculatorInput", "EstimateResponse", "Limits", "ListenError",
        "ServerSettings", "Summary", "Treatment", "WebConfig", "WebConfigError", "WorkerError",
        "app_from_env", "create_app", "load_web_config", "serve", "summarize",
    ]  # fmt: skip
    assert web.__all__ == expected
    assert web.__all__ == sorted(web.__all__)
    for name in web.__all__:
        assert hasattr(web, name), name


def test_error_tree_leaves_are_builtins_too() -> None:
    for cls in (ketacost.PayerFileError, ketacost.ClinicFileError, ketacost.RequestFileError):
        assert issubclass(cls, ketacost.RuleFileError)
        assert issubclass(cls, ketacost.KetacostError)
        assert issubclass(cls, ValueError)
    assert issubclass(ketacost.UnknownPayerError, LookupError)
    assert issubclass(ketacost.EstimateError, ValueError)


# -- payer folder resolution, in the documented order -------------------------------------
def _payer_copy(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "self-pay.yaml").write_text((ROOT / "payers" / "self-pay.yaml").read_text())
    return folder


def test_explicit_argument_wins_over_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    arg, env = _payer_copy(tmp_path, "arg"), _payer_copy(tmp_path, "env")
    monkeypatch.setenv(_paths.ENV_VAR, str(env))
    assert ketacost.resolve_payer_dir(arg) == (arg, "argument")
    library = ketacost.load_payers(arg)
    assert library.directory == arg and library.source == "argument"
    assert list(library) == ["self-pay"]


def test_environment_variable_wins_over_installed_copies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _payer_copy(tmp_path, "env")
    monkeypatch.setenv(_paths.ENV_VAR, str(env))
    assert ketacost.resolve_payer_dir() == (env, "environment")


def test_missing_explicit_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ketacost.resolve_payer_dir(tmp_path / "nope")


def test_packaged_copy_wins_over_source_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / "ketacost"
    (package / "_payers").mkdir(parents=True)
    monkeypatch.delenv(_paths.ENV_VAR, raising=False)
    monkeypatch.setattr(_paths, "_PACKAGE_DIR", package)
    assert ketacost.resolve_payer_dir() == (package / "_payers", "package")


def test_source_tree_is_found_for_an_editable_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(_paths.ENV_VAR, raising=False)
    monkeypatch.setattr(_paths, "_PACKAGE_DIR", ROOT / "ketacost")
    if (ROOT / "ketacost" / "_payers").exists():  # pragma: no cover - a stray build copy
        pytest.skip("a packaged copy exists in the source tree")
    assert ketacost.resolve_payer_dir() == (ROOT / "payers", "source-tree")


def test_no_folder_anywhere_says_how_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(_paths.ENV_VAR, raising=False)
    monkeypatch.setattr(_paths, "_PACKAGE_DIR", tmp_path / "ketacost")
    with pytest.raises(FileNotFoundError, match="KETACOST_PAYERS"):
        ketacost.resolve_payer_dir()


@pytest.mark.slow
def test_non_editable_install_from_outside_the_repository(tmp_path: Path) -> None:
    """pip install . (a real wheel build), then a script run elsewhere loads a bundled payer."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(ROOT)],
        check=True,
    )  # fmt: skip
    script = tmp_path / "use.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import ketacost
            lib = ketacost.load_payers()
            assert lib.source == "package", lib.source
            assert "medicare-part-b" in lib and "self-pay" in lib
            assert "medicare-psychiatry" in lib.edits, lib.edits  # payers/edits/ ships too
            clinic = ketacost.load_clinic({str(ROOT / "examples/clinics/example-clinic.yaml")!r})
            request = ketacost.request_from_data({{
                "patient": {{"age": 50, "diagnoses": ["F33.2"]}},
                "coverage": {{"payer": "medicare-part-b"}},
                "clinic": clinic,
                "plan": {{"start": "2026-02-02", "phases": [
                    {{"session": "esketamine-56", "sessions": 2, "every_weeks": 1}}]}},
            }})
            est = ketacost.estimate(request)
            print(ketacost.__file__)
            print(est.totals.patient, est.totals.payer)
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != _paths.ENV_VAR}
    env["PYTHONPATH"] = str(target)
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, check=True, capture_output=True,
        text=True,
    ).stdout.split("\n")  # fmt: skip
    assert out[0].startswith(str(target))
    # G2082 952.59 × 2 = 1,905.18; deductible 283.00, then 20% per line: 20% × 669.59 =
    # 133.918 → 133.92; 20% × 952.59 = 190.518 → 190.52 → patient 283.00 + 324.44 = 607.44.
    # Medicare 952.59 − 416.92 = 535.67 and 952.59 − 190.52 = 762.07, each less the 2%
    # sequestration (10.7134 → 10.71; 15.2414 → 15.24): 524.96 + 746.83 = 1,271.79.
    assert out[1] == "607.44 1271.79"


# -- schemas -------------------------------------------------------------------------------
def test_checked_in_schemas_are_current() -> None:
    """Byte for byte under the pydantic release that generated them; under another release,
    every definition, property and required field must still match."""
    generated_with = (ROOT / "schemas" / GENERATED_WITH).read_text().split()[1]
    for name, schema in json_schemas().items():
        path = ROOT / "schemas" / name
        stale = f"{path} is stale: run `python -m ketacost schemas schemas`"
        text = path.read_text(encoding="utf-8")
        if generated_with == pydantic.VERSION:
            assert text == schema_text(schema), stale
        else:
            assert schema_outline(json.loads(text)) == schema_outline(schema), stale


def test_money_in_schemas_is_a_string_with_a_pattern() -> None:
    estimate = json_schemas()["estimate.schema.json"]
    totals = estimate["$defs"]["Totals"]["properties"]["patient"]
    assert totals["type"] == "string"
    assert totals["pattern"] == r"^-?[0-9]+\.[0-9]{2}$"


# -- python -m ketacost ---------------------------------------------------------------------
def test_module_entry_prints_a_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # rich wraps cells to the width it finds
    assert main(["estimate", str(REQUESTS / "esketamine-commercial.yaml")]) == 0
    out = capsys.readouterr().out
    assert "Estimate: Example Commercial PPO (in network)" in out
    assert "All plan years" in out and "$6,000.00" in out


def test_module_entry_json_round_trips(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["estimate", str(REQUESTS / "iv-series-self-pay.yaml"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert ketacost.Estimate.model_validate(data).totals.patient == ketacost.Money("7600.00")


def test_module_entry_user_error_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("patient: {age: 40}\ncoverage: {payer: self-pay}\nclinic: nowhere.yaml\n")
    assert main(["estimate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"{bad}:3:9: clinic: clinic file 'nowhere.yaml' not found" in err
