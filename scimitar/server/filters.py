"""The SCIM filter and attribute-path grammar (RFC 7644 §3.4.2.2, §3.10, §3.5.2) and its evaluation.

A filter is parsed once into a small frozen AST, then compiled against a resource type: every
attribute is resolved at compile time (an unknown attribute is a 400 `invalidFilter`, never a silent
"no match"), and what remains per resource is a handful of closures over plain storage dicts, so
`userName eq "x"` costs about as much as a dict lookup and a `casefold()`.

Grammar (RFC 7644 Figure 1), with the precedence the RFC prescribes: "Filters MUST be evaluated
using the following order of operations, in order of precedence: 1. Grouping operators 2. Logical
operators - where "not" takes precedence over "and", which takes precedence over "or" 3. Attribute
operators". Operators, keywords and attribute names are case-insensitive; extra whitespace is
tolerated. As an extension the RFC allows ("Providers MAY support additional filter operations"),
a value path may be followed by a sub-attribute and a comparison, as Entra ID sends it:
`emails[type eq "work"].value eq "x"` means `emails[type eq "work" and value eq "x"]`.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson

from scimitar.schema import Attribute, ResourceType, SchemaRegistry
from scimitar.server.cache import BoundedCache

__all__ = [
    "And",
    "AttrPath",
    "Compare",
    "Complex",
    "Filter",
    "FilterError",
    "Not",
    "Or",
    "PatchPath",
    "PathError",
    "Present",
    "compile_filter",
    "compile_value_filter",
    "equality_terms",
    "parse_attr_path",
    "parse_datetime",
    "parse_filter",
    "parse_patch_path",
    "shown",
    "sort_key",
]


class FilterError(ValueError):
    """A filter that cannot be parsed or evaluated: the server answers 400 `invalidFilter`.

    RFC 7644 §3.4.2.2: "Providers MUST decline to filter results if the specified filter operation
    is not recognized and return an HTTP 400 error with a "scimType" error of "invalidFilter" and
    an appropriate human-readable response". The message is that human-readable `detail`.
    """


class PathError(ValueError):
    """A malformed attribute path (PATCH `path`, RFC 7644 §3.5.2): the server answers 400 `invalidPath`."""


COMPARE_OPS = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"})
_ORDER_OPS = frozenset({"gt", "ge", "lt", "le"})
_STRING_OPS = frozenset({"co", "sw", "ew"})

Literal = str | int | float | bool | None


@dataclass(frozen=True)
class AttrPath:
    """`[URI ":"] ATTRNAME *1subAttr` (RFC 7644 Figure 1); `urn` is "" when unprefixed."""

    urn: str
    name: str
    sub: str | None = None

    def __str__(self) -> str:
        text = f"{self.urn}:{self.name}" if self.urn else self.name
        return f"{text}.{self.sub}" if self.sub else text


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str
    value: Literal


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True)
class Not:
    inner: Filter


@dataclass(frozen=True)
class Complex:
    """A value path `emails[type eq "work"]`: `inner` names sub-attributes of `path`."""

    path: AttrPath
    inner: Filter


Filter = Compare | Present | And | Or | Not | Complex


@dataclass(frozen=True)
class PatchPath:
    """A PATCH path (RFC 7644 §3.5.2 Figure 7): `PATH = attrPath / valuePath [subAttr]`."""

    attr: AttrPath
    value_filter: Filter | None = None
    sub: str | None = None


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------

_NAME_RE = re.compile(r"[A-Za-z$][A-Za-z0-9_$-]*\Z")
# a run of attribute-path characters: URNs contain ':' and '.', names '-', '_' and '$' ($ref)
_PATH_RUN = re.compile(r"[A-Za-z0-9:._$\-]+")
_WORD = re.compile(r"[A-Za-z]+")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_WS = " \t\r\n"


def shown(text: str, limit: int = 200) -> str:
    """`text` quoted for an error message, cut to `limit` characters: a 64 KiB filter is not
    echoed back whole in every error."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text)} characters)"


def _parse_path_text(text: str, err: type[ValueError], where: str) -> AttrPath:
    """Split `urn:...:attr.sub` into its parts: the attribute is what follows the last colon."""
    urn = ""
    rest = text
    if text[:4].lower() == "urn:":
        urn, sep, rest = text.rpartition(":")
        if not sep or not urn or not rest:
            raise err(f"{where}: {text!r} is a schema URN without an attribute name")
    name, _, sub = rest.partition(".")
    if not _NAME_RE.match(name) or (sub and not _NAME_RE.match(sub)) or rest.endswith("."):
        raise err(f"{where}: {text!r} is not an attribute path (expected name, name.sub or urn:...:name)")
    return AttrPath(urn, name, sub or None)


