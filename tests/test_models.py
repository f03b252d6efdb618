"""Models build on first use (``ketacost._types.Model``): every one builds, and a web worker
builds them all at start, so no request pays for it."""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

import ketacost
from ketacost._types import Model, build_models


def _models() -> list[type[Model]]:
    out: list[type[Model]] = []
    todo: list[type[Model]] = [Model]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(c for c in cls.__subclasses__() if c not in out)
    return out


def test_every_model_of_the_package_builds() -> None:
    # A model whose annotations are broken would fail at its first use in a user's hands; here
    # every module is imported and every model built.
    for module in pkgutil.walk_packages(ketacost.__path__, "ketacost."):
        if not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    build_models()
    models = _models()
    assert len(models) > 100  # the rule, result, web and eligibility models, at least
    assert [m.__qualname__ for m in models if not m.__pydantic_complete__] == []
    assert build_models() == 0  # nothing left to build


#: Run in a fresh interpreter: the suite's other tests have built models already.
_WORKER = r"""
import json
from datetime import date

from fastapi.testclient import TestClient

from ketacost._types import Model
from ketacost.web import WebConfig, create_app


def complete():
    out, todo = {}, [Model]
    while todo:
        cls = todo.pop()
        out[cls.__module__ + "." + cls.__qualname__] = cls.__pydantic_complete__
        todo.extend(cls.__subclasses__())
    return out


left_by_import = sum(not v for v in complete().values())
client = TestClient(create_app(WebConfig(), today=lambda: date(2026, 3, 2)))
at_start = complete()
answers = {
    "treatment": "esketamine",
    "insurance": "commercial-ppo",
    "network": "in",
    "prior_authorization": "approved",
    "age": 45,
    "start": "2026-03-02",
}
statuses = [
    client.post("/v1/estimate", json=answers).status_code,
    client.post("/v1/estimate?detail=summary", json=answers).status_code,
    client.post("/v1/estimate", json={**answers, "prior_authorization": "not_sure"}).status_code,
    client.post("/v1/estimate", json={**answers, "age": "old"}).status_code,
    client.post("/v1/estimate", content=b"{", headers={"content-type": "application/json"})
    .status_code,
    client.get("/v1/treatments").status_code,
    client.get("/v1/payers").status_code,
]
after = complete()
print(json.dumps({
    "left_by_import": left_by_import,
    "incomplete_at_start": sorted(k for k, v in at_start.items() if not v),
    "built_by_requests": sorted(k for k, v in after.items() if v and not at_start.get(k)),
    "statuses": statuses,
}))
"""


def test_a_web_worker_builds_every_model_at_start_and_no_request_builds_one() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _WORKER], capture_output=True, text=True, timeout=120, check=True
    )
    seen = json.loads(done.stdout)
    assert seen["statuses"] == [200, 200, 200, 422, 400, 200, 200]
    # Importing leaves the models to build (the CLI's cold start: a model built at import is
    # one a module makes an object of); the app's start builds every one.
    assert seen["left_by_import"] > 50
    assert seen["incomplete_at_start"] == []
    assert seen["built_by_requests"] == []
