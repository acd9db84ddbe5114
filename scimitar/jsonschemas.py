"""JSON Schemas (Draft 2020-12) for SCIM bodies, built from the RFC 7643 schema representations.

The harness must judge what a target *returns*, and the only description of that is the schema
data the target serves at `/Schemas` (or, by default, the RFC's own in `fixtures/scim/`). Building
JSON Schemas from that data, instead of hand-writing one per resource, means a target with custom
schemas is judged by its own definitions and the RFC data has exactly one copy.

Messages without a SCIM schema representation (ListResponse, Error, PatchOp, SearchRequest,
BulkRequest, BulkResponse) are hand-written JSON Schemas in `fixtures/scim/messages/`.

Deliberate leniencies, each because the RFC allows what a stricter schema would reject:

* unknown keys are allowed (RFC 7643 §3: a service provider may carry attributes of its own);
* `canonicalValues` are not enforced (RFC 7643 §2.3.1: providers MAY accept other values);
* attribute names are matched case-insensitively (RFC 7643 §2.1): bodies are first rewritten to
  the schema's spelling by `canonicalize_keys`, since JSON Schema keys are case-sensitive.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, TypeAlias

from jsonschema import Draft202012Validator

from scimitar.schema import (
    RESOURCE_TYPE,
    SCHEMA,
    SERVICE_PROVIDER_CONFIG,
    SchemaRegistry,
    fixtures_dir,
)

JsonSchema: TypeAlias = dict[str, Any]
Definition: TypeAlias = dict[str, Any]

DRAFT = "https://json-schema.org/draft/2020-12/schema"

#: Names accepted by `message_schema`, one file each in fixtures/scim/messages/.
MESSAGE_NAMES = ("ListResponse", "Error", "PatchOp", "SearchRequest", "BulkRequest", "BulkResponse")

#: Discovery resources of RFC 7643 §5-§7 and the URNs of their schemas (§8.7.2).
DISCOVERY_URNS = {
    "ServiceProviderConfig": SERVICE_PROVIDER_CONFIG,
    "ResourceType": RESOURCE_TYPE,
    "Schema": SCHEMA,
}

# Marker put in the `$comment` of the schema that forbids a `returned: never` attribute, so the
# violation message can name the rule instead of jsonschema's generic "should not be valid".
_NEVER_MARK = "scimitar:returned=never"


@dataclass(frozen=True)
class Violation:
    """One way a body breaks its schema.

    `pointer` is an RFC 6901 JSON pointer into the body (`""` is the whole body); for a missing
    required member it points at where the member should be, because that is what a reader of a
    report looks for.
    """

    pointer: str
    message: str


# --------------------------------------------------------------------------------------------
# Building schemas


def _type_schema(attr: Definition) -> JsonSchema:
    """The JSON Schema of one value of a (possibly multi-valued) attribute, by RFC 7643 §2.3 type."""
    kind = attr.get("type", "string")
    out: JsonSchema
    if kind == "string":
        out = {"type": "string"}
    elif kind == "boolean":
        out = {"type": "boolean"}
    elif kind == "decimal":
        out = {"type": "number"}
    elif kind == "integer":
        out = {"type": "integer"}
    elif kind == "dateTime":
        # §2.3.5: an xsd:dateTime with no offset ambiguity; RFC 3339 date-time is its JSON form.
        out = {"type": "string", "format": "date-time"}
    elif kind == "binary":
        out = {"type": "string", "contentEncoding": "base64"}
    elif kind == "reference":
        # References may be relative (a ResourceType's endpoint "/Users"), so only URI syntax.
        out = {"type": "string", "format": "uri-reference"}
    elif kind == "complex":
        out = _object_schema(attr.get("subAttributes", ()), partial=False)
    else:
        # An unknown type in a target's own /Schemas: say nothing rather than raise a false alarm.
        out = {}
    return out


def _attribute_schema(attr: Definition, *, partial: bool) -> JsonSchema:
    """The JSON Schema of an attribute as it appears in a response."""
    if attr.get("returned") == "never":
        # RFC 7643 §2.2: "never" attributes SHALL NOT be returned, whatever was asked for.
        return {"not": {}, "$comment": _NEVER_MARK}
    if attr.get("type") == "complex":
        one = _object_schema(attr.get("subAttributes", ()), partial=partial)
    else:
        one = _type_schema(attr)
    if attr.get("description"):
        one = {**one, "description": attr["description"]}
    if attr.get("multiValued"):
        return {"type": "array", "items": one}
    return one


def _object_schema(attributes: Iterable[Definition], *, partial: bool) -> JsonSchema:
    """An object whose properties are `attributes`; unknown keys stay allowed (see module doc)."""
    properties: dict[str, JsonSchema] = {}
    required: list[str] = []
    for attr in attributes:
        properties[attr["name"]] = _attribute_schema(attr, partial=partial)
        if attr.get("required") and not partial and attr.get("returned") != "never":
            required.append(attr["name"])
    out: JsonSchema = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


def build_resource_schema(
    core: Definition,
    extensions: list[Definition],
    common: list[Definition],
    *,
    required_extensions: AbstractSet[str] = frozenset(),
    require_id: bool = True,
    partial: bool = False,
) -> JsonSchema:
    """A Draft 2020-12 JSON Schema for a resource *as a server returns it*.

    `core` and `extensions` are RFC 7643 §7 schema representations (what `/Schemas` serves);
    `common` the §3.1 attributes. Extension attributes live under their URN key (§3.3), and an
    extension key present in the body requires its URN in `schemas`. `required: true` attributes
    are required, as are `schemas` and (with `require_id`) `id`, which §3.1 says is always returned.

    `partial=True` is for resources returned with `attributes`/`excludedAttributes` (RFC 7644
    §3.9), e.g. in a ListResponse: then only `id` (returned "always") is required.
    `require_id=False` is for discovery resources, where `id` is not a common attribute (§5).
    """
    # meta.location is a "reference" (RFC 7643 §2.3.7: "The value MUST be the absolute or relative
    # URI of the target resource"), so `_type_schema` already checks it as a URI reference.
    common_props = _object_schema(common, partial=partial)["properties"]
    core_obj = _object_schema(core.get("attributes", ()), partial=partial)

    properties: dict[str, JsonSchema] = {
        "schemas": {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "contains": {"const": core["id"]},
        },
        **common_props,
        **core_obj["properties"],
    }
    required: list[str] = [] if partial else ["schemas"]
    if require_id and "id" not in required:
        required.append("id")
    required.extend(r for r in core_obj.get("required", ()) if r not in required)

    dependent: dict[str, JsonSchema] = {}
    for ext in extensions:
        urn = ext["id"]
        ext_obj = _object_schema(ext.get("attributes", ()), partial=partial)
        properties[urn] = ext_obj
        dependent[urn] = {"properties": {"schemas": {"contains": {"const": urn}}}}
        if urn in required_extensions and not partial:
            required.append(urn)

    out: JsonSchema = {
        "$schema": DRAFT,
        "title": core.get("name") or core["id"],
        "type": "object",
        "properties": properties,
        "required": required,
    }
    if dependent:
        out["dependentSchemas"] = dependent
    return out


def _load_json(name: str) -> Any:
    return json.loads((fixtures_dir() / name).read_text())


@functools.cache
def _fixture_schemas() -> list[Definition]:
    data: list[Definition] = _load_json("schemas.json")
    return data


@functools.cache
def _fixture_common() -> list[Definition]:
    data: list[Definition] = _load_json("common_attributes.json")
    return data


@functools.cache
def _discovery_definitions() -> list[Definition]:
    data: list[Definition] = _load_json("discovery_schemas.json")
    return data


def _find_schema(data: Iterable[Definition], urn: str) -> Definition | None:
    """A schema by URN among `data`; URNs compare case-insensitively (RFC 7643 §2.1)."""
    lowered = urn.lower()
    for d in data:
        if str(d.get("id", "")).lower() == lowered:
            return d
    return None


def _resource_parts(
    resource_type: str, schemas_data: list[Definition] | None
) -> tuple[Definition, list[Definition], set[str]]:
    """Core schema, extension schemas and required extension URNs for a resource type.

    The resource types come from the fixture (§8.6). A schema the target's `/Schemas` lacks falls
    back to the RFC definition: a missing schema is reported by a discovery check, and validating
    against nothing would hide every other fault.
    """
    rt = SchemaRegistry.default().resource_type(resource_type)
    data = schemas_data if schemas_data is not None else _fixture_schemas()

    def pick(urn: str) -> Definition:
        found = _find_schema(data, urn) or _find_schema(_fixture_schemas(), urn)
        if found is None:
            raise KeyError(f"no schema definition for {urn}")
        return found

    core = pick(rt.schema)
    extensions = [pick(e.schema) for e in rt.extensions]
    required = {e.schema for e in rt.extensions if e.required}
    return core, extensions, required


def build_resource_schema_for_rt(
    resource_type: str, schemas_data: list[Definition] | None = None, *, partial: bool = False
) -> JsonSchema:
    """`build_resource_schema` for the fixture resource type "User" or "Group"."""
    core, extensions, required = _resource_parts(resource_type, schemas_data)
    return build_resource_schema(
        core, extensions, _fixture_common(), required_extensions=required, partial=partial
    )


def discovery_definition(name: str) -> Definition:
    """The RFC 7643 §8.7.2 representation of "ServiceProviderConfig", "ResourceType" or "Schema"."""
    try:
        urn = DISCOVERY_URNS[name]
    except KeyError:
        raise KeyError(f"unknown discovery resource {name!r}; one of {sorted(DISCOVERY_URNS)}") from None
    found = _find_schema(_discovery_definitions(), urn)
    if found is None:
        raise KeyError(f"{urn} missing from discovery_schemas.json")
    return found


def build_discovery_schema(name: str) -> JsonSchema:
    """JSON Schema of a discovery resource; only `meta` is common there, `id` is not required (§5)."""
    meta = [a for a in _fixture_common() if a["name"] == "meta"]
    built = build_resource_schema(discovery_definition(name), [], meta, require_id=False)
    if name in ("Schema", SCHEMA):
        # RFC 7643 §8.7.1's own Schema representations carry no "schemas": not a violation.
        built["required"] = [r for r in built.get("required", []) if r != "schemas"]
    return built


@functools.cache
def _message_schema_cached(name: str) -> JsonSchema:
    if name not in MESSAGE_NAMES:
        raise KeyError(f"unknown message {name!r}; one of {list(MESSAGE_NAMES)}")
    data: JsonSchema = _load_json(f"messages/{name}.json")
    return data


def message_schema(name: str) -> JsonSchema:
    """The hand-written JSON Schema of an RFC 7644 message, e.g. "Error" (a copy: safe to edit)."""
    return copy.deepcopy(_message_schema_cached(name))


# --------------------------------------------------------------------------------------------
# Case-insensitive attribute names

# lowercased key -> (spelling in the schema, key map of the value's members, if any)
KeyMap: TypeAlias = dict[str, tuple[str, "KeyMap | None"]]


def _keymap(schema: Mapping[str, Any]) -> KeyMap | None:
    """The key spellings an object schema declares, recursively through arrays and objects."""
    if schema.get("type") == "array" and isinstance(schema.get("items"), Mapping):
        return _keymap(schema["items"])
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return None
    out: KeyMap = {}
    for key, sub in props.items():
        out[key.lower()] = (key, _keymap(sub) if isinstance(sub, Mapping) else None)
    return out


def _apply_keymap(value: Any, keymap: KeyMap | None, urns: Mapping[str, str]) -> Any:
    """A copy of `value` with keys renamed to the schema's spelling.

    A key is renamed only when the schema's spelling is not also present, so nothing is lost when
    a body carries both (the stray one then shows up as an unknown key, which is allowed).
    """
    if isinstance(value, list):
        return [_apply_keymap(v, keymap, urns) for v in value]
    if not isinstance(value, dict) or keymap is None:
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        entry = keymap.get(key.lower()) if isinstance(key, str) else None
        if entry is None:
            out.setdefault(key, item)
            continue
        if item is None:
            # RFC 7643 §2.5: "Unassigned attributes, the null value, or empty array (in the case of
            # a multi-valued attribute) SHALL be considered to be equivalent in "state"." A null
            # is an unassigned attribute (still missing if the attribute is required).
            continue
        name, child = entry
        target = name if name not in value or name == key else key
        if name == "schemas" and isinstance(item, list):
            item = [urns.get(u.lower(), u) if isinstance(u, str) else u for u in item]
        out[target] = _apply_keymap(item, child, urns)
    return out


def _urns(schema: Mapping[str, Any]) -> dict[str, str]:
    """Schema URNs the JSON Schema knows (core `contains` and extension keys), by lowercase."""
    out: dict[str, str] = {}
    props = schema.get("properties", {})
    contains = props.get("schemas", {}).get("contains", {})
    if isinstance(contains.get("const"), str):
        out[contains["const"].lower()] = contains["const"]
    for key in props:
        if key.lower().startswith("urn:"):
            out[key.lower()] = key
    return out


def canonicalize_keys(
    instance: Any, core: Definition, extensions: list[Definition], common: list[Definition]
) -> Any:
    """`instance` with attribute names (and schema URNs) spelled as the definitions spell them.

    RFC 7643 §2.1 makes attribute names case-insensitive, so `username` from a server is the same
    attribute as `userName`; JSON Schema compares keys exactly and would call it missing.
    The input is not modified.
    """
    schema = build_resource_schema(core, extensions, common)
    return _apply_keymap(instance, _keymap(schema), _urns(schema))


# --------------------------------------------------------------------------------------------
# Validation


@dataclass(frozen=True)
class _Compiled:
    """A validator with the key map of its schema: everything one validation needs, built once."""

    validator: Any
    keymap: KeyMap | None
    urns: dict[str, str]

    def canonical(self, instance: Any) -> Any:
        return _apply_keymap(instance, self.keymap, self.urns)


def _compile(schema: JsonSchema) -> _Compiled:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return _Compiled(validator, _keymap(schema), _urns(schema))


class _LRU:
    """A small thread-safe LRU map; the harness may validate from several threads."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key: Any, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = make()
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


