"""The batch on a Dask cluster: two worker processes on 127.0.0.1, the single-machine rows.

One ``LocalCluster`` per test module (per xdist worker that runs these tests), always closed.
Dask is imported, never skipped: the test extra brings it, and .ci/run must run these.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import textwrap
import threading
import time
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
    # An error cell names the file and the row, counted from 1 (as a CSV's names its line).
    assert got.column("error").to_pylist() == [
        f"{source} row {n}: {r['error']}" if r["error"] else "" for n, r in enumerate(expected, 1)
    ]
    assert got.column("patient").to_pylist() == [
        Decimal(r["patient"]) if r["patient"] else None for r in expected
    ]
    assert len(set(got.column("rules_hash").to_pylist())) == 1


def test_the_documented_recipe_runs_as_written(
    scheduler: str, rows_csv: Path, tmp_path: Path
) -> None:
    """The recipe in ketacost.batch's docstring, its text run: read_parquet, map_partitions,
    to_parquet (an object meta alone has no Arrow type: the recipe gives the schema)."""
    doc = ketacost.batch.__doc__ or ""
    start = doc.index("    import dask.dataframe as dd")
    lines = []
    for line in doc[start:].splitlines():
        if line and not line.startswith("    "):
            break
        lines.append(line)
    recipe = textwrap.dedent("\n".join(lines))
    assert "estimates.to_parquet(" in recipe
    folder = tmp_path / "patients"
    folder.mkdir()
    rows = [
        {k: v for k, v in r.items() if k != "__line__"} for r in parse_rows(rows_csv.read_text())
    ]
    pq.write_table(pa.Table.from_pylist(rows), folder / "part.0.parquet", row_group_size=40)
    for shared, here in [
        ("tcp://scheduler:8786", scheduler),
        ("/shared/patients/", f"{folder}/"),
        ("/shared/clinic.yaml", str(CLINIC_FILE)),
        ("/shared/payers", str(PAYERS_DIR)),
        ("/shared/estimates/", f"{tmp_path / 'estimates'}/"),
    ]:
        assert shared in recipe
        recipe = recipe.replace(shared, here)
    namespace: dict[str, Any] = {}
    try:
        exec(compile(recipe, "<ketacost.batch recipe>", "exec"), namespace)
    finally:
        if "client" in namespace:
            namespace["client"].close()
    got = pq.read_table(tmp_path / "estimates").to_pylist()
    expected = run_batch(rows, clinic=CLINIC, payers=PAYERS, jobs=1)
    assert [{c: r[c] for c in OUTPUT_COLUMNS} for r in got] == expected


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
    assert (
        "cannot reach the Dask scheduler at tcp://127.0.0.1:9: Connection refused" in result.stderr
    )
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


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, list[socket.socket]]]:
    """A TCP listener on 127.0.0.1 (a free port); the connections it accepted."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted: list[socket.socket] = []
    try:
        yield server, accepted
    finally:
        server.close()
        for c in accepted:
            c.close()


def _serve(server: socket.socket, accepted: list[socket.socket], answer: bytes) -> None:
    """Accept connections; answer each with ``answer`` (nothing: a silent listener)."""

    def run() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)
            if answer:
                conn.sendall(answer)

    threading.Thread(target=run, daemon=True).start()


def _command(rows_csv: Path, out: Path, scheduler: str) -> subprocess.CompletedProcess[str]:
    """The batch command in its own process: what a person sees on stderr, __del__ and all."""
    args = [str(rows_csv), str(out), "--engine", "dask", "--scheduler", scheduler]
    return subprocess.run(
        [sys.executable, "-m", "ketacost", "batch", *args, "--timeout", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (b"", "no answer within 2 s"),  # a silent listener: Dask's client waited > 40 s
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "not a Dask scheduler"),  # was a MemoryError
    ],
)
def test_a_listener_that_is_not_a_scheduler_is_one_line_within_the_timeout(
    listener: tuple[socket.socket, list[socket.socket]],
    rows_csv: Path,
    tmp_path: Path,
    answer: bytes,
    why: str,
) -> None:
    server, accepted = listener
    _serve(server, accepted, answer)
    address = f"tcp://127.0.0.1:{server.getsockname()[1]}"
    began = time.monotonic()
    done = _command(rows_csv, tmp_path / "out.csv", address)
    assert time.monotonic() - began < 30
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: cannot reach the Dask scheduler at {address}: {why}"
    ]
    assert not (tmp_path / "out.csv").exists()


