"""The outcome of every check (and later every scenario) in a run, and its JSON and JUnit forms.

Every output (terminal summary, JSON, JUnit, the HTML report) is rendered from `Results`, and
every exchange in it was masked when it was recorded.
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

from scimitar.exchange import Exchange


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

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "section": self.section,
            "requirement": self.requirement,
            "outcome": self.outcome.value,
            "message": self.message,
            "exchanges": [e.to_json() for e in self.exchanges],
        }

    def headline(self) -> str:
        return f"{self.section} ({self.requirement}): {self.message}"

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


_SUMMARY_KEYS = {
    Outcome.PASSED: "passed",
    Outcome.FAILED: "failed",
    Outcome.WARNING: "warnings",
    Outcome.SKIPPED: "skipped",
    Outcome.ERROR: "errors",
}
# XML 1.0 cannot carry most control characters, even escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("?", text)


@dataclass
class Results:
    """All results of one run. `scenarios` holds scenario results as dicts (id, title, outcome, ...)."""

    run_id: str = ""
    target: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    checks: list[CheckResult] = field(default_factory=list)
    scenarios: list[dict[str, Any]] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    _t0: float = field(default_factory=time.monotonic, repr=False)
    finished_s: float | None = None

    def add(self, result: CheckResult) -> None:
        self.checks.append(result)

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
            try:
                counts[_SUMMARY_KEYS[Outcome(scenario.get("outcome", ""))]] += 1
            except ValueError:
                pass
        return counts

    def summary_line(self) -> str:
        s = self.summary
        return (
            f"scimitar: {s['passed']} passed, {s['failed']} failed, {s['warnings']} warnings, "
            f"{s['skipped']} skipped, {s['errors']} errors"
        )

    def exit_code(self) -> int:
        """0 when no MUST failed and nothing errored, else 1 (3 and 2 are the CLI's, see `scimitar.cli`)."""
        s = self.summary
        return 1 if s["failed"] or s["errors"] else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "run": {
                "id": self.run_id,
                "target": self.target.get("description", ""),
                "target_details": self.target,
                "seed": self.seed,
                "started": self.started.isoformat(timespec="seconds"),
                "duration_s": self.duration_s,
                "scimitar_version": scimitar_version(),
            },
            "summary": self.summary,
            "checks": [c.to_json() for c in self.checks],
            "scenarios": self.scenarios,
        }

    def write_json(self, path: str | Path) -> None:
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def write_junit(self, path: str | Path) -> None:
        """One testcase per check; MUST failures are failures, SHOULD failures pass with a warning
        property and note, skipped (and MAY) are skipped, errors are errors."""
        s = self.summary
        suites = ET.Element("testsuites", name="scimitar")
        suite = ET.SubElement(
            suites,
            "testsuite",
            name="scimitar",
            tests=str(len(self.checks)),
            failures=str(s["failed"]),
            errors=str(s["errors"]),
            skipped=str(sum(1 for c in self.checks if c.outcome is Outcome.SKIPPED)),
            time=f"{self.duration_s:.3f}",
            timestamp=self.started.isoformat(timespec="seconds"),
        )
        props = ET.SubElement(suite, "properties")
        ET.SubElement(props, "property", name="run_id", value=self.run_id)
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
        ET.indent(suites)
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(suites).write(out, encoding="utf-8", xml_declaration=True)
