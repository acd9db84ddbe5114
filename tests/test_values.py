"""Attribute value normalisation (RFC 7643 §2.1-2.5)."""

from __future__ import annotations

from typing import Any

import pytest

from scimitar.schema import ENTERPRISE_USER, Attribute, SchemaRegistry
from scimitar.server.values import InvalidValue, normalize_resource, normalize_value

REG = SchemaRegistry.default()
USER = REG.resource_type("User")
GROUP = REG.resource_type("Group")
CORE = REG.schema(USER.schema)
assert CORE is not None


def attr(name: str) -> Attribute:
    a = CORE.attribute(name) if CORE else None
    assert a is not None
    return a


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("userName", "bjensen", "bjensen"),
        ("userName", None, None),
        ("userName", "", None),
        ("active", True, True),
        ("active", False, False),
        ("profileUrl", "https://x/y", "https://x/y"),
        ("name", {"GIVENNAME": "Ann", "familyname": "Lee"}, {"givenName": "Ann", "familyName": "Lee"}),
        ("name", {"givenName": None}, None),
        ("name", {}, None),
        ("emails", [], None),
        (
            "emails",
            [{"VALUE": "a@x", "Type": "work", "primary": True}],
            [{"value": "a@x", "type": "work", "primary": True}],
        ),
        ("emails", {"value": "a@x"}, [{"value": "a@x"}]),
        ("emails", [{"value": "a@x"}, None, {}], [{"value": "a@x"}]),
        ("x509Certificates", [{"value": "TUlJRA=="}], [{"value": "TUlJRA=="}]),
    ],
)
def test_normalize_value(name: str, value: Any, expected: Any) -> None:
    assert normalize_value(attr(name), value, where=name) == expected


@pytest.mark.parametrize(
    ("name", "value", "fragment", "scim_type"),
    [
        ("userName", 5, "userName must be a string", "invalidValue"),
        ("userName", ["a"], "single-valued", "invalidValue"),
        ("active", "true", "boolean", "invalidValue"),
        ("active", 1, "boolean", "invalidValue"),
        ("profileUrl", 1, "string", "invalidValue"),
        ("name", "Ann", "JSON object", "invalidValue"),
        ("name", {"nosuch": "x"}, "no sub-attribute 'nosuch'", "invalidSyntax"),
        ("emails", "a@x", "JSON array", "invalidValue"),
        ("emails", [{"value": 5}], "emails[0].value must be a string", "invalidValue"),
        (
            "emails",
            [{"value": "a", "primary": True}, {"value": "b", "primary": True}],
            "primary",
            "invalidValue",
        ),
        ("emails", [{"value": "a", "primary": "yes"}], "emails[0].primary", "invalidValue"),
        ("x509Certificates", [{"value": "not base64!"}], "base64", "invalidValue"),
    ],
)
def test_normalize_value_errors(name: str, value: Any, fragment: str, scim_type: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        normalize_value(attr(name), value, where=name)
    assert fragment in str(exc.value)
    assert exc.value.scim_type == scim_type


@pytest.mark.parametrize(
    ("given", "expected"), [("True", True), ("False", False), ("false", False), ("TRUE", True)]
)
def test_string_booleans_when_coerced(given: str, expected: bool) -> None:
    assert normalize_value(attr("active"), given, where="active", coerce_string_bool=True) is expected
    with pytest.raises(InvalidValue):
        normalize_value(attr("active"), given, where="active")


def test_string_bool_coercion_rejects_other_strings() -> None:
    with pytest.raises(InvalidValue):
        normalize_value(attr("active"), "yes", where="active", coerce_string_bool=True)


def _typed(kind: str) -> Attribute:
    return Attribute(name="x", type=kind)


@pytest.mark.parametrize(
    ("kind", "value", "ok"),
    [
        ("integer", 5, True),
        ("integer", True, False),
        ("integer", 5.5, False),
        ("integer", "5", False),
        ("decimal", 5.5, True),
        ("decimal", 5, True),
        ("decimal", False, False),
        ("dateTime", "2008-01-23T04:56:22Z", True),
        ("dateTime", "2008-01-23T04:56:22.123+05:30", True),
        ("dateTime", "2008-01-23T04:56:22", True),
        ("dateTime", "2008-01-23", False),
        ("dateTime", "2008-13-23T04:56:22Z", False),
        ("dateTime", "yesterday", False),
        ("dateTime", 5, False),
        ("binary", "AAEC", True),
        ("binary", "%%%", False),
        ("reference", "urn:x", True),
    ],
)
def test_types(kind: str, value: Any, ok: bool) -> None:
    if ok:
        assert normalize_value(_typed(kind), value, where="x") == value
    else:
        with pytest.raises(InvalidValue):
            normalize_value(_typed(kind), value, where="x")


OKTA_CREATE = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
    "userName": "test.user@example.com",
    "name": {"givenName": "Test", "familyName": "User"},
    "emails": [{"primary": True, "value": "test.user@example.com", "type": "work"}],
    "displayName": "Test User",
    "locale": "en-US",
    "externalId": "00ujl29u0le5T6Aj10h7",
    "groups": [],
    "password": "1mz050nq",
    "active": True,
}


