"""The outcome of every check and scenario in a run, and its JSON and JUnit forms.

Every output (terminal summary, JSON, JUnit, the HTML report in `scimitar.report`) is rendered
from `Results`, and every exchange in it was masked when it was recorded. When the run's `Masker`
is attached (`Results.masker`), each file is scrubbed once more as a whole before it is written
(`scimitar.report.scrub`): a second, independent line of defence, so a secret that slipped into a
message or an exception text still never reaches a file a CI system keeps as an artifact.
"""

from __future__ import annotations

import json
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Any

from scimitar.exchange import Exchange, Masker

#: How much of one value (a message, an expected or actual value, a curl line) the terminal shows.
COMPACT_WIDTH = 300


def _cut(text: str, width: int) -> str:
    """One line of at most `width` characters; what is cut is said, not silently dropped."""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + f"… [{len(flat) - width + 1} more chars in the report]"


def exchange_lines(exchanges: list[Exchange], width: int = COMPACT_WIDTH) -> list[str]:
    """The decisive exchange (the last given) as a request/status line and its curl line."""
    if not exchanges:
        return []
    decisive = exchanges[-1]
    status = f"HTTP {decisive.status}" if decisive.status else f"no response ({decisive.error})"
    more = f"  (the last of {len(exchanges)} requests; all are in the report)" if len(exchanges) > 1 else ""
    curl = decisive.curl()
    if len(curl) > 2 * width:
        curl = curl[: 2 * width] + "… [cut: the full line is in the report]"
    return [f"  {decisive.method} {_cut(decisive.url, width)} -> {status}{more}", f"  reproduce: {curl}"]


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # a MUST requirement is not met
    WARNING = "warning"  # a SHOULD requirement is not met
    SKIPPED = "skipped"
    ERROR = "error"  # the check itself broke (or the target vanished)


@dataclass
class CheckResult:
    """One check's outcome; `evidence` are the exchanges that prove a failure (a subset of `exchanges`)."""

    id: str
    title: str
    section: str
    requirement: str
    outcome: Outcome
    message: str
    exchanges: list[Exchange]
    duration_ms: float
    expected: Any = None
    actual: Any = None
    evidence: list[Exchange] = field(default_factory=list)
    #: Expectations the check evaluated on its requirement (0 means it was not exercised).
    expectations: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "section": self.section,
            "requirement": self.requirement,
            "outcome": self.outcome.value,
            "message": self.message,
            "requests": len(self.exchanges),
            # Transcripts only where someone will read them: a clean run's file stays small.
            "exchanges": [e.to_json() for e in self.exchanges]
            if self.outcome in (Outcome.FAILED, Outcome.WARNING, Outcome.ERROR)
            else [],
        }

    def headline(self) -> str:
        return f"{self.section} ({self.requirement}): {self.message}"

    def compact(self, width: int = COMPACT_WIDTH) -> str:
        """The terminal's block for a failure: id, level and section, the message, expected and
        actual, the decisive request with its status, and its curl line; bodies cut. The whole
        story (every exchange, pretty bodies) is in the report and `details()` (`-v`)."""
        lines = [f"{self.id}: {self.section} ({self.requirement}): {_cut(self.message, width)}"]
        if self.expected is not None:
            lines.append("  expected: " + _cut(str(self.expected), width))
        if self.actual is not None:
            lines.append("  actual:   " + _cut(str(self.actual), width))
        lines += exchange_lines(self.evidence or self.exchanges[-1:], width)
        return "\n".join(lines)

    def details(self) -> str:
        """The full failure text: section and level, expected/actual, transcript and curl of the evidence."""
        lines = [self.headline()]
        if self.expected is not None:
            lines.append(f"expected: {self.expected}")
        if self.actual is not None:
            actual = str(self.actual)
            lines.append("actual:" + ("\n" + actual if "\n" in actual else f" {actual}"))
        evidence = self.evidence or self.exchanges[-1:]
        for exchange in evidence:
            lines += ["", exchange.transcript(), "", "reproduce with:", "  " + exchange.curl()]
        return "\n".join(lines)