#: How deep `(` and `[` may nest in a filter; the RFC grammar has no limit, Python's stack has.
MAX_NESTING = 64
#: The longest filter (and PATCH path) accepted, in characters. The RFC sets no limit, and RFC 7644
#: §3.12 gives `invalidFilter` for "The specified filter syntax was invalid ... or the specified
#: attribute and filter comparison combination is not supported". IdPs send one or a few terms;
#: 64 KiB is far past any of them, and one 0.83 MB filter once froze the server for seconds.
MAX_FILTER_LENGTH = 64 * 1024
#: The most attribute expressions (`userName eq "x"`, `emails pr`) one filter may hold: evaluation
#: costs terms x resources, and 200 terms over 1,000 users stay well under a second.
MAX_FILTER_TERMS = 200


class _Parser:
    """Recursive descent over the filter text; positions in messages are 1-based characters."""

    def __init__(self, text: str, err: type[ValueError] = FilterError) -> None:
        self.text = text
        self.pos = 0
        self.err = err
        self.depth = 0
        self.terms = 0

    # -- helpers
    def fail(self, expected: str, pos: int | None = None) -> ValueError:
        at = self.pos if pos is None else pos
        if at >= len(self.text):
            found = "end of input"
        else:
            found = repr(self.text[at : at + 12] + ("..." if len(self.text) > at + 12 else ""))
        return self.err(f"expected {expected} at character {at + 1}, found {found} (in {shown(self.text)})")

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WS:
            self.pos += 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def peek_word(self) -> str:
        m = _WORD.match(self.text, self.pos)
        if not m:
            return ""
        end = m.end()
        # a keyword ends where the name ends: "andy" is not "and"
        if end < len(self.text) and (self.text[end].isalnum() or self.text[end] in "_-.:$"):
            return ""
        return m.group().lower()

    # -- grammar
    def parse(self) -> Filter:
        self.skip_ws()
        if self.pos >= len(self.text):
            raise self.err("the filter is empty")
        node = self.or_expr(inside_value_path=False)
        self.skip_ws()
        if self.pos < len(self.text):
            raise self.fail("'and', 'or' or the end of the filter")
        return node

    def or_expr(self, inside_value_path: bool) -> Filter:
        node = self.and_expr(inside_value_path)
        while True:
            save = self.pos
            self.skip_ws()
            if self.peek_word() == "or":
                self.pos += 2
                node = Or(node, self.and_expr(inside_value_path))
            else:
                self.pos = save
                return node

    def and_expr(self, inside_value_path: bool) -> Filter:
        node = self.unary(inside_value_path)
        while True:
            save = self.pos
            self.skip_ws()
            if self.peek_word() == "and":
                self.pos += 3
                node = And(node, self.unary(inside_value_path))
            else:
                self.pos = save
                return node

    def unary(self, inside_value_path: bool) -> Filter:
        self.skip_ws()
        if self.peek() == "(":
            return self.group(inside_value_path)
        if self.peek_word() == "not":
            save = self.pos
            self.pos += 3
            self.skip_ws()
            if self.peek() == "(":
                return Not(self.group(inside_value_path))
            # "not" may still be an attribute literally named so (`not pr`); otherwise it lacks "("
            if self.pos == save + 3 or self.peek_word() not in COMPARE_OPS | {"pr"}:
                raise self.fail('\'(\' after \'not\' (RFC 7644: "not" "(" FILTER ")")', self.pos)
            self.pos = save
        return self.attr_exp(inside_value_path)

    def group(self, inside_value_path: bool) -> Filter:
        self.depth += 1
        if self.depth > MAX_NESTING:
            # the parser recurses once per "(": bound it far below Python's recursion limit
            raise self.err(f"the filter nests '(' deeper than {MAX_NESTING} levels")
        self.pos += 1  # "("
        node = self.or_expr(inside_value_path)
        self.depth -= 1
        self.skip_ws()
        if self.peek() != ")":
            raise self.fail("')' or 'and'/'or'")
        self.pos += 1
        return node

    def attr_path(self) -> AttrPath:
        self.skip_ws()
        start = self.pos
        m = _PATH_RUN.match(self.text, self.pos)
        if not m:
            raise self.fail("an attribute name")
        self.pos = m.end()
        return _parse_path_text(m.group(), self.err, f"at character {start + 1}")

    def attr_exp(self, inside_value_path: bool) -> Filter:
        start = self.pos
        path = self.attr_path()
        if self.peek() == "[":
            if inside_value_path:
                raise self.fail("a sub-attribute comparison (value paths do not nest)", self.pos)
            if path.sub:
                raise self.fail("'[' only after a plain attribute name, not a sub-attribute", self.pos)
            self.pos += 1
            inner = self.or_expr(inside_value_path=True)
            self.skip_ws()
            if self.peek() != "]":
                raise self.fail(
                    f"']' closing the value filter that opened at character {start + len(str(path)) + 1}"
                )
            self.pos += 1
            if self.peek() != ".":
                return Complex(path, inner)
            # Entra's `emails[type eq "work"].value eq "x"`: a sub-attribute and a comparison
            self.pos += 1
            m = _PATH_RUN.match(self.text, self.pos)
            if not m or not _NAME_RE.match(m.group()):
                raise self.fail("a sub-attribute name after ']. '")
            self.pos = m.end()
            tail = self.comparison(AttrPath("", m.group()))
            return Complex(path, And(inner, tail))
        if inside_value_path and path.urn:
            raise self.fail("a sub-attribute name inside '[...]', not a URN-qualified path", start)
        return self.comparison(path)

    def comparison(self, path: AttrPath) -> Filter:
        self.terms += 1
        if self.terms > MAX_FILTER_TERMS:
            # evaluation costs terms x resources: bound it before anything is compiled
            raise self.err(f"the filter has more than {MAX_FILTER_TERMS} terms (attribute expressions)")
        if self.peek() not in _WS or not self.peek():
            raise self.fail(f"a space and an operator after {str(path)!r}")
        self.skip_ws()
        op_pos = self.pos
        op = self.peek_word()
        if op == "pr":
            self.pos += 2
            return Present(path)
        if op not in COMPARE_OPS:
            m = _WORD.match(self.text, self.pos)
            if m:
                raise self.err(
                    f"the operator {m.group()!r} at character {op_pos + 1} is not supported; expected one "
                    "of eq, ne, co, sw, ew, gt, ge, lt, le, pr"
                )
            raise self.fail("an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)")
        self.pos += 2
        if self.peek() not in _WS or not self.peek():
            raise self.fail(f"a space and a value after {op!r}")
        self.skip_ws()
        return Compare(path, op, self.literal())

    def literal(self) -> Literal:
        start = self.pos
        ch = self.peek()
        if ch == '"':
            i = self.pos + 1
            while i < len(self.text):
                c = self.text[i]
                if c == "\\":
                    i += 2
                    continue
                if c == '"':
                    break
                i += 1
            else:
                raise self.err(f"unterminated string starting at character {start + 1} (in {shown(self.text)})")
            raw = self.text[start : i + 1]
            try:
                value = json.loads(raw)
            except ValueError:
                raise self.err(
                    f"invalid string {raw!r} at character {start + 1}: not a JSON string (bad escape?)"
                ) from None
            try:
                str(value).encode("utf-8")
            except UnicodeEncodeError:
                # `"\\ud800"` decodes to a lone surrogate, which no JSON response can carry (RFC
                # 8259 §8.2: such strings have unpredictable behaviour); it would break every later
                # answer that shows it, e.g. an element a PATCH `add` creates from the filter.
                raise self.err(
                    f"invalid string {raw[:40]!r} at character {start + 1}: it holds a lone UTF-16 "
                    "surrogate, which is no Unicode character"
                ) from None
            self.pos = i + 1
            return str(value)
        word = self.peek_word()
        if word in ("true", "false", "null"):
            self.pos += len(word)
            return {"true": True, "false": False, "null": None}[word]
        m = _NUMBER.match(self.text, self.pos)
        if m and not (m.end() < len(self.text) and (self.text[m.end()].isalnum())):
            self.pos = m.end()
            return self.number(m.group(), start)
        raise self.fail("a value: a quoted string, a number, true, false or null")

    def number(self, text: str, start: int) -> int | float:
        """A number read exactly as the request bodies' numbers are (orjson): an integer within
        64 bits stays one, a larger one is a double, one past the double range is an error.

        Python's `int()` refuses more than 4,300 digits with a ValueError (a 500 here, once) and
        `float()` turns `1e999` into infinity, which JSON cannot carry (RFC 8259 §6: "Numeric
        values that cannot be represented in the grammar below (such as Infinity and NaN) are not
        permitted").
        """
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            shown = text if len(text) <= 24 else f"{text[:20]}... ({len(text)} characters)"
            raise self.err(
                f"the number {shown} at character {start + 1} is out of range (beyond a double)"
            ) from None
        assert isinstance(value, int | float)
        return value


