"""What a target declares: its `/Schemas` and `/ResourceTypes` as a registry, and attribute handles.

`registry_from_discovery` turns a target's discovery documents into the same `SchemaRegistry` the
reference server uses, filling characteristics the target leaves out from the RFC's definition of
the same attribute. `AttrRef` is one declared attribute as a check uses it: its path for PATCH and
filters, and how to read or set it in a resource body. The data factory (`scimitar/factory.py`)
is built on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scimitar.schema import CORE_GROUP, CORE_USER, Attribute, SchemaRegistry
from scimitar.schema import get_ci as _ci

#: Characteristics a target may leave out of an attribute definition; filled from the RFC's own
#: definition of the same attribute when there is one, else RFC 7643 §2.2 defaults apply.
_CHARACTERISTICS = (
    "type",
    "multiValued",
    "required",
    "caseExact",
    "mutability",
    "returned",
    "uniqueness",
    "canonicalValues",
    "referenceTypes",
)


@dataclass(frozen=True)
class AttrRef:
    """An attribute of a resource type as a check uses it: its path, definition and body key."""

    resource_type: str
    urn: str  # owning schema URN; "" for the common attributes (RFC 7643 §3.1)
    attribute: Attribute
    sub: Attribute | None = None
    in_extension: bool = False

    @property
    def leaf(self) -> Attribute:
        return self.sub or self.attribute

    @property
    def path(self) -> str:
        """RFC 7644 §3.10 attribute notation: `nickName`, `name.givenName`, `urn:...:department`."""
        base = f"{self.urn}:{self.attribute.name}" if self.in_extension else self.attribute.name
        return f"{base}.{self.sub.name}" if self.sub else base

    def get(self, resource: Any) -> Any:
        """The value in a resource body (names compared case-insensitively, RFC 7643 §2.1)."""
        holder = _ci(resource, self.urn) if self.in_extension else resource
        value = _ci(holder, self.attribute.name)
        if self.sub is not None:
            if isinstance(value, list):
                return [_ci(v, self.sub.name) for v in value]
            value = _ci(value, self.sub.name)
        return value

    def set(self, body: dict[str, Any], value: Any) -> dict[str, Any]:
        """Set this (single-valued) attribute in `body` in place, keeping sibling sub-attributes."""
        holder = body.setdefault(self.urn, {}) if self.in_extension else body
        if self.sub is None:
            holder[self.attribute.name] = value
        else:
            parent = holder.get(self.attribute.name)
            holder[self.attribute.name] = {**(parent if isinstance(parent, dict) else {}), self.sub.name: value}
        return body

    def unset(self, body: dict[str, Any]) -> dict[str, Any]:
        """Remove this attribute from `body` in place (a sub-attribute: from its parent value)."""
        holder = body.get(self.urn) if self.in_extension else body
        if not isinstance(holder, dict):
            return body
        if self.sub is None:
            holder.pop(self.attribute.name, None)
        elif isinstance(holder.get(self.attribute.name), dict):  # a copy: the caller's value stays
            parent = holder[self.attribute.name]
            holder[self.attribute.name] = {k: v for k, v in parent.items() if k != self.sub.name}
        return body

    def overrides(self, value: Any) -> dict[str, Any]:
        """Keyword overrides for `DataFactory.user`/`group` that give this attribute `value`
        (None: unassigned; a sub-attribute is sent as null inside its parent, RFC 7643 §2.5)."""
        if self.in_extension:
            return {self.urn: {self.attribute.name: value}} if self.sub is None else {
                self.urn: {self.attribute.name: {self.sub.name: value}}
            }
        if self.sub is None:
            return {self.attribute.name: value}
        return {self.attribute.name: {self.sub.name: value}}

    def fragment(self, value: Any) -> dict[str, Any]:
        """A body fragment that sets this attribute to `value` (for POST/PUT/pathless PATCH)."""
        inner: Any = {self.sub.name: value} if self.sub else value
        if self.attribute.multi_valued and self.sub is not None:
            inner = [inner]
        top = {self.attribute.name: inner}
        return {self.urn: top} if self.in_extension else top


def having(name: str, value: Any) -> dict[str, Any]:
    """`{name: value}` as keyword overrides (`ctx.create_user(**having(attr.name, [...]))`)."""
    return {name: value}


def merge_fragments(*fragments: dict[str, Any]) -> dict[str, Any]:
    """Body fragments (`AttrRef.fragment`) merged into one object: sub-attributes of the same
    complex attribute end up in one value, as a pathless PATCH or a PUT carries them."""
    out: dict[str, Any] = {}
    for fragment in fragments:
        for key, value in fragment.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merge_fragments(out[key], value)
            else:
                out[key] = value
    return out


def _merge_from_rfc(target: dict[str, Any], rfc: Attribute | None) -> dict[str, Any]:
    """A target's attribute definition with missing characteristics taken from the RFC's."""
    out = dict(target)
    if rfc is not None:
        rfc_json = rfc.to_json()
        for key in _CHARACTERISTICS:
            if key not in out and key in rfc_json:
                out[key] = rfc_json[key]
    subs = out.get("subAttributes")
    if isinstance(subs, list):
        out["subAttributes"] = [
            _merge_from_rfc(s, rfc.sub(str(s.get("name", ""))) if rfc else None)
            for s in subs
            if isinstance(s, dict) and isinstance(s.get("name"), str)
        ]
    return out


def registry_from_discovery(
    schemas: list[dict[str, Any]] | None, resource_types: list[dict[str, Any]] | None
) -> SchemaRegistry | None:
    """A registry of what the target declares, or None when its `/Schemas` is not usable.

    Usable means: a User schema whose attributes include `userName`. `/ResourceTypes`
    missing or broken is tolerated: the RFC's User and Group, with the extensions whose schema the
    target declares, stand in. Characteristics the target omits come from the RFC definition.
    """
    rfc = SchemaRegistry.default()
    if not schemas:
        return None
    cleaned: list[dict[str, Any]] = []
    for schema in schemas:
        sid = schema.get("id")
        attrs = schema.get("attributes")
        if not isinstance(sid, str) or not isinstance(attrs, list):
            continue
        rfc_schema = rfc.schema(sid)
        merged = [
            _merge_from_rfc(a, rfc_schema.attribute(a["name"]) if rfc_schema else None)
            for a in attrs
            if isinstance(a, dict) and isinstance(a.get("name"), str)
        ]
        cleaned.append({**schema, "attributes": merged})
    ids = {s["id"].lower() for s in cleaned}
    user = next((s for s in cleaned if s["id"].lower() == CORE_USER.lower()), None)
    # A User schema without userName (RFC 7643 §4.1.1: "REQUIRED") describes nothing usable: an
    # empty or truncated document must not make every create look undeclared.
    if user is None or not any(str(a["name"]).lower() == "username" for a in user["attributes"]):
        return None
    rts: list[dict[str, Any]] = []
    for rt in resource_types or []:
        if isinstance(rt.get("name"), str) and isinstance(rt.get("schema"), str):
            exts = [
                e
                for e in rt.get("schemaExtensions") or []
                if isinstance(e, dict) and isinstance(e.get("schema"), str)
            ]
            # checks ask for "User" and "Group": a type is known by its core schema, whatever its name
            name = {CORE_USER.lower(): "User", CORE_GROUP.lower(): "Group"}.get(rt["schema"].lower(), rt["name"])
            rts.append(
                {
                    **rt,
                    "name": name,
                    "endpoint": str(rt.get("endpoint") or f"/{rt['name']}s"),
                    "schemaExtensions": exts,
                }
            )
    names = {rt["name"] for rt in rts}
    for fallback in rfc.resource_types.values():
        if fallback.name not in names:
            doc = fallback.to_json()
            doc["schemaExtensions"] = [e for e in doc["schemaExtensions"] if e["schema"].lower() in ids]
            rts.append(doc)
    # An extension the resource type lists but /Schemas omits: its RFC definition stands in, when
    # the RFC has one (the resource type is the authority on which extensions exist, RFC 7643 §6).
    for rt in rts:
        for ext in rt["schemaExtensions"]:
            known = rfc.schema(ext["schema"])
            if ext["schema"].lower() not in ids and known is not None:
                cleaned.append(known.to_json())
                ids.add(ext["schema"].lower())
    common = [a.to_json() for a in rfc.common.attributes]
    try:
        return SchemaRegistry(cleaned, rts, common)
    except (KeyError, TypeError, AttributeError):
        return None
