"""Paths into a response and the small assertion language of `expect.assert` and `capture`.

A QA engineer writes what they would say aloud: `body.Resources[0].active == false`,
`body.totalResults >= 1`, `header.Location exists`, `body.members[*].value contains "{{ captured.id }}"`.
`PATH ~= VALUE` compares as text, the way Okta's Runscope collections compare (`401` and `"401"`
match; `true` and `"true"` too). That is the whole language: a path, an operator, a YAML literal. Paths and operators are parsed
when the file is loaded so a typo fails at collection, with its line.

Path syntax: a root (`body`, `header`/`headers`, `status`), then `.name`, `["key with . or :"]`,
`[0]` or `[*]` (every item). Member names are matched exactly first, then ignoring case
(RFC 7643 §2.1: attribute names are case-insensitive).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml


class PathError(ValueError):
    """A path or assertion that cannot be parsed."""


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()

_STEP = re.compile(r'\.([A-Za-z_$][A-Za-z0-9_$\-]*)|\[(\d+)\]|\[\*\]|\["((?:[^"\\]|\\.)*)"\]')
ROOTS = ("body", "header", "headers", "status")


@dataclass(frozen=True)
class Path:
    """A parsed path; `steps` are member names (str), indexes (int) or `*`."""

    text: str
    root: str
    steps: tuple[str | int, ...]

    def evaluate(self, status: int, headers: Mapping[str, str] | None, body: Any) -> Any:
        """The value at this path, MISSING when absent; a `[*]` step yields a list."""
        if self.root == "status":
            return status
        if self.root in ("header", "headers"):
            name = str(self.steps[0]).lower()
            for key, value in (headers or {}).items():
                if key.lower() == name:
                    return value
            return MISSING
        return _walk(body, self.steps)


def _walk(value: Any, steps: tuple[str | int, ...]) -> Any:
    for i, step in enumerate(steps):
        if step == "*":
            if value is MISSING or value is None:
                return []  # an absent multi-valued attribute has no values (RFC 7643 §2.5)
            if not isinstance(value, list):
                return MISSING
            out = [_walk(item, steps[i + 1 :]) for item in value]
            return [item for item in out if item is not MISSING]
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return MISSING
            value = value[step]
            continue
        if not isinstance(value, Mapping):
            return MISSING
        if step in value:
            value = value[step]
            continue
        lowered = step.lower()
        match = next((k for k in value if isinstance(k, str) and k.lower() == lowered), None)
        if match is None:
            return [] if steps[i + 1 : i + 2] == ("*",) else MISSING
        value = value[match]
    return value


def parse_path(text: str) -> Path:
    """Parse `body.Resources[0].id`, `header.Location`, `status`."""
    text = text.strip()
    root = re.match(r"[A-Za-z]+", text)
    if root is None or root.group(0) not in ROOTS:
        raise PathError(f"path {text!r} must start with one of {', '.join(ROOTS)}")
    name = root.group(0)
    rest = text[root.end() :]
    if name == "status":
        if rest:
            raise PathError(f"path {text!r}: 'status' has no members")
        return Path(text, name, ())
    if name in ("header", "headers"):
        if not rest.startswith(".") or len(rest) < 2:
            raise PathError(f"path {text!r}: write header.NAME, e.g. header.Location")
        return Path(text, name, (rest[1:],))
    steps: list[str | int] = []
    pos = 0
    while pos < len(rest):
        m = _STEP.match(rest, pos)
        if m is None:
            raise PathError(f"path {text!r}: cannot read {rest[pos:]!r} (use .name, [0], [*] or [\"key\"])")
        if m.group(1) is not None:
            steps.append(m.group(1))
        elif m.group(2) is not None:
            steps.append(int(m.group(2)))
        elif m.group(3) is not None:
            steps.append(m.group(3).replace('\\"', '"'))
        else:
            steps.append("*")
        pos = m.end()
    return Path(text, name, tuple(steps))


_ASSERT = re.compile(
    r"^(?P<len>len\()?(?P<path>[^\s()]+?)(?(len)\))\s+"
    r"(?P<op>==|!=|~=|>=|<=|>|<|not contains|contains|matches|not exists|exists)(?:\s+(?P<rhs>.+))?$",
    re.DOTALL,
)
ORDERING = (">=", "<=", ">", "<")


@dataclass(frozen=True)
class Assertion:
    """`PATH OP VALUE` (or `PATH exists`); `expected` is the YAML literal, templates still inside."""

    text: str
    path: Path
    op: str
    expected: Any
    length: bool = False

    def check(self, actual_root: Any, expected: Any) -> str | None:
        """None when it holds, else a one-line explanation with the actual value."""
        actual = actual_root
        if self.length:
            if actual is MISSING or not isinstance(actual, list | dict | str):
                return f"{self.text}: {self.path.text} is {_show(actual)}, which has no length"
            actual = len(actual)
        op = self.op
        ok: bool
        if op == "exists":
            ok = actual is not MISSING
        elif op == "not exists":
            ok = actual is MISSING
        elif op in ("contains", "not contains"):
            if isinstance(actual, list):
                has = any(_equal(item, expected) for item in actual)
            elif isinstance(actual, str) and isinstance(expected, str):
                has = expected in actual
            else:
                return f"{self.text}: {self.path.text} is {_show(actual)}, not a list or string"
            ok = has if op == "contains" else not has
        elif op == "matches":
            ok = isinstance(actual, str) and re.search(str(expected), actual) is not None
        elif op == "==":
            ok = _equal(actual, expected)
        elif op == "~=":
            ok = actual is not MISSING and _loose(actual) == _loose(expected)
        elif op == "!=":
            ok = not _equal(actual, expected)
        else:
            if not _number(actual) or not _number(expected):
                return f"{self.text}: {self.path.text} is {_show(actual)}, not a number"
            ok = {">=": actual >= expected, "<=": actual <= expected, ">": actual > expected,
                  "<": actual < expected}[op]
        if ok:
            return None
        return f"{self.text}: {self.path.text} is {_show(actual)}"


def parse_assertion(text: str) -> Assertion:
    m = _ASSERT.match(text.strip())
    if m is None:
        raise PathError(
            f"assertion {text!r} must read 'PATH OP VALUE' (OP: ==, !=, ~=, >=, <=, >, <, contains, "
            "not contains, matches) or 'PATH exists' / 'PATH not exists'"
        )
    op = m.group("op")
    rhs = m.group("rhs")
    if op in ("exists", "not exists"):
        if rhs is not None:
            raise PathError(f"assertion {text!r}: '{op}' takes no value")
        expected: Any = None
    else:
        if rhs is None:
            raise PathError(f"assertion {text!r}: '{op}' needs a value after it")
        try:
            expected = yaml.safe_load(rhs)
        except yaml.YAMLError:
            raise PathError(f"assertion {text!r}: {rhs!r} is not a YAML value") from None
    return Assertion(text.strip(), parse_path(m.group("path")), op, expected, length=bool(m.group("len")))


def _loose(value: Any) -> str:
    """The text a Runscope `equal` assertion compares: JSON spelling for booleans and null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(actual: Any, expected: Any) -> bool:
    """JSON equality: `false` is not `"False"` and `1` is not `true` (the point of Entra's cases)."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        return isinstance(actual, bool) and isinstance(expected, bool) and actual is expected
    return bool(actual == expected)


def _show(value: Any) -> str:
    if value is MISSING:
        return "absent"
    text = repr(value)
    return text if len(text) <= 200 else text[:200] + "..."


def subset_mismatch(expected: Any, actual: Any, where: str = "body") -> str | None:
    """Where `actual` fails to contain `expected`, or None.

    Objects: every expected member must be present (names ignoring case) and match. Arrays: each
    expected item must match a different actual item, in any order (SCIM does not order
    multi-valued attributes). Scalars: JSON equality.
    """
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{where} is {_show(actual)}, expected an object"
        for key, value in expected.items():
            found = _walk(actual, (str(key),))
            if found is MISSING:
                return f"{where}.{key} is absent, expected {_show(value)}"
            problem = subset_mismatch(value, found, f"{where}.{key}")
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{where} is {_show(actual)}, expected a list"
        remaining = list(actual)
        for i, item in enumerate(expected):
            hit = next((j for j, cand in enumerate(remaining) if subset_mismatch(item, cand) is None), None)
            if hit is None:
                return f"{where} has no item matching {_show(item)} (expected item {i})"
            remaining.pop(hit)
        return None
    if not _equal(actual, expected):
        return f"{where} is {_show(actual)}, expected {_show(expected)}"
    return None