def parse_filter(text: str) -> Filter:
    """Parse a `filter` parameter (RFC 7644 §3.4.2.2); raises FilterError saying what and where.

    Cached: the AST is immutable and IdPs repeat the same filters (and shapes of filter).
    """
    if not isinstance(text, str):
        raise FilterError("the filter must be a string")
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError(f"filter too long: {len(text)} characters, at most {MAX_FILTER_LENGTH}")
    found = _PARSED.get(text)
    if found is None:
        found = _Parser(text).parse()
        _PARSED.put(text, found, len(text))
    return found


#: Parsed filters, by text. Bounded by entries and by the text they came from (an AST is a few
#: dozen times its text), and a filter longer than 8 KiB is parsed afresh each time.
_PARSED: BoundedCache[str, Filter] = BoundedCache(max_entries=1024, max_cost=256 << 10, max_item_cost=8 << 10)


def parse_attr_path(text: str) -> AttrPath:
    """Parse an attribute path (RFC 7644 §3.10): `name`, `name.sub`, `urn:...:name[.sub]`."""
    stripped = text.strip() if isinstance(text, str) else ""
    if not stripped:
        raise PathError("the attribute path is empty")
    if not _PATH_RUN.fullmatch(stripped):
        raise PathError(f"{text!r} is not an attribute path (expected name, name.sub or urn:...:name)")
    return _parse_path_text(stripped, PathError, "attribute path")


