"""Load a scenario file: YAML with source marks -> JSON Schema -> semantic checks -> `Scenario`.

A broken scenario must be fixable by someone who has never seen the Python: every problem is one
`ScenarioLoadError` naming the file, the line, the step (number and name) and the field, e.g.

    scenarios/okta/deactivate.yaml:31: step 3 (deactivate), field expect.status: 'status' is required

never a traceback. Lines come from PyYAML's composer (the node tree keeps `start_mark`), mapped
from the JSON pointer of each problem, the way Tavern keeps its marks.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path as FilePath
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from scimitar.quirks import Quirk
from scimitar.scenario.assertions import MISSING, Assertion, Path, PathError, parse_assertion, parse_path
from scimitar.scenario.format import STEP_KINDS, Expect, Requires, RfcExpect, Scenario, Step
from scimitar.scenario.templating import TemplateError, check_ref, refs_in, walk_strings

Pointer = tuple[str | int, ...]
SCHEMA_FILE = "scenario.schema.json"


class ScenarioLoadError(Exception):
    """A scenario file that cannot be used; `str()` is the whole, single-line explanation."""

    def __init__(
        self,
        file: str,
        message: str,
        *,
        line: int | None = None,
        step: tuple[int, str | None] | None = None,
        field: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.step = step
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        parts = []
        if self.step is not None:
            index, name = self.step
            parts.append(f"step {index + 1}" + (f" ({name})" if name else ""))
        if self.field:
            parts.append(f"field {self.field}")
        context = ", ".join(parts)
        return f"{where}: {context + ': ' if context else ''}{self.message}"


def schema_path() -> FilePath:
    """The scenario JSON Schema: in the repository, or packaged into the wheel as `_scenarios`."""
    repo = FilePath(__file__).resolve().parents[2] / "scenarios" / SCHEMA_FILE
    if repo.is_file():
        return repo
    return FilePath(__file__).resolve().parents[1] / "_scenarios" / SCHEMA_FILE


@functools.cache
def _validator() -> Draft202012Validator:
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def scenario_id(file: FilePath) -> str:
    """`scenarios/<idp>/<file>.yaml`: the path below the directory holding the schema, under
    `scenarios/`, wherever that directory is (the repository, a wheel's `scimitar/_scenarios`, a copy)."""
    resolved = file.resolve()
    for parent in resolved.parents:
        if (parent / SCHEMA_FILE).is_file():
            return "scenarios/" + resolved.relative_to(parent).as_posix()
    return file.as_posix()


# -- YAML with lines ------------------------------------------------------------------------------


def _line_map(node: yaml.Node, pointer: Pointer, lines: dict[Pointer, int], dups: list[tuple[Pointer, int]]) -> None:
    lines.setdefault(pointer, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*pointer, key)
            if key in seen:
                dups.append((child, key_node.start_mark.line + 1))
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _line_map(value_node, child, lines, dups)
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, (*pointer, i), lines, dups)


def _step_near_line(text: str, line: int) -> tuple[int, str | None] | None:
    """For a YAML syntax error: the step whose `- name:` precedes the line (best effort)."""
    in_steps = False
    current: tuple[int, str | None] | None = None
    index = -1
    for number, raw in enumerate(text.splitlines(), start=1):
        if number > line:
            break
        if re.match(r"^steps\s*:", raw):
            in_steps = True
            continue
        if in_steps and re.match(r"^\S", raw):
            in_steps = False
        m = re.match(r"^\s*-\s+name\s*:\s*(.*)$", raw)
        if in_steps and m:
            index += 1
            current = (index, m.group(1).strip().strip("'\"") or None)
    return current


