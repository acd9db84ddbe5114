"""Attribute value normalisation: type-check request values and bring them into storage form.

Storage form is wire form with canonical attribute names (as the schema spells them), extension
attributes under their URN key, and unassigned attributes absent. RFC 7643 §2.1: "Attribute names
are case insensitive", so `USERNAME` and `Emails[].Value` are accepted and stored canonically.
RFC 7643 §2.5: "Unassigned attributes, the null value, or empty array (in the case of a
multi-valued attribute) SHALL be considered to be equivalent in "state"": null, [] (and, by this
server's choice, "" and {}) become an absent key, so storage never holds null.

Mutability is not applied here: PUT, POST and PATCH treat readOnly/immutable differently, so
their callers do (see `readonly_or_immutable`).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from typing import Any

from scimitar.schema import Attribute, ResourceType, SchemaRegistry
from scimitar.server.filters import parse_datetime

__all__ = [
    "InvalidValue",
    "attribute_for_key",
    "extension_urn",
    "normalize_resource",
    "normalize_value",
    "top_level_attributes",
]


class InvalidValue(ValueError):
    """A value the schema does not allow; `scim_type` is the RFC 7644 §3.12 error code.

    `invalidValue`: "A required value was missing, or the value specified was not compatible with
    the operation or attribute type (see Section 2.2 of [RFC7643]), or resource schema".
    `invalidSyntax`: "The request body message structure was invalid or did not conform to the
    request schema" (used for attributes the schema does not define).
    """

    def __init__(self, message: str, scim_type: str = "invalidValue") -> None:
        super().__init__(message)
        self.scim_type = scim_type
        self.detail = message


_STRING_BOOLS = {"true": True, "false": False}


def _is_unassigned(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def normalize_value(
    attr: Attribute, value: Any, *, where: str, coerce_string_bool: bool = False, primary_once: bool = True
) -> Any:
    """Type-check `value` for `attr` and return its storage form, or None for "unassigned".

    Multi-valued attributes take a JSON array; a single object for a complex multi-valued attribute
    is leniently wrapped into one. RFC 7643 §2.4: "The primary attribute value "true" MUST appear
    no more than once", so two primary values are `invalidValue` (unless `primary_once` is False: the
    `primary-duplicates-kept` quirk). `coerce_string_bool` accepts
    "True"/"False" strings for booleans, which Entra ID sends by default.
    """
    if _is_unassigned(value):
        return None
    if attr.multi_valued:
        if isinstance(value, dict) and attr.type == "complex":
            value = [value]
        if not isinstance(value, list):
            raise InvalidValue(f"{where} is multi-valued and must be a JSON array, not {_kind(value)}")
        out: list[Any] = []
        for i, item in enumerate(value):
            norm = _single(attr, item, f"{where}[{i}]", coerce_string_bool)
            if norm is not None:
                out.append(norm)
        if primary_once and attr.type == "complex" and sum(1 for v in out if v.get("primary") is True) > 1:
            raise InvalidValue(f'{where}: at most one value may have "primary": true (RFC 7643 §2.4)')
        return out or None
    if isinstance(value, list):
        raise InvalidValue(f"{where} is single-valued and must not be a JSON array")
    return _single(attr, value, where, coerce_string_bool)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _single(attr: Attribute, value: Any, where: str, coerce: bool) -> Any:
    if _is_unassigned(value):
        return None
    kind = attr.type
    if kind == "complex":
        if not isinstance(value, dict):
            raise InvalidValue(f"{where} is complex and must be a JSON object, not {_kind(value)}")
        out: dict[str, Any] = {}
        for key, sub_value in value.items():
            sub = attr.sub(key) if isinstance(key, str) else None
            if sub is None:
                raise InvalidValue(
                    f"{where}: {attr.name} has no sub-attribute {key!r} (known: "
                    f"{', '.join(s.name for s in attr.sub_attributes)})",
                    "invalidSyntax",
                )
            norm = normalize_value(sub, sub_value, where=f"{where}.{sub.name}", coerce_string_bool=coerce)
            if norm is not None:
                out[sub.name] = norm
        return out or None
    if kind in ("string", "reference"):
        if not isinstance(value, str):
            raise InvalidValue(f"{where} must be a string, not {_kind(value)}")
        return value
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if coerce and isinstance(value, str) and value.lower() in _STRING_BOOLS:
            return _STRING_BOOLS[value.lower()]
        raise InvalidValue(f"{where} must be a boolean (true or false), not {_kind(value)}")
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidValue(f"{where} must be an integer, not {_kind(value)}")
        return value
    if kind == "decimal":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue(f"{where} must be a number, not {_kind(value)}")
        return value
    if kind == "dateTime":
        # RFC 7643 §2.3.5: "The attribute value MUST be encoded as a valid xsd:dateTime"
        if not isinstance(value, str) or parse_datetime(value) is None:
            raise InvalidValue(f'{where} must be a dateTime such as "2008-01-23T04:56:22Z", not {value!r}')
        return value
    if kind == "binary":
        # RFC 7643 §2.3.6: "The attribute value MUST be base64 encoded"
        if not isinstance(value, str):
            raise InvalidValue(f"{where} must be a base64 string, not {_kind(value)}")
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidValue(f"{where} must be base64 encoded (RFC 7643 §2.3.6)") from None
        return value
    raise InvalidValue(f"{where} has the unknown type {kind!r}")


def top_level_attributes(rt: ResourceType, registry: SchemaRegistry) -> Iterator[tuple[str, Attribute]]:
    """Common and core attributes as (owner URN, attribute): what may appear unprefixed."""
    for a in registry.common.attributes:
        yield "", a
    core = registry.schema(rt.schema)
    if core is not None:
        for a in core.attributes:
            yield core.id, a


def attribute_for_key(rt: ResourceType, registry: SchemaRegistry, key: str) -> Attribute | None:
    """The common or core attribute a top-level body key names (case-insensitive)."""
    attr = registry.common.attribute(key)
    if attr is None:
        core = registry.schema(rt.schema)
        attr = core.attribute(key) if core else None
    return attr


def extension_urn(rt: ResourceType, key: str) -> str | None:
    """The canonical URN of `rt`'s extension a body key names (URNs compare case-insensitively)."""
    lowered = key.lower()
    for ext in rt.extensions:
        if ext.schema.lower() == lowered:
            return ext.schema
    return None