def parse_patch_path(text: str) -> PatchPath:
    """Parse a PATCH `path` (RFC 7644 §3.5.2: `PATH = attrPath / valuePath [subAttr]`).

    Errors in the path's shape raise PathError (`invalidPath`); errors inside the bracketed value
    filter raise FilterError, because RFC 7644 §3.12 lists `invalidFilter` for PATCH "(Path Filter)".
    """
    if not isinstance(text, str) or not text.strip():
        raise PathError("the path is empty")
    if len(text) > MAX_FILTER_LENGTH:
        raise PathError(f"the path is too long: {len(text)} characters, at most {MAX_FILTER_LENGTH}")
    text = text.strip()
    bracket = text.find("[")
    if bracket < 0:
        return PatchPath(parse_attr_path(text))
    attr = parse_attr_path(text[:bracket])
    if attr.sub:
        raise PathError(f"{text!r}: a value filter '[...]' must follow an attribute, not a sub-attribute")
    parser = _Parser(text)
    parser.pos = bracket + 1
    inner = parser.or_expr(inside_value_path=True)
    parser.skip_ws()
    if parser.peek() != "]":
        raise parser.fail("']' closing the value filter")
    rest = text[parser.pos + 1 :]
    sub: str | None = None
    if rest:
        if not rest.startswith(".") or not _NAME_RE.match(rest[1:]):
            raise PathError(f"{text!r}: after ']' only '.subAttribute' may follow, found {rest!r}")
        sub = rest[1:]
    return PatchPath(attr, inner, sub)


# --------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------

_DATETIME_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})?\Z"
)


def parse_datetime(text: str) -> datetime | None:
    """An xsd:dateTime / RFC 3339 timestamp as an aware datetime, or None if it is not one.

    RFC 7643 §2.3.5: "A DateTime value (e.g., 2008-01-23T04:56:22Z). The attribute value MUST be
    encoded as a valid xsd:dateTime". A value without an offset is taken as UTC. Cached because the
    same stored `meta.lastModified` strings are compared again and again; only short texts are
    cached (a timestamp is about 30 characters), so long strings cannot fill the cache.
    """
    if len(text) > 64:
        return _parse_datetime(text)
    return _parse_datetime_cached(text)


def _parse_datetime(text: str) -> datetime | None:
    m = _DATETIME_RE.match(text)
    if not m:
        return None
    year, month, day, hour, minute, second, frac, tz = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        if tz is None or tz in "Zz":
            tzinfo = UTC
        else:
            sign = -1 if tz[0] == "-" else 1
            tzinfo = timezone(sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])))
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo)
    except ValueError:
        return None


_parse_datetime_cached = functools.lru_cache(maxsize=65536)(_parse_datetime)


# --------------------------------------------------------------------------------------------------
# Compilation
# --------------------------------------------------------------------------------------------------

Predicate = Callable[[dict[str, Any]], bool]
# yields the leaf values an attribute path denotes in one resource (or one multi-valued element)
Getter = Callable[[dict[str, Any]], Iterable[Any]]