def test_a_refused_connection_prints_no_traceback(rows_csv: Path, tmp_path: Path) -> None:
    """The failed client's __del__ ("Exception ignored in: Client.__del__") printed one."""
    done = _command(rows_csv, tmp_path / "out.csv", "tcp://127.0.0.1:9")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert done.stderr.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:9: ")
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_scheduler_without_workers_is_one_error_within_the_timeout(
    rows_csv: Path, tmp_path: Path
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=0, host="127.0.0.1", dashboard_address="127.0.0.1:0"
        )
    try:
        began = time.monotonic()
        result = CliRunner().invoke(
            cli,
            [
                *("batch", str(rows_csv), str(tmp_path / "out.csv"), "--engine", "dask"),
                *("--scheduler", str(cluster.scheduler_address), "--timeout", "1"),
            ],
        )
        assert time.monotonic() - began < 20
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster.close()
    assert result.exit_code == 2, result.output
    assert "no worker within 1 s" in result.stderr


class _Future:
    def __init__(self, value: Any, live: list[int]) -> None:
        self.value, self.live = value, live
        live[0] += 1
        live[1] = max(live[1], live[0])

    def result(self) -> Any:
        return self.value

    def release(self) -> None:
        self.live[0] -= 1


class _Client:
    """A client that runs each task here at once, counting the futures alive at a time."""

    def __init__(self) -> None:
        self.live = [0, 0]  # alive now, most alive at once

    def submit(self, fn: Any, *args: Any, pure: bool = True) -> _Future:
        return _Future(fn(*args), self.live)

    def scheduler_info(self) -> dict[str, Any]:
        return {"workers": {"a": {}, "b": {}}}

    def cancel(self, futures: Any) -> None:
        pass


def test_a_csv_is_sent_a_partition_at_a_time_with_few_in_flight(
    rows_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, local_csv: bytes
) -> None:
    """The CSV was read whole into the client (500,000 rows: 1.7 GiB); now 2 per worker."""
    from ketacost import _dask

    client = _Client()

    @contextlib.contextmanager
    def connect(*_: Any) -> Iterator[_Client]:
        yield client

    monkeypatch.setattr(_dask, "connect", connect)
    out = tmp_path / "out.csv"
    written, errors = _dask.run_dask(
        str(rows_csv),
        str(out),
        scheduler="tcp://127.0.0.1:9",
        output="csv",
        clinic=CLINIC_FILE,
        payers=PAYERS_DIR,
        partition_rows=7,  # 18 partitions
    )
    assert (written, errors) == (120, 34)
    assert client.live == [0, 4]  # 2 workers, 2 partitions each in flight at most
    assert out.read_bytes() == local_csv


def test_a_worker_with_other_rules_stops_the_run(
    scheduler: str, rows_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """This machine at another ketacost version than the workers: exit 1, output unchanged."""
    from ketacost import _frames, _version

    monkeypatch.setattr(_version, "__version__", "0.0.0-other")
    monkeypatch.setattr(_frames, "_HASHED", {})
    out = tmp_path / "out.csv"
    result = dask_batch(str(rows_csv), str(out), scheduler=scheduler)
    assert result.exit_code == 1, result.output
    assert "was estimated with rules hash" in result.stderr
    assert "another ketacost version or other rule files" in result.stderr
    assert not out.exists()


def test_a_float_parquet_column_is_one_error_naming_it(tmp_path: Path) -> None:
    source = tmp_path / "in.parquet"
    table = pa.table(
        {"row_id": ["a", "b"], "payer": ["self-pay"] * 2, "start": ["2026-03-02"] * 2}
    ).append_column("deductible_met", pa.array([100.5, None], pa.float64()))
    pq.write_table(table, source)
    result = dask_batch(str(source), str(tmp_path / "out.csv"), scheduler="tcp://127.0.0.1:9")
    assert result.exit_code == 2, result.output
    assert "column 'deductible_met' is double[pyarrow] (float)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_parquet_folder_without_a_suffix_is_parquet(tmp_path: Path) -> None:
    folder = tmp_path / "patients"
    folder.mkdir()
    pq.write_table(pa.table({"row_id": ["a"], "start": ["2026-03-02"]}), folder / "p.parquet")
    # Read as Parquet (not "Is a directory"): its missing column is the error.
    result = dask_batch(str(folder), str(tmp_path / "out.csv"), scheduler="tcp://127.0.0.1:9")
    assert result.exit_code == 2, result.output
    assert "missing column 'payer'" in result.stderr


def test_jobs_is_refused_with_the_dask_engine(rows_csv: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            *("batch", str(rows_csv), str(tmp_path / "o.csv"), "--engine", "dask"),
            *("--scheduler", "tcp://127.0.0.1:9", "--jobs", "2"),
        ],
    )
    assert result.exit_code == 2
    assert "--jobs goes with --engine local" in result.output
