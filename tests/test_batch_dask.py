"""The batch on a Dask cluster: two worker processes on 127.0.0.1, the single-machine rows.

One ``LocalCluster`` per test module (per xdist worker that runs these tests), always closed.
Dask is imported, never skipped: the test extra brings it, and .ci/run must run these.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import distributed
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import ketacost
from ketacost.batch import (
    FRAME_COLUMNS,
    OUTPUT_COLUMNS,
    estimate_frame,
    frame_meta,
    parse_rows,
    run_batch,
    run_batch_csv,
)
from ketacost.cli import cli

ROOT = Path(__file__).resolve().parent.parent
CLINIC_FILE = ROOT / "examples" / "clinics" / "example-clinic.yaml"
PAYERS_DIR = ROOT / "payers"
CLINIC = ketacost.load_clinic(CLINIC_FILE)
PAYERS = ketacost.load_payers(PAYERS_DIR)

KINDS = (
    "commercial-ppo,approved,50,F33.2,2,esketamine-year,,,2026-{m:02d}-05,",
    "commercial-ppo,approved,50,F33.2,2,esketamine-year,,,2026-{m:02d}-05,500.00",
    "medicare-part-b,,71,F33.2,2,esketamine-induction,,,2026-{m:02d}-05,",
    "self-pay,,38,F33.2,3,iv-induction,,,2026-{m:02d}-05,",
    "self-pay,,forty,F33.2,3,iv-induction,,,2026-{m:02d}-05,",  # an error row
    "medicare-part-b,,71,F33.2,2,no-such-plan,,,2026-{m:02d}-05,",  # an error row
    'self-pay,,38,"F33.2; F32.9",3,,iv-infusion,1,2026-{m:02d}-05,',
)
HEADER = "row_id,payer,prior_authorization,age,diagnoses,failed_trials,plan,session,sessions,start,deductible_met"


def batch_csv(n: int) -> str:
    """``n`` rows of seven kinds, with comment lines (their lines shift the error cells')."""
    lines = ["# patients, generated", HEADER]
    for i in range(n):
        if i % 10 == 3:
            lines.append("# a comment between rows")
        lines.append(f"r{i}," + KINDS[i % len(KINDS)].format(m=1 + i % 12))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A two-worker cluster of processes on 127.0.0.1; its scheduler's address."""
    with warnings.catch_warnings():
        # Starting a cluster may warn about the machine (ports, memory): not the tests' subject.
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            processes=True,
            dashboard_address="127.0.0.1:0",  # on loopback, a free port: never a fixed 8787
        )
    try:
        yield str(cluster.scheduler_address)
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster.close()


@pytest.fixture(scope="module")
def rows_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dask") / "patients.csv"
    path.write_text(batch_csv(120))
    return path


@pytest.fixture(scope="module")
def local_csv(rows_csv: Path) -> bytes:
    """The single-machine batch's output of ``rows_csv`` (2 processes)."""
    out = rows_csv.with_name("local.csv")
    run_batch_csv(rows_csv, out, clinic=CLINIC, payers=PAYERS, jobs=2, chunk_size=25)
    return out.read_bytes()


def dask_batch(*args: str, scheduler: str) -> Any:
    return CliRunner().invoke(
        cli,
        [
            "batch",
            *args,
            "--engine",
            "dask",
            "--scheduler",
            scheduler,
            "--clinic",
            str(CLINIC_FILE),
            "--payers",
            str(PAYERS_DIR),
        ],
    )


def test_a_csv_on_the_cluster_is_the_single_machine_batch_byte_for_byte(
    scheduler: str, rows_csv: Path, local_csv: bytes, tmp_path: Path
) -> None:
    out = tmp_path / "dask.csv"
    # 120 rows in partitions of 17: 8 partitions over 2 workers, written in input order.
    result = dask_batch(str(rows_csv), str(out), "--partition-rows", "17", scheduler=scheduler)
    assert result.exit_code == 1, result.output  # the error rows
    assert "34 of 120 rows failed" in result.stderr  # kinds 5 and 6: 2 of every 7 rows
    assert out.read_bytes() == local_csv
    assert b"line 8: age: must be a whole number (got 'forty')" in local_csv


def test_parquet_in_and_out_on_the_cluster(scheduler: str, rows_csv: Path, tmp_path: Path) -> None:
    rows = [
        {k: v for k, v in r.items() if k != "__line__"} for r in parse_rows(rows_csv.read_text())
    ]
    source = tmp_path / "patients.parquet"
    # Several row groups, so the workers read more than one piece; ages as integers.
    table = pa.Table.from_pylist(rows)
    ages = [int(a) if a and a.isdigit() else None for a in table.column("age").to_pylist()]
    table = table.set_column(table.schema.get_field_index("age"), "age", pa.array(ages))
    pq.write_table(table, source, row_group_size=30)
    out = tmp_path / "estimates.parquet"
    result = dask_batch(str(source), str(out), scheduler=scheduler)
    assert result.exit_code == 1, result.output
    got = pq.read_table(out)
    assert got.schema.field("patient").type == pa.decimal128(12, 2)
    for r in rows:  # 'forty' as an integer column is a gap
        r["age"] = r["age"] if r["age"] and r["age"].isdigit() else ""
    expected = run_batch(rows, clinic=CLINIC, payers=PAYERS, jobs=1)
    assert got.column("row_id").to_pylist() == [r["row_id"] for r in expected]
    assert got.column("error").to_pylist() == [r["error"] for r in expected]
    assert got.column("patient").to_pylist() == [
        Decimal(r["patient"]) if r["patient"] else None for r in expected
    ]
    assert len(set(got.column("rules_hash").to_pylist())) == 1


def test_the_python_recipe_map_partitions_with_meta(scheduler: str, rows_csv: Path) -> None:
    rows = parse_rows(rows_csv.read_text())
    frame = pd.DataFrame(rows, dtype=object)
    with distributed.Client(scheduler, set_as_default=False) as client:
        estimates = dd.from_pandas(frame, npartitions=5, sort=False).map_partitions(
            estimate_frame, clinic=str(CLINIC_FILE), payers=str(PAYERS_DIR), meta=frame_meta()
        )
        got = client.compute(estimates).result()
    single = estimate_frame(frame, clinic=CLINIC, payers=PAYERS)
    assert tuple(got.columns) == FRAME_COLUMNS
    assert got.to_dict("records") == single.to_dict("records")
    expected = run_batch(rows, clinic=CLINIC, payers=PAYERS, jobs=1)
    assert [{c: r[c] for c in OUTPUT_COLUMNS} for r in got.to_dict("records")] == expected


def test_json_lines_to_standard_output_from_the_cluster(
    scheduler: str, rows_csv: Path, tmp_path: Path
) -> None:
    local = CliRunner().invoke(cli, ["batch", str(rows_csv), "-", "--format", "jsonl", "-q"])
    result = dask_batch(str(rows_csv), "-", "--format", "jsonl", scheduler=scheduler)
    assert result.exit_code == local.exit_code == 1
    assert result.stdout == local.stdout and result.stdout.count("\n") == 120


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("in.csv", "row_id,start\nr1,2026-01-05\n", "missing column 'payer'"),
        ("in.parquet", "not parquet", "cannot read the Parquet input"),
        ("gone.parquet", None, "cannot read the Parquet input"),
    ],
)
def test_bad_input_is_one_error_before_the_cluster(
    tmp_path: Path, name: str, content: str | None, message: str
) -> None:
    source = tmp_path / name
    if content is not None:
        source.write_text(content)
    # The scheduler named is never reached: the input is refused first.
    result = dask_batch(str(source), str(tmp_path / "out.csv"), scheduler="tcp://127.0.0.1:9")
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out.csv").exists()


def test_an_unreachable_scheduler_is_one_error(rows_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        cli,
        [
            "batch",
            str(rows_csv),
            str(out),
            "--engine",
            "dask",
            "--scheduler",
            "tcp://127.0.0.1:9",
            "--timeout",
            "1",
        ],
    )
    assert result.exit_code == 2, result.output
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9 within 1 s" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_without_dask_the_error_names_the_extra(
    rows_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)  # import dask.dataframe fails
    result = dask_batch(str(rows_csv), str(tmp_path / "out.csv"), scheduler="tcp://127.0.0.1:9")
    assert result.exit_code == 2, result.output
    assert "pip install 'ketacost[dask]'" in result.stderr
    assert "Traceback" not in result.output
