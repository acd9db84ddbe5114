"""The RFC 7643 schema data in fixtures/scim/ is complete, loads, resolves and round-trips.

Everything else (the server's `/Schemas`, attribute rules, the harness's JSON Schemas) is derived
from these files, so a wrong characteristic here becomes a wrong verdict everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from scimitar.schema import (
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE_USER,
    RESOURCE_TYPE,
    SCHEMA,
    SERVICE_PROVIDER_CONFIG,
    TYPES,
    Attribute,
    ResourceType,
    Schema,
    SchemaRegistry,
    fixtures_dir,
)


def _load(name: str) -> Any:
    return json.loads((fixtures_dir() / name).read_text())


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry.default()


def _walk(attrs: list[dict[str, Any]], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    for a in attrs:
        path = f"{prefix}{a['name']}"
        yield path, a
        yield from _walk(a.get("subAttributes", []), path + ".")


def _all_definitions() -> list[dict[str, Any]]:
    return [*_load("schemas.json"), *_load("discovery_schemas.json")]


# ---------------------------------------------------------------------------- loading


def test_default_registry_has_rfc_schemas_and_resource_types(registry: SchemaRegistry) -> None:
    assert set(registry.schemas) == {CORE_USER, CORE_GROUP, ENTERPRISE_USER}
    assert set(registry.resource_types) == {"User", "Group"}
    user = registry.resource_type("User")
    assert user.endpoint == "/Users"
    assert user.schema == CORE_USER
    assert [(e.schema, e.required) for e in user.extensions] == [(ENTERPRISE_USER, False)]
    group = registry.resource_type("Group")
    assert (group.endpoint, group.schema, group.extensions) == ("/Groups", CORE_GROUP, ())
    assert registry.by_endpoint("users") is user


def test_schema_lookup_is_case_insensitive(registry: SchemaRegistry) -> None:
    found = registry.schema(CORE_USER.upper())
    assert found is not None and found.id == CORE_USER


def test_every_schema_representation_is_marked_as_a_schema_resource() -> None:
    for d in _all_definitions():
        assert d["schemas"] == [SCHEMA], d["id"]
        assert d["meta"] == {"resourceType": "Schema"}, d["id"]
        assert d["name"] and d["description"], d["id"]


def test_id_is_common_not_in_the_resource_schemas() -> None:
    for d in _load("schemas.json"):
        assert "id" not in {a["name"] for a in d["attributes"]}, d["id"]


# ---------------------------------------------------------------------------- completeness


@pytest.mark.parametrize("definition", _all_definitions(), ids=lambda d: d["id"].rsplit(":", 1)[-1])
def test_every_attribute_states_every_characteristic(definition: dict[str, Any]) -> None:
    for path, a in _walk(definition["attributes"]):
        for key in ("type", "multiValued", "description", "required", "mutability", "returned"):
            assert key in a, f"{path} lacks {key}"
        assert a["type"] in TYPES, path
        assert a["mutability"] in ("readOnly", "readWrite", "immutable", "writeOnly"), path
        assert a["returned"] in ("always", "never", "default", "request"), path
        if a["type"] in ("string", "reference", "binary"):
            assert isinstance(a.get("caseExact"), bool), f"{path} lacks caseExact"
        if a["type"] == "reference":
            assert a.get("referenceTypes"), f"{path} lacks referenceTypes"
        if a["type"] == "complex":
            assert a.get("subAttributes"), f"{path} is complex without subAttributes"
        else:
            assert a.get("uniqueness") in ("none", "server", "global"), path


def test_user_schema_has_every_rfc_attribute(registry: SchemaRegistry) -> None:
    user = registry.schema(CORE_USER)
    assert user is not None
    assert [a.name for a in user.attributes] == [
        "userName", "name", "displayName", "nickName", "profileUrl", "title", "userType",
        "preferredLanguage", "locale", "timezone", "active", "password", "emails", "phoneNumbers",
        "ims", "photos", "addresses", "groups", "entitlements", "roles", "x509Certificates",
    ]  # fmt: skip
    name = user.attribute("name")
    assert name is not None
    assert [s.name for s in name.sub_attributes] == [
        "formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix",
    ]  # fmt: skip
    addresses = user.attribute("addresses")
    assert addresses is not None
    assert [s.name for s in addresses.sub_attributes] == [
        "formatted", "streetAddress", "locality", "region", "postalCode", "country", "type", "primary",
    ]  # fmt: skip
    for multi in ("emails", "phoneNumbers", "ims", "photos", "entitlements", "roles", "x509Certificates"):
        attr = user.attribute(multi)
        assert attr is not None and attr.multi_valued
        assert [s.name for s in attr.sub_attributes] == ["value", "display", "type", "primary"], multi


def test_user_characteristics_and_errata(registry: SchemaRegistry) -> None:
    user = registry.schema(CORE_USER)
    assert user is not None
    user_name = user.attribute("userName")
    assert user_name is not None
    assert (user_name.required, user_name.uniqueness, user_name.case_exact) == (True, "server", False)
    password = user.attribute("password")
    assert password is not None
    assert (password.mutability, password.returned) == ("writeOnly", "never")
    groups = user.attribute("groups")
    assert groups is not None and groups.mutability == "readOnly"
    assert {s.name: s.mutability for s in groups.sub_attributes} == {
        "value": "readOnly", "$ref": "readOnly", "display": "readOnly", "type": "readOnly",
    }  # fmt: skip
    emails_type = user.attribute("emails").sub("type")  # type: ignore[union-attr]
    assert emails_type is not None and emails_type.canonical_values == ("work", "home", "other")
    photo = user.attribute("photos").sub("value")  # type: ignore[union-attr]
    assert photo is not None and (photo.type, photo.reference_types) == ("reference", ("external",))
    cert = user.attribute("x509Certificates").sub("value")  # type: ignore[union-attr]
    assert cert is not None and cert.type == "binary"


def test_group_characteristics_and_errata(registry: SchemaRegistry) -> None:
    group = registry.schema(CORE_GROUP)
    assert group is not None
    display_name = group.attribute("displayName")
    assert display_name is not None and display_name.required  # §4.2 prose says REQUIRED
    members = group.attribute("members")
    assert members is not None and members.multi_valued and members.type == "complex"
    subs = {s.name: s for s in members.sub_attributes}
    assert set(subs) == {"value", "$ref", "type", "display"}
    assert subs["value"].mutability == "immutable"
    assert subs["$ref"].reference_types == ("User", "Group")
    assert subs["$ref"].mutability == "immutable"
    assert subs["type"].canonical_values == ("User", "Group")
    assert subs["type"].mutability == "immutable"
    assert subs["display"].mutability == "readOnly"


def test_enterprise_extension(registry: SchemaRegistry) -> None:
    ext = registry.schema(ENTERPRISE_USER)
    assert ext is not None
    assert [a.name for a in ext.attributes] == [
        "employeeNumber", "costCenter", "organization", "division", "department", "manager",
    ]  # fmt: skip
    manager = ext.attribute("manager")
    assert manager is not None
    assert [s.name for s in manager.sub_attributes] == ["value", "$ref", "displayName"]
    ref = manager.sub("$ref")
    assert ref is not None and ref.reference_types == ("User",)
    shown = manager.sub("displayName")
    assert shown is not None and shown.mutability == "readOnly"


def test_common_attributes(registry: SchemaRegistry) -> None:
    common = registry.common
    id_ = common.attribute("id")
    assert id_ is not None
    assert (id_.case_exact, id_.mutability, id_.returned, id_.uniqueness) == (
        True, "readOnly", "always", "server",
    )  # fmt: skip
    external = common.attribute("externalId")
    assert external is not None
    assert (external.case_exact, external.mutability, external.returned) == (True, "readWrite", "default")
    meta = common.attribute("meta")
    assert meta is not None and meta.type == "complex" and meta.mutability == "readOnly"
    assert {s.name: s.type for s in meta.sub_attributes} == {
        "resourceType": "string", "created": "dateTime", "lastModified": "dateTime",
        "location": "reference", "version": "string",
    }  # fmt: skip
    assert all(s.mutability == "readOnly" for s in meta.sub_attributes)
    location = meta.sub("location")
    assert location is not None and location.reference_types == ("uri",)
    for name in ("resourceType", "version"):
        sub = meta.sub(name)
        assert sub is not None and sub.case_exact, name


def test_discovery_schemas() -> None:
    by_id = {d["id"]: Schema.from_json(d) for d in _load("discovery_schemas.json")}
    assert set(by_id) == {SERVICE_PROVIDER_CONFIG, RESOURCE_TYPE, SCHEMA}
    spc = by_id[SERVICE_PROVIDER_CONFIG]
    for name in ("patch", "bulk", "filter", "changePassword", "sort", "etag", "authenticationSchemes"):
        attr = spc.attribute(name)
        assert attr is not None and attr.required, name
    rt = by_id[RESOURCE_TYPE]
    extensions = rt.attribute("schemaExtensions")
    assert extensions is not None and extensions.multi_valued  # erratum: the RFC says false
    schema = by_id[SCHEMA]
    attributes = schema.attribute("attributes")
    assert attributes is not None
    nested = attributes.sub("subAttributes")
    assert nested is not None
    ref_types = nested.sub("referenceTypes")
    assert ref_types is not None and ref_types.multi_valued  # erratum: the RFC says false


# ---------------------------------------------------------------------------- resolve


@pytest.mark.parametrize(
    ("path", "owner", "name", "sub", "in_ext"),
    [
        ("userName", CORE_USER, "userName", None, False),
        ("USERNAME", CORE_USER, "userName", None, False),
        ("name.givenName", CORE_USER, "name", "givenName", False),
        ("emails.value", CORE_USER, "emails", "value", False),
        (f"{CORE_USER}:name.familyName", CORE_USER, "name", "familyName", False),
        (f"{ENTERPRISE_USER}:manager.value", ENTERPRISE_USER, "manager", "value", True),
        (f"{ENTERPRISE_USER}:employeeNumber", ENTERPRISE_USER, "employeeNumber", None, True),
        ("meta.created", "", "meta", "created", False),
        ("id", "", "id", None, False),
    ],
)
def test_resolve_finds(
    registry: SchemaRegistry, path: str, owner: str, name: str, sub: str | None, in_ext: bool
) -> None:
    found = registry.resolve(registry.resource_type("User"), path)
    assert found is not None
    assert found.schema == owner
    assert found.attribute.name == name
    assert (found.sub.name if found.sub else None) == sub
    assert found.in_extension is in_ext
    assert found.leaf.name == (sub or name)


@pytest.mark.parametrize(
    "path",
    ["nope", "name.nope", "userName.sub", "urn:example:unknown:attr", f"{ENTERPRISE_USER}:nope", "members"],
)
def test_resolve_rejects_unknown(registry: SchemaRegistry, path: str) -> None:
    assert registry.resolve(registry.resource_type("User"), path) is None


def test_resolve_group_members(registry: SchemaRegistry) -> None:
    found = registry.resolve(registry.resource_type("Group"), "members.display")
    assert found is not None and found.leaf.mutability == "readOnly"
    assert registry.resolve(registry.resource_type("Group"), "userName") is None


# ---------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("definition", _all_definitions(), ids=lambda d: d["id"].rsplit(":", 1)[-1])
def test_schema_to_json_round_trips(definition: dict[str, Any]) -> None:
    assert Schema.from_json(definition).to_json() == definition


def test_common_attributes_round_trip() -> None:
    for raw in _load("common_attributes.json"):
        assert Attribute.from_json(raw).to_json() == raw


def test_resource_types_round_trip() -> None:
    for raw in _load("resource_types.json"):
        assert ResourceType.from_json(raw).to_json() == raw


# ---------------------------------------------------------------------------- message schemas


@pytest.mark.parametrize(
    "name", ["ListResponse", "Error", "PatchOp", "SearchRequest", "BulkRequest", "BulkResponse"]
)
def test_message_schemas_are_valid_draft_2020_12(name: str) -> None:
    schema = _load(f"messages/{name}.json")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert (
        f"urn:ietf:params:scim:api:messages:2.0:{name}"
        == (schema["properties"]["schemas"]["contains"]["const"])
    )
