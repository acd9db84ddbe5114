"""`--baseline`: compare a run with an earlier JSON results file, so a release gate holds the line.

A team adopting scimitar usually starts with known failures it cannot fix this week. Failing CI
on every one of them teaches people to ignore the gate; not gating at all lets new breakage in.
So the gate fails only on *new* MUST failures (and errors); known ones are listed as such, and
fixed ones are listed so the baseline can be refreshed. Keys are check ids and scenario ids (the
scenario file path), which are stable across runs, unlike messages that carry generated names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Outcomes that fail a run without a baseline, and that a baseline can make "known".
BLOCKING = frozenset({"failed", "error"})
#: Outcomes that mean a former failure is fixed (a SHOULD warning is not a MUST failure).
FIXED = frozenset({"passed", "warning"})


class BaselineError(Exception):
    """The baseline file cannot be used (missing, not JSON, not a scimitar results file)."""


@dataclass(frozen=True)
class Entry:
    kind: str  # "check" or "scenario"
    id: str
    outcome: str
    message: str = ""

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.id, "outcome": self.outcome, "message": self.message}


@dataclass
class Comparison:
    path: str
    new: list[Entry] = field(default_factory=list)
    known: list[Entry] = field(default_factory=list)
    fixed: list[Entry] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every blocking failure of this run was already in the baseline."""
        return not self.new

    def summary_line(self) -> str:
        return (
            f"baseline {self.path}: {len(self.new)} new failure(s), {len(self.known)} known, "
            f"{len(self.fixed)} fixed"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "new": [e.to_json() for e in self.new],
            "known": [e.to_json() for e in self.known],
            "fixed": [e.to_json() for e in self.fixed],
        }


def load_baseline(path: str | Path) -> dict[str, Any]:
    """Read and sanity-check a results file; one-line `BaselineError` when it is unusable."""
    file = Path(path)
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"baseline {path} not found") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BaselineError(f"baseline {path} is not a JSON results file ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("checks"), list):
        raise BaselineError(f"baseline {path} has no 'checks' list; pass a file written by --json")
    return document


def _entries(document: dict[str, Any]) -> dict[tuple[str, str], Entry]:
    out: dict[tuple[str, str], Entry] = {}
    for kind, items in (
        ("check", document.get("checks") or []),
        ("scenario", document.get("scenarios") or []),
    ):
        for item in items:
            if isinstance(item, dict) and item.get("id"):
                message = str(item.get("message", ""))
                if kind == "scenario" and not message:
                    bad = [s for s in item.get("steps", []) if s.get("outcome") in BLOCKING]
                    message = f"{bad[0].get('name')}: {bad[0].get('message', '')}" if bad else ""
                out[(kind, str(item["id"]))] = Entry(kind, str(item["id"]), str(item.get("outcome")), message)
    return out


def compare(current: dict[str, Any], baseline: dict[str, Any], path: str = "") -> Comparison:
    """New, known and fixed blocking failures of `current` relative to `baseline` (JSON documents)."""
    now, before = _entries(current), _entries(baseline)
    result = Comparison(path=path)
    for key, entry in now.items():
        if entry.outcome in BLOCKING:
            old = before.get(key)
            (result.known if old is not None and old.outcome in BLOCKING else result.new).append(entry)
    for key, old in before.items():
        if old.outcome in BLOCKING and key in now and now[key].outcome in FIXED:
            result.fixed.append(now[key])
    return result