class _Doc:
    """The parsed document, its line map and helpers that raise located errors."""

    def __init__(self, file: str, data: Any, lines: dict[Pointer, int]) -> None:
        self.file = file
        self.data = data
        self.lines = lines

    def line(self, pointer: Pointer) -> int | None:
        for end in range(len(pointer), -1, -1):
            found = self.lines.get(pointer[:end])
            if found is not None:
                return found
        return None

    def step_of(self, pointer: Pointer) -> tuple[int, str | None] | None:
        if len(pointer) >= 2 and pointer[0] == "steps" and isinstance(pointer[1], int):
            steps = self.data.get("steps") if isinstance(self.data, dict) else None
            name = None
            if isinstance(steps, list) and pointer[1] < len(steps) and isinstance(steps[pointer[1]], dict):
                raw = steps[pointer[1]].get("name")
                name = raw if isinstance(raw, str) else None
            return (pointer[1], name)
        return None

    @staticmethod
    def field_name(pointer: Pointer) -> str | None:
        rest = pointer[2:] if len(pointer) >= 2 and pointer[0] == "steps" and isinstance(pointer[1], int) else pointer
        out = ""
        for part in rest:
            if isinstance(part, int):
                out += f"[{part}]"
            else:
                out += ("." if out else "") + part
        return out or None

    def error(self, pointer: Pointer, message: str, *, field_pointer: Pointer | None = None) -> ScenarioLoadError:
        return ScenarioLoadError(
            self.file,
            message,
            line=self.line(pointer),
            step=self.step_of(pointer),
            field=self.field_name(field_pointer if field_pointer is not None else pointer),
        )


