"""The package as a packager builds it: sdist, a wheel built from the unpacked sdist, installed.

``pip install ketacost-*.tar.gz`` must work: the sdist holds everything the wheel
force-includes (payers/, examples/clinics/, schemas/), and the installed package finds its
payer files, its example clinic and its JSON Schemas without the source tree.
"""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
import tarfile
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import ketacost
from ketacost import _paths
from ketacost._schema import GENERATED_WITH, SCHEMAS

ROOT = Path(__file__).resolve().parent.parent


def _build(kind: str, source: Path, out: Path) -> Path:
    """Build with hatchling's PEP 517 hooks in ``source`` (no network, no build isolation)."""
    out.mkdir(parents=True, exist_ok=True)
    name = subprocess.run(
        [sys.executable, "-c",
         f"import sys; from hatchling.build import build_{kind}; print(build_{kind}(sys.argv[1]))",
         str(out)],
        cwd=source, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    return out / name


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist, the wheel built from the unpacked sdist, and the wheel built from the tree."""
    tmp = tmp_path_factory.mktemp("dist")
    sdist = _build("sdist", ROOT, tmp / "sdist")
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
    (unpacked,) = (tmp / "unpacked").iterdir()
    return {
        "sdist": sdist,
        "unpacked": unpacked,
        "wheel": _build("wheel", unpacked, tmp / "from-sdist"),
        "tree_wheel": _build("wheel", ROOT, tmp / "from-tree"),
    }


@pytest.mark.slow
def test_sdist_holds_the_sources_a_packager_expects(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for expected in (
        "pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "PKG-INFO",
        "ketacost/__init__.py", "ketacost/py.typed", "payers/self-pay.yaml",
        "examples/clinics/example-clinic.yaml", "schemas/payer.schema.json",
        f"schemas/{GENERATED_WITH}", "tests/test_packaging.py", "tests/conftest.py",
        "ketacost/documents/fonts/LICENSE-OFL-1.1-Nanum.txt",
    ):  # fmt: skip
        assert expected in names, expected
    for name in names:  # no build output, caches or local environments
        assert not name.startswith(("ketacost/_payers", "ketacost/_clinics", ".venv", "artifacts"))
        assert "__pycache__" not in name and not name.endswith(".pyc"), name


@pytest.mark.slow
def test_wheel_from_the_sdist_is_the_wheel_from_the_tree(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as a, zipfile.ZipFile(built["tree_wheel"]) as b:
        from_sdist, from_tree = sorted(a.namelist()), sorted(b.namelist())
        assert from_sdist == from_tree
        for name in from_tree:
            if not name.endswith("/RECORD"):
                assert a.read(name) == b.read(name), name
    assert "ketacost/_clinics/example-clinic.yaml" in from_tree
    assert "ketacost/_payers/self-pay.yaml" in from_tree
    for name in SCHEMAS:
        assert f"ketacost/_schemas/{name}" in from_tree


@pytest.mark.slow
def test_wheel_metadata_names_licence_urls_and_classifiers(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as wheel:
        (meta_name,) = (n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(wheel.read(meta_name))
        licence = wheel.read(meta_name.replace("METADATA", "licenses/LICENSE")).decode()
    assert meta["License-Expression"] == (
        "Apache-2.0 AND OFL-1.1 AND Bitstream-Vera AND LicenseRef-Arev-Fonts"
    )
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert set(meta.get_all("License-File") or []) >= {
        "LICENSE", "ketacost/documents/fonts/LICENSE-OFL-1.1-Nanum.txt",
    }  # fmt: skip
    classifiers = meta.get_all("Classifier") or []
    assert "Typing :: Typed" in classifiers
    assert "Intended Audience :: Healthcare Industry" in classifiers
    # one classifier per Python version from requires-python's floor to the newest tested
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert meta["Requires-Python"] == ">=3.11"
    urls = {u.split(",")[0] for u in meta.get_all("Project-URL") or []}
    assert {"Homepage", "Documentation", "Changelog", "Issues"} <= {u.strip() for u in urls}


def test_dependency_bounds_refuse_the_versions_that_fail() -> None:
    """Versions the code or the tests are known to fail on (the reasons are beside each bound
    in pyproject.toml; .ci/lowest-versions.sh runs the suite at the bounds)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"].values()
    requirements = {}
    for text in [*project["dependencies"], *(r for extra in extras for r in extra)]:
        requirement = Requirement(text)
        requirements[requirement.name.lower()] = requirement.specifier
    too_old = {
        "click": "8.4.0",  # no NoArgsIsHelpError before 8.2; 8.4.0: a blank line more in completion
        "pyyaml": "6.0",  # no cp311 wheel; the sdist fails with Cython 3
        "fpdf2": "2.8.4",  # no PDF/A
        "schemathesis": "4.29.0",  # no schemathesis.checks.positive_data_acceptance
        "holidays": "0.71",  # warns on import
        "pypdfium2": "4.30.1",  # warns on get_text_range()
        "pydantic": "2.13.0",
    }
    for name, version in too_old.items():
        assert not requirements[name].contains(version), (name, version)


@pytest.mark.slow
def test_installed_from_the_sdist_finds_payers_clinic_and_schemas(
    built: dict[str, Path], tmp_path: Path
) -> None:
    """pip install ketacost-*.tar.gz, then a script run away from the source tree."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(built["sdist"])],
        check=True,
    )  # fmt: skip
    script = tmp_path / "use.py"
    script.write_text(
        textwrap.dedent(
            """
            import json
            import pydantic
            import ketacost
            from ketacost._schema import GENERATED_WITH, json_schemas, schema_outline, schema_text

            print(ketacost.__file__)
            lib = ketacost.load_payers()
            assert lib.source == "package", lib.source
            assert "medicare-part-b" in lib and "self-pay" in lib
            clinic = ketacost.load_clinic(
                ketacost.__file__.replace("__init__.py", "_clinics/example-clinic.yaml")
            )
            print(clinic.name)
            generated_with = (
                ketacost.schema_path("payer").parent / GENERATED_WITH
            ).read_text().split()[1]
            for name, schema in json_schemas().items():
                path = ketacost.schema_path(name)
                text = path.read_text(encoding="utf-8")
                if generated_with == pydantic.VERSION:
                    assert text == schema_text(schema), path
                else:
                    assert schema_outline(json.loads(text)) == schema_outline(schema), path
                print(path.relative_to(path.parent.parent.parent))
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != _paths.ENV_VAR}
    env["PYTHONPATH"] = str(target)
    out = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, check=True, capture_output=True,
        text=True,
    ).stdout.splitlines()  # fmt: skip
    assert out[0] == str(target / "ketacost" / "__init__.py")
    assert out[1] == ketacost.load_clinic(ROOT / "examples/clinics/example-clinic.yaml").name
    assert out[2:] == [f"ketacost/_schemas/{name}" for name in SCHEMAS]


