"""The arithmetic of bench/concurrency.py: outcome maps and their differences, requests put on the
items' time line, the dependent chain and its floor, quirk shards. No server, no subprocess."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_concurrency_under_test", ROOT / "bench" / "concurrency.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


bench = _load()

DOC: dict[str, Any] = {
    "checks": [
        {"id": "rfc7644-a", "outcome": "passed", "message": ""},
        {"id": "rfc7644-b", "outcome": "skipped", "message": "run deadline reached (--max-duration)"},
    ],
    "scenarios": [
        {
            "id": "scenarios/okta/create.yaml",
            "outcome": "failed",
            "reason": "",
            "steps": [{"outcome": "passed"}, {"outcome": "failed"}],
        },
    ],
    "cleanup": {"complete": True, "deleted": 3},
}


def test_outcome_map_names_checks_scenarios_steps_cleanup_and_exit() -> None:
    assert bench.outcome_map(DOC, 1) == {
        "exit status": "exit 1",
        "rfc7644-a": "passed",
        "rfc7644-b": "skipped",
        "scenarios/okta/create.yaml": "failed",
        "scenarios/okta/create.yaml step 1": "passed",
        "scenarios/okta/create.yaml step 2": "failed",
        "cleanup complete": "True",
    }
    killed = "killed at the timeout"
    assert bench.outcome_map(None, None) == {"exit status": killed, "run": f"no results ({killed})"}
    assert bench.outcome_map(None, 3)["run"] == "no results (exit 3)"


def test_diff_outcomes_reports_changed_and_missing_keys_only() -> None:
    first = {"a": "passed", "b": "passed", "c": "failed"}
    second = {"a": "passed", "b": "warning", "d": "passed"}
    assert bench.diff_outcomes(first, second) == {
        "b": ("passed", "warning"),
        "c": ("failed", None),
        "d": (None, "passed"),
    }
    assert bench.diff_outcomes(first, dict(first)) == {}


def test_deadline_skips_counts_checks_and_scenarios_cut_by_the_run_deadline() -> None:
    doc = {**DOC, "scenarios": [{"id": "s", "outcome": "skipped", "reason": "run deadline reached"}]}
    assert bench.deadline_skips(doc) == 2
    assert bench.deadline_skips(None) == 0


TIMELINE = [
    {"kind": "check", "id": "c1", "serial": False, "t0": 10.0, "t1": 11.0},
    {"kind": "check", "id": "race", "serial": True, "t0": 11.5, "t1": 12.0},
    {"kind": "scenario", "id": "s1", "serial": False, "t0": 12.0, "t1": 13.0},
    {"kind": "other", "id": "tests/x.py::t", "serial": False, "t0": 13.1, "t1": 13.2},
    {"kind": "finish", "t0": 14.0},
]


def test_count_requests_splits_the_server_log_along_the_items() -> None:
    arrivals = [
        9.0, 9.5,             # probe and discovery, before the first item
        10.0, 10.5, 11.0,     # c1 (both ends of its window included)
        11.2,                 # between two items
        11.6, 11.7, 11.8, 11.9,  # race
        12.5,                 # s1
        13.15,                # an item that is neither a check nor a scenario
        14.0, 14.5, 15.0,     # after the finish mark: end-of-run cleanup
    ]  # fmt: skip
    counts = bench.count_requests(TIMELINE, list(reversed(arrivals)))  # any order in
    assert counts.discovery == 2
    assert counts.cleanup == 3
    assert counts.other == 2
    assert counts.units == [
        bench.Unit("check", "c1", False, 3),
        bench.Unit("check", "race", True, 4),
        bench.Unit("scenario", "s1", False, 1),
    ]
    assert counts.total == len(arrivals)


def test_count_requests_without_a_timeline_is_all_discovery() -> None:
    counts = bench.count_requests([], [1.0, 2.0])
    assert (counts.discovery, counts.units, counts.cleanup) == (2, [], 0)


def test_chain_is_discovery_longest_pooled_unit_every_serial_unit_and_cleanup() -> None:
    counts = bench.Counts(
        discovery=5,
        units=[
            bench.Unit("check", "short", False, 4),
            bench.Unit("scenario", "long", False, 30),
            bench.Unit("check", "race-1", True, 58),  # the biggest, but serial: summed, not "longest"
            bench.Unit("check", "race-2", True, 12),
        ],
        cleanup=80,
    )
    chain = bench.chain_of(counts)
    assert (chain.longest, chain.longest_id) == (30, "long")
    assert (chain.serial, chain.serial_units) == (70, 2)
    assert chain.requests == 5 + 30 + 70 + 80
    assert chain.floor_s(50) == pytest.approx(185 * 0.05)
    assert chain.floor_s(0) == 0
    assert bench.chain_of(bench.Counts()).requests == 0


def test_ratio_is_none_without_a_floor() -> None:
    assert bench.ratio(3.0, 2.0) == 1.5
    assert bench.ratio(1.0, 3.0, 3) == 0.333
    assert bench.ratio(3.0, 0.0) is None


def test_shards_cover_every_quirk_once() -> None:
    names = bench.quirk_names("all")
    assert "slow" not in names and "eventual-consistency" not in names  # NOT_COMPARED
    pieces = [bench.shard(names, k, 3) for k in (1, 2, 3)]
    assert sorted(n for piece in pieces for n in piece) == sorted(names)
    assert bench.shard(["a", "b", "c", "d", "e"], 2, 2) == ["b", "d"]
    assert bench.parse_shard("2/5") == (2, 5)
    for bad in ("0/3", "4/3", "3", "a/b"):
        with pytest.raises(ValueError):
            bench.parse_shard(bad)
    assert bench.quirk_names("filter-ignored, flaky-503") == ["filter-ignored", "flaky-503"]
    with pytest.raises(ValueError):
        bench.quirk_names("no-such-quirk")


def test_timeline_plugin_is_importable_by_the_name_the_child_loads() -> None:
    plugin = importlib.import_module(bench.PLUGIN)
    check = SimpleNamespace(id="rfc7644-x", serial=True)
    item = SimpleNamespace(callspec=SimpleNamespace(params={"scim_check": check}), nodeid="n")
    assert plugin._unit_of(item) == ("check", "rfc7644-x", True)
    scenario_item = SimpleNamespace(scenario=SimpleNamespace(id="scenarios/okta/create.yaml"), nodeid="n")
    assert plugin._unit_of(scenario_item) == ("scenario", "scenarios/okta/create.yaml", False)
    assert plugin._unit_of(SimpleNamespace(nodeid="tests/x.py::t")) == ("other", "tests/x.py::t", False)


def test_client_counts_read_checks_and_summed_scenario_steps() -> None:
    doc = {
        "checks": [{"id": "c1", "requests": 3}],
        "scenarios": [{"id": "s1", "steps": [{"requests": 1}, {}, {"requests": 2}]}],
    }
    assert bench.client_counts(doc) == {"c1": 3, "s1": 3}
    assert bench.client_counts(None) == {}


def test_reconcile_never_counts_a_unit_below_what_it_recorded() -> None:
    counts = bench.Counts(
        discovery=9,
        units=[bench.Unit("check", "c1", False, 5), bench.Unit("check", "c2", False, 0)],
        cleanup=4,
    )
    fixed, misfits = bench.reconcile(counts, {"c1": 3, "c2": 2}, frozenset())
    assert misfits == 1  # c2 ran outside its window: its 2 requests were counted elsewhere
    assert [u.requests for u in fixed.units] == [5, 2]  # c1's window holds its cleanup too: kept
    assert (fixed.discovery, fixed.cleanup) == (9, 4)
    no_timeline, misfits = bench.reconcile(bench.Counts(discovery=7), {"c1": 3, "race": 8}, frozenset({"race"}))
    assert misfits == 2
    assert [(u.id, u.serial, u.requests) for u in no_timeline.units] == [("c1", False, 3), ("race", True, 8)]


def test_brief_shows_the_first_differences_and_counts_the_rest() -> None:
    diff = {f"c{i}": ("passed", "failed") for i in range(5)}
    assert bench.brief(diff, limit=2) == "c0: passed -> failed; c1: passed -> failed; ... and 3 more"
    assert bench.brief({"a": (None, "passed")}) == "a: None -> passed"


def test_phases_split_a_run_at_its_first_item_and_its_finish_mark() -> None:
    assert bench.phases(TIMELINE, 8.0, 16.0) == {
        "start": 2.0,  # launch to the first item's call
        "items": 4.0,  # first item to the finish mark
        "serial": 0.5,  # the serial check's window
        "scenarios": 1.0,
        "finish": 2.0,  # the mark to the process's exit
    }
    assert bench.phases([], 1.0, 3.0) == {"start": 2.0, "items": 0.0, "serial": 0, "scenarios": 0, "finish": 0.0}


def test_tally_groups_differences_by_unit_and_leaves_out_order_dependent_quirks() -> None:
    rows = [
        {"quirk": "q1", "order_dependent": False, "differences": {"pages": ["passed", "warning"]}},
        {"quirk": "q2", "order_dependent": False, "differences": {"pages": [], "sort": []}},
        {"quirk": "flaky-503", "order_dependent": True, "differences": {"x": [], "pages": []}},
        {"quirk": "q3", "order_dependent": False, "differences": {}},
    ]
    assert bench.tally(rows) == [("pages", ["q1", "q2"]), ("sort", ["q2"])]


def test_rounds_counts_round_trips_one_after_another() -> None:
    assert bench.rounds([(0.0, 1.0), (1.0, 2.0), (2.5, 3.0)]) == 3  # one at a time
    assert bench.rounds([(0.0, 1.0)] * 8) == 1  # a burst of 8 is one round trip
    burst_then_reads = [(0.0, 1.0), (0.1, 1.1), (0.2, 0.9), (1.2, 1.5), (1.6, 2.0)]
    assert bench.rounds(burst_then_reads) == 3
    assert bench.rounds([]) == 0


def test_alone_rounds_reads_serial_check_windows_and_what_follows_the_finish_mark() -> None:
    spans = [
        (10.1, 10.2), (10.3, 10.4),           # c1: not serial, not counted
        (11.6, 11.7), (11.6, 11.7), (11.8, 11.9),  # race: a burst of 2, then one read
        (14.0, 14.1), (14.0, 14.1), (14.2, 14.3),  # cleanup: two deletes at once, then a re-read
    ]  # fmt: skip
    assert bench.alone_rounds(TIMELINE, spans) == (2, 2)
    assert bench.alone_rounds([], spans) == (0, 0)