def scimitar_version() -> str:
    try:
        return metadata.version("scimitar")
    except metadata.PackageNotFoundError:
        return "0+unknown"


VERDICT_PASS, VERDICT_FAIL, VERDICT_INTERRUPTED, VERDICT_SKIPPED = "PASS", "FAIL", "INTERRUPTED", "SKIPPED"

_SUMMARY_KEYS = {
    Outcome.PASSED: "passed",
    Outcome.FAILED: "failed",
    Outcome.WARNING: "warnings",
    Outcome.SKIPPED: "skipped",
    Outcome.ERROR: "errors",
}
#: results.json keeps at most this many exchanges per scenario step, and cuts the transcripts of a
#: passing step at this length (a failing step's stay whole).
STEP_EXCHANGES_JSON = 8
PASSING_STEP_EXCHANGES_JSON = 4
PASSING_TRANSCRIPT_CHARS = 1500
# XML 1.0 cannot carry most control characters, even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("?", text)


@dataclass
class StepDetail:
    """One scenario step with its exchanges, for the HTML timeline and JUnit (not part of the JSON)."""

    name: str
    outcome: str
    message: str
    level: str = "MUST"
    kind: str = "request"
    exchanges: list[Exchange] = field(default_factory=list)
    source: str | None = None  # the public source of the step's idp expectations


@dataclass
class ScenarioDetail:
    """What the JSON entry of a scenario leaves out: description, target, reason and step exchanges."""

    id: str
    title: str
    idp: str
    outcome: str
    description: str = ""
    profile: str | None = None
    reason: str = ""
    target: str = ""
    duration_s: float = 0.0
    steps: list[StepDetail] = field(default_factory=list)

    @classmethod
    def from_result(cls, result: Any) -> ScenarioDetail:
        """Build from a `scimitar.scenario.engine.ScenarioResult` (duck-typed: no import cycle)."""
        scenario = result.scenario
        by_name = {s.name: s for s in scenario.steps}
        steps = []
        for step in result.steps:
            spec = by_name.get(step.name)
            steps.append(
                StepDetail(
                    name=step.name,
                    outcome=step.outcome,
                    message=step.message,
                    # A deviation the IdP tolerates is not a MUST or SHOULD of the flow.
                    level="RFC (tolerated)" if getattr(step, "warnings", None) else getattr(spec, "level", "MUST"),
                    kind=getattr(spec, "kind", "request"),
                    exchanges=list(step.exchanges),
                    source=getattr(step, "source", None),
                )
            )
        return cls(
            id=scenario.id,
            title=scenario.name,
            idp=scenario.idp,
            outcome=result.outcome,
            description=" ".join(str(scenario.description).split()),
            profile=scenario.requires.profile,
            reason=result.reason,
            target=result.target,
            duration_s=round(result.duration_s, 3),
            steps=steps,
        )