def _read(file: FilePath, display: str) -> _Doc:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioLoadError(display, f"cannot read the file: {exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)
        # The parser notices a mistake where it stops making sense, often lines later (an unclosed
        # quote or bracket runs on into the next step); the construct it was reading started at
        # the context mark, which is where the mistake is. Blame the step and field found there.
        start = getattr(exc, "context_mark", None)
        blamed = start.line + 1 if start is not None else line
        if blamed is not None and line is not None and blamed > line:
            blamed = line
        step = _step_near_line(text, blamed) if blamed is not None else None
        field = None
        # A flow collection or a quoted scalar starts on its field's line; a block mapping's start
        # names only its first key, not the broken one.
        names_field = blamed == line or any(word in (context or "") for word in ("flow", "quoted"))
        if blamed is not None and names_field:
            source = text.splitlines()[blamed - 1] if blamed - 1 < len(text.splitlines()) else ""
            key = re.match(r"^\s*-?\s*([A-Za-z_][\w\-]*)\s*:", source)
            field = key.group(1) if key else None
        if context and blamed is not None and blamed != line:
            context = f"{context} that starts at line {blamed}"
        message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
        raise ScenarioLoadError(display, message, line=line, step=step, field=field) from None
    if node is None:
        raise ScenarioLoadError(display, "the file is empty; a scenario needs name, description, idp and steps")
    lines: dict[Pointer, int] = {}
    dups: list[tuple[Pointer, int]] = []
    _line_map(node, (), lines, dups)
    doc = _Doc(display, data, lines)
    if dups:
        pointer, line = dups[0]
        err = doc.error(pointer, f"duplicate key {pointer[-1]!r} (YAML keeps only the last one)")
        err.line = line
        raise err
    return doc


# -- schema errors ----------------------------------------------------------------------------------


def _schema_error(doc: _Doc, error: Any) -> ScenarioLoadError:
    pointer: Pointer = tuple(error.absolute_path)
    validator = error.validator
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(k for k in error.instance if k not in allowed)
        if extra:
            bad = (*pointer, extra[0])
            hint = f"; allowed here: {', '.join(sorted(allowed))}" if allowed else ""
            return doc.error(bad, f"unknown field {extra[0]!r}{hint}")
    if validator == "required":
        m = re.match(r"'([^']+)' is a required property", error.message)
        missing = m.group(1) if m else None
        if missing:
            return doc.error(pointer, f"{missing!r} is required", field_pointer=(*pointer, missing))
    if validator in ("oneOf", "anyOf"):
        described = error.schema.get("description")
        text = described or "the value does not have any of the allowed forms"
        return doc.error(pointer, f"{_short(error.instance)} is not allowed: {text}")
    if validator == "enum":
        allowed_values = ", ".join(map(str, error.validator_value))
        return doc.error(pointer, f"{_short(error.instance)} is not one of: {allowed_values}")
    return doc.error(pointer, error.message)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _best(errors: Iterable[Any]) -> Any:
    """The most useful error: the deepest one; among equals, 'required'/'additionalProperties' first."""
    ordered = sorted(
        errors,
        key=lambda e: (-len(list(e.absolute_path)), e.validator not in ("additionalProperties", "required")),
    )
    return ordered[0]


# -- semantic checks ----------------------------------------------------------------------------------


def _duration(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    text = str(value)
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    return float(text.rstrip("s"))


def _check_templates(doc: _Doc, value: Any, base: Pointer, variables: set[str], captured: set[str]) -> None:
    for sub, text in walk_strings(value):
        pointer = (*base, *sub)
        try:
            refs = refs_in(text)
        except TemplateError as exc:
            raise doc.error(pointer, str(exc)) from None
        for ref in refs:
            problem = check_ref(ref, variables, captured)
            if problem:
                raise doc.error(pointer, f"bad template reference: {problem}")


def _check_assertion_names(doc: _Doc, names: Sequence[str], base: Pointer) -> None:
    """`expect.checks` names response assertions (`scimitar/checks/assertions.py`), nothing else."""
    from scimitar.checks.assertions import ASSERTIONS

    for i, name in enumerate(names):
        if name in ASSERTIONS:
            continue
        known = ", ".join(sorted(ASSERTIONS))
        hint = ""
        if name.startswith(("rfc", "okta-", "entra-", "clickhouse-")):
            hint = " (catalogue check ids run in the suites; a step names what its own response must satisfy)"
        raise doc.error((*base, "checks", i), f"unknown response assertion {name!r}{hint}; known: {known}")


@functools.cache
def _catalogue_ids() -> frozenset[str]:
    from scimitar.checks.registry import load_catalogue

    return frozenset(c.id for c in load_catalogue())


def _build_rfc(doc: _Doc, raw: Sequence[Mapping[str, Any]], base: Pointer, kind: str,
               variables: set[str], captured: set[str]) -> tuple[RfcExpect, ...]:
    """`expect.rfc`: each item names the catalogue check covering the deviation it tolerates."""
    out: list[RfcExpect] = []
    for i, item in enumerate(raw):
        pointer = (*base, i)
        check_id = item["check"]
        if check_id not in _catalogue_ids():
            raise doc.error((*pointer, "check"), f"unknown catalogue check {check_id!r} (see `scimitar checks`)")
        fields = {k: v for k, v in item.items() if k not in ("check", "note", "when")}
        expect = _build_expect(doc, fields, pointer, kind, variables, captured)
        if expect.count == 0:
            raise doc.error(pointer, "an rfc expectation needs at least one of status, headers, json, assert, "
                                     "schema, checks, max_ms")
        out.append(RfcExpect(check=check_id, expect=expect, note=item.get("note"), when=item.get("when")))
    return tuple(out)


def _build_optional(doc: _Doc, raw: Sequence[Mapping[str, Any]], base: Pointer, kind: str,
                    variables: set[str], captured: set[str]) -> tuple[RfcExpect, ...]:
    """`expect.optional`: idp expectations about an optional attribute, each with its `when`."""
    out: list[RfcExpect] = []
    for i, item in enumerate(raw):
        pointer = (*base, i)
        fields = {k: v for k, v in item.items() if k not in ("note", "when")}
        expect = _build_expect(doc, fields, pointer, kind, variables, captured)
        if expect.count == 0:
            raise doc.error(pointer, "an optional expectation needs at least one of status, headers, json, "
                                     "assert, schema, checks, max_ms")
        out.append(RfcExpect(check="", expect=expect, note=item.get("note"), when=item["when"]))
    return tuple(out)


def _build_expect(doc: _Doc, raw: Mapping[str, Any], base: Pointer, kind: str,
                  variables: set[str], captured: set[str]) -> Expect:
    if kind in ("observe", "use_auth"):
        for key in ("status", "headers", "schema", "checks", "max_ms"):
            if key in raw:
                raise doc.error((*base, key), f"'{key}' does not apply to a {kind} step")
    if kind == "admin":
        for key in ("headers", "schema", "checks", "max_ms"):
            if key in raw:
                raise doc.error((*base, key), f"'{key}' does not apply to an admin step")
    status = raw.get("status")
    statuses: tuple[int, ...] = () if status is None else tuple(status) if isinstance(status, list) else (status,)
    asserts: list[Assertion] = []
    for i, text in enumerate(raw.get("assert", [])):
        pointer = (*base, "assert", i)
        try:
            assertion = parse_assertion(text)
        except PathError as exc:
            raise doc.error(pointer, str(exc)) from None
        _check_templates(doc, assertion.expected, pointer, variables, captured)
        asserts.append(assertion)
    if "json" in raw:
        _check_templates(doc, raw["json"], (*base, "json"), variables, captured)
    checks = tuple(raw.get("checks", []))
    _check_assertion_names(doc, checks, base)
    return Expect(
        status=statuses,
        headers=dict(raw.get("headers", {})),
        json=raw.get("json", MISSING),
        asserts=tuple(asserts),
        schema=raw.get("schema"),
        checks=checks,
        max_ms=raw.get("max_ms"),
    )


_ADMIN_NEEDS = {"add-role": ("name",)}
_ADMIN_ALLOWED = {
    "create-credential": {"kind"},
    "revoke-credential": {"id", "credential"},
    "list-credentials": set(),
    "settings": {"strictRoleMapping", "defaultRole"},
    "add-role": {"name", "scimGroup"},
}


def _build_step(doc: _Doc, index: int, raw: Mapping[str, Any], requires: Requires,
                variables: set[str], captured: set[str], default_source: str | None) -> Step:
    base: Pointer = ("steps", index)
    kinds = [k for k in STEP_KINDS if k in raw]
    if len(kinds) != 1:
        what = "none" if not kinds else " and ".join(kinds)
        raise doc.error(base, f"a step does exactly one thing: give one of {', '.join(STEP_KINDS)} (found {what})",
                        field_pointer=(*base, kinds[1] if len(kinds) > 1 else "request"))
    kind = kinds[0]
    spec = raw[kind]
    if kind == "request" and "json" in spec and "body" in spec:
        raise doc.error((*base, "request", "body"), "give either json or body, not both")
    if kind == "observe" and not requires.observer:
        raise doc.error((*base, "observe"), "an observe step needs 'requires: {observer: true}' on the scenario")
    if kind == "admin":
        if not requires.admin:
            raise doc.error((*base, "admin"), "an admin step needs 'requires: {admin: true}' on the scenario")
        action = spec["action"]
        for key in _ADMIN_NEEDS.get(action, ()):
            if key not in spec:
                raise doc.error((*base, "admin"), f"action {action} needs '{key}'", field_pointer=(*base, "admin", key))
        for key in spec:
            if key != "action" and key not in _ADMIN_ALLOWED[action]:
                raise doc.error((*base, "admin", key), f"action {action} takes no '{key}'")
        if action == "revoke-credential" and ("id" in spec) == ("credential" in spec):
            raise doc.error((*base, "admin"), "action revoke-credential needs exactly one of 'id' (a credential "
                            "this scenario created) or 'credential: second'", field_pointer=(*base, "admin", "id"))
        if spec.get("credential") == "second" and not requires.second_credential:
            raise doc.error((*base, "admin", "credential"), "'credential: second' needs "
                            "'requires: {second_credential: true}' on the scenario")
    _check_templates(doc, spec, (*base, kind), variables, captured)
    raw_expect = dict(raw.get("expect", {}))
    source = raw_expect.pop("source", None)
    raw_rfc = raw_expect.pop("rfc", [])
    raw_optional = raw_expect.pop("optional", [])
    if kind == "use_auth" and (source or raw_rfc or raw_optional):
        raise doc.error((*base, "expect"), "a use_auth step has no response to expect anything of")
    expect = _build_expect(doc, raw_expect, (*base, "expect"), kind, variables, captured)
    rfc = _build_rfc(doc, raw_rfc, (*base, "expect", "rfc"), kind, variables, captured)
    optional = _build_optional(doc, raw_optional, (*base, "expect", "optional"), kind, variables, captured)
    source = source or default_source
    if (expect.count or optional) and not source and doc.data.get("idp") != "generic":
        raise doc.error((*base, "expect"), "an idp expectation needs the public source that says the IdP "
                        "needs it: give expect.source (a URL), or a scenario-level source",
                        field_pointer=(*base, "expect", "source"))
    capture: dict[str, Path] = {}
    for name, text in (raw.get("capture") or {}).items():
        pointer = (*base, "capture", name)
        if kind == "use_auth":
            raise doc.error(pointer, "a use_auth step has no response to capture from")
        try:
            capture[name] = parse_path(text)
        except PathError as exc:
            raise doc.error(pointer, str(exc)) from None
    eventually = None
    if "eventually" in raw:
        ev = raw["eventually"]
        eventually = (_duration(ev["within"]), _duration(ev.get("every", 0.5)))
    return Step(
        index=index,
        name=raw["name"],
        line=doc.line(base) or 0,
        kind=kind,
        spec=spec,
        expect=expect,
        capture=capture,
        level=raw.get("level", "MUST"),
        eventually=eventually,
        note=raw.get("note"),
        source=source if expect.count or optional else None,
        rfc=rfc,
        optional=optional,
        when=raw.get("when"),
    )


def load_scenario(file: str | FilePath, *, display: str | None = None) -> Scenario:
    """Load and validate one scenario file; raises `ScenarioLoadError` (never anything else)."""
    path = FilePath(file)
    sid = scenario_id(path)
    shown = display or sid
    doc = _read(path, shown)
    data = doc.data
    errors = list(_validator().iter_errors(data))
    if errors:
        raise _schema_error(doc, _best(errors))
    assert isinstance(data, dict)
    req = data.get("requires", {})
    requires = Requires(
        profile=req.get("profile"),
        observer=bool(req.get("observer", False)),
        admin=bool(req.get("admin", False)),
        features=tuple(req.get("features", [])),
        second_credential=bool(req.get("second_credential", False)),
    )
    if requires.second_credential and not requires.admin:
        raise doc.error(("requires", "second_credential"), "a second credential is only used by a scenario "
                        "with admin steps (credential rotation): add admin: true")
    known_quirks = {q.value for q in Quirk}
    for key in ("broken_by", "tolerates"):
        for i, name in enumerate(data.get(key, [])):
            if name not in known_quirks:
                raise doc.error((key, i), f"unknown quirk {name!r} (see scimitar/quirks.py)")
    both = set(data.get("broken_by", [])) & set(data.get("tolerates", []))
    if both:
        raise doc.error(("tolerates",), f"a quirk cannot both break and be tolerated: {', '.join(sorted(both))}")
    variables: dict[str, Any] = data.get("vars") or {}
    seen: set[str] = set()
    for name, value in variables.items():
        _check_templates(doc, value, ("vars", name), seen, set())
        seen.add(name)
    _check_templates(doc, data.get("headers", {}), ("headers",), seen, set())
    captured: set[str] = set()
    steps: list[Step] = []
    for i, raw in enumerate(data["steps"]):
        step = _build_step(doc, i, raw, requires, seen, captured, data.get("source"))
        steps.append(step)
        captured |= set(step.capture)
    return Scenario(
        id=sid,
        file=path,
        name=data["name"],
        description=data["description"],
        idp=data["idp"],
        requires=requires,
        broken_by=tuple(data.get("broken_by", [])),
        headers=dict(data.get("headers", {})),
        variables=dict(variables),
        steps=tuple(steps),
        source=data.get("source"),
        tolerates=tuple(data.get("tolerates", [])),
        serial=data.get("serial"),
    )


def discover(root: str | FilePath) -> list[FilePath]:
    """Every scenario file under `root` (a directory) in a stable order, or `root` itself if a file."""
    path = FilePath(root)
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.yaml") if p.is_file())


def load_all(files: Sequence[str | FilePath]) -> tuple[list[Scenario], list[ScenarioLoadError]]:
    """Load several files, collecting errors instead of stopping at the first."""
    scenarios: list[Scenario] = []
    errors: list[ScenarioLoadError] = []
    for file in files:
        try:
            scenarios.append(load_scenario(file))
        except ScenarioLoadError as exc:
            errors.append(exc)
    return scenarios, errors
