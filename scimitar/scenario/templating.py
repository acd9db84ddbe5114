"""The one templating syntax of scenario files: `{{ reference | filter }}`.

Scenarios must stay plain YAML a QA engineer can read (no custom tags, no expressions language),
yet carry values only known at run time: the run prefix, ids the server assigned, fake names.
So a template is a *reference*, never code:

    {{ email }}                 a scenario variable (`vars:`)
    {{ captured.user_id }}      a value an earlier step captured (`capture:`)
    {{ fake.first_name }}       a seeded Faker provider, called with no arguments
    {{ run.prefix }}            the run's name prefix `scimitar-<run id>-` (also `run.id`)
    {{ uuid }}                  a fresh random UUID
    {{ email | upper }}         filters: upper, lower, urlencode

References are parsed when the file is loaded, so a misspelt variable, a capture used before the
step that captures it or an unknown Faker provider fails at collection with its line, not
half-way through a run. A string that is exactly one template keeps the value's JSON type (a
captured boolean stays a boolean); templates inside longer strings are interpolated as text.
"""

from __future__ import annotations

import functools
import re
import uuid as uuidlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

TEMPLATE = re.compile(r"\{\{((?:(?!\}\}|\{\{).)*)\}\}", re.DOTALL)
_REF = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")

FILTERS: dict[str, Callable[[str], str]] = {
    "upper": str.upper,
    "lower": str.lower,
    "urlencode": lambda text: quote(text, safe=""),
}
RUN_FIELDS = ("prefix", "id")
ROOTS = ("captured", "fake", "run", "uuid")


class TemplateError(ValueError):
    """A template that cannot be parsed or refers to something that does not exist."""


@dataclass(frozen=True)
class Ref:
    """One parsed `{{ ... }}`: the dotted reference and the filters applied to it, in order."""

    parts: tuple[str, ...]
    filters: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return ".".join(self.parts)


def parse_ref(inner: str) -> Ref:
    """Parse the inside of one `{{ ... }}`."""
    pieces = [p.strip() for p in inner.split("|")]
    ref = pieces[0]
    if not ref:
        raise TemplateError("empty template '{{ }}'")
    if not _REF.match(ref):
        raise TemplateError(f"'{{{{ {inner.strip()} }}}}' is not a reference such as {{{{ name }}}} or "
                            "{{ captured.name }}")
    for name in pieces[1:]:
        if name not in FILTERS:
            raise TemplateError(f"unknown filter {name!r} in '{{{{ {inner.strip()} }}}}'; "
                                f"known: {', '.join(FILTERS)}")
    return Ref(tuple(ref.split(".")), tuple(pieces[1:]))


def refs_in(text: str) -> list[Ref]:
    """Every template reference in one string (raises TemplateError for a malformed one)."""
    if "{{" not in text and "}}" not in text:
        return []
    found = [parse_ref(m.group(1)) for m in TEMPLATE.finditer(text)]
    leftover = TEMPLATE.sub("", text)
    if "{{" in leftover or "}}" in leftover:
        raise TemplateError(f"unbalanced '{{{{' or '}}}}' in {text!r}")
    return found


def walk_strings(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string in a nested JSON-like value (keys included), with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                yield (*path, key), key
            yield from walk_strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk_strings(item, (*path, i))


@functools.cache
def _faker_probe() -> Any:
    from faker import Faker

    return Faker("en_US")


def check_ref(ref: Ref, variables: Mapping[str, Any] | set[str], captured: set[str]) -> str | None:
    """Why `ref` cannot be resolved with these variable and capture names, or None when it can."""
    root, rest = ref.parts[0], ref.parts[1:]
    if root == "captured":
        if len(rest) != 1:
            return f"'{ref.text}': write {{{{ captured.NAME }}}}"
        if rest[0] not in captured:
            known = ", ".join(sorted(captured)) or "none yet"
            return f"'{ref.text}' is not captured by an earlier step (captured so far: {known})"
        return None
    if root == "fake":
        if len(rest) != 1:
            return f"'{ref.text}': write {{{{ fake.PROVIDER }}}}, e.g. {{{{ fake.first_name }}}}"
        if rest[0].startswith("_") or not callable(getattr(_faker_probe(), rest[0], None)):
            return f"'{ref.text}': Faker has no provider {rest[0]!r}"
        return None
    if root == "run":
        if len(rest) != 1 or rest[0] not in RUN_FIELDS:
            return f"'{ref.text}': the run offers {', '.join('run.' + f for f in RUN_FIELDS)}"
        return None
    if root == "uuid":
        return None if not rest else f"'{ref.text}': write {{{{ uuid }}}}"
    if rest:
        return f"'{ref.text}': variables have no members (did you mean {{{{ captured.{ref.parts[-1]} }}}}?)"
    if root not in variables:
        known = ", ".join(sorted(variables)) or "none"
        return f"unknown variable '{root}' (vars: {known})"
    return None


@dataclass
class Scope:
    """What templates resolve against while a scenario runs."""

    run_prefix: str
    run_id: str
    faker: Any
    variables: dict[str, Any] = field(default_factory=dict)
    captured: dict[str, Any] = field(default_factory=dict)

    def resolve(self, ref: Ref) -> Any:
        root, rest = ref.parts[0], ref.parts[1:]
        value: Any
        if root == "captured":
            if rest[0] not in self.captured:
                raise TemplateError(f"'{ref.text}' was not captured (its step did not run or failed)")
            value = self.captured[rest[0]]
        elif root == "fake":
            value = getattr(self.faker, rest[0])()
        elif root == "run":
            value = self.run_prefix if rest[0] == "prefix" else self.run_id
        elif root == "uuid":
            value = str(uuidlib.uuid4())
        else:
            if root not in self.variables:
                raise TemplateError(f"unknown variable '{root}'")
            value = self.variables[root]
        for name in ref.filters:
            value = FILTERS[name](value if isinstance(value, str) else _text(value))
        return value

    def render(self, value: Any) -> Any:
        """A copy of `value` with every template replaced (keys included)."""
        if isinstance(value, str):
            return self.render_text(value)
        if isinstance(value, Mapping):
            return {self.render_text(k) if isinstance(k, str) else k: self.render(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render(v) for v in value]
        return value

    def render_text(self, text: str) -> Any:
        if "{{" not in text:
            return text
        whole = TEMPLATE.fullmatch(text.strip())
        if whole is not None and text.strip() == text:
            return self.resolve(parse_ref(whole.group(1)))
        return TEMPLATE.sub(lambda m: _text(self.resolve(parse_ref(m.group(1)))), text)


def _text(value: Any) -> str:
    """How a non-string value is written inside a longer string: JSON spelling for scalars."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
