"""`scimitar diagnose SCENARIO`: which known server bug (quirk) makes a server answer as this one did.

The scenario is replayed on the reference server in its profile, once strict and once under each
quirk, in-process (no sockets; each run bounded by a deadline, two at a time). A run's *signature*
is its first failing step and the kind of failure: `status` (another status code), `field` (the
right status, other headers or fields) or `error` (the step could not run: a capture was absent).

* **A recording** (`scimitar record`) expects what the customer's server answered, so on the
  strict server it fails where that server deviates from the RFC: that step and kind are the
  customer's failure. A quirk matches when the reference server under it answers that step the
  way the customer's did (its run gets past the step); the best matches reproduce every step.
* **A shipped scenario** expects what the IdP needs and passes strict; give the customer's failure
  (`--step N`, optionally `--kind status|field`, from their replay report) and the quirks whose run
  fails at that step the same way are ranked. Without `--step`, every quirk that breaks the
  scenario is listed by where it breaks it.

Each match names the RFC section the quirk breaks and the `scimitar serve --quirk ...` command that
gives the developer a local server with the bug. When nothing matches it says so and shows the
closest runs and how they differ.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TextIO

from scimitar.quirks import QUIRKS, Quirk
from scimitar.scenario.engine import ERROR, FAILED, Environment, ScenarioResult, ScenarioRunner
from scimitar.scenario.format import Scenario

EXIT_OK, EXIT_NO_MATCH, EXIT_USAGE = 0, 1, 2
KINDS = ("status", "field", "error")
#: Seconds one replay may take; the reference server answers a recording of this size in well under one.
PER_RUN_DEADLINE_S = 10.0


@dataclass(frozen=True)
class Signature:
    """Where and how a run first failed."""

    step: int  # 0-based
    kind: str
    message: str

    def describe(self, scenario: Scenario) -> str:
        name = scenario.steps[self.step].name if self.step < len(scenario.steps) else "?"
        return f"step {self.step + 1} ({name}), {self.kind} mismatch: {self.message}"


@dataclass
class QuirkRun:
    quirk: Quirk | None
    outcome: str
    signature: Signature | None
    seconds: float


@dataclass
class Match:
    quirk: Quirk
    score: float
    why: str
    run: QuirkRun


@dataclass
class Diagnosis:
    scenario: Scenario
    strict: QuirkRun
    target: Signature | None  # the customer's failure
    matches: list[Match] = field(default_factory=list)
    closest: list[Match] = field(default_factory=list)
    mode: str = "recording"  # recording | given | list
    seconds: float = 0.0


def kind_of(message: str, outcome: str) -> str:
    if outcome == ERROR:
        return "error"
    return "status" if message.startswith("status ") else "field"


def signature(result: ScenarioResult) -> Signature | None:
    for index, step in enumerate(result.steps):
        if step.outcome in (FAILED, ERROR):
            return Signature(index, kind_of(step.message, step.outcome), step.message)
    if result.outcome in (FAILED, ERROR):
        return Signature(len(result.steps), "error", result.reason or result.outcome)
    return None


def run_under(scenario: Scenario, quirk: Quirk | None, *, deadline_s: float = PER_RUN_DEADLINE_S) -> QuirkRun:
    """Replay `scenario` on a fresh embedded reference server in its profile, strict or under `quirk`."""
    from scimitar.run import Run
    from scimitar.target import Target, TargetOptions

    started = time.perf_counter()
    quirks = frozenset({quirk}) if quirk is not None else frozenset()
    target = Target(TargetOptions(profile=scenario.requires.profile or "rfc", quirks=quirks, timeout=deadline_s))
    try:
        target.start_run_deadline(deadline_s)
        env = Environment(target=target, run=Run(seed=1))
        result = ScenarioRunner(env, sleep=lambda _s: None).run(scenario)
    except Exception as exc:  # one quirk breaking the harness must not end the diagnosis
        crashed = Signature(0, "error", f"the replay could not run: {type(exc).__name__}: {exc}")
        return QuirkRun(quirk, ERROR, crashed, time.perf_counter() - started)
    finally:
        target.close()
    return QuirkRun(quirk, result.outcome, signature(result), time.perf_counter() - started)


def diagnose(scenario: Scenario, *, step: int | None = None, kind: str | None = None,
             quirks: list[Quirk] | None = None, workers: int = 2) -> Diagnosis:
    """Run strict and under each quirk; rank the quirks that fail the way the customer's server did."""
    started = time.perf_counter()
    candidates = list(quirks if quirks is not None else Quirk)
    strict = run_under(scenario, None)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        runs = list(pool.map(lambda q: run_under(scenario, q), candidates))
    if strict.signature is not None:
        diagnosis = _rank_recording(scenario, strict, runs)
    elif step is not None:
        diagnosis = _rank_given(scenario, strict, runs, Signature(step, kind or "", "the customer's failure"))
    else:
        diagnosis = Diagnosis(scenario, strict, None, mode="list")
        diagnosis.matches = [Match(r.quirk, 0.0, r.signature.describe(scenario), r) for r in runs
                             if r.quirk is not None and r.signature is not None]
        diagnosis.matches.sort(key=lambda m: (m.run.signature.step if m.run.signature else 0, m.quirk.value))
    diagnosis.seconds = time.perf_counter() - started
    return diagnosis