#: `schemas` is filterable (RFC 7644 Figure 2: `filter=schemas eq "urn:...:enterprise:2.0:User"`) but
#: is no attribute of any schema; URIs compare case-insensitively here, as the registry does.
_SCHEMAS_ATTR = Attribute(name="schemas", type="reference", multi_valued=True, case_exact=False)


@dataclass(frozen=True)
class _Flags:
    case_sensitive: bool
    string_dates: bool
    no_complex: bool
    ignore_case_exact: bool = False  # Quirk.FILTER_IGNORES_CASE_EXACT


def _empty(value: Any) -> bool:
    """RFC 7643 §2.5: unassigned, null and empty arrays are the same state; empty strings/objects too."""
    return value is None or value == "" or value == [] or value == {}


def _explode(value: Any) -> Iterable[Any]:
    if value is None:
        return ()
    if isinstance(value, list):
        return value
    return (value,)


def _value_test(
    leaf: Attribute, op: str, literal: Literal, flags: _Flags, shown: str
) -> Callable[[Any], bool]:
    """A test for one stored leaf value, with every type rule checked now rather than per resource."""
    kind = leaf.type
    if kind == "complex":
        raise FilterError(
            f"{shown} is a complex attribute; compare one of its sub-attributes (e.g. {shown}.value) "
            "or use a value filter like " + shown + '[type eq "work"]'
        )
    if op in _ORDER_OPS and kind in ("boolean", "binary"):
        # RFC 7644 §3.4.2.2 (gt/ge/lt/le): "Boolean and Binary attributes SHALL cause a failed
        # response (HTTP status code 400) with "scimType" of "invalidFilter"."
        raise FilterError(f"the operator {op!r} cannot be used with the {kind} attribute {shown}")
    if op in _STRING_OPS and kind not in ("string", "reference"):
        raise FilterError(f"the operator {op!r} needs a string attribute; {shown} is {kind}")

    if kind in ("string", "reference", "binary") or (kind == "dateTime" and flags.string_dates):
        if not isinstance(literal, str):
            raise FilterError(
                f"{shown} is a {kind} attribute; compare it with a quoted string, not {literal!r}"
            )
        if kind == "dateTime" and parse_datetime(literal) is None:
            raise FilterError(
                f"{literal!r} is not a dateTime (RFC 3339, e.g. 2011-05-13T04:42:34Z) for {shown}"
            )
        case_exact = leaf.case_exact and not flags.ignore_case_exact
        fold = not case_exact and not flags.case_sensitive and kind != "dateTime"
        target = literal.casefold() if fold else literal
        return _string_test(op, target, fold)
    if kind == "dateTime":
        if not isinstance(literal, str) or (instant := parse_datetime(literal)) is None:
            raise FilterError(
                f"{shown} is a dateTime attribute; compare it with a quoted RFC 3339 timestamp such as "
                f'"2011-05-13T04:42:34Z", not {literal!r}'
            )
        return _ordered_test(op, instant, lambda v: parse_datetime(v) if isinstance(v, str) else None)
    if kind == "boolean":
        if not isinstance(literal, bool):
            raise FilterError(
                f"{shown} is a boolean attribute; compare it with true or false, not {literal!r}"
            )
        if op == "eq":
            return lambda v: v is literal
        return lambda v: isinstance(v, bool) and v is not literal
    if kind in ("integer", "decimal"):
        if isinstance(literal, bool) or not isinstance(literal, int | float):
            raise FilterError(
                f"{shown} is a{'n' if kind == 'integer' else ''} {kind} attribute; "
                f"compare it with a number, not {literal!r}"
            )
        return _ordered_test(
            op, literal, lambda v: v if isinstance(v, int | float) and not isinstance(v, bool) else None
        )
    raise FilterError(f"{shown} has the unknown type {kind!r}")


def _string_test(op: str, target: str, fold: bool) -> Callable[[Any], bool]:
    def norm(v: Any) -> str | None:
        if not isinstance(v, str):
            return None
        return v.casefold() if fold else v

    if op == "eq":
        if fold:
            return lambda v: isinstance(v, str) and v.casefold() == target
        return lambda v: v == target
    if op == "ne":
        return lambda v: isinstance(v, str) and norm(v) != target
    if op == "co":
        return lambda v: (n := norm(v)) is not None and target in n
    if op == "sw":
        return lambda v: (n := norm(v)) is not None and n.startswith(target)
    if op == "ew":
        return lambda v: (n := norm(v)) is not None and n.endswith(target)
    return _ordered_test(op, target, norm)


