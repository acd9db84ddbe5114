"""The full `scimitar test` against a remote target: wall time and outcomes, sequential vs concurrent.

    .venv/bin/python bench/concurrency.py [--latency-ms 0,20,50] [--concurrency 8] [--json PATH]
    .venv/bin/python bench/concurrency.py --quirks all [--shard K/M] [--concurrency 8] [--json PATH]

What is measured is the real command, discovery, checks, scenarios and end-of-run cleanup included:
for each latency the reference server runs under uvicorn on 127.0.0.1 (an ephemeral port, in a
thread of this process) with `--quirk slow --latency-ms L` (latency 0: no quirk), and

    SCIM_TOKEN=... python -m scimitar.cli test --target-url URL --concurrency 1|N \\
        --json PATH --reports-dir TMP --max-duration S -q

runs against it in a subprocess (its own process group, killed at the timeout), once sequentially
(`--concurrency 1`) and once with N workers. The token goes through the environment, never argv.
Printed per latency, as each run ends:

* seconds of each run (wall clock around the subprocess) and concurrent/sequential, and where each
  run's time went (`phases`: start-up and pooled checks, items, of them serial checks and scenarios,
  end-of-run cleanup);
* the floor: (requests on the longest dependent chain) x latency, and each run's ratio to it;
* whether every check, scenario and scenario step ended the same way (passed/failed/warning/
  skipped/error), the exit status and the cleanup's completeness too; exit 1 if not.

The chain, counted in the sequential run, is the requests no schedule of units can overlap:

    discovery (every request before the first item: the probe, /ServiceProviderConfig, /Schemas,
               /ResourceTypes)
  + the longest unit not marked serial (a check or a scenario: its requests, its own cleanup
               included, go one after another)
  + every serial unit (checks registered `serial=True`; scenarios whose model has a true `serial`
               attribute, none before that flag exists: they run alone)
  + the end-of-run cleanup (every request after pytest's session starts finishing: the ledger's
               DELETE and re-read of what is left, the sweep by the run's prefix).

Requests are counted at the server, each put on the time line of the items of the sequential run
(`bench/timeline_plugin.py`, loaded into the child by `PYTEST_PLUGINS`; CLOCK_MONOTONIC is shared by
every process): a unit's requests are those that arrived during its call phase. It is the floor of a
harness that sends each unit's requests in order; where a unit itself sends in parallel (a race
check's burst, a fanned-out setup or cleanup) the real chain is shorter and a ratio below 1 says so.
A second line counts those parts in round trips as the concurrent run sent them (`rounds`: the most
requests that do not overlap in time): the serial checks and the end-of-run cleanup run alone, so
every request in their time is theirs; discovery and the longest pooled unit keep their counts. It
is the chain of this harness as it runs, not of any harness: what the harness parallelises within a
unit shortens it.

Each run is bounded: `--max-seconds S` (default 150: the sequential 50 ms run sends ~2,500 requests,
about 130 s) is passed as `--max-duration` (items not started by then are skipped and the comparison
says so), and the subprocess is killed S + 75 s after its start (the cleanup may take 60 s more).

`--quirks all` (or `--quirks a,b`) compares outcomes instead of time: for each quirk, at latency 0,
the full run sequentially and with N workers against a server with that quirk; it prints the units
that ended differently and exits 1 if any did, except under

* `ORDER_DEPENDENT` quirks (every 5th request is throttled, every 7th fails): the bug hits the n-th
  request, so which unit meets it follows the order of requests, by definition;
* `NOT_COMPARED` quirks (not run): `slow` is the latency this bench injects, and
  `eventual-consistency` is a lagging replica whose outcomes follow timing, not a bug a check judges.

About 15 s a quirk for both runs on two busy cores (three race-* quirks slow every write by 0.1 s:
about 60 s), some 40 minutes for all 128, so `--shard K/M` runs the K-th of M interleaved slices of
the list (`--shard 1/8`: about 5 minutes) and the pieces can run one by one. The last lines tally
the units that differed, with the quirks they differed under.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402 (after the path set-up, as the other benches)
from starlette.types import ASGIApp, Receive, Scope, Send  # noqa: E402

from scimitar.quirks import Quirk  # noqa: E402
from scimitar.server.app import create_app  # noqa: E402
from scimitar.server.config import ServerConfig  # noqa: E402

TOKEN = "bench-concurrency-token-9d2f"
#: Quirks whose bug hits the n-th request: outcomes follow the order of requests, by definition.
ORDER_DEPENDENT = frozenset({Quirk.FLAKY_503, Quirk.THROTTLE_429})
#: Timing quirks that are not server bugs a check judges (latency, a lagging replica).
NOT_COMPARED = frozenset({Quirk.SLOW, Quirk.EVENTUAL_CONSISTENCY})
#: The cleanup may run this long after --max-duration (scimitar's own bound), plus start-up slack.
CLEANUP_SLACK_S = 75.0
PLUGIN = "bench.timeline_plugin"
TIMELINE_ENV = "SCIMITAR_BENCH_TIMELINE"

Outcomes = dict[str, str]


# -- pure parts (tests/test_bench_concurrency.py) ---------------------------------------------


def outcome_map(doc: Mapping[str, Any] | None, exit_status: int | None) -> Outcomes:
    """How everything in a results JSON ended: each check by id, each scenario and each of its
    steps, the cleanup's completeness and the exit status (None: killed at the timeout). A run
    without results (exit 3, killed) adds one entry: `run` -> `no results (...)`."""
    status = "killed at the timeout" if exit_status is None else f"exit {exit_status}"
    out: Outcomes = {"exit status": status}
    if doc is None:
        out["run"] = f"no results ({status})"
        return out
    for check in doc.get("checks", []):
        out[str(check["id"])] = str(check["outcome"])
    for scenario in doc.get("scenarios", []):
        sid = str(scenario["id"])
        out[sid] = str(scenario["outcome"])
        for number, step in enumerate(scenario.get("steps", []), start=1):
            out[f"{sid} step {number}"] = str(step.get("outcome"))
    cleanup = doc.get("cleanup")
    if isinstance(cleanup, Mapping):
        out["cleanup complete"] = str(cleanup.get("complete"))
    return out


def diff_outcomes(first: Outcomes, second: Outcomes) -> dict[str, tuple[str | None, str | None]]:
    """The keys that ended differently (absent on one side: None), in a stable order."""
    return {
        key: (first.get(key), second.get(key))
        for key in sorted(first.keys() | second.keys())
        if first.get(key) != second.get(key)
    }


def deadline_skips(doc: Mapping[str, Any] | None) -> int:
    """Checks and scenarios the run deadline (`--max-duration`) skipped: not compared, not judged."""
    if doc is None:
        return 0
    units = [*doc.get("checks", []), *doc.get("scenarios", [])]
    return sum(1 for u in units if "run deadline" in str(u.get("message", "")) + str(u.get("reason", "")))


@dataclass(frozen=True)
class Unit:
    """One item of the run: a check or a scenario, whether it runs alone, its requests."""

    kind: str
    id: str
    serial: bool
    requests: int


@dataclass
class Counts:
    """The sequential run's server-side requests, split along the items' time line."""

    discovery: int = 0
    units: list[Unit] = field(default_factory=list)
    cleanup: int = 0
    other: int = 0  # between items (their setup/teardown phases): none expected

    @property
    def total(self) -> int:
        return self.discovery + sum(u.requests for u in self.units) + self.cleanup + self.other


def count_requests(timeline: Sequence[Mapping[str, Any]], arrivals: Sequence[float]) -> Counts:
    """Put each request (its arrival time at the server) on the items' time line.

    `timeline` is what `bench/timeline_plugin.py` wrote: call windows (`t0`..`t1`) of check and
    scenario items in run order, then a `finish` mark. Before the first window: discovery; inside a
    window: that unit; after `finish`: the end-of-run cleanup; anything else: `other`."""
    windows = sorted((r for r in timeline if r.get("kind") != "finish"), key=lambda r: float(r["t0"]))
    finish = min((float(r["t0"]) for r in timeline if r.get("kind") == "finish"), default=math.inf)
    first = float(windows[0]["t0"]) if windows else finish
    per_window = [0] * len(windows)
    counts = Counts()
    index = 0
    for at in sorted(arrivals):
        if at >= finish:
            counts.cleanup += 1
        elif at < first:
            counts.discovery += 1
        else:
            while index < len(windows) and at > float(windows[index]["t1"]):
                index += 1
            if index < len(windows) and at >= float(windows[index]["t0"]):
                per_window[index] += 1
            else:
                counts.other += 1
    counts.units = [
        Unit(str(w.get("kind")), str(w.get("id")), bool(w.get("serial")), n)
        for w, n in zip(windows, per_window, strict=True)
        if w.get("kind") in ("check", "scenario")
    ]
    counts.other += sum(n for w, n in zip(windows, per_window, strict=True) if w.get("kind") not in ("check", "scenario"))
    return counts


def client_counts(doc: Mapping[str, Any] | None) -> dict[str, int]:
    """The requests each unit recorded itself, from the results JSON: `checks[].requests` (the
    check's own cleanup not included) and, per scenario, the sum of its steps' `requests`."""
    if doc is None:
        return {}
    out = {str(c["id"]): int(c.get("requests", 0)) for c in doc.get("checks", [])}
    for scenario in doc.get("scenarios", []):
        out[str(scenario["id"])] = sum(int(step.get("requests", 0)) for step in scenario.get("steps", []))
    return out


def reconcile(counts: Counts, recorded: Mapping[str, int], serial_ids: frozenset[str]) -> tuple[Counts, int]:
    """Each unit's requests: what the server saw in its window, never less than what the unit
    recorded itself. Returns the counts and how many units had fewer in their window than they
    recorded (a time line that does not fit the run, e.g. units run before their item's call phase:
    then their requests show up as discovery). Without a time line at all, the units come from the
    results JSON (serial: the ids in `serial_ids`)."""
    if not counts.units:
        units = [Unit("unit", uid, uid in serial_ids, n) for uid, n in recorded.items()]
        return Counts(counts.discovery, units, counts.cleanup, counts.other), len(units)
    misfits = sum(1 for u in counts.units if u.requests < recorded.get(u.id, 0))
    units = [Unit(u.kind, u.id, u.serial, max(u.requests, recorded.get(u.id, 0))) for u in counts.units]
    return Counts(counts.discovery, units, counts.cleanup, counts.other), misfits


@dataclass(frozen=True)
class Chain:
    """The requests on the longest dependent chain (see the module docstring) and its parts."""

    discovery: int
    longest: int
    longest_id: str
    serial: int
    serial_units: int
    cleanup: int

    @property
    def requests(self) -> int:
        return self.discovery + self.longest + self.serial + self.cleanup

    def floor_s(self, latency_ms: float) -> float:
        return self.requests * latency_ms / 1000


def chain_of(counts: Counts) -> Chain:
    """discovery + the longest non-serial unit + every serial unit + the end-of-run cleanup."""
    pooled = [u for u in counts.units if not u.serial]
    longest = max(pooled, key=lambda u: u.requests, default=None)
    serial = [u for u in counts.units if u.serial]
    return Chain(
        discovery=counts.discovery,
        longest=longest.requests if longest else 0,
        longest_id=longest.id if longest else "",
        serial=sum(u.requests for u in serial),
        serial_units=len(serial),
        cleanup=counts.cleanup,
    )


def rounds(spans: Sequence[tuple[float, float]]) -> int:
    """Round trips one after another in these requests: the most of them that do not overlap in
    time (each arrives after the previous one was answered; greedy by earliest answer, which is
    optimal for intervals). Requests sent one at a time: their number; a burst of 8: one."""
    count, free_at = 0, -math.inf
    for arrived, answered in sorted(spans, key=lambda s: s[1]):
        if arrived >= free_at:
            count, free_at = count + 1, answered
    return count


def alone_rounds(timeline: Sequence[Mapping[str, Any]], spans: Sequence[tuple[float, float]]) -> tuple[int, int]:
    """(rounds of the serial checks, rounds of the end-of-run cleanup) in one run: the parts that
    run alone by contract, so every request in their time is theirs, whatever the worker count."""
    finish = min((float(r["t0"]) for r in timeline if r.get("kind") == "finish"), default=math.inf)
    serial = 0
    for window in timeline:
        if window.get("kind") == "check" and window.get("serial"):
            t0, t1 = float(window["t0"]), float(window["t1"])
            serial += rounds([s for s in spans if t0 <= s[0] <= t1])
    return serial, rounds([s for s in spans if s[0] >= finish])


def ratio(numerator: float, denominator: float, digits: int = 2) -> float | None:
    """numerator / denominator rounded, None when the denominator is 0 (latency 0: no floor)."""
    return round(numerator / denominator, digits) if denominator else None


def phases(timeline: Sequence[Mapping[str, Any]], started: float, ended: float) -> dict[str, float]:
    """Where one run's wall time went, on its items' time line (monotonic seconds from the bench):
    `start` from launch to the first item's call (interpreter, collection, probe, discovery, and with
    --concurrency the pooled checks, which run in the session fixture's set-up), `items` from there
    to the finish mark, of which `serial` in serial checks and `scenarios` in scenario items, and
    `finish` from the mark to the process's exit (end-of-run cleanup, reports)."""
    windows = [r for r in timeline if r.get("kind") != "finish"]
    finish = min((float(r["t0"]) for r in timeline if r.get("kind") == "finish"), default=ended)
    first = min((float(r["t0"]) for r in windows), default=finish)

    def spent(keep: Callable[[Mapping[str, Any]], bool]) -> float:
        return round(sum(float(r["t1"]) - float(r["t0"]) for r in windows if keep(r)), 2)

    return {
        "start": round(first - started, 2),
        "items": round(finish - first, 2),
        "serial": spent(lambda r: r.get("kind") == "check" and bool(r.get("serial"))),
        "scenarios": spent(lambda r: r.get("kind") == "scenario"),
        "finish": round(ended - finish, 2),
    }


def brief(diff: Mapping[str, tuple[str | None, str | None]], limit: int = 8) -> str:
    """At most `limit` differences as `id: sequential -> concurrent`, then how many more (the JSON
    has them all)."""
    shown = [f"{key}: {a} -> {b}" for key, (a, b) in list(diff.items())[:limit]]
    more = len(diff) - len(shown)
    return "; ".join(shown) + (f"; ... and {more} more" if more > 0 else "")


def tally(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[str]]]:
    """Across the quirk rows: each unit that ended differently, with the quirks it did under
    (order-dependent ones left out), most quirks first: one unit that differs under every quirk is
    one finding, not forty."""
    found: dict[str, list[str]] = {}
    for row in rows:
        if row.get("order_dependent"):
            continue
        for key in row.get("differences", {}):
            found.setdefault(str(key), []).append(str(row["quirk"]))
    return sorted(found.items(), key=lambda item: (-len(item[1]), item[0]))