def _rank_recording(scenario: Scenario, strict: QuirkRun, runs: list[QuirkRun]) -> Diagnosis:
    """The recording fails strict at step k: a quirk matches when its run gets past step k."""
    target = strict.signature
    assert target is not None
    diagnosis = Diagnosis(scenario, strict, target, mode="recording")
    total = len(scenario.steps)
    for run in runs:
        if run.quirk is None:
            continue
        sig = run.signature
        if sig is None:
            diagnosis.matches.append(Match(run.quirk, 2.0, "reproduces every recorded step", run))
        elif sig.step > target.step:
            reached = (sig.step - target.step) / max(1, total - target.step)
            diagnosis.matches.append(Match(run.quirk, 1.0 + reached, "reproduces the failing step, then differs "
                                           f"at {sig.describe(scenario)}", run))
        elif sig.step == target.step and sig.message != target.message:
            same_kind = sig.kind == target.kind
            diagnosis.closest.append(Match(run.quirk, 0.5 if same_kind else 0.25,
                                           f"changes the failing step but not to the recorded answer: "
                                           f"{sig.message}", run))
    diagnosis.matches.sort(key=lambda m: (-m.score, m.quirk.value))
    diagnosis.closest.sort(key=lambda m: (-m.score, m.quirk.value))
    return diagnosis


def _rank_given(scenario: Scenario, strict: QuirkRun, runs: list[QuirkRun], target: Signature) -> Diagnosis:
    """A scenario that passes strict, and the customer's failure given as a step (and kind)."""
    diagnosis = Diagnosis(scenario, strict, target, mode="given")
    for run in runs:
        sig = run.signature
        if run.quirk is None or sig is None:
            continue
        if sig.step == target.step and (not target.kind or sig.kind == target.kind):
            diagnosis.matches.append(Match(run.quirk, 1.0, sig.describe(scenario), run))
        else:
            distance = abs(sig.step - target.step) + (0.5 if target.kind and sig.kind != target.kind else 0)
            diagnosis.closest.append(Match(run.quirk, -distance, sig.describe(scenario), run))
    diagnosis.matches.sort(key=lambda m: m.quirk.value)
    diagnosis.closest.sort(key=lambda m: (-m.score, m.quirk.value))
    return diagnosis


def serve_command(scenario: Scenario, quirk: Quirk) -> str:
    profile = scenario.requires.profile
    return "scimitar serve" + (f" --profile {profile}" if profile and profile != "rfc" else "") + f" --quirk {quirk.value}"


def render(d: Diagnosis, top: int = 3) -> str:
    s = d.scenario
    lines = [f"diagnose {s.id}: {len(QUIRKS)} quirks replayed in {d.seconds:.1f} s"]

    def item(rank: int, m: Match) -> list[str]:
        info = QUIRKS[m.quirk]
        return [f"  {rank}. {m.quirk.value} ({info.section}): {info.description}",
                f"     {m.why}",
                f"     reproduce it locally: {serve_command(s, m.quirk)}"]

    if d.mode == "list":
        lines.append("the scenario passes on the strict reference server; give the customer's failing step "
                     "(--step N, --kind status|field) to rank the quirks. Quirks that break it:")
        for i, m in enumerate(d.matches, start=1):
            lines += item(i, m)
        if not d.matches:
            lines.append("  none")
        return "\n".join(lines)
    assert d.target is not None
    if d.mode == "recording":
        lines.append(f"the strict reference server answers differently from the recorded server at "
                     f"{d.target.describe(s)}")
        heading = "quirks that make the reference server answer as the recorded one did:"
    else:
        kind = f", {d.target.kind} mismatch" if d.target.kind else ""
        name = s.steps[d.target.step].name if d.target.step < len(s.steps) else "?"
        lines.append(f"the customer's failure: step {d.target.step + 1} ({name}){kind}")
        heading = "quirks that fail the same way:"
    if d.matches:
        lines.append(heading)
        for i, m in enumerate(d.matches[:top], start=1):
            lines += item(i, m)
        if len(d.matches) > top:
            lines.append(f"  ... and {len(d.matches) - top} more: " + ", ".join(m.quirk.value for m in d.matches[top:]))
        return "\n".join(lines)
    lines.append("no known quirk reproduces it: the customer's server has a bug the reference server does not know, "
                 "or the difference is not a bug. Closest:")
    for i, m in enumerate(d.closest[:top], start=1):
        lines += item(i, m)
    if not d.closest:
        lines.append("  none: no quirk changes the answer at that step")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO", help="a scenario file (recorded or shipped)")
    parser.add_argument("--step", type=int, metavar="N",
                        help="a shipped scenario: the step (1-based) where the customer's replay failed")
    parser.add_argument("--kind", choices=("status", "field"), help="with --step: how that step failed")
    parser.add_argument("--top", type=int, default=3, help="how many matches to show (default 3)")
    parser.add_argument("--quirk", action="append", default=[], metavar="NAME",
                        help="only try these quirks (repeatable; default: every quirk)")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from scimitar.quirks import parse_quirks
    from scimitar.scenario.loader import ScenarioLoadError, load_scenario

    stream = out or sys.stdout
    try:
        scenario = load_scenario(args.scenario)
        quirks = sorted(parse_quirks(args.quirk), key=lambda q: q.value) if args.quirk else None
    except (ScenarioLoadError, ValueError, OSError) as exc:
        print(f"scimitar: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.step is not None and not 1 <= args.step <= len(scenario.steps):
        print(f"scimitar: --step must be between 1 and {len(scenario.steps)}", file=sys.stderr)
        return EXIT_USAGE
    if scenario.requires.admin or any(st.kind in ("admin", "observe") for st in scenario.steps):
        print("scimitar: note: console and observer steps run against the embedded server's own console",
              file=sys.stderr)
    d = diagnose(scenario, step=None if args.step is None else args.step - 1, kind=args.kind, quirks=quirks)
    print(render(d, top=max(1, args.top)), file=stream)
    return EXIT_OK if d.matches else EXIT_NO_MATCH