def _ordered_test(op: str, target: Any, conv: Callable[[Any], Any]) -> Callable[[Any], bool]:
    if op == "eq":
        return lambda v: (c := conv(v)) is not None and c == target
    if op == "ne":
        return lambda v: (c := conv(v)) is not None and c != target
    if op == "gt":
        return lambda v: (c := conv(v)) is not None and c > target
    if op == "ge":
        return lambda v: (c := conv(v)) is not None and c >= target
    if op == "lt":
        return lambda v: (c := conv(v)) is not None and c < target
    if op == "le":
        return lambda v: (c := conv(v)) is not None and c <= target
    raise FilterError(f"the operator {op!r} is not supported for this attribute")


class _Scope:
    """Where attribute paths are resolved: a resource type, or the elements of a complex attribute."""

    def __init__(
        self, rt: ResourceType | None, registry: SchemaRegistry | None, parent: Attribute | None
    ) -> None:
        self.rt = rt
        self.registry = registry
        self.parent = parent

    def resolve(self, path: AttrPath) -> tuple[Attribute, Attribute | None, Getter, str | None]:
        """(attribute, sub-attribute or None, getter of the attribute's raw values, direct key).

        The direct key is the attribute's key in the dict the getter reads when the value lives
        right there (not in an extension object): the fast path uses it.
        """
        shown = str(path)
        if self.parent is not None:
            if path.urn or path.sub:
                raise FilterError(f"{shown!r}: inside '[...]' name a sub-attribute of {self.parent.name}")
            inner = self.parent.sub(path.name)
            if inner is None:
                raise FilterError(f"{self.parent.name} has no sub-attribute {path.name!r}")
            key = inner.name
            return inner, None, lambda el: _explode(el.get(key)), key
        assert self.rt is not None and self.registry is not None
        if not path.urn and not path.sub and path.name.lower() == "schemas":
            return _SCHEMAS_ATTR, None, lambda r: _explode(r.get("schemas")), None
        # an unqualified name only one extension defines resolves there (SchemaRegistry.resolve)
        resolved = self.registry.resolve(
            self.rt, f"{path.urn}:{path.name}" if path.urn else path.name, unqualified_extensions=True
        )
        if resolved is None:
            raise FilterError(f"unknown attribute {shown!r} for {self.rt.name} resources")
        attr = resolved.attribute
        sub: Attribute | None = None
        if path.sub:
            if attr.type != "complex":
                raise FilterError(f"{shown!r}: {attr.name} is a {attr.type} attribute without sub-attributes")
            sub = attr.sub(path.sub)
            if sub is None:
                raise FilterError(
                    f"unknown attribute {shown!r}: {attr.name} has no sub-attribute {path.sub!r}"
                )
        if "never" in (attr.returned, sub.returned if sub is not None else None):
            # RFC 7643 §2.2 returned "never" (`password`): a filter or sort on it would be an oracle
            # for a value the server must never disclose
            raise FilterError(f"{shown!r} is never returned and cannot be used to filter or sort")
        name = attr.name
        if resolved.in_extension:
            urn = resolved.schema

            def get_top(r: dict[str, Any]) -> Iterable[Any]:
                ext = r.get(urn)
                return _explode(ext.get(name)) if isinstance(ext, dict) else ()
        else:

            def get_top(r: dict[str, Any]) -> Iterable[Any]:
                return _explode(r.get(name))

        return attr, sub, get_top, (None if resolved.in_extension else name)


def _leaf_getter(
    attr: Attribute, sub: Attribute | None, top: Getter, shown: str, for_presence: bool
) -> tuple[Attribute, Getter]:
    """The leaf attribute a comparison applies to and a getter of its values.

    RFC 7644 §3.4.2.2: "If the specified attribute in a filter expression is a multi-valued
    attribute, the filter matches if any of the values of the specified attribute match the
    specified criterion". A complex multi-valued attribute named without a sub-attribute compares
    its `value` sub-attribute, as the RFC's own example `emails co "example.com"` (Figure 2) does.
    """
    if sub is not None:
        key = sub.name

        def get_sub(r: dict[str, Any]) -> Iterable[Any]:
            out: list[Any] = []
            for el in top(r):
                if isinstance(el, dict):
                    out.extend(_explode(el.get(key)))
            return out

        return sub, get_sub
    if attr.type == "complex" and not for_presence:
        value_sub = attr.sub("value") if attr.multi_valued else None
        if value_sub is None:
            raise FilterError(
                f'{shown} is a complex attribute; name a sub-attribute (RFC 7644 §3.4.2.2: "For complex '
                f'attributes, a fully qualified sub-attribute MUST be specified"), e.g. {shown}.'
                f"{attr.sub_attributes[0].name if attr.sub_attributes else 'value'}"
            )
        return _leaf_getter(attr, value_sub, top, shown, for_presence)
    return attr, top


