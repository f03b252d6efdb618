"""The patient calculator is stateless: it stores nothing and never loads the records extra.

Issue 14: GFEs, bills and estimates are kept by ``ketacost.records`` (clinic staff, CLI);
the calculator embedded in a clinic's website answers and forgets. Run in a fresh
interpreter so that modules other tests imported do not hide an import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, os, sys
from datetime import date
from fastapi.testclient import TestClient
from ketacost.web import WebConfig, create_app

client = TestClient(create_app(WebConfig(), today=lambda: date(2026, 1, 5)))
answers = {"treatment": "esketamine", "insurance": "commercial-ppo", "network": "in",
           "prior_authorization": "approved", "age": 45, "start": "2026-01-05"}
statuses = [client.post("/v1/estimate", json=answers).status_code for _ in range(3)]
statuses.append(client.get("/").status_code)
loaded = sorted(m for m in sys.modules
                if m.split(".")[0] in {"sqlalchemy", "alembic", "psycopg", "platformdirs"}
                or m.startswith("ketacost.records"))
print(json.dumps({"statuses": statuses, "loaded": loaded}))
"""


def test_the_calculator_stores_nothing_and_loads_no_database(tmp_path: Path) -> None:
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "KETACOST_DB": f"sqlite:///{work / 'records.db'}",
    }
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=work, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["statuses"] == [200, 200, 200, 200]
    assert result["loaded"] == []
    # Nothing written: not in the working folder, not in the user's data folder, no database.
    assert sorted(p.name for p in work.iterdir()) == []
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []
