"""RFC 7643 schema definitions as data: the one source for discovery, validation and attribute rules.

The server serves `/Schemas` and `/ResourceTypes` from these objects, applies `caseExact`,
`mutability`, `returned` and `uniqueness` from them, and the harness builds the JSON Schemas it
validates responses with from the same files (`fixtures/scim/`). There is no second copy to drift.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
SERVICE_PROVIDER_CONFIG = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

#: scimType values of RFC 7644 §3.12, Table 9.
SCIM_TYPES = (
    "invalidFilter",
    "tooMany",
    "uniqueness",
    "mutability",
    "invalidSyntax",
    "invalidPath",
    "noTarget",
    "invalidValue",
    "invalidVers",
    "sensitive",
)

#: Attribute types of RFC 7643 §2.3.
TYPES = ("string", "boolean", "decimal", "integer", "dateTime", "binary", "reference", "complex")


def get_ci(obj: Any, key: str) -> Any:
    """`obj[key]` with the key matched case-insensitively (RFC 7643 §2.1); None if absent."""
    if not isinstance(obj, dict):
        return None
    if key in obj:
        return obj[key]
    lowered = key.lower()
    for k, v in obj.items():
        if isinstance(k, str) and k.lower() == lowered:
            return v
    return None


def fixtures_dir() -> Path:
    """Where the RFC data files live: packaged in a wheel, or the repository's `fixtures/scim`."""
    packaged = Path(__file__).parent / "_fixtures" / "scim"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "fixtures" / "scim"