def parse_shard(text: str) -> tuple[int, int]:
    """`K/M` -> (K, M) with 1 <= K <= M; ValueError otherwise."""
    k_text, sep, m_text = text.partition("/")
    k, m = int(k_text), int(m_text) if sep else 0
    if not sep or not 1 <= k <= m:
        raise ValueError(f"--shard wants K/M with 1 <= K <= M, not {text!r}")
    return k, m


def shard(names: Sequence[str], k: int, m: int) -> list[str]:
    """The K-th of M interleaved slices (every M-th name from the K-th): the slow race-* quirks,
    adjacent in the list, land in different shards."""
    return list(names[k - 1 :: m])


def quirk_names(spec: str) -> list[str]:
    """`all` -> every quirk but the NOT_COMPARED ones, in enum order; else the comma-separated names
    (each must be a quirk: ValueError otherwise)."""
    if spec == "all":
        return [q.value for q in Quirk if q not in NOT_COMPARED]
    return [Quirk(name.strip()).value for name in spec.split(",") if name.strip()]


def serial_checks() -> frozenset[str]:
    """Ids of the checks registered `serial=True` (only needed when the time line is missing)."""
    from scimitar.checks.registry import all_checks, load_catalogue

    load_catalogue()
    return frozenset(c.id for c in all_checks() if c.serial)


