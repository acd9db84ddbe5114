"""`--concurrency` against a remote target: wall time and outcomes, sequential vs concurrent.

    python bench/concurrency.py [--latency-ms 0,20,50] [--concurrency 8] [--tag crud] [--json PATH]

For each latency, the reference server runs under uvicorn on 127.0.0.1 (an ephemeral port, in a
thread) with `--quirk slow --latency-ms L` (latency 0: no quirk), and the check catalogue runs
against it over HTTP twice: sequentially and with N workers (`ScimSession.prefetch`, what
`scimitar test --concurrency N` does). Printed per latency:

* seconds of each run and the concurrent/sequential ratio;
* the floor: (requests on the longest dependent chain) x latency, where the chain is the longest
  single check (its requests are sequential) plus every `serial` check and the discovery reads
  (they run alone), and each run's ratio to it;
* whether every check ended the same way (passed/failed/warning/skipped) in both runs; exit 1 if
  not.

Each run is bounded by `--max-seconds` (default 55 s, the checks not started by then are skipped
and the outcome comparison says so), so no run passes a minute.

    python bench/concurrency.py --quirks all      # or --quirks filter-ignored,patch-not-atomic

compares outcomes instead of time: for each quirk (no latency), the catalogue sequentially and with N
workers against a server with that quirk; prints the checks that ended differently and exits 1 if any
did, except under the quirks whose bug is defined by request order (`ORDER_DEPENDENT`: every 7th
request fails, every 5th is throttled), where the outcomes depend on which check sends that request.
About 5 s a quirk (the race-* quirks slow every write by 0.1 s: about 35 s).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvicorn

from scimitar.checks.context import Discovery
from scimitar.checks.registry import Check, all_checks, load_catalogue
from scimitar.options import RunOptions
from scimitar.pytest_plugin import ScimSession
from scimitar.quirks import Quirk
from scimitar.run import Run
from scimitar.server.app import create_app
from scimitar.server.config import ServerConfig
from scimitar.target import Target, TargetOptions

TOKEN = "bench-concurrency-token-9d2f"
#: Quirks whose bug hits the n-th request: outcomes follow the order of requests, by definition.
ORDER_DEPENDENT = frozenset({Quirk.FLAKY_503, Quirk.THROTTLE_429})
#: Timing quirks that are not server bugs a check judges (latency, a lagging replica).
NOT_COMPARED = frozenset({Quirk.SLOW, Quirk.EVENTUAL_CONSISTENCY})


@contextmanager
def served(latency_ms: int, extra: frozenset[Quirk] = frozenset()) -> Iterator[str]:
    quirks = (frozenset({Quirk.SLOW}) if latency_ms else frozenset()) | extra
    app = create_app(ServerConfig(tokens=[TOKEN], quirks=quirks, latency_ms=latency_ms))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise SystemExit("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/scim/v2"
    finally:
        server.should_exit = True
        thread.join(10)


def run(url: str, checks: list[Check], workers: int, max_seconds: float) -> dict[str, Any]:
    target = Target(TargetOptions(url=url, token=TOKEN))
    session = ScimSession(target, Run(seed=4), RunOptions(seed=4, concurrency=workers))
    target.start_run_deadline(max_seconds)
    started = time.perf_counter()
    target.probe(session.masker, session.recorder)
    session.discovery = Discovery.fetch(session.client)
    session.prefetch([session.check_unit(c) for c in checks], workers)
    results = [session.run_check(c) for c in checks]
    seconds = time.perf_counter() - started
    session.finish()
    return {
        "seconds": seconds,
        "outcomes": {r.id: r.outcome.value for r in results},
        "requests": {r.id: len(r.exchanges) for r in results},
        "discovery_requests": len(session.discovery.exchanges) + 1,
        "deadline_skips": sum(1 for r in results if "run deadline" in r.message),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency-ms", default="0,20,50")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--tag", help="only checks with this tag (a shorter run)")
    parser.add_argument("--max-seconds", type=float, default=55.0)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument("--quirks", help="compare outcomes under these quirks (comma-separated, or all)")
    ns = parser.parse_args(argv)
    load_catalogue()
    checks = all_checks(ns.tag)
    if ns.quirks:
        return compare_quirks(ns, checks)
    by_id = {c.id: c for c in checks}
    rows = []
    same_everywhere = True
    for latency in (int(x) for x in ns.latency_ms.split(",")):
        with served(latency) as url:
            seq = run(url, checks, 1, ns.max_seconds)
            con = run(url, checks, ns.concurrency, ns.max_seconds)
        longest = max((n for cid, n in seq["requests"].items() if not by_id[cid].serial), default=0)
        serial = sum(n for cid, n in seq["requests"].items() if by_id[cid].serial)
        chain = longest + serial + seq["discovery_requests"]
        floor = chain * latency / 1000
        diff = {k: (v, con["outcomes"][k]) for k, v in seq["outcomes"].items() if con["outcomes"][k] != v}
        same = not diff and not seq["deadline_skips"] and not con["deadline_skips"]
        same_everywhere &= same
        row = {
            "latency_ms": latency,
            "checks": len(checks),
            "requests": sum(seq["requests"].values()),
            "sequential_s": round(seq["seconds"], 2),
            "concurrent_s": round(con["seconds"], 2),
            "concurrency": ns.concurrency,
            "concurrent_over_sequential": round(con["seconds"] / seq["seconds"], 3),
            "chain_requests": chain,
            "floor_s": round(floor, 2),
            "sequential_over_floor": round(seq["seconds"] / floor, 2) if floor else None,
            "concurrent_over_floor": round(con["seconds"] / floor, 2) if floor else None,
            "same_outcomes": same,
            "differences": diff,
            "deadline_skips": [seq["deadline_skips"], con["deadline_skips"]],
        }
        rows.append(row)
        verdict = "yes" if same else f"NO {diff} deadline skips {row['deadline_skips']}"
        print(
            f"latency {latency:>3} ms: {len(checks)} checks, {row['requests']} requests; "
            f"sequential {row['sequential_s']:.1f} s, concurrent x{ns.concurrency} {row['concurrent_s']:.1f} s "
            f"(ratio {row['concurrent_over_sequential']:.2f}); chain {chain} requests -> floor "
            f"{row['floor_s']:.1f} s (sequential/floor {row['sequential_over_floor']}, concurrent/floor "
            f"{row['concurrent_over_floor']}); same outcomes: {verdict}",
            flush=True,
        )
    if ns.json:
        Path(ns.json).write_text(json.dumps(rows, indent=2))
    return 0 if same_everywhere else 1


def compare_quirks(ns: argparse.Namespace, checks: list[Check]) -> int:
    names = [q.value for q in Quirk if q not in NOT_COMPARED] if ns.quirks == "all" else ns.quirks.split(",")
    differing = 0
    for name in names:
        quirk = Quirk(name)
        with served(0, frozenset({quirk})) as url:
            seq = run(url, checks, 1, ns.max_seconds)
            con = run(url, checks, ns.concurrency, ns.max_seconds)
        diff = {k: (v, con["outcomes"][k]) for k, v in seq["outcomes"].items() if con["outcomes"][k] != v}
        note = " (order-dependent by definition)" if quirk in ORDER_DEPENDENT else ""
        print(f"{name}: {'same outcomes' if not diff else f'{len(diff)} differ{note}: {diff}'}", flush=True)
        if diff and quirk not in ORDER_DEPENDENT:
            differing += 1
    print(f"{len(names)} quirks compared; {differing} with different outcomes (not counting order-dependent ones)")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
