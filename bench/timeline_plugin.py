"""A pytest plugin `bench/concurrency.py` loads into the `scimitar test` it measures: when each item ran.

Loaded by `PYTEST_PLUGINS=bench.timeline_plugin` with `SCIMITAR_BENCH_TIMELINE=PATH` in the child's
environment (neither changes what `scimitar test` sends). It appends one JSON line per item's call
phase (`kind` check or scenario, its id, whether it is marked `serial`, and `time.monotonic()` at
start and end) and one line when the session starts finishing (`kind` finish: the end-of-run
cleanup follows). `time.monotonic()` is CLOCK_MONOTONIC on Linux, one clock for every process of
the machine, so the bench can put the reference server's request log on the same time line and
count each item's requests (its own cleanup included) in a sequential run. Lines are flushed as
they are written, so a run killed at its timeout still leaves what it did.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator
from typing import Any

import pytest

ENV = "SCIMITAR_BENCH_TIMELINE"


def _write(record: dict[str, Any]) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


def _unit_of(item: pytest.Item) -> tuple[str, str, bool]:
    """(kind, id, serial) of a check or scenario item; ("other", nodeid, False) otherwise."""
    scenario = getattr(item, "scenario", None)
    if scenario is not None:
        # A scenario-level `serial` flag, if the scenario model has one; none today means False.
        return "scenario", str(scenario.id), bool(getattr(scenario, "serial", False))
    callspec = getattr(item, "callspec", None)
    check = callspec.params.get("scim_check") if callspec is not None else None
    if check is not None and hasattr(check, "id"):
        return "check", str(check.id), bool(getattr(check, "serial", False))
    return "other", item.nodeid, False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    started = time.monotonic()
    try:
        return (yield)
    finally:
        kind, unit_id, serial = _unit_of(item)
        _write({"kind": kind, "id": unit_id, "serial": serial, "t0": started, "t1": time.monotonic()})


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Runs before scimitar's own `pytest_sessionfinish`, which deletes what the run left."""
    _write({"kind": "finish", "t0": time.monotonic()})
