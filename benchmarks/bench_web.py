"""Load benchmark of the calculator's API: ``POST /v1/estimate`` with one year of IV infusions.

Starts ``ketacost.web.serve`` (uvicorn, one process) on 127.0.0.1 in a subprocess, drives it
with a few concurrent keep-alive clients for a fixed time, and prints requests per second and
p50/p99 latency. A measurement: it never fails on time.

    python benchmarks/bench_web.py [--seconds 10] [--clients 4]

Target on a 2-core machine: at least 300 requests/s with p99 under 50 ms.
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

#: One year of IV ketamine (intake, 6 infusions, 11 boosters: 18 visits) on the example PPO.
BODY = json.dumps(
    {
        "treatment": "iv-ketamine",
        "insurance": "commercial-ppo",
        "network": "in",
        "prior_authorization": "approved",
        "age": 45,
        "start": "2026-01-05",
    }
).encode()


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


def _client(port: int, stop_at: float, latencies: list[float], errors: list[int]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/json"}
    while time.perf_counter() < stop_at:
        began = time.perf_counter()
        conn.request("POST", "/v1/estimate", body=BODY, headers=headers)
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - began)
        if response.status != 200:
            errors.append(response.status)
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=1.0)
    args = parser.parse_args()

    port = _free_port()
    code = f"from ketacost.web import serve; serve(None, host='127.0.0.1', port={port})"
    server = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_ready(port, server)
        _client(port, time.perf_counter() + args.warmup, [], [])  # warm caches
        latencies: list[list[float]] = [[] for _ in range(args.clients)]
        errors: list[int] = []
        stop_at = time.perf_counter() + args.seconds
        began = time.perf_counter()
        threads = [
            threading.Thread(target=_client, args=(port, stop_at, latencies[i], errors))
            for i in range(args.clients)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait(10)

    every = sorted(x for per in latencies for x in per)
    if not every:
        raise SystemExit("no request completed")
    p50 = statistics.median(every) * 1e3
    p99 = every[min(len(every) - 1, int(len(every) * 0.99))] * 1e3
    rps = len(every) / elapsed
    print("POST /v1/estimate, one year of IV infusions (18 visits), commercial PPO, in network")
    print(f"{args.clients} clients for {elapsed:.1f} s on 127.0.0.1 (uvicorn, one process)")
    print(f"requests: {len(every):,}  errors: {len(errors)}")
    print(f"requests/s: {rps:,.0f}   p50: {p50:.1f} ms   p99: {p99:.1f} ms")
    print(
        "target: >= 300 requests/s with p99 < 50 ms: "
        + ("met" if rps >= 300 and p99 < 50 else "NOT met")
    )


if __name__ == "__main__":
    main()