@pytest.mark.slow
def test_shipped_schemas_are_the_checked_in_ones(built: dict[str, Path]) -> None:
    """The wheel's copies are schemas/ byte for byte (test_api checks schemas/ is current)."""
    with zipfile.ZipFile(built["wheel"]) as wheel:
        for name in [*SCHEMAS, GENERATED_WITH]:
            shipped = wheel.read(f"ketacost/_schemas/{name}")
            assert shipped == (ROOT / "schemas" / name).read_bytes(), name
            if name != GENERATED_WITH:
                assert json.loads(shipped)["$id"].endswith(name)


# -- ketacost.schema_path (fast) ------------------------------------------------------------
@pytest.mark.parametrize("name", ["payer", "payer.schema.json"])
def test_schema_path_in_a_checkout_is_the_source_trees(name: str) -> None:
    if (ROOT / "ketacost" / "_schemas").exists():  # pragma: no cover - a stray build copy
        pytest.skip("a packaged copy exists in the source tree")
    assert ketacost.schema_path(name) == ROOT / "schemas" / "payer.schema.json"


def test_schema_path_prefers_the_packaged_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "site" / "ketacost"
    (package / "_schemas").mkdir(parents=True)
    (package / "_schemas" / "clinic.schema.json").write_text("{}")
    monkeypatch.setattr(_paths, "_PACKAGE_DIR", package)
    assert ketacost.schema_path("clinic") == package / "_schemas" / "clinic.schema.json"


@pytest.mark.parametrize("name", ["nope", "../schemas/payer", "GENERATED_WITH"])
def test_unknown_schema_names_the_ones_there_are(name: str) -> None:
    with pytest.raises(FileNotFoundError) as err:
        ketacost.schema_path(name)
    assert str(err.value) == (
        f"no JSON Schema named {name!r}; there are: clinic, estimate, payer, request"
    )


def test_no_schema_folder_says_how_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_paths, "_PACKAGE_DIR", tmp_path / "ketacost")
    with pytest.raises(FileNotFoundError, match="reinstall ketacost"):
        ketacost.schema_path("payer")