# Caller-supplied schemas are cached by identity; the entry holds the schema itself, so its id()
# cannot be reused while the entry lives. Schemas are treated as immutable once validated with.
_BY_IDENTITY = _LRU(256)
# Schemas built here are cached by what they were built from.
_BY_KEY = _LRU(256)


def _compiled_for(schema: JsonSchema) -> _Compiled:
    entry: tuple[JsonSchema, _Compiled] = _BY_IDENTITY.get_or_make(
        id(schema), lambda: (schema, _compile(schema))
    )
    if entry[0] is not schema:  # pragma: no cover - only if an id was recycled after eviction
        entry = (schema, _compile(schema))
    return entry[1]


def _fingerprint(schemas_data: list[Definition] | None) -> str:
    """A key for a target's /Schemas data; identity first, so repeated calls skip hashing."""
    if schemas_data is None:
        return "fixture"
    entry: tuple[Any, str] = _BY_IDENTITY.get_or_make(
        ("fp", id(schemas_data)),
        lambda: (
            schemas_data,
            hashlib.sha256(json.dumps(schemas_data, sort_keys=True).encode()).hexdigest(),
        ),
    )
    if entry[0] is not schemas_data:  # pragma: no cover - recycled id
        return hashlib.sha256(json.dumps(schemas_data, sort_keys=True).encode()).hexdigest()
    return entry[1]