@dataclass
class Results:
    """All results of one run. `scenarios` holds scenario results as dicts (id, idp, outcome, steps,
    title); `scenario_details` the same scenarios with step exchanges, by id, for HTML and JUnit.
    `extra` is merged into the JSON document (e.g. the `baseline` comparison)."""

    run_id: str = ""
    target: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    checks: list[CheckResult] = field(default_factory=list)
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    _t0: float = field(default_factory=time.monotonic, repr=False)
    finished_s: float | None = None
    scenario_details: dict[str, ScenarioDetail] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    masker: Masker | None = field(default=None, repr=False)
    #: The run was stopped (Ctrl-C) before it ended: what it holds is only what ran.
    interrupted: bool = False

    def add(self, result: CheckResult) -> None:
        self.checks.append(result)

    def add_scenario(self, result: Any, *, append_entry: bool = True) -> ScenarioDetail:
        """Record a `ScenarioResult`: its JSON entry (unless a collector already appended it) and detail."""
        detail = ScenarioDetail.from_result(result)
        self.scenario_details[detail.id] = detail
        if append_entry and not any(s.get("id") == detail.id for s in self.scenarios):
            self.scenarios.append({**result.to_json(), "title": detail.title})
        return detail

    def _scrub(self, text: str) -> str:
        if self.masker is None:
            return text
        from scimitar.report.scrub import scrub

        return scrub(text, self.masker)

    def finish(self) -> None:
        self.finished_s = time.monotonic() - self._t0

    @property
    def duration_s(self) -> float:
        return round(self.finished_s if self.finished_s is not None else time.monotonic() - self._t0, 3)

    @property
    def summary(self) -> dict[str, int]:
        """Counts by outcome over checks and scenarios; `failed` counts MUST failures only."""
        counts = dict.fromkeys(_SUMMARY_KEYS.values(), 0)
        for result in self.checks:
            counts[_SUMMARY_KEYS[result.outcome]] += 1
        for scenario in self.scenarios:
            # Step-level warnings count one each (each is a WARN line the reader saw); a scenario
            # whose only findings are warnings counts through them, not as passed.
            warned = sum(1 for st in scenario.get("steps", []) if st.get("outcome") == "warning")
            counts["warnings"] += warned
            if scenario.get("outcome") == "warning":
                counts["warnings"] += 0 if warned else 1
                continue
            try:
                counts[_SUMMARY_KEYS[Outcome(scenario.get("outcome", ""))]] += 1
            except ValueError:
                pass
        return counts

    def readiness(self) -> list[dict[str, Any]]:
        """One verdict per IdP (`scimitar.readiness`): would its provisioning succeed here?"""
        from scimitar.readiness import verdicts

        profiles = {sid: d.profile for sid, d in self.scenario_details.items()}
        return [v.to_json() for v in verdicts(self.scenarios, profiles)]

    @property
    def nothing_verified(self) -> bool:
        """Whether no check or scenario reached a verdict: everything ran was skipped (or nothing ran)."""
        s = self.summary
        return s["passed"] + s["failed"] + s["warnings"] + s["errors"] == 0

    def verdict(self, baseline_ok: bool | None = None) -> str:
        """One word for the run, never PASS for what was not verified.

        INTERRUPTED when Ctrl-C stopped it (whatever the half that ran says), SKIPPED when nothing
        was verified, FAIL on a MUST failure or an error (with a baseline: on a new one), else PASS.
        """
        if self.interrupted:
            return VERDICT_INTERRUPTED
        if self.nothing_verified:
            return VERDICT_SKIPPED
        s = self.summary
        failed = bool(s["failed"] or s["errors"]) if baseline_ok is None else not baseline_ok
        return VERDICT_FAIL if failed else VERDICT_PASS

    def counts_text(self) -> str:
        s = self.summary
        return (
            f"{s['passed']} passed, {s['failed']} failed, {s['warnings']} warnings, "
            f"{s['skipped']} skipped, {s['errors']} errors"
        )

    def summary_line(self, baseline_ok: bool | None = None) -> str:
        """The run's last word in the terminal: `scimitar: PASS|FAIL|INTERRUPTED|SKIPPED: <counts>`."""
        line = f"scimitar: {self.verdict(baseline_ok)}: {self.counts_text()}"
        if self.interrupted:
            line += " (interrupted: the results cover only what ran)"
        elif self.nothing_verified:
            line += " (nothing was verified: every check and scenario was skipped)"
        return line

    def exit_code(self) -> int:
        """0 when no MUST failed and nothing errored, else 1 (3 and 2 are the CLI's, see `scimitar.cli`)."""
        s = self.summary
        return 1 if s["failed"] or s["errors"] else 0

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "run": {
                "id": self.run_id,
                "target": self.target.get("description", ""),
                "target_details": self.target,
                "seed": self.seed,
                "started": self.started.isoformat(timespec="seconds"),
                "duration_s": self.duration_s,
                "scimitar_version": scimitar_version(),
            },
            "verdict": self.verdict(),
            "summary": {**self.summary, "interrupted": self.interrupted},
            "readiness": self.readiness(),
            "checks": [c.to_json() for c in self.checks],
            "scenarios": [self._scenario_json(s) for s in self.scenarios],
        }
        document.update(self.extra)
        return document

    def _scenario_json(self, entry: dict[str, Any]) -> dict[str, Any]:
        """A scenario entry with each step's exchanges (passing steps too: support needs the PATCH a
        server accepted and ignored), capped so a clean run's file stays small: the last
        `STEP_EXCHANGES_JSON` of a step (`PASSING_STEP_EXCHANGES_JSON` of a passing one), a passing
        step's transcripts cut short."""
        detail = self.scenario_details.get(str(entry.get("id", "")))
        steps = entry.get("steps")
        if detail is None or not isinstance(steps, list) or len(steps) != len(detail.steps):
            return entry
        out_steps = []
        for step, full in zip(steps, detail.steps, strict=True):
            if not full.exchanges:
                out_steps.append(step)
                continue
            cap = PASSING_STEP_EXCHANGES_JSON if full.outcome == "passed" else STEP_EXCHANGES_JSON
            kept = full.exchanges[-cap:]
            records = [e.to_json() for e in kept]
            if full.outcome == "passed":
                for record in records:
                    text = str(record["transcript"])
                    if len(text) > PASSING_TRANSCRIPT_CHARS:
                        record["transcript"] = text[:PASSING_TRANSCRIPT_CHARS] + "\n... (cut)"
            out_steps.append({**step, "requests": len(full.exchanges), "exchanges": records})
        return {**entry, "steps": out_steps}

    def write_json(self, path: str | Path) -> None:
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n"
        out.write_text(self._scrub(text), encoding="utf-8")

    def write_junit(self, path: str | Path) -> None:
        """One testcase per check and per scenario step; MUST failures are failures, SHOULD failures
        pass with a warning property and note, skipped (and MAY) are skipped, errors are errors.

        Scenario steps are test cases of their own (classname = the scenario file) so a CI's test
        view points at the step that broke, not at a 14-step scenario as a whole."""
        steps = self._junit_steps()
        suites = ET.Element("testsuites", name="scimitar")
        suite = ET.SubElement(
            suites,
            "testsuite",
            name="scimitar",
            tests=str(len(self.checks) + len(steps)),
            failures=str(
                sum(1 for c in self.checks if c.outcome is Outcome.FAILED)
                + sum(1 for *_, st in steps if st.outcome == "failed")
            ),
            errors=str(
                sum(1 for c in self.checks if c.outcome is Outcome.ERROR)
                + sum(1 for *_, st in steps if st.outcome == "error")
            ),
            skipped=str(
                sum(1 for c in self.checks if c.outcome is Outcome.SKIPPED)
                + sum(1 for *_, st in steps if st.outcome == "skipped")
            ),
            time=f"{self.duration_s:.3f}",
            timestamp=self.started.isoformat(timespec="seconds"),
        )
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="run_id", value=self.run_id)
        ET.SubElement(props, "property", name="verdict", value=self.verdict())
        ET.SubElement(props, "property", name="interrupted", value="true" if self.interrupted else "false")
        ET.SubElement(props, "property", name="target", value=_xml_text(self.target.get("description", "")))
        ET.SubElement(props, "property", name="seed", value=str(self.seed))
        for result in self.checks:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=result.section,
                name=result.id,
                time=f"{result.duration_ms / 1000:.3f}",
            )
            text = _xml_text(result.details())
            message = _xml_text(result.headline())
            if result.outcome is Outcome.FAILED:
                ET.SubElement(case, "failure", message=message, type=result.requirement).text = text
            elif result.outcome is Outcome.ERROR:
                ET.SubElement(case, "error", message=message, type="error").text = text
            elif result.outcome is Outcome.SKIPPED:
                ET.SubElement(case, "skipped", message=_xml_text(result.message))
            elif result.outcome is Outcome.WARNING:
                case_props = ET.SubElement(case, "properties")
                ET.SubElement(case_props, "property", name="warning", value=message)
                text = f"WARNING ({result.requirement} not met): {text}"
            if result.exchanges and result.outcome is not Outcome.SKIPPED:
                transcripts = "\n\n".join(e.transcript() for e in result.exchanges)
                body = text if result.outcome is Outcome.WARNING else ""
                ET.SubElement(case, "system-out").text = _xml_text(
                    (body + "\n\n" if body else "") + transcripts
                )
            elif result.outcome is Outcome.WARNING:
                ET.SubElement(case, "system-out").text = text
        for scenario_id, index, step in steps:
            self._junit_step(suite, scenario_id, index, step)
        if self.interrupted:
            # A CI test view must not show green for a run cut short: one error case says so.
            case = ET.SubElement(suite, "testcase", classname="scimitar", name="run interrupted", time="0.000")
            ET.SubElement(
                case, "error", message="interrupted by Ctrl-C: the results cover only what ran", type="interrupted"
            )
            suite.set("tests", str(int(suite.get("tests", "0")) + 1))
            suite.set("errors", str(int(suite.get("errors", "0")) + 1))
        ET.indent(suites)
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        text = ET.tostring(suites, encoding="unicode")
        out.write_text(
            "<?xml version='1.0' encoding='utf-8'?>\n" + self._scrub(text) + "\n", encoding="utf-8"
        )

    def _junit_steps(self) -> list[tuple[str, int, StepDetail]]:
        """(scenario id, 1-based index, step) for every scenario step, with exchanges when known."""
        out: list[tuple[str, int, StepDetail]] = []
        for entry in self.scenarios:
            sid = str(entry.get("id", ""))
            detail = self.scenario_details.get(sid)
            if detail is not None and detail.steps:
                steps = detail.steps
            else:
                steps = [
                    StepDetail(
                        str(st.get("name", "")), str(st.get("outcome", "")), str(st.get("message", ""))
                    )
                    for st in entry.get("steps", [])
                ]
            if not steps:  # a scenario that could not start still gets one case, carrying its reason
                reason = detail.reason if detail is not None else ""
                steps = [StepDetail("(scenario)", str(entry.get("outcome", "")), reason)]
            out += [(sid, i, st) for i, st in enumerate(steps, start=1)]
        return out

    @staticmethod
    def _junit_step(suite: ET.Element, scenario_id: str, index: int, step: StepDetail) -> None:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=_xml_text(scenario_id),
            name=_xml_text(f"{index:02d} {step.name}"),
            time=f"{sum(e.elapsed_ms for e in step.exchanges) / 1000:.3f}",
        )
        message = _xml_text(f"{step.level}: {step.message}" if step.message else step.level)
        transcripts = "\n\n".join(
            e.transcript() + "\n\nreproduce with:\n  " + e.curl() for e in step.exchanges[-3:]
        )
        if step.outcome == "failed":
            ET.SubElement(case, "failure", message=message, type=step.level).text = _xml_text(transcripts)
        elif step.outcome == "error":
            ET.SubElement(case, "error", message=message, type="error").text = _xml_text(transcripts)
        elif step.outcome == "skipped":
            ET.SubElement(case, "skipped", message=_xml_text(step.message))
        elif step.outcome == "warning":
            case_props = ET.SubElement(case, "properties")
            ET.SubElement(case_props, "property", name="warning", value=message)
            ET.SubElement(case, "system-out").text = _xml_text(f"WARNING: {step.message}\n\n{transcripts}")