def _operands(node: And | Or) -> list[Filter]:
    """The operands of a chain `a or b or c` (parsed left-deep), without recursion: a chain of
    thousands of terms must compile and evaluate without nesting one call per term."""
    kind = type(node)
    out: list[Filter] = []
    stack: list[Filter] = [node]
    while stack:
        item = stack.pop()
        if type(item) is kind:
            assert isinstance(item, And | Or)
            stack.extend((item.right, item.left))
        else:
            out.append(item)
    return out


def _compile(node: Filter, scope: _Scope, flags: _Flags) -> Predicate:
    if isinstance(node, And | Or):
        preds = [_compile(each, scope, flags) for each in _operands(node)]
        if len(preds) == 2:  # the common case, without a generator per evaluation
            left, right = preds
            if isinstance(node, And):
                return lambda r: left(r) and right(r)
            return lambda r: left(r) or right(r)
        if isinstance(node, And):
            return lambda r: all(p(r) for p in preds)
        return lambda r: any(p(r) for p in preds)
    if isinstance(node, Not):
        inner = _compile(node.inner, scope, flags)
        return lambda r: not inner(r)
    if isinstance(node, Present):
        attr, sub, top, _ = scope.resolve(node.path)
        _, get = _leaf_getter(attr, sub, top, str(node.path), for_presence=True)
        # RFC 7644 §3.4.2.2 pr: "If the attribute has a non-empty value, or if it contains a
        # non-empty node for complex attributes, there is a match."
        return lambda r: any(not _empty(v) for v in get(r))
    if isinstance(node, Complex):
        if flags.no_complex:  # Quirk.FILTER_NO_COMPLEX
            raise FilterError(f"complex attribute filters such as {node.path}[...] are not supported")
        if scope.parent is not None:
            raise FilterError("value filters '[...]' cannot be nested")
        attr, sub, top, _ = scope.resolve(node.path)
        if attr.type != "complex" or sub is not None:
            raise FilterError(
                f"{node.path}[...]: value filters apply to complex attributes; {node.path} is {attr.type}"
            )
        inner = _compile(node.inner, _Scope(None, None, attr), flags)
        return lambda r: any(isinstance(el, dict) and inner(el) for el in top(r))
    assert isinstance(node, Compare)
    shown = str(node.path)
    attr, sub, top, direct = scope.resolve(node.path)
    if node.value is None:
        # RFC 7644 defines no null comparison; RFC 7643 §2.5 says "Unassigned attributes, the null
        # value, or empty array (in the case of a multi-valued attribute) SHALL be considered to be
        # equivalent in "state"", so `eq null` means "not present" and `ne null` means "present".
        if node.op not in ("eq", "ne"):
            raise FilterError(f"null can only be compared with eq or ne, not {node.op!r} ({shown})")
        present = _compile(Present(node.path), scope, flags)
        return (lambda r: not present(r)) if node.op == "eq" else present
    leaf, get = _leaf_getter(attr, sub, top, shown, for_presence=False)
    test = _value_test(leaf, node.op, node.value, flags, shown)
    if node.op == "ne":
        # "ne: The attribute and operator values are not identical": an unassigned attribute is
        # not identical to any value, so it matches; otherwise any value that differs matches.
        def ne(r: dict[str, Any]) -> bool:
            values = [v for v in get(r) if not _empty(v)]
            return not values or any(test(v) for v in values)

        return ne
    if direct is not None and not attr.multi_valued and sub is None and get is top:
        # the hot path: a single-valued attribute stored right here, e.g. userName eq "x"
        return lambda r: (v := r.get(direct)) is not None and test(v)
    return lambda r: any(test(v) for v in get(r))


def compile_filter(
    f: Filter,
    rt: ResourceType,
    registry: SchemaRegistry,
    *,
    case_sensitive: bool = False,
    string_dates: bool = False,
    no_complex: bool = False,
    ignore_case_exact: bool = False,
) -> Predicate:
    """Resolve every attribute of `f` against `rt` now and return a predicate over storage dicts.

    String comparisons honour `caseExact`: RFC 7644 §3.4.2.2 "When comparing attributes of type
    String, the case sensitivity for String type attributes SHALL be determined by the attribute's
    "caseExact" characteristic". dateTime values compare as instants ("for DateTime types, it is a
    chronological comparison"). The keyword flags are the quirks FILTER_CASE_SENSITIVE,
    FILTER_STRING_DATES, FILTER_NO_COMPLEX and FILTER_IGNORES_CASE_EXACT.
    """
    flags = _Flags(case_sensitive, string_dates, no_complex, ignore_case_exact)
    return _compile(f, _Scope(rt, registry, None), flags)