@dataclass(frozen=True)
class Attribute:
    """One attribute definition with the characteristics of RFC 7643 §2.2 (defaults applied)."""

    name: str
    type: str = "string"
    multi_valued: bool = False
    description: str = ""
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()
    _by_lower: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attribute:
        subs = tuple(cls.from_json(s) for s in data.get("subAttributes", ()))
        attr = cls(
            name=data["name"],
            type=data.get("type", "string"),
            multi_valued=bool(data.get("multiValued", False)),
            description=data.get("description", ""),
            required=bool(data.get("required", False)),
            case_exact=bool(data.get("caseExact", False)),
            mutability=data.get("mutability", "readWrite"),
            returned=data.get("returned", "default"),
            uniqueness=data.get("uniqueness", "none"),
            canonical_values=tuple(data.get("canonicalValues", ())),
            reference_types=tuple(data.get("referenceTypes", ())),
            sub_attributes=subs,
        )
        attr._by_lower.update({s.name.lower(): s for s in subs})
        return attr

    def sub(self, name: str) -> Attribute | None:
        """A sub-attribute by name; attribute names are case-insensitive (RFC 7643 §2.1)."""
        return self._by_lower.get(name.lower())

    def to_json(self) -> dict[str, Any]:
        """The RFC 7643 §7 representation, as `/Schemas` serves it."""
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
        }
        if self.type in ("string", "reference", "binary"):
            out["caseExact"] = self.case_exact
        if self.canonical_values:
            out["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            out["referenceTypes"] = list(self.reference_types)
        out["mutability"] = self.mutability
        out["returned"] = self.returned
        if self.type != "complex":
            out["uniqueness"] = self.uniqueness
        if self.sub_attributes:
            out["subAttributes"] = [s.to_json() for s in self.sub_attributes]
        return out


@dataclass(frozen=True)
class Schema:
    """A schema (RFC 7643 §7): its URN id and top-level attributes."""

    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    _by_lower: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Schema:
        attrs = tuple(Attribute.from_json(a) for a in data.get("attributes", ()))
        schema = cls(data["id"], data.get("name", ""), data.get("description", ""), attrs)
        schema._by_lower.update({a.name.lower(): a for a in attrs})
        return schema

    def attribute(self, name: str) -> Attribute | None:
        return self._by_lower.get(name.lower())

    def to_json(self, location: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schemas": [SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.to_json() for a in self.attributes],
            "meta": {"resourceType": "Schema"},
        }
        if location:
            out["meta"]["location"] = location
        return out


@dataclass(frozen=True)
class SchemaExtension:
    schema: str
    required: bool


@dataclass(frozen=True)
class ResourceType:
    """A resource type (RFC 7643 §6): endpoint, core schema and extensions."""

    id: str
    name: str
    endpoint: str
    description: str
    schema: str
    extensions: tuple[SchemaExtension, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResourceType:
        exts = tuple(
            SchemaExtension(e["schema"], bool(e.get("required", False)))
            for e in data.get("schemaExtensions", ())
        )
        return cls(
            id=data.get("id", data["name"]),
            name=data["name"],
            endpoint=data["endpoint"],
            description=data.get("description", ""),
            schema=data["schema"],
            extensions=exts,
        )

    @property
    def schema_ids(self) -> tuple[str, ...]:
        return (self.schema, *(e.schema for e in self.extensions))

    def to_json(self, location: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schemas": [RESOURCE_TYPE],
            "id": self.id,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema,
            "schemaExtensions": [{"schema": e.schema, "required": e.required} for e in self.extensions],
            "meta": {"resourceType": "ResourceType"},
        }
        if location:
            out["meta"]["location"] = location
        return out


@dataclass(frozen=True)
class Resolved:
    """An attribute path resolved against a resource type.

    `schema` is the URN that owns the attribute ("" for the common attributes `id`, `externalId`,
    `meta` of RFC 7643 §3.1), `attribute` the top-level definition, `sub` the sub-attribute if the
    path named one. `key` is where the value lives in a resource body: the canonical attribute
    name for core and common attributes, or under the extension URN for extension attributes.
    """

    schema: str
    attribute: Attribute
    sub: Attribute | None
    in_extension: bool

    @property
    def leaf(self) -> Attribute:
        return self.sub or self.attribute


class SchemaRegistry:
    """All schemas and resource types, loaded once from the fixture files."""

    def __init__(
        self,
        schemas: list[dict[str, Any]],
        resource_types: list[dict[str, Any]],
        common: list[dict[str, Any]],
    ) -> None:
        self.raw_schemas = schemas
        self.schemas: dict[str, Schema] = {s["id"]: Schema.from_json(s) for s in schemas}
        self._schemas_lower = {k.lower(): v for k, v in self.schemas.items()}
        self.resource_types: dict[str, ResourceType] = {}
        for rt in resource_types:
            parsed = ResourceType.from_json(rt)
            self.resource_types[parsed.name] = parsed
        self.common = Schema.from_json({"id": "", "name": "common", "attributes": common})

    @classmethod
    @functools.cache
    def default(cls) -> SchemaRegistry:
        base = fixtures_dir()
        return cls(
            json.loads((base / "schemas.json").read_text()),
            json.loads((base / "resource_types.json").read_text()),
            json.loads((base / "common_attributes.json").read_text()),
        )

    def schema(self, urn: str) -> Schema | None:
        """A schema by URN; URNs compare case-insensitively (RFC 7643 §2.1)."""
        return self._schemas_lower.get(urn.lower())

    def resource_type(self, name: str) -> ResourceType:
        return self.resource_types[name]

    def by_endpoint(self, endpoint: str) -> ResourceType | None:
        for rt in self.resource_types.values():
            if rt.endpoint.lstrip("/").lower() == endpoint.lstrip("/").lower():
                return rt
        return None

    def attributes(self, rt: ResourceType) -> Iterator[tuple[str, Attribute]]:
        """Every top-level attribute of a resource type as (schema URN, attribute), common first."""
        for a in self.common.attributes:
            yield "", a
        for urn in rt.schema_ids:
            schema = self.schema(urn)
            if schema:
                for a in schema.attributes:
                    yield schema.id, a

    def resolve(self, rt: ResourceType, path: str, *, unqualified_extensions: bool = False) -> Resolved | None:
        """Resolve `attr`, `attr.sub`, or `urn:...:attr[.sub]` (RFC 7644 §3.10 attribute notation).

        Unprefixed names are looked up in the common attributes, then the core schema; a path
        prefixed with an extension URN resolves inside that extension. Case-insensitive throughout.
        Returns None when the path names no attribute of this resource type.

        `unqualified_extensions` (the server's PATCH paths and filters): an unprefixed name that
        neither the common attributes nor the core schema define resolves to the extension that
        defines it when exactly one of the resource type's extensions does. RFC 7644 §3.10:
        "Clients MAY omit core schema attribute URN prefixes but SHOULD fully qualify extended
        attributes with the associated schema extension URN to avoid naming conflicts": a SHOULD
        for the client, so an unqualified extension name is a legal request, and where no conflict
        exists it names one attribute. Entra ID sends `"path":"manager"` (Microsoft's SCIM tutorial,
        https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups).
        A name two extensions define stays unresolved (ambiguous).
        """
        urn = ""
        rest = path
        lowered = path.lower()
        for candidate in sorted(rt.schema_ids, key=len, reverse=True):
            if lowered.startswith(candidate.lower() + ":"):
                urn, rest = candidate, path[len(candidate) + 1 :]
                break
        else:
            if lowered.startswith("urn:"):
                return None
        name, _, sub_name = rest.partition(".")
        if urn:
            schema = self.schema(urn)
            attr = schema.attribute(name) if schema else None
            owner = urn
        else:
            attr = self.common.attribute(name)
            owner = ""
            if attr is None:
                core = self.schema(rt.schema)
                attr = core.attribute(name) if core else None
                owner = rt.schema
            if attr is None and unqualified_extensions:
                found = [(ext.schema, a) for ext in rt.extensions
                         if (schema := self.schema(ext.schema)) is not None and (a := schema.attribute(name))]
                if len(found) == 1:
                    owner, attr = found[0][0], found[0][1]
        if attr is None:
            return None
        sub = None
        if sub_name:
            sub = attr.sub(sub_name)
            if sub is None:
                return None
        in_ext = bool(owner) and owner != rt.schema
        return Resolved(owner, attr, sub, in_ext)