# -- the server and the runs -------------------------------------------------------------------


class RequestLog:
    """ASGI middleware: the arrival time (`time.monotonic()`) of every HTTP request it passes on,
    and (arrival, answered) once the app has sent the whole answer (injected latency included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.arrivals: list[float] = []
        self.spans: list[tuple[float, float]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        arrived = time.monotonic()
        self.arrivals.append(arrived)  # list.append is atomic: worker threads are safe
        try:
            await self.app(scope, receive, send)
        finally:
            self.spans.append((arrived, time.monotonic()))


@contextmanager
def served(latency_ms: int, extra: frozenset[Quirk] = frozenset()) -> Iterator[tuple[str, RequestLog]]:
    """The reference server under uvicorn on 127.0.0.1 (ephemeral port) in a thread; stopped on exit."""
    quirks = (frozenset({Quirk.SLOW}) if latency_ms else frozenset()) | extra
    log = RequestLog(create_app(ServerConfig(tokens=[TOKEN], quirks=quirks, latency_ms=latency_ms)))
    server = uvicorn.Server(uvicorn.Config(log, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise SystemExit("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/scim/v2", log
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class RunResult:
    workers: int
    seconds: float
    exit_status: int | None  # None: killed at the timeout
    doc: dict[str, Any] | None
    timeline: list[dict[str, Any]]
    arrivals: list[float]
    tail: str  # the last lines of its output, for a run that went wrong
    started: float = 0.0  # time.monotonic() at launch and at exit: the time line's clock
    ended: float = 0.0
    spans: list[tuple[float, float]] = field(default_factory=list)

    @property
    def phases(self) -> dict[str, float]:
        return phases(self.timeline, self.started, self.ended)

    @property
    def outcomes(self) -> Outcomes:
        return outcome_map(self.doc, self.exit_status)


def run_test(url: str, log: RequestLog, workers: int, max_seconds: float) -> RunResult:
    """`scimitar test` against `url` with `--concurrency workers` in a subprocess, timed and bounded."""
    with tempfile.TemporaryDirectory(prefix="scimitar-bench-concurrency-") as tmp:
        results = Path(tmp) / "results.json"
        timeline_path = Path(tmp) / "timeline.jsonl"
        argv = [
            sys.executable, "-m", "scimitar.cli", "test", "--target-url", url,
            "--concurrency", str(workers), "--json", str(results), "--reports-dir", str(Path(tmp) / "reports"),
            "--max-duration", f"{math.ceil(max_seconds)}s", "-q",
        ]  # fmt: skip
        env = {
            # The user's own target settings (credentials, a declared profile, an observer) would
            # change the run: only the bench's are passed on.
            **{k: v for k, v in os.environ.items() if not k.startswith(("SCIM_", "SCIMITAR_"))},
            "SCIM_TOKEN": TOKEN,
            "PYTEST_PLUGINS": PLUGIN,
            TIMELINE_ENV: str(timeline_path),
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        }
        first, first_span = len(log.arrivals), len(log.spans)
        launched = time.monotonic()
        started = time.perf_counter()
        proc = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
        )
        status: int | None
        try:
            out, _ = proc.communicate(timeout=max_seconds + CLEANUP_SLACK_S)
            status = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # its own session: the child and anything it started
            out, _ = proc.communicate()
            status = None
        except BaseException:  # Ctrl-C does not reach a child in its own session: stop it here
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        seconds = time.perf_counter() - started
        exited = time.monotonic()
        try:
            doc = json.loads(results.read_text(encoding="utf-8")) if results.is_file() else None
        except ValueError:  # cut short while writing
            doc = None
        timeline = (
            [json.loads(line) for line in timeline_path.read_text(encoding="utf-8").splitlines() if line.strip()]
            if timeline_path.is_file()
            else []
        )
        tail = "\n".join(out.decode("utf-8", "replace").strip().splitlines()[-3:])
    spans = log.spans[first_span:]
    return RunResult(workers, seconds, status, doc, timeline, log.arrivals[first:], tail, launched, exited, spans)


def _describe(run: RunResult) -> str:
    doc = run.doc or {}
    summary = doc.get("summary", {})
    cleanup = doc.get("cleanup", {})
    status = "killed at the timeout" if run.exit_status is None else f"exit {run.exit_status}"
    return (
        f"{run.seconds:6.1f} s, {status}, {len(run.arrivals)} requests at the server; "
        f"{summary.get('passed', '?')} passed, {summary.get('failed', '?')} failed, "
        f"{summary.get('warnings', '?')} warnings, {summary.get('skipped', '?')} skipped, "
        f"{summary.get('errors', '?')} errors; cleanup deleted {cleanup.get('deleted', '?')}"
        f"{'' if cleanup.get('complete', True) else ' (INCOMPLETE)'}; phases (s) "
        + ", ".join(f"{k} {v}" for k, v in run.phases.items())
    )


def _pair(url: str, log: RequestLog, workers: int, max_seconds: float, label: str) -> tuple[RunResult, RunResult]:
    seq = run_test(url, log, 1, max_seconds)
    print(f"  {label} sequential:      {_describe(seq)}", flush=True)
    con = run_test(url, log, workers, max_seconds)
    print(f"  {label} concurrent x{workers:<3}: {_describe(con)}", flush=True)
    for run in (seq, con):
        if run.doc is None:
            print(f"    no results JSON; last lines:\n    {run.tail}", flush=True)
    return seq, con


def bench_latency(latency: int, workers: int, max_seconds: float) -> dict[str, Any]:
    with served(latency) as (url, log):
        seq, con = _pair(url, log, workers, max_seconds, f"latency {latency:>3} ms")
    diff = diff_outcomes(seq.outcomes, con.outcomes)
    skips = [deadline_skips(seq.doc), deadline_skips(con.doc)]
    counts, misfits = reconcile(count_requests(seq.timeline, seq.arrivals), client_counts(seq.doc), serial_checks())
    if misfits:
        print(f"  the time line did not fit {misfits} units: their counts come from the results JSON", flush=True)
    chain = chain_of(counts)
    floor = chain.floor_s(latency)
    serial_rounds, cleanup_rounds = alone_rounds(con.timeline, con.spans)
    sent = Chain(chain.discovery, chain.longest, chain.longest_id, serial_rounds, chain.serial_units, cleanup_rounds)
    sent_floor = sent.floor_s(latency)
    same = not diff and not any(skips) and seq.doc is not None
    row = {
        "latency_ms": latency,
        "concurrency": workers,
        "units": len(counts.units),
        "requests": [len(seq.arrivals), len(con.arrivals)],
        "sequential_s": round(seq.seconds, 2),
        "concurrent_s": round(con.seconds, 2),
        "concurrent_over_sequential": ratio(con.seconds, seq.seconds, 3),
        "chain_requests": chain.requests,
        "chain": asdict(chain),
        "unaccounted_requests": counts.other,
        "timeline_misfits": misfits,
        "floor_s": round(floor, 2),
        "sequential_over_floor": ratio(seq.seconds, floor),
        "concurrent_over_floor": ratio(con.seconds, floor),
        "chain_rounds": asdict(sent),
        "rounds_floor_s": round(sent_floor, 2),
        "concurrent_over_rounds_floor": ratio(con.seconds, sent_floor),
        "same_outcomes": same,
        "differences": {k: list(v) for k, v in diff.items()},
        "deadline_skips": skips,
        "phases_s": [seq.phases, con.phases],
    }
    verdict = "yes" if same else f"NO: {len(diff)} differ ({brief(diff)}); deadline skips {skips}"
    print(
        f"latency {latency:>3} ms: sequential {row['sequential_s']:.1f} s, concurrent x{workers} "
        f"{row['concurrent_s']:.1f} s, concurrent/sequential {row['concurrent_over_sequential']}; "
        f"chain {chain.requests} requests (discovery {chain.discovery} + longest {chain.longest} "
        f"{chain.longest_id or '-'} + serial {chain.serial} in {chain.serial_units} units + cleanup "
        f"{chain.cleanup}) -> floor {floor:.1f} s, sequential/floor {row['sequential_over_floor'] or '-'}, "
        f"concurrent/floor {row['concurrent_over_floor'] or '-'}; same outcomes: {verdict}",
        flush=True,
    )
    print(
        f"  in round trips as the concurrent run sent the parts that run alone: serial {sent.serial}, "
        f"cleanup {sent.cleanup} -> chain {sent.requests}, floor {sent_floor:.1f} s, "
        f"concurrent/floor {row['concurrent_over_rounds_floor'] or '-'}",
        flush=True,
    )
    return row


def compare_quirk(name: str, workers: int, max_seconds: float) -> dict[str, Any]:
    quirk = Quirk(name)
    with served(0, frozenset({quirk})) as (url, log):
        seq, con = _pair(url, log, workers, max_seconds, name)
    diff = diff_outcomes(seq.outcomes, con.outcomes)
    skips = [deadline_skips(seq.doc), deadline_skips(con.doc)]
    exempt = quirk in ORDER_DEPENDENT
    note = " (order-dependent by definition: not counted)" if exempt and diff else ""
    text = "same outcomes" if not diff else f"{len(diff)} differ{note}: {brief(diff)}"
    print(f"{name}: {text}{f'; deadline skips {skips}' if any(skips) else ''}", flush=True)
    return {
        "quirk": name,
        "sequential_s": round(seq.seconds, 2),
        "concurrent_s": round(con.seconds, 2),
        "same_outcomes": not diff and not any(skips),
        "order_dependent": exempt,
        "differences": {k: list(v) for k, v in diff.items()},
        "deadline_skips": skips,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", default="0,20,50", help="comma-separated latencies (default 0,20,50)")
    parser.add_argument("--concurrency", type=int, default=8, help="workers of the concurrent run (default 8)")
    parser.add_argument("--max-seconds", type=float, default=150.0, help="--max-duration of each run (default 150)")
    parser.add_argument("--json", metavar="PATH", help="write the rows as JSON")
    parser.add_argument("--quirks", help="compare outcomes under these quirks (comma-separated, or all)")
    parser.add_argument("--shard", default="1/1", help="with --quirks: run the K-th of M slices (K/M)")
    ns = parser.parse_args(argv)
    if ns.concurrency < 2:
        parser.error("--concurrency must be at least 2 (the sequential run is always made)")
    try:
        names = shard(quirk_names(ns.quirks), *parse_shard(ns.shard)) if ns.quirks else []
        latencies = [int(x) for x in ns.latency_ms.split(",")]
    except ValueError as exc:
        parser.error(str(exc))
    if ns.quirks:
        print(f"{len(names)} quirks (shard {ns.shard}), sequential vs concurrent x{ns.concurrency}", flush=True)
        rows = [compare_quirk(name, ns.concurrency, ns.max_seconds) for name in names]
        counted = [r for r in rows if not r["same_outcomes"] and not r["order_dependent"]]
        print(f"{len(rows)} quirks compared; {len(counted)} with different outcomes (order-dependent ones not counted)")
        for unit, quirks in tally(rows):
            print(f"  {unit} differs under {len(quirks)} of {len(rows)}: {', '.join(quirks[:6])}"
                  f"{' ...' if len(quirks) > 6 else ''}")
        ok = not counted
    else:
        rows = [bench_latency(latency, ns.concurrency, ns.max_seconds) for latency in latencies]
        ok = all(r["same_outcomes"] for r in rows)
    if ns.json:
        Path(ns.json).write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
