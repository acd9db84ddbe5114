"""The readiness verdict: one line per identity provider saying whether its provisioning would work.

Support's question is "will Okta (or Entra) provisioning work against this server?", not "how many
RFC checks failed". Each scenario replays one IdP flow and fails only where the IdP itself would fail
(its `idp` expectations); deviations the IdP tolerates are warnings. So the verdict for an IdP is the
share of its flows that succeeded, and the flows that did not, each with the first step that broke:

    Okta: provisioning would succeed on 13 of 14 flows; blocking: deactivate (step 3: body.active == false: ...)

It is computed here once, from the scenario entries of `Results` (the JSON form, so `scimitar
replay`, `scimitar test` and a results.json read back all give the same lines), and the terminal,
the HTML report and results.json only print it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from scimitar.report.features import scenario_idp

LABELS = {"okta": "Okta", "entra": "Entra ID", "clickhouse": "ClickHouse (test plan, Okta's calls)",
          "generic": "Generic client"}
ORDER = ("okta", "entra", "clickhouse", "generic")
_RAN = ("passed", "warning", "failed", "error")
_MESSAGE_MAX = 140


@dataclass
class Verdict:
    """One IdP's readiness: flows that ran, how many would succeed, and what blocks the others."""

    idp: str
    flows: int = 0
    succeeded: int = 0
    skipped: int = 0
    warnings: int = 0  # steps with deviations the IdP tolerates
    blocking: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return LABELS.get(self.idp, self.idp)

    @property
    def ready(self) -> bool:
        return self.flows > 0 and self.succeeded == self.flows

    def line(self) -> str:
        if self.flows == 0:
            text = f"{self.label}: no flow ran ({self.skipped} skipped)"
        else:
            text = f"{self.label}: provisioning would succeed on {self.succeeded} of {self.flows} flows"
            if self.blocking:
                text += "; blocking: " + ", ".join(self.blocking)
            if self.skipped:
                text += f"; {self.skipped} skipped"
        if self.warnings:
            text += f"; {self.warnings} tolerated RFC deviation(s) (warnings)"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "idp": self.idp,
            "label": self.label,
            "flows": self.flows,
            "succeeded": self.succeeded,
            "skipped": self.skipped,
            "warnings": self.warnings,
            "blocking": list(self.blocking),
            "line": self.line(),
        }


def _flow_name(entry: Mapping[str, Any]) -> str:
    sid = str(entry.get("id", ""))
    return PurePosixPath(sid).stem if sid else str(entry.get("title", "?"))


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MESSAGE_MAX else text[: _MESSAGE_MAX - 3] + "..."


def _blocker(entry: Mapping[str, Any]) -> str:
    """`deactivate (step 3: <why>)`: the first step that failed or errored, or the scenario's reason."""
    for index, step in enumerate(entry.get("steps") or [], start=1):
        if step.get("outcome") in ("failed", "error"):
            why = str(step.get("message") or step.get("outcome"))
            return f"{_flow_name(entry)} (step {index}: {_short(why)})"
    reason = str(entry.get("reason") or entry.get("outcome") or "")
    return f"{_flow_name(entry)} ({_short(reason)})"


def verdicts(
    entries: Iterable[Mapping[str, Any]], profiles: Mapping[str, str | None] | None = None
) -> list[Verdict]:
    """One `Verdict` per IdP that has scenarios in `entries` (results.json `scenarios` items), in a
    stable order. `profiles` maps scenario ids to their required profile (ClickHouse flows)."""
    found: dict[str, Verdict] = {}
    for entry in entries:
        idp = scenario_idp(dict(entry), (profiles or {}).get(str(entry.get("id"))))
        verdict = found.setdefault(idp, Verdict(idp))
        outcome = str(entry.get("outcome", ""))
        verdict.warnings += sum(1 for s in entry.get("steps") or [] if s.get("outcome") == "warning")
        if outcome not in _RAN:
            verdict.skipped += 1
            continue
        verdict.flows += 1
        if outcome in ("passed", "warning"):
            verdict.succeeded += 1
        else:
            verdict.blocking.append(_blocker(entry))
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(found.values(), key=lambda v: (rank.get(v.idp, len(ORDER)), v.idp))


def lines(entries: Iterable[Mapping[str, Any]], profiles: Mapping[str, str | None] | None = None) -> list[str]:
    """The verdict lines, ready to print."""
    return [v.line() for v in verdicts(entries, profiles)]
