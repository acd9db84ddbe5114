"""The schema-aware data factory: every resource a check needs, shaped by what the target declares.

A target is free to declare less than RFC 7643 (RFC 7643 §2: "service providers MAY ... " define
their own schemas, and §7 publishes them at `/Schemas`), and it is right to refuse what it does not
declare (RFC 7644 §3.5.2: an operation incompatible with the schema fails). Test data written for
the RFC's full User is therefore refused at setup by a narrower server, and every check behind it
reports a false failure. The factory reads the target's `/Schemas` and `/ResourceTypes` once, after
discovery, and builds every body from them:

- only attributes and sub-attributes the target declares, none that are `readOnly`;
- every `required` attribute and sub-attribute present;
- canonical values where the target lists them (RFC 7643 §2.3.1 "canonicalValues");
- values of the declared type; unique values under the run prefix;
- extensions only where the resource type lists them (RFC 7643 §6 "schemaExtensions");
- the declared profile's rules (`clickhouse`: `userName` is the primary email, lower case).

Checks ask for what they need (`writable_string`, `multi_complex_with("type")`, `read_only`, ...)
and skip with the reason when the target declares none. A target without usable `/Schemas` gets
the RFC schemas (`source == "rfc-fallback"`), and the report says so.

Generation is seeded: the same seed, prefix and call order give the same data.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterator
from typing import Any

from faker import Faker

from scimitar.declared import AttrRef, having, merge_fragments, registry_from_discovery
from scimitar.schema import (
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE_USER,
    Attribute,
    ResourceType,
    SchemaRegistry,
)

__all__ = ["LOCALES", "AttrRef", "DataFactory", "ascii_slug", "having", "merge_fragments"]

LOCALES = ["en_US", "de_DE", "fr_FR", "ja_JP", "es_ES"]

#: Attributes the clickhouse profile ties to `userName` (it must equal the primary email), so a
#: check must not pick them as "any writable attribute".
_PROFILE_BOUND = {"clickhouse": {("User", "emails"), ("User", "userName")}}


def ascii_slug(text: str, *, limit: int = 20) -> str:
    """Lowercase ASCII letters and digits of a name (accents folded), for the email-safe userName."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(c for c in folded.lower() if c.isalnum())[:limit]