def _normalize_object(
    owner: str,
    body: dict[str, Any],
    where: str,
    unknown: str,
    coerce: bool,
    lookup: Callable[[str], Attribute | None],
    primary_once: bool = True,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in body.items():
        attr = lookup(key) if isinstance(key, str) else None
        if attr is None:
            if unknown == "reject":
                raise InvalidValue(f"unknown attribute {where}{key!r} (not in {owner})", "invalidSyntax")
            continue
        if attr.name in out:
            raise InvalidValue(
                f"attribute {where}{attr.name} appears twice (names are case-insensitive)", "invalidSyntax"
            )
        norm = normalize_value(
            attr, value, where=f"{where}{attr.name}", coerce_string_bool=coerce, primary_once=primary_once
        )
        if norm is not None:
            out[attr.name] = norm
    return out


def normalize_resource(
    body: dict[str, Any],
    rt: ResourceType,
    registry: SchemaRegistry,
    *,
    unknown: str = "reject",
    coerce_string_bool: bool = False,
    primary_once: bool = True,
) -> dict[str, Any]:
    """Canonicalise a whole resource body (POST/PUT) into storage form.

    Top-level keys match common and core attributes case-insensitively; keys naming one of the
    resource type's extension URNs hold that extension's attributes. `schemas` is kept as given
    (the caller validates it). An attribute no schema defines is `invalidSyntax` when
    `unknown="reject"` and dropped when `unknown="ignore"`.
    """
    if not isinstance(body, dict):
        raise InvalidValue(f"the resource must be a JSON object, not {_kind(body)}", "invalidSyntax")
    if unknown not in ("reject", "ignore"):
        raise ValueError(f"unknown must be 'reject' or 'ignore', not {unknown!r}")
    out: dict[str, Any] = {}
    core_keys: dict[str, Any] = {}
    for key, value in body.items():
        if not isinstance(key, str):
            raise InvalidValue(f"attribute names must be strings, not {key!r}", "invalidSyntax")
        if key.lower() == "schemas":
            out["schemas"] = value
            continue
        urn = extension_urn(rt, key)
        if urn is not None:
            if value is None:
                continue
            if not isinstance(value, dict):
                raise InvalidValue(f"{urn} must be a JSON object of extension attributes, not {_kind(value)}")
            schema = registry.schema(urn)
            if schema is None:
                continue
            ext = _normalize_object(
                schema.id, value, f"{urn}:", unknown, coerce_string_bool, schema.attribute, primary_once
            )
            if urn in out:
                raise InvalidValue(f"{urn} appears twice (URNs are case-insensitive)", "invalidSyntax")
            if ext:
                out[urn] = ext
            continue
        core_keys[key] = value
    core = _normalize_object(
        rt.schema,
        core_keys,
        "",
        unknown,
        coerce_string_bool,
        lambda k: attribute_for_key(rt, registry, k),
        primary_once,
    )
    # `schemas` first, then core attributes, then extension objects: the order clients expect to read
    result: dict[str, Any] = {"schemas": out.pop("schemas")} if "schemas" in out else {}
    result.update(core)
    result.update(out)
    return result