def _pointer(parts: Iterable[Any]) -> str:
    """An RFC 6901 JSON pointer from path parts (`~` -> `~0`, `/` -> `~1`)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _violation(error: Any, prefix: str) -> Violation:
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "required":
        for name in error.validator_value:
            if error.message == f"{name!r} is a required property":
                return Violation(prefix + _pointer([*path, name]), f"required attribute {name!r} is missing")
    if error.validator == "not" and schema.get("$comment") == _NEVER_MARK:
        name = path[-1] if path else "?"
        return Violation(
            prefix + _pointer(path),
            f"{name!r} has returned=never (RFC 7643 §2.2) and must not appear in a response",
        )
    if error.validator == "contains" and error.validator_value.get("const") is not None:
        return Violation(prefix + _pointer(path), f"must contain {error.validator_value['const']!r}")
    return Violation(prefix + _pointer(path), error.message)


def _run(compiled: _Compiled, instance: Any, prefix: str = "") -> list[Violation]:
    errors = compiled.validator.iter_errors(instance)
    found = {_violation(e, prefix) for e in errors}
    return sorted(found, key=lambda v: (v.pointer, v.message))


def validate(instance: Any, schema: JsonSchema) -> list[Violation]:
    """Every violation of `schema` by `instance` (not just the first), sorted by pointer.

    No key canonicalization happens here, since a bare JSON Schema does not say which keys are
    SCIM attributes; the `validate_*` helpers below canonicalize first.
    """
    return _run(_compiled_for(schema), instance)


def _resource_compiled(
    resource_type: str, schemas_data: list[Definition] | None, *, partial: bool
) -> _Compiled:
    key = ("resource", resource_type, _fingerprint(schemas_data), partial)
    compiled: _Compiled = _BY_KEY.get_or_make(
        key,
        lambda: _compile(build_resource_schema_for_rt(resource_type, schemas_data, partial=partial)),
    )
    return compiled


def _discovery_compiled(name: str) -> _Compiled:
    compiled: _Compiled = _BY_KEY.get_or_make(
        ("discovery", name), lambda: _compile(build_discovery_schema(name))
    )
    return compiled


def _message_compiled(name: str) -> _Compiled:
    compiled: _Compiled = _BY_KEY.get_or_make(
        ("message", name), lambda: _compile(_message_schema_cached(name))
    )
    return compiled


def validate_resource(
    body: Any, resource_type: str, *, schemas_data: list[Definition] | None = None
) -> list[Violation]:
    """Violations of a full User or Group as a server returns it (GET, POST, PUT, PATCH answer).

    `schemas_data` is the target's own `/Schemas` list; by default the RFC definitions are used.
    """
    compiled = _resource_compiled(resource_type, schemas_data, partial=False)
    return _run(compiled, compiled.canonical(body))


def validate_list_response(
    body: Any, resource_type: str, *, schemas_data: list[Definition] | None = None
) -> list[Violation]:
    """Violations of a ListResponse and of each resource in it.

    Resources in a list may have been projected with `attributes` (RFC 7644 §3.9), so each is
    checked for types, forbidden `returned: never` attributes and the presence of `id` only.
    `resource_type` may also be a discovery resource ("Schema", "ResourceType").
    """
    message = _message_compiled("ListResponse")
    canonical = message.canonical(body)
    found = _run(message, canonical)
    resources = canonical.get("Resources") if isinstance(canonical, dict) else None
    if not isinstance(resources, list):
        return found
    if resource_type in DISCOVERY_URNS:
        item = _discovery_compiled(resource_type)
    else:
        item = _resource_compiled(resource_type, schemas_data, partial=True)
    for i, resource in enumerate(resources):
        if isinstance(resource, dict):
            found.extend(_run(item, item.canonical(resource), prefix=f"/Resources/{i}"))
    return found


def validate_message(body: Any, name: str) -> list[Violation]:
    """Violations of an RFC 7644 message ("ListResponse", "Error", "PatchOp", ...)."""
    compiled = _message_compiled(name)
    return _run(compiled, compiled.canonical(body))


def validate_error(body: Any) -> list[Violation]:
    """Violations of an Error body (RFC 7644 §3.12): `status` must be a string, for one."""
    return validate_message(body, "Error")


def validate_discovery(body: Any, name: str) -> list[Violation]:
    """Violations of a ServiceProviderConfig, ResourceType or Schema resource (RFC 7643 §5-§7)."""
    compiled = _discovery_compiled(name)
    return _run(compiled, compiled.canonical(body))


def clear_caches() -> None:
    """Forget compiled validators, e.g. after a target's /Schemas was edited in place."""
    _BY_IDENTITY.clear()
    _BY_KEY.clear()


__all__ = [
    "DISCOVERY_URNS",
    "MESSAGE_NAMES",
    "Violation",
    "build_discovery_schema",
    "build_resource_schema",
    "build_resource_schema_for_rt",
    "canonicalize_keys",
    "clear_caches",
    "discovery_definition",
    "message_schema",
    "validate",
    "validate_discovery",
    "validate_error",
    "validate_list_response",
    "validate_message",
    "validate_resource",
]