def test_okta_create_body() -> None:
    out = normalize_resource(OKTA_CREATE, USER, REG)
    assert out["userName"] == "test.user@example.com"
    assert "groups" not in out  # [] is unassigned
    assert out["schemas"] == OKTA_CREATE["schemas"]
    assert next(iter(out)) == "schemas"


def test_case_insensitive_keys_and_extension() -> None:
    body = {
        "SCHEMAS": [USER.schema, ENTERPRISE_USER],
        "USERNAME": "a",
        "Name": {"GivenName": "A"},
        ENTERPRISE_USER.upper(): {"EMPLOYEENUMBER": "7", "Manager": {"VALUE": "m1"}},
        "nickName": None,
    }
    out = normalize_resource(body, USER, REG)
    assert out == {
        "schemas": [USER.schema, ENTERPRISE_USER],
        "userName": "a",
        "name": {"givenName": "A"},
        ENTERPRISE_USER: {"employeeNumber": "7", "manager": {"value": "m1"}},
    }


def test_entra_create_body() -> None:
    body = {
        "schemas": [USER.schema, ENTERPRISE_USER],
        "externalId": "e1",
        "userName": "u@x",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": "u@x"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "A B", "familyName": "B", "givenName": "A"},
        "roles": [],
    }
    out = normalize_resource(body, USER, REG)
    assert out["meta"] == {"resourceType": "User"}
    assert "roles" not in out


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"userName": "a", "nosuch": 1}, "invalidSyntax"),
        ({"userName": "a", "urn:x:Other": {"a": 1}}, "invalidSyntax"),
        ({"userName": "a", ENTERPRISE_USER: {"nosuch": 1}}, "invalidSyntax"),
        ({"userName": "a", ENTERPRISE_USER: "x"}, "invalidValue"),
        ({"userName": "a", "username": "b"}, "invalidSyntax"),
        ({"userName": 5}, "invalidValue"),
        ({"active": "true"}, "invalidValue"),
    ],
)
def test_normalize_resource_errors(body: dict[str, Any], scim_type: str) -> None:
    with pytest.raises(InvalidValue) as exc:
        normalize_resource(body, USER, REG)
    assert exc.value.scim_type == scim_type


def test_unknown_ignore_drops() -> None:
    out = normalize_resource(
        {"userName": "a", "nosuch": 1, ENTERPRISE_USER: {"nosuch": 1}}, USER, REG, unknown="ignore"
    )
    assert out == {"userName": "a"}


def test_group_body() -> None:
    body = {
        "schemas": [GROUP.schema],
        "displayName": "G",
        "members": [{"value": "u1", "$ref": None, "display": "U"}],
    }
    out = normalize_resource(body, GROUP, REG)
    assert out["members"] == [{"value": "u1", "display": "U"}]


def test_not_an_object() -> None:
    with pytest.raises(InvalidValue) as exc:
        normalize_resource([], USER, REG)  # type: ignore[arg-type]
    assert exc.value.scim_type == "invalidSyntax"
