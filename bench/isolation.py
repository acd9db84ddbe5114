"""What per-check cleanup (each check deletes what it created) and verified deletes cost.

Runs the whole check catalogue on the embedded reference server in three modes, alternating, each
followed by the run's final cleanup: as before issue 9 (no per-check cleanup, deletes not
re-read: everything is deleted at the end and a 2xx counts as gone), end-of-run cleanup with the
re-read, and as shipped (per-check cleanup, re-read). Prints requests, wall and CPU time and the
ratios to the first mode, measured in the same process, since the machines here are too noisy for
absolute times.

    .venv/bin/python bench/isolation.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from scimitar.checks.context import CheckContext, Discovery
from scimitar.checks.registry import all_checks, load_catalogue
from scimitar.options import RunOptions
from scimitar.pytest_plugin import ScimSession
from scimitar.run import CleanupReport, Ledger, Run
from scimitar.target import Target, TargetOptions


def _unverified(self: Ledger, client: Any, paths: list[str], report: CleanupReport) -> dict[str, str]:
    """The pre-issue-9 ledger: a DELETE that answered is taken as done, nothing is re-read."""
    for path in paths:
        self.forget(path)
        self._note_gone(path)
        report.deleted.append(path)
    return {}


MODES = {"old": (False, False), "end-of-run+reread": (False, True), "shipped": (True, True)}


def _once(mode: str, run_id: str) -> dict[str, Any]:
    isolated, verified = MODES[mode]
    target = Target(TargetOptions())
    session = ScimSession(target, Run(seed=3, run_id=run_id), RunOptions(seed=3))
    target.probe(session.masker, session.recorder)
    session.discovery = Discovery.fetch(session.client)
    original, verify = CheckContext.cleanup_created, Ledger._verify
    if not isolated:
        CheckContext.cleanup_created = lambda self: CleanupReport()  # type: ignore[method-assign]
    if not verified:
        Ledger._verify = _unverified  # type: ignore[method-assign]
    try:
        requests0 = target.stats.requests
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for check in all_checks():
            session.run_check(check)
        report = session.run.cleanup(session.client)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        CheckContext.cleanup_created = original  # type: ignore[method-assign]
        Ledger._verify = verify  # type: ignore[method-assign]
        target.close()
    assert report.complete, report.summary()
    return {"requests": target.stats.requests - requests0, "wall": wall, "cpu": cpu, "deleted": len(report.deleted)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    rounds = max(1, min(parser.parse_args().rounds, 10))
    load_catalogue()
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    for n in range(rounds):
        for k, mode in enumerate(MODES):
            runs[mode].append(_once(mode, f"iso{n}{k}"))

    def median(mode: str, key: str) -> float:
        return float(statistics.median(r[key] for r in runs[mode]))

    for mode in MODES:
        print(
            f"{mode:<18} checks={len(all_checks())} requests={runs[mode][0]['requests']} "
            f"deleted={runs[mode][0]['deleted']} wall={median(mode, 'wall'):.2f}s cpu={median(mode, 'cpu'):.2f}s "
            f"ratio to old: requests {runs[mode][0]['requests'] / runs['old'][0]['requests']:.2f} "
            f"wall {median(mode, 'wall') / median('old', 'wall'):.2f} cpu {median(mode, 'cpu') / median('old', 'cpu'):.2f}"
        )


if __name__ == "__main__":
    main()