def compile_value_filter(
    f: Filter, attribute: Attribute, *, case_sensitive: bool = False, string_dates: bool = False
) -> Predicate:
    """A predicate over one element of the complex attribute `attribute` (PATCH value paths)."""
    if attribute.type != "complex":
        raise FilterError(f"value filters apply to complex attributes; {attribute.name} is {attribute.type}")
    return _compile(f, _Scope(None, None, attribute), _Flags(case_sensitive, string_dates, False))


_CORE_PREFIX = "urn:ietf:params:scim:schemas:core:2.0:"


def equality_terms(f: Filter) -> dict[str, object]:
    """`{lowercased attribute: value}` for the top-level `eq` conjuncts of `f`, for index lookups.

    Each term is a necessary condition of the whole filter (it is a conjunct), so the store may
    fetch candidates by any one of them and confirm with the compiled predicate. Only plain
    top-level attributes (no sub-attribute, no URN other than a core schema's) with a non-null value
    count; an `or`/`not` at the top gives {}.
    """
    out: dict[str, object] = {}
    stack: list[Filter] = [f]
    while stack:
        node = stack.pop()
        if isinstance(node, And):
            stack.extend((node.right, node.left))
        elif (
            isinstance(node, Compare)
            and node.op == "eq"
            and node.path.sub is None
            and node.value is not None
            and (not node.path.urn or node.path.urn.lower().startswith(_CORE_PREFIX))
        ):
            out.setdefault(node.path.name.lower(), node.value)
    return out


def sort_key(
    rt: ResourceType,
    registry: SchemaRegistry,
    sort_by: str,
    *,
    case_sensitive: bool = False,
    first_value: bool = False,
) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A key for `sorted()` implementing `sortBy` (RFC 7644 §3.4.2.3).

    "if it's a multi-valued attribute, resources are sorted by the value of the primary attribute
    (see Section 2.4 of [RFC7643]), if any, or else the first value in the list, if any. If the
    attribute is complex, the attribute name must be a path to a sub-attribute in standard attribute
    notation". "For all attribute types, if there is no data for the specified "sortBy" value, they
    are sorted via the "sortOrder" parameter, i.e., they are ordered last if ascending and first if
    descending": the key puts missing values last, so `reverse=True` puts them first. Strings fold
    case unless `caseExact` ("for case-insensitive attributes, sort the result using
    case-insensitive Unicode alphabetic sort order"). The RFC names no error for an unknown
    `sortBy`; this raises FilterError and the server answers 400 `invalidValue` ("the value
    specified was not compatible with the operation or attribute type"). The keyword flags are the
    quirks SORT_CASE_SENSITIVE and SORT_FIRST_VALUE.
    """
    try:
        path = parse_attr_path(sort_by)
    except PathError as exc:
        raise FilterError(f"sortBy: {exc}") from None
    scope = _Scope(rt, registry, None)
    attr, sub, top, _ = scope.resolve(path)
    if attr.type == "complex" and sub is None:
        value_sub = attr.sub("value") if attr.multi_valued else None
        if value_sub is None:
            raise FilterError(
                f"sortBy {sort_by!r} is complex; name a sub-attribute such as {attr.name}."
                f"{attr.sub_attributes[0].name if attr.sub_attributes else 'value'}"
            )
        sub = value_sub
    leaf = sub or attr
    fold = leaf.type in ("string", "reference") and not leaf.case_exact and not case_sensitive
    is_date = leaf.type == "dateTime"
    sub_key = sub.name if sub is not None else None

    def pick(r: dict[str, Any]) -> Any:
        values = [v for v in top(r) if not _empty(v)]
        if not values:
            return None
        chosen = values[0]
        if attr.multi_valued and not first_value:
            for v in values:
                if isinstance(v, dict) and v.get("primary") is True:
                    chosen = v
                    break
        if sub_key is not None:
            return chosen.get(sub_key) if isinstance(chosen, dict) else None
        return chosen

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        v = pick(r)
        if _empty(v):
            return (1, "")
        if is_date and isinstance(v, str):
            d = parse_datetime(v)
            return (0, d.timestamp()) if d else (0, float("inf"))
        if isinstance(v, str):
            return (0, v.casefold() if fold else v)
        if isinstance(v, bool):
            return (0, int(v))
        return (0, v)

    return key
