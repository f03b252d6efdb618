"""Load benchmark of the calculator's API: ``POST /v1/estimate`` with a covered esketamine year.

Starts ``ketacost.web.serve`` (``ketacost serve``: uvicorn) on 127.0.0.1 in a subprocess, once
with one process and once with ``--workers 2`` (one per core of this machine class), drives
each with a few concurrent keep-alive clients for a fixed time, and prints requests per
second, p50/p99 latency and the server's CPU time per request (user + system of the server
and every process under it, read from ``/proc/<pid>/stat`` around the timed window; not
printed where there is no ``/proc``). A measurement: it never fails on time. It stops if the
answer has no covered line, since then it would measure a cheaper estimate than the one it
names. With workers, how the clients' keep-alive connections fall on the workers decides how
evenly they are loaded: the workers share new connections (a worker holding more than
another waits before taking one), but a busy worker can miss its turn (4 over 2: mostly
2/2, sometimes 3/1). The ``--seconds`` are split into ``--rounds`` on new connections, and each
round's split is printed with the figures over all rounds.

    python benchmarks/bench_web.py [--seconds 10] [--clients 4] [--workers 1,2] [--rounds 4]
                                   [--access-log text|json|off] [--detail full,summary]

The body is the calculator's answers for esketamine (evaluation, 8 induction sessions, 4
optimisation sessions, 20 maintenance sessions: 33 visits) on the example commercial PPO,
in network, prior authorization approved. Each server is driven with each answer form in
turn (``--seconds`` each): the full answer (every line, its explanation, about 210 KB) and
``?detail=summary`` (the same estimate, every visit adjudicated, answered without its lines
and their explanations, about 8 KB; issue 10 offers it for the calculator's page). The
clients run in this process, on the same 2 cores as the server: their CPU is not the
server's, but it competes with it. Target (issue 10) on a 2-core machine: at least 300
requests/s with p99 under 50 ms (each form's figures say whether it was met). With
several workers the metrics are summed over them through a folder ``ketacost serve`` makes
(``PROMETHEUS_MULTIPROC_DIR``), as a deployment with several workers would count them.

Every request is counted in the Prometheus metrics and, unless ``--access-log off``, written
to the access log (``text`` by default, as ``ketacost serve``; the lines go to /dev/null).
Running with each form measures what the log costs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: One year of esketamine (33 visits) on the example PPO, approved: every line covered.
BODY = json.dumps(
    {
        "treatment": "esketamine",
        "insurance": "commercial-ppo",
        "network": "in",
        "prior_authorization": "approved",
        "age": 45,
        "failed_trials": 2,
        "start": "2026-01-05",
    }
).encode()


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process, from /proc (None where there is no /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces: split after it
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def _tree_cpu_seconds(pid: int) -> float | None:
    """CPU time of a process and of every process under it (the workers), from /proc."""
    own = _cpu_seconds(pid)
    if own is None:
        return None
    return own + sum(_cpu_seconds(child) or 0.0 for child in _descendants(pid))


def _check_covered(port: int) -> tuple[int, int, int]:
    """(visits, lines, covered lines) of one answer; stops when no line is covered."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/v1/estimate", body=BODY, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    answer = json.loads(response.read())
    conn.close()
    if response.status != 200:
        raise SystemExit(f"POST /v1/estimate answered {response.status}: {answer}")
    visits = answer["estimate"]["visits"]
    lines = [line for visit in visits for line in visit["lines"]]
    covered = sum(1 for line in lines if line["covered"])
    if not covered:
        raise SystemExit("the benchmark's estimate has no covered line")
    return len(visits), len(lines), covered


def _bookkeeping_us(form: str, n: int = 20_000) -> float:
    """Microseconds one request's metrics and access-log line cost, in this process.

    What the server adds to each request to count it (``/metrics``) and log it (``form``,
    written to /dev/null): the end-to-end figures above are too noisy to show it.
    """
    import logging

    from ketacost.web._ops import Metrics, access, configure_access_log

    metrics = Metrics()
    with open(os.devnull, "w") as sink:
        configure_access_log(form, sink)  # type: ignore[arg-type]
        began = time.perf_counter()
        for _ in range(n):
            metrics.record("/v1/estimate", "POST", 200, 0.01)
            if access.isEnabledFor(logging.INFO):
                fields = {"method": "POST", "route": "/v1/estimate", "status": 200,
                          "duration_ms": 10.0}  # fmt: skip
                access.info("%s %s %d %.1f ms", "POST", "/v1/estimate", 200, 10.0, extra=fields)
        elapsed = time.perf_counter() - began
        configure_access_log("off")
    return elapsed / n * 1e6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(port: int, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/v1/payers")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not answer within 30 s")


def _client(
    port: int,
    path: str,
    stop_at: float,
    latencies: list[float],
    errors: list[int],
    ports: list[int] | None = None,
) -> None:
    """One keep-alive connection posting the body until ``stop_at``; its port into ``ports``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    while time.perf_counter() < stop_at:
        began = time.perf_counter()
        conn.request("POST", path, body=BODY, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - began)
        if response.status != 200:
            errors.append(response.status)
        if ports is not None and conn.sock is not None:
            ports.append(conn.sock.getsockname()[1])
            ports = None  # once a connection
    conn.close()


def _connections_by_process(pids: list[int], client_ports: list[int]) -> list[int]:
    """How many of the clients' connections each process of the server holds (from /proc).

    With several workers each new connection goes to one of them: how the 4
    keep-alive connections fall decides how evenly the workers are loaded.
    """
    inodes = {}
    try:
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port in client_ports:  # the server's end of a client's connection
                inodes[f"socket:[{fields[9]}]"] = remote_port
        held = []
        for pid in pids:
            count = 0
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    count += os.readlink(fd) in inodes
                except OSError:
                    continue
            if count:
                held.append(count)
        return sorted(held, reverse=True)
    except OSError:
        return []


def _descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(stat.parent.name))
    found, todo = [], list(parents.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo += parents.get(child, [])
    return found


def _answer_bytes(port: int, path: str) -> int:
    """The length of one answer's body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", path, body=BODY, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    answer = response.read()
    conn.close()
    if response.status != 200:
        raise SystemExit(f"POST {path} answered {response.status}: {answer[:300]!r}")
    return len(answer)


def _measure(args: argparse.Namespace, workers: int) -> None:
    """Serve with ``workers`` processes, drive it with each answer form, print its figures."""
    port = _free_port()
    code = (
        "from ketacost.web import serve; "
        f"serve(None, host='127.0.0.1', port={port}, access_log={args.access_log!r}, "
        f"workers={workers})"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_ready(port, server)
        visits, lines, covered = _check_covered(port)
        for detail in args.detail.split(","):
            _drive(args, server, port, workers, detail, (visits, lines, covered))
    finally:
        server.terminate()
        server.wait(20)


def _drive(
    args: argparse.Namespace,
    server: subprocess.Popen[bytes],
    port: int,
    workers: int,
    detail: str,
    counts: tuple[int, int, int],
) -> None:
    """Drive a running server with one answer form (``?detail=``) and print its figures."""
    load = os.getloadavg()[0]
    path = "/v1/estimate" if detail == "full" else f"/v1/estimate?detail={detail}"
    size = _answer_bytes(port, path)
    # warm caches (with several workers, each: the clients' connections spread over them)
    warm = [
        threading.Thread(
            target=_client, args=(port, path, time.perf_counter() + args.warmup, [], [])
        )
        for _ in range(args.clients)
    ]
    for t in warm:
        t.start()
    for t in warm:
        t.join()
    cpu_before = _tree_cpu_seconds(server.pid)
    latencies: list[list[float]] = [[] for _ in range(args.clients)]
    errors: list[int] = []
    splits: list[str] = []
    elapsed = 0.0
    # With several workers, how the clients' keep-alive connections fall on them varies:
    # a few rounds, each on new connections, each split shown.
    rounds = 1 if workers == 1 else args.rounds
    processes = [server.pid, *_descendants(server.pid)]  # read once: /proc is slow
    for _ in range(rounds):
        stop_at = time.perf_counter() + args.seconds / rounds
        began = time.perf_counter()
        ports: list[int] = []
        threads = [
            threading.Thread(
                target=_client, args=(port, path, stop_at, latencies[i], errors, ports)
            )
            for i in range(args.clients)
        ]
        for t in threads:
            t.start()
        time.sleep(min(0.5, args.seconds / rounds / 4))
        splits.append(" / ".join(map(str, _connections_by_process(processes, ports))))
        for t in threads:
            t.join()
        elapsed += time.perf_counter() - began
    cpu_after = _tree_cpu_seconds(server.pid)

    every = sorted(x for per in latencies for x in per)
    if not every:
        raise SystemExit("no request completed")
    p50 = statistics.median(every) * 1e3
    p99 = every[min(len(every) - 1, int(len(every) * 0.99))] * 1e3
    rps = len(every) / elapsed
    name = "one process" if workers == 1 else f"--workers {workers}"
    visits, lines, covered = counts
    print(
        f"\n{name}: POST {path}, esketamine 1 year, commercial PPO approved, in network: "
        f"{visits} visits, {lines} lines, {covered} covered; "
        + (
            f"the answer ({size:,} bytes) has every line and its explanation"
            if detail == "full"
            else f"the same estimate, the answer ({size:,} bytes) without its lines"
        )
    )
    print(
        f"{args.clients} clients for {elapsed:.1f} s on 127.0.0.1 (uvicorn, {name}; "
        f"access log {args.access_log}; load average before {load:.1f})"
    )
    print(f"requests: {len(every):,}  errors: {len(errors)}")
    if workers > 1:
        print(
            f"{len(splits)} rounds of {args.seconds / len(splits):.1f} s on new connections; "
            f"the {args.clients} connections by worker in each: {', '.join(splits)} (the "
            "workers share new connections, but a busy one can miss its turn: an uneven split "
            "loads one more)"
        )
    print(f"requests/s: {rps:,.0f}   p50: {p50:.1f} ms   p99: {p99:.1f} ms")
    if cpu_before is not None and cpu_after is not None:
        cpu_ms = (cpu_after - cpu_before) / len(every) * 1e3
        print(
            f"server CPU: {cpu_ms:.2f} ms per request "
            f"({(cpu_after - cpu_before) / elapsed:.0%} of one core)"
        )
    print(
        f"target ({name}, detail={detail}): >= 300 requests/s with p99 < 50 ms: "
        + ("met" if rps >= 300 and p99 < 50 else "NOT met")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument(
        "--workers", default="1,2", help="worker counts to measure, one run each (default 1,2)"
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="with workers: rounds, each on new connections"
    )
    parser.add_argument("--access-log", choices=("text", "json", "off"), default="text")
    parser.add_argument(
        "--detail",
        default="full,summary",
        help="answer forms to measure, in turn on each server (default full,summary)",
    )
    args = parser.parse_args()
    unknown = set(args.detail.split(",")) - {"full", "summary"}
    if unknown:
        parser.error(f"--detail: full or summary (got {', '.join(sorted(unknown))})")
    for workers in (int(n) for n in args.workers.split(",")):
        _measure(args, workers)
    print(
        "\nmetrics + access log, per request in process: "
        + ", ".join(f"{form} {_bookkeeping_us(form):.0f} us" for form in ("off", "text", "json"))
        + " (off: the metrics alone)"
    )


if __name__ == "__main__":
    main()