class DataFactory:
    """Realistic SCIM payloads shaped by the target's schemas; deterministic for a seed and order.

    Until `adopt` is called (after discovery), the RFC schemas are used (`source == "rfc"`).
    """

    def __init__(self, prefix: str, seed: int = 0) -> None:
        self.prefix = prefix
        self.faker = Faker(LOCALES)
        self.faker.seed_instance(seed)
        self._n = 0
        self._lock = threading.Lock()
        self.registry = SchemaRegistry.default()
        self.source = "rfc"
        self.profile: str | None = None

    # -- set-up -------------------------------------------------------------------------------
    def adopt(
        self,
        schemas: list[dict[str, Any]] | None,
        resource_types: list[dict[str, Any]] | None,
        profile: str | None = None,
    ) -> str:
        """Shape all later data by the target's discovery documents; returns the schema source:
        `"target"`, or `"rfc-fallback"` when the target publishes no usable `/Schemas`."""
        registry = registry_from_discovery(schemas, resource_types)
        if registry is None:
            self.registry, self.source = SchemaRegistry.default(), "rfc-fallback"
        else:
            self.registry, self.source = registry, "target"
        self.profile = profile
        return self.source

    def _next(self) -> int:
        with self._lock:
            self._n += 1
            return self._n

    def _rt(self, name: str) -> ResourceType | None:
        return self.registry.resource_types.get(name)

    # -- queries ------------------------------------------------------------------------------
    def resource_type(self, name: str) -> ResourceType | None:
        """The declared resource type (`User`, `Group`), or None."""
        return self._rt(name)

    def declares(self, resource_type: str, path: str) -> bool:
        """Whether the target declares `path` (`nickName`, `emails.type`, `urn:...:department`)."""
        rt = self._rt(resource_type)
        return rt is not None and self.registry.resolve(rt, path) is not None

    def ref(self, resource_type: str, path: str) -> AttrRef | None:
        """The declared attribute at `path`, or None."""
        rt = self._rt(resource_type)
        found = self.registry.resolve(rt, path) if rt else None
        if found is None:
            return None
        return AttrRef(resource_type, found.schema, found.attribute, found.sub, found.in_extension)

    def attributes(self, resource_type: str) -> Iterator[AttrRef]:
        """Every declared top-level attribute of a resource type (common ones first)."""
        rt = self._rt(resource_type)
        if rt is None:
            return
        for urn, attr in self.registry.attributes(rt):
            yield AttrRef(resource_type, urn, attr, None, bool(urn) and urn != rt.schema)

    def _bound(self, ref: AttrRef) -> bool:
        return (ref.resource_type, ref.attribute.name) in _PROFILE_BOUND.get(self.profile or "", set())

    def find(
        self,
        resource_type: str = "User",
        *,
        type: str | None = None,
        multi_valued: bool | None = None,
        mutability: tuple[str, ...] = ("readWrite",),
        with_sub: str | None = None,
        exclude: tuple[str, ...] = (),
        core_only: bool = True,
        plain: bool = True,
    ) -> list[AttrRef]:
        """Declared top-level attributes matching every criterion, in schema order.

        `plain` leaves out attributes whose values are constrained beyond their type (unique,
        canonical values, `required`, or tied to another attribute by the profile), so a check can
        write any generated value into them; `core_only` leaves out extension attributes and the
        common `externalId`, which many services treat as a provisioning key.
        """
        excluded = {e.lower() for e in exclude}
        out = []
        for ref in self.attributes(resource_type):
            a = ref.attribute
            if a.name.lower() in excluded or a.name in ("id", "meta", "schemas"):
                continue
            if core_only and (ref.in_extension or not ref.urn):
                continue
            if type is not None and a.type != type:
                continue
            if multi_valued is not None and a.multi_valued != multi_valued:
                continue
            if a.mutability not in mutability:
                continue
            if with_sub is not None and a.sub(with_sub) is None:
                continue
            if plain and (a.uniqueness != "none" or a.canonical_values or a.required or self._bound(ref)):
                continue
            if plain and a.type == "string" and a.name in ("password",):
                continue  # writeOnly in effect (returned never): cannot be read back
            if plain and a.returned == "never":
                continue
            out.append(ref)
        return out

    def writable_string(self, resource_type: str = "User", *, exclude: tuple[str, ...] = ()) -> AttrRef | None:
        """A readWrite, single-valued, unconstrained string attribute ("other than userName")."""
        found = self.find(resource_type, type="string", multi_valued=False, exclude=exclude)
        return found[0] if found else None

    def writable_strings(
        self, resource_type: str = "User", *, exclude: tuple[str, ...] = (), subs: bool = True
    ) -> list[AttrRef]:
        """Every unconstrained readWrite single-valued string: top-level ones first, then (with
        `subs`) sub-attributes of single-valued complex attributes (`name.givenName`), which a
        narrow schema may be left with."""
        out = self.find(resource_type, type="string", multi_valued=False, exclude=exclude)
        if subs:
            for ref in self.find(resource_type, type="complex", multi_valued=False, exclude=exclude):
                for sub in ref.attribute.sub_attributes:
                    if (
                        sub.type == "string"
                        and not sub.multi_valued
                        and sub.mutability == "readWrite"
                        and not sub.required
                        and not sub.canonical_values
                        and sub.uniqueness == "none"
                    ):
                        out.append(AttrRef(resource_type, ref.urn, ref.attribute, sub, ref.in_extension))
        return out

    def string_to_write(
        self, resource_type: str = "User", *, exclude: tuple[str, ...] = (), case_exact: bool | None = None
    ) -> AttrRef | None:
        """The first of `writable_strings` (a top-level attribute when there is one), optionally
        only among those whose `caseExact` is `case_exact` (RFC 7643 §2.2)."""
        found = [
            ref
            for ref in self.writable_strings(resource_type, exclude=exclude)
            if case_exact is None or ref.leaf.case_exact == case_exact
        ]
        return found[0] if found else None

    def multi_complex_with(
        self, sub: str = "type", resource_type: str = "User", *, exclude: tuple[str, ...] = ()
    ) -> AttrRef | None:
        """A readWrite multi-valued complex attribute with the sub-attribute `sub` and a `value`."""
        for ref in self.find(resource_type, type="complex", multi_valued=True, with_sub=sub, exclude=exclude):
            value = ref.attribute.sub("value")
            if value is not None and value.mutability == "readWrite" and value.type == "string":
                return ref
        return None

    def value_selector(self, resource_type: str = "User", *, also: tuple[str, ...] = ()) -> AttrRef | None:
        """A writable multi-valued complex attribute (with a writable string `value`) and, as the
        ref's `sub`, the sub-attribute a value selection filter picks its values by.

        RFC 7644 §3.4.2.2's value filters work on any sub-attribute (`emails[type eq "work"]`,
        `emails[value eq "a@x"]`), and a narrow schema may declare `value` alone. `type` is
        preferred where some attribute declares it writable with room for two values (no canonical
        values, or two or more); else `value`, which every value filter check writes anyway.
        `also` are further sub-attributes the attribute must declare (`display`). Schema order
        among attributes, as `multi_complex_with`.
        """
        candidates = [
            ref
            for ref in self.find(resource_type, type="complex", multi_valued=True)
            if _writable_string(ref.attribute.sub("value"))
            and all(ref.attribute.sub(name) is not None for name in also)
        ]
        for ref in candidates:
            kind = ref.attribute.sub("type")
            if kind is not None and _writable_string(kind) and len({v.lower() for v in kind.canonical_values}) != 1:
                return AttrRef(ref.resource_type, ref.urn, ref.attribute, kind, ref.in_extension)
        if not candidates:
            return None
        first = candidates[0]
        return AttrRef(first.resource_type, first.urn, first.attribute, first.attribute.sub("value"), first.in_extension)

    def read_only(self, resource_type: str = "User") -> AttrRef | None:
        """A declared readOnly attribute a client could try to write (not `id`, `meta`)."""
        found = self.find(resource_type, mutability=("readOnly",), core_only=True, plain=False)
        return found[0] if found else None

    def immutable(self, resource_type: str = "User") -> AttrRef | None:
        """A declared immutable attribute (RFC 7643 §2.2: set once, never changed)."""
        found = self.find(resource_type, mutability=("immutable",), core_only=False, plain=False)
        return found[0] if found else None

    def canonical(self, ref_or_attr: AttrRef | Attribute, preferred: str) -> str:
        """`preferred` if the attribute lists no canonical values or lists it; else its first one."""
        attr = ref_or_attr.leaf if isinstance(ref_or_attr, AttrRef) else ref_or_attr
        if not attr.canonical_values:
            return preferred
        for value in attr.canonical_values:
            if value.lower() == preferred.lower():
                return value
        return attr.canonical_values[0]

    def undeclared(self, resource_type: str, body: Any) -> str | None:
        """The first attribute path in `body` the target does not declare, or None.

        Used before a create that must succeed: a body naming an undeclared attribute would be
        refused, rightly (RFC 7644 §3.3, §3.5.2), so the check cannot run on this target.
        """
        rt = self._rt(resource_type)
        if rt is None or not isinstance(body, dict):
            return None
        ext_ids = {e.schema.lower(): e.schema for e in rt.extensions}
        for key, value in body.items():
            if not isinstance(key, str) or key == "schemas":
                continue
            if key.lower() in ext_ids:
                schema = self.registry.schema(ext_ids[key.lower()])
                for sub_key in value if isinstance(value, dict) and schema else ():
                    if schema is not None and schema.attribute(sub_key) is None:
                        return f"{schema.id}:{sub_key}"
                continue
            if key.lower().startswith("urn:"):
                return key
            found = self.registry.resolve(rt, key)
            if found is None:
                return key
            attr = found.attribute
            if attr.type == "complex":
                for item in value if isinstance(value, list) else [value]:
                    for sub_key in item if isinstance(item, dict) else ():
                        if attr.sub(sub_key) is None:
                            return f"{attr.name}.{sub_key}"
        return None

    # -- values -------------------------------------------------------------------------------
    def marker(self, label: str = "v") -> str:
        """A unique string under the run prefix."""
        return f"{self.prefix}{label}-{self._next()}"

    def value_for(self, attr: Attribute, label: str | None = None) -> Any:
        """A fresh value of `attr`'s declared type (complex: its required and a few usual subs)."""
        kind = attr.type
        if kind == "complex":
            item: dict[str, Any] = {}
            for sub in attr.sub_attributes:
                if sub.mutability == "readOnly":
                    continue
                if sub.required or sub.name in ("value", "givenName", "familyName", "formatted"):
                    item[sub.name] = self.value_for(sub, label or attr.name)
            if attr.sub("type") is not None and attr.sub("type").mutability != "readOnly":  # type: ignore[union-attr]
                item.setdefault("type", self.canonical(attr.sub("type"), "work"))  # type: ignore[arg-type]
            return [item] if attr.multi_valued else item
        if kind == "boolean":
            value: Any = True
        elif kind == "integer":
            value = self._next()
        elif kind == "decimal":
            value = self._next() + 0.5
        elif kind == "dateTime":
            value = "2020-01-02T03:04:05Z"
        elif kind == "binary":
            value = "c2NpbWl0YXI="
        elif kind == "reference":
            value = f"https://example.com/{self.prefix}{self._next()}"
        elif attr.canonical_values:
            value = attr.canonical_values[0]
        elif attr.name.lower() == "value" and (label or "").lower() == "emails":
            value = f"{self.prefix}{self._next()}@example.com"
        else:
            value = self.marker(label or attr.name)
        return [value] if attr.multi_valued and kind != "complex" else value

    def emails(self, value: str, *, type: str = "work", primary: bool = True) -> list[dict[str, Any]] | None:
        """`emails` holding `value`, with `type` and `primary` only where the target declares them
        (None when it declares no `emails`: the key is then left out)."""
        if not self.declares("User", "emails"):
            return None
        item: dict[str, Any] = {"value": value}
        type_ref = self.ref("User", "emails.type")
        if type_ref is not None and type_ref.leaf.mutability != "readOnly":
            item["type"] = self.canonical(type_ref, type)
        if primary and self.declares("User", "emails.primary"):
            item["primary"] = True
        return [item]

    def values(self, resource_type: str, name: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Values of the multi-valued complex attribute `name` with only the sub-attributes the
        target declares (`type` and `primary` dropped where `emails` has `value` alone)."""
        ref = self.ref(resource_type, name)
        if ref is None:
            return items
        return [{k: v for k, v in item.items() if ref.attribute.sub(k) is not None} for item in items]

    def user_name(self, first: str = "user", last: str = "member") -> str:
        """A fresh unique userName that is also a valid ASCII email address, all lower case."""
        n = self._next()
        return f"{self.prefix}{ascii_slug(first) or 'user'}.{ascii_slug(last) or 'member'}{n}@example.com"

    # -- resources ----------------------------------------------------------------------------
    def user(self, *, enterprise: bool = False, **overrides: Any) -> dict[str, Any]:
        """A User with the declared attributes (optionally the enterprise extension, where the
        resource type lists it); top-level `overrides` replace generated members after shaping,
        and an override of None removes that member."""
        first = self.faker.first_name()
        last = self.faker.last_name()
        user_name = self.user_name(first, last)
        body: dict[str, Any] = {
            "schemas": [CORE_USER],
            "userName": user_name,
            "name": {"givenName": first, "familyName": last, "formatted": f"{first} {last}"},
            "displayName": f"{first} {last}",
            "emails": [{"value": user_name, "type": "work", "primary": True}],
            "active": True,
            # The counter keeps it unique: each locale's generator is seeded alike, so uuids repeat.
            "externalId": f"{self.prefix}{self._next()}-{self.faker.uuid4()}",
        }
        if enterprise:
            body["schemas"] = [CORE_USER, ENTERPRISE_USER]
            body[ENTERPRISE_USER] = {
                "employeeNumber": str(self.faker.random_int(10000, 99999)),
                "department": self.faker.job()[:60],
                "organization": f"{self.prefix}{ascii_slug(self.faker.company(), limit=30) or 'org'}",
                "costCenter": f"CC-{self.faker.random_int(100, 999)}",
            }
        body = self.conform("User", body)
        body = self._complete_overrides("User", _apply(body, overrides), overrides)
        return self.apply_profile("User", body, tuple(overrides))

    def group(self, **overrides: Any) -> dict[str, Any]:
        """A Group with a prefixed, unique `displayName` (words in the Faker locale: often Unicode)."""
        words = " ".join(self.faker.words(2))
        n = self._next()
        body: dict[str, Any] = {
            "schemas": [CORE_GROUP],
            "displayName": f"{self.prefix}{words} {n}",
            "externalId": f"{self.prefix}{n}-{self.faker.uuid4()}",
            "members": [],
        }
        return self._complete_overrides("Group", _apply(self.conform("Group", body), overrides), overrides)

    def conform(self, resource_type: str, body: dict[str, Any]) -> dict[str, Any]:
        """`body` reduced to what the target declares and completed with what it requires."""
        rt = self._rt(resource_type)
        if rt is None:
            return body
        out: dict[str, Any] = {}
        ext_ids = {e.schema.lower(): e.schema for e in rt.extensions}
        for key, value in body.items():
            if key == "schemas":
                continue
            if key.lower() in ext_ids:
                schema = self.registry.schema(ext_ids[key.lower()])
                if schema is None or not isinstance(value, dict):
                    continue
                ext = self._conform_object(value, schema.attribute)
                if ext:
                    out[schema.id] = ext
                continue
            found = self.registry.resolve(rt, key) if not key.lower().startswith("urn:") else None
            if found is None or found.in_extension:
                continue
            norm = self._conform_value(found.attribute, value)
            if norm is not None:
                out[found.attribute.name] = norm
        self._complete(rt, out)
        schemas = [rt.schema] + [e.schema for e in rt.extensions if e.schema in out]
        return {"schemas": schemas, **out}

    def _conform_object(self, value: dict[str, Any], lookup: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, sub_value in value.items():
            attr = lookup(key)
            if attr is None:
                continue
            norm = self._conform_value(attr, sub_value)
            if norm is not None:
                out[attr.name] = norm
        return out

    def _conform_value(self, attr: Attribute, value: Any) -> Any:
        if attr.mutability == "readOnly":
            return None
        if attr.type == "complex":
            items = value if isinstance(value, list) else [value]
            shaped = []
            for item in items:
                if not isinstance(item, dict):
                    continue
                obj = self._conform_object(item, attr.sub)
                for sub in attr.sub_attributes:
                    if sub.required and sub.mutability != "readOnly" and sub.name not in obj:
                        obj[sub.name] = self._fill_sub(attr, sub, obj)
                    elif sub.name in obj and sub.type == "string" and sub.canonical_values:
                        obj[sub.name] = self.canonical(sub, str(obj[sub.name]))
                if obj:
                    shaped.append(obj)
            if attr.multi_valued:
                return shaped or ([] if isinstance(value, list) else None)
            return shaped[0] if shaped else None
        if attr.type == "string" and attr.canonical_values and isinstance(value, str):
            return self.canonical(attr, value)
        return value

    def _fill_sub(self, parent: Attribute, sub: Attribute, obj: dict[str, Any]) -> Any:
        if parent.name == "name" and sub.name == "formatted":
            given, family = obj.get("givenName") or "", obj.get("familyName") or ""
            if given or family:
                return f"{given} {family}".strip()
            return self.marker("name")
        return self.value_for(sub, parent.name)

    def _complete(self, rt: ResourceType, out: dict[str, Any]) -> None:
        """Add every required, writable attribute the body lacks (RFC 7643 §2.2 "required")."""
        for urn, attr in self.registry.attributes(rt):
            if not attr.required or attr.mutability == "readOnly":
                continue
            in_ext = bool(urn) and urn != rt.schema
            holder = out.setdefault(urn, {}) if in_ext else out
            if attr.name not in holder:
                holder[attr.name] = self.value_for(attr)
        for urn in [u for u in out if u.lower().startswith("urn:") and not out[u]]:
            del out[urn]

    def _complete_overrides(self, resource_type: str, body: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
        """Complex values a check passed in get the sub-attributes the target requires
        (`name` without `formatted` on a server that requires it), and nothing else changes."""
        rt = self._rt(resource_type)
        for key, value in overrides.items():
            found = self.registry.resolve(rt, key) if rt and isinstance(key, str) else None
            if found is None or found.attribute.type != "complex" or value is None:
                continue
            attr = found.attribute
            for item in value if isinstance(value, list) else [value]:
                if not isinstance(item, dict):
                    continue
                for sub in attr.sub_attributes:
                    if sub.required and sub.mutability != "readOnly" and sub.name not in item:
                        item[sub.name] = self._fill_sub(attr, sub, item)
        return body

    def apply_profile(self, resource_type: str, body: dict[str, Any], changed: tuple[str, ...] = ()) -> dict[str, Any]:
        """The declared profile's data rules, after a check changed the members `changed`.
        clickhouse: `userName` equals the primary email (ignoring case), so a changed `userName`
        carries its email along, and changed `emails` carry the userName along."""
        overrides = set(changed)
        if self.profile != "clickhouse" or resource_type != "User":
            return body
        user_name = body.get("userName")
        emails = body.get("emails")
        if "userName" in overrides and "emails" not in overrides and isinstance(user_name, str):
            found = self.emails(user_name)
            if found is not None:
                body["emails"] = found
        elif "emails" in overrides and "userName" not in overrides and isinstance(emails, list) and emails:
            primary = next((e for e in emails if isinstance(e, dict) and e.get("primary")), emails[0])
            if isinstance(primary, dict) and isinstance(primary.get("value"), str):
                body["userName"] = primary["value"].lower()
        return body


def _writable_string(attr: Attribute | None) -> bool:
    """A sub-attribute a check can write any generated string into and read back."""
    return attr is not None and attr.type == "string" and attr.mutability == "readWrite" and not attr.multi_valued


def _apply(body: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body
