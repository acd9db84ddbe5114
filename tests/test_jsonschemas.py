"""The JSON Schemas built from the RFC data accept correct bodies and point at what is wrong.

Each bad body below breaks exactly one rule, and the test names the pointer the harness will show,
so a change that loosens a rule (or blames the wrong member) fails here.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scimitar import jsonschemas
from scimitar.jsonschemas import (
    Violation,
    build_discovery_schema,
    build_resource_schema,
    build_resource_schema_for_rt,
    canonicalize_keys,
    message_schema,
    validate,
    validate_discovery,
    validate_error,
    validate_list_response,
    validate_message,
    validate_resource,
)
from scimitar.schema import (
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE_USER,
    ERROR,
    LIST_RESPONSE,
    SchemaRegistry,
)

USER_ID = "2819c223-7f76-453a-919d-413861904646"


def full_user() -> dict[str, Any]:
    """A User with every core attribute a server returns by default, plus the enterprise extension."""
    return {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "id": USER_ID,
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {
            "formatted": "Ms. Barbara J Jensen, III",
            "familyName": "Jensen",
            "givenName": "Barbara",
            "middleName": "Jane",
            "honorificPrefix": "Ms.",
            "honorificSuffix": "III",
        },
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        "addresses": [
            {
                "type": "work",
                "streetAddress": "100 Universal City Plaza",
                "locality": "Hollywood",
                "region": "CA",
                "postalCode": "91608",
                "country": "USA",
                "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
                "primary": True,
            }
        ],
        "phoneNumbers": [{"value": "555-555-5555", "type": "work"}],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}],
        "userType": "Employee",
        "title": "Tour Guide",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": True,
        "groups": [
            {
                "value": "e9e30dba-f08f-4109-8486-d5c6a331660a",
                "$ref": "https://example.com/v2/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
                "display": "Tour Guides",
            }
        ],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
        ENTERPRISE_USER: {
            "employeeNumber": "701984",
            "costCenter": "4130",
            "organization": "Universal Studios",
            "division": "Theme Park",
            "department": "Tour Operations",
            "manager": {
                "value": "26118915-6090-4610-87e4-49d8ca9f808d",
                "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
                "displayName": "John Smith",
            },
        },
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": 'W/"3694e05e9dff591"',
            "location": f"https://example.com/v2/Users/{USER_ID}",
        },
    }


def group() -> dict[str, Any]:
    return {
        "schemas": [CORE_GROUP],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": [
            {
                "value": USER_ID,
                "$ref": f"https://example.com/v2/Users/{USER_ID}",
                "display": "Babs Jensen",
                "type": "User",
            }
        ],
        "meta": {
            "resourceType": "Group",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": 'W/"3694e05e9dff592"',
            "location": "https://example.com/v2/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
        },
    }


def error(**over: Any) -> dict[str, Any]:
    return {"schemas": [ERROR], "status": "404", "detail": "Resource 2819c223 not found", **over}


def list_response(resources: list[dict[str, Any]], **over: Any) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(resources),
        "startIndex": 1,
        "itemsPerPage": len(resources),
        "Resources": resources,
        **over,
    }


def pointers(violations: list[Violation]) -> list[str]:
    return [v.pointer for v in violations]


# ---------------------------------------------------------------------------- correct bodies


def test_full_user_is_clean() -> None:
    assert validate_resource(full_user(), "User") == []


def test_minimal_user_is_clean() -> None:
    assert validate_resource({"schemas": [CORE_USER], "id": "1", "userName": "bjensen"}, "User") == []


def test_group_is_clean() -> None:
    assert validate_resource(group(), "Group") == []


def test_error_is_clean() -> None:
    assert validate_error(error(scimType="invalidFilter", status="400")) == []


def test_list_response_is_clean() -> None:
    assert validate_list_response(list_response([full_user()]), "User") == []
    assert validate_list_response(list_response([group()]), "Group") == []
    assert validate_list_response(list_response([]), "User") == []


# ---------------------------------------------------------------------------- bad bodies


def test_error_status_as_number() -> None:
    found = validate_error(error(status=404))
    assert pointers(found) == ["/status"]
    assert "string" in found[0].message


def test_error_missing_status_and_unknown_scim_type() -> None:
    """status is REQUIRED; scimType is OPTIONAL, and a keyword outside Table 9 is judged by the
    SHOULD check rfc7644-3.12-scimtype-defined-keyword, not by the MUST of the body format."""
    body = error(scimType="notAType")
    del body["status"]
    found = validate_error(body)
    assert pointers(found) == ["/status"]
    assert "missing" in found[0].message
    assert pointers(validate_error(error(scimType=42))) == ["/scimType"]


def test_missing_schemas() -> None:
    body = full_user()
    del body["schemas"]
    found = validate_resource(body, "User")
    assert pointers(found) == ["/schemas"]
    assert found[0].message == "required attribute 'schemas' is missing"


def test_schemas_without_core_urn() -> None:
    body = full_user()
    body["schemas"] = [ENTERPRISE_USER]
    found = validate_resource(body, "User")
    assert found == [Violation("/schemas", f"must contain {CORE_USER!r}")]


def test_extension_present_but_not_in_schemas() -> None:
    body = full_user()
    body["schemas"] = [CORE_USER]
    assert validate_resource(body, "User") == [Violation("/schemas", f"must contain {ENTERPRISE_USER!r}")]


def test_password_present_is_a_violation() -> None:
    body = full_user()
    body["password"] = "t1meMa$heen"
    found = validate_resource(body, "User")
    assert pointers(found) == ["/password"]
    assert "never" in found[0].message


def test_password_with_other_case_is_still_caught() -> None:
    body = full_user()
    body["PassWord"] = "t1meMa$heen"
    assert pointers(validate_resource(body, "User")) == ["/password"]


def test_emails_not_an_array() -> None:
    body = full_user()
    body["emails"] = {"value": "bjensen@example.com"}
    found = validate_resource(body, "User")
    assert pointers(found) == ["/emails"]
    assert "array" in found[0].message


def test_bad_date_time_in_meta_created() -> None:
    body = full_user()
    body["meta"]["created"] = "23/01/2010 04:56"
    found = validate_resource(body, "User")
    assert pointers(found) == ["/meta/created"]
    assert "date-time" in found[0].message


def test_relative_meta_location_is_allowed() -> None:
    # meta.location is a reference: RFC 7643 §2.3.7 allows "the absolute or relative URI".
    body = full_user()
    body["meta"]["location"] = f"Users/{USER_ID}"
    assert validate_resource(body, "User") == []
    body["meta"]["location"] = "http://exa mple.com/Users/1"
    assert pointers(validate_resource(body, "User")) == ["/meta/location"]


def test_null_is_unassigned() -> None:
    # RFC 7643 §2.5: null and unassigned are equivalent; a null required attribute is missing.
    body = full_user()
    body["externalId"] = None
    body["nickName"] = None
    body["emails"] = None
    assert validate_resource(body, "User") == []
    body["userName"] = None
    assert pointers(validate_resource(body, "User")) == ["/userName"]


def test_missing_id_and_user_name() -> None:
    body = full_user()
    del body["id"], body["userName"]
    assert pointers(validate_resource(body, "User")) == ["/id", "/userName"]


def test_group_without_display_name() -> None:
    body = group()
    del body["displayName"]
    assert pointers(validate_resource(body, "Group")) == ["/displayName"]


def test_every_violation_is_reported_with_nested_pointers() -> None:
    body = full_user()
    body["active"] = "yes"
    body["emails"][1]["value"] = 42
    body["name"]["givenName"] = ["Barbara"]
    body[ENTERPRISE_USER]["manager"]["displayName"] = 7
    assert pointers(validate_resource(body, "User")) == [
        "/active",
        "/emails/1/value",
        "/name/givenName",
        f"/{ENTERPRISE_USER}/manager/displayName",
    ]


# ---------------------------------------------------------------------------- leniencies


def test_lower_case_user_name_key_is_not_a_violation() -> None:
    body = full_user()
    body["username"] = body.pop("userName")
    assert validate_resource(body, "User") == []


def test_attribute_names_match_in_any_case_at_every_level() -> None:
    body = full_user()
    body["EMAILS"] = body.pop("emails")
    body["EMAILS"][0]["VALUE"] = body["EMAILS"][0].pop("value")
    body["Meta"] = body.pop("meta")
    del body["Meta"]["created"]
    body["Meta"]["Created"] = "not a date"
    ext = body.pop(ENTERPRISE_USER)
    body[ENTERPRISE_USER.lower()] = ext
    body["schemas"] = [CORE_USER.upper(), ENTERPRISE_USER.lower()]
    # Only the real fault is reported, under the schema's spelling.
    assert pointers(validate_resource(body, "User")) == ["/meta/created"]


def test_canonical_values_are_not_enforced() -> None:
    body = full_user()
    body["emails"][0]["type"] = "custom-label"
    assert validate_resource(body, "User") == []


def test_unknown_attributes_are_allowed() -> None:
    body = full_user()
    body["favouriteColour"] = "teal"
    body["name"]["nickname2"] = "B"
    assert validate_resource(body, "User") == []


def test_canonicalize_keys_renames_without_mutating() -> None:
    reg = SchemaRegistry.default()
    core = reg.schema(CORE_USER)
    ext = reg.schema(ENTERPRISE_USER)
    assert core is not None and ext is not None
    common = [a.to_json() for a in reg.common.attributes]
    body = {
        "USERNAME": "b",
        "emails": [{"Value": "x"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"DEPARTMENT": "d"},
    }
    before = copy.deepcopy(body)
    out = canonicalize_keys(body, core.to_json(), [ext.to_json()], common)
    assert out == {"userName": "b", "emails": [{"value": "x"}], ENTERPRISE_USER: {"department": "d"}}
    assert body == before


def test_canonicalize_keeps_both_spellings_rather_than_losing_one() -> None:
    reg = SchemaRegistry.default()
    core = reg.schema(CORE_USER)
    assert core is not None
    out = canonicalize_keys({"userName": "a", "username": "b"}, core.to_json(), [], [])
    assert out == {"userName": "a", "username": "b"}


# ---------------------------------------------------------------------------- list responses


def test_list_items_may_be_partial_but_need_an_id() -> None:
    body = list_response([{"id": "1", "userName": "a"}, {"userName": "b"}, {"id": "3"}])
    found = validate_list_response(body, "User")
    assert found == [Violation("/Resources/1/id", "required attribute 'id' is missing")]


def test_list_item_faults_are_prefixed_with_their_index() -> None:
    bad = full_user()
    bad["password"] = "secret"
    bad["emails"] = "bjensen@example.com"
    body = list_response([full_user(), bad])
    assert pointers(validate_list_response(body, "User")) == ["/Resources/1/emails", "/Resources/1/password"]


def test_list_response_envelope_faults() -> None:
    body = list_response([full_user()], totalResults="1")
    body["schemas"] = [CORE_USER]
    assert pointers(validate_list_response(body, "User")) == ["/schemas", "/totalResults"]


def test_list_response_needs_resources_when_total_is_non_zero() -> None:
    body = {"schemas": [LIST_RESPONSE], "totalResults": 3}
    assert pointers(validate_list_response(body, "User")) == ["/Resources"]
    assert validate_list_response({"schemas": [LIST_RESPONSE], "totalResults": 0}, "User") == []


def test_list_response_pagination_members_are_optional() -> None:
    body = {"schemas": [LIST_RESPONSE], "totalResults": 1, "Resources": [{"id": "1"}]}
    assert validate_list_response(body, "Group") == []


# ---------------------------------------------------------------------------- messages


def test_patch_op() -> None:
    ok: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "add", "path": "members", "value": [{"value": USER_ID}]},
            {"op": "remove", "path": 'members[value eq "x"]'},
            {"op": "replace", "value": {"displayName": "x"}},
        ],
    }
    assert validate_message(ok, "PatchOp") == []
    bad = copy.deepcopy(ok)
    bad["Operations"][0]["op"] = "delete"
    del bad["Operations"][1]["path"]
    del bad["Operations"][2]["value"]
    assert pointers(validate_message(bad, "PatchOp")) == [
        "/Operations/0/op",
        "/Operations/1/path",
        "/Operations/2/value",
    ]


def test_search_request() -> None:
    body: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "attributes": ["displayName", "userName"],
        "filter": 'displayName sw "smith"',
        "startIndex": 1,
        "count": 10,
        "sortOrder": "ascending",
    }
    assert validate_message(body, "SearchRequest") == []
    body["sortOrder"] = "up"
    body["attributes"] = "displayName"
    assert pointers(validate_message(body, "SearchRequest")) == ["/attributes", "/sortOrder"]


def test_bulk_request_and_response() -> None:
    request: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "failOnErrors": 1,
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "qwerty", "data": {"userName": "Alice"}},
            {"method": "DELETE", "path": f"/Users/{USER_ID}"},
        ],
    }
    assert validate_message(request, "BulkRequest") == []
    del request["Operations"][0]["bulkId"]
    assert pointers(validate_message(request, "BulkRequest")) == ["/Operations/0/bulkId"]

    response: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
        "Operations": [
            {
                "method": "POST",
                "bulkId": "qwerty",
                "location": "https://example.com/v2/Users/92b7",
                "status": "201",
            },
            {"method": "POST", "bulkId": "ytrewq", "status": "400", "response": error(status="400")},
        ],
    }
    assert validate_message(response, "BulkResponse") == []
    response["Operations"][0]["status"] = 201
    del response["Operations"][1]["response"]
    assert pointers(validate_message(response, "BulkResponse")) == [
        "/Operations/0/status",
        "/Operations/1/response",
    ]


def test_message_schema_is_a_copy_and_unknown_names_fail() -> None:
    schema = message_schema("Error")
    schema["required"] = []
    assert "status" in message_schema("Error")["required"]
    with pytest.raises(KeyError):
        message_schema("Nope")


# ---------------------------------------------------------------------------- discovery


def test_discovery_resources_served_from_the_registry_are_clean() -> None:
    reg = SchemaRegistry.default()
    for schema in reg.schemas.values():
        assert (
            validate_discovery(schema.to_json(f"https://example.com/v2/Schemas/{schema.id}"), "Schema") == []
        )
    for rt in reg.resource_types.values():
        assert validate_discovery(rt.to_json(), "ResourceType") == []


def test_discovery_list_response() -> None:
    reg = SchemaRegistry.default()
    body = list_response([s.to_json() for s in reg.schemas.values()])
    assert validate_list_response(body, "Schema") == []


def test_service_provider_config() -> None:
    spc: dict[str, Any] = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://example.com/help/scim.html",
        "patch": {"supported": True},
        "bulk": {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576},
        "filter": {"supported": True, "maxResults": 200},
        "changePassword": {"supported": True},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication scheme using the OAuth Bearer Token Standard",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": True,
            }
        ],
        "meta": {
            "location": "https://example.com/v2/ServiceProviderConfig",
            "resourceType": "ServiceProviderConfig",
        },
    }
    assert validate_discovery(spc, "ServiceProviderConfig") == []
    del spc["patch"]
    spc["bulk"]["maxOperations"] = "1000"
    assert pointers(validate_discovery(spc, "ServiceProviderConfig")) == ["/bulk/maxOperations", "/patch"]


def test_discovery_schema_does_not_require_id() -> None:
    schema = build_discovery_schema("ServiceProviderConfig")
    assert "id" not in schema["required"]
    with pytest.raises(KeyError):
        build_discovery_schema("Users")


# ---------------------------------------------------------------------------- builders


def test_built_schema_shape() -> None:
    schema = build_resource_schema_for_rt("User")
    props = schema["properties"]
    assert schema["required"] == ["schemas", "id", "userName"]
    assert props["emails"]["type"] == "array"
    assert props["emails"]["items"]["properties"]["primary"]["type"] == "boolean"
    assert props["meta"]["properties"]["created"]["format"] == "date-time"
    assert props["meta"]["properties"]["location"]["format"] == "uri-reference"
    assert props["password"]["not"] == {}
    assert ENTERPRISE_USER in props
    assert "additionalProperties" not in schema
    assert "enum" not in str(props["emails"])


def test_required_extensions_and_types() -> None:
    core = {
        "id": "urn:example:Thing",
        "name": "Thing",
        "attributes": [
            {"name": "count", "type": "integer", "required": True},
            {"name": "ratio", "type": "decimal"},
            {"name": "when", "type": "dateTime"},
            {"name": "tags", "type": "string", "multiValued": True},
        ],
    }
    ext = {"id": "urn:example:Ext", "attributes": [{"name": "level", "type": "integer"}]}
    schema = build_resource_schema(core, [ext], [], required_extensions={"urn:example:Ext"})
    body = {
        "schemas": ["urn:example:Thing"],
        "id": "1",
        "count": 1.5,
        "ratio": "x",
        "when": "2020",
        "tags": [1],
    }
    assert pointers(validate(body, schema)) == ["/count", "/ratio", "/tags/0", "/urn:example:Ext", "/when"]


def test_target_schemas_data_is_used() -> None:
    reg = SchemaRegistry.default()
    data = [s.to_json() for s in reg.schemas.values()]
    core = next(d for d in data if d["id"] == CORE_USER)
    for attr in core["attributes"]:
        if attr["name"] == "nickName":
            attr["required"] = True
        if attr["name"] == "title":
            attr["returned"] = "never"
    body = full_user()
    del body["nickName"]
    assert pointers(validate_resource(body, "User", schemas_data=data)) == ["/nickName", "/title"]
    assert validate_resource(body, "User") == []


def test_pointer_escapes_per_rfc_6901() -> None:
    schema = {"type": "object", "properties": {"a/b": {"type": "string"}, "c~d": {"type": "string"}}}
    assert pointers(validate({"a/b": 1, "c~d": 2}, schema)) == ["/a~1b", "/c~0d"]


def test_validators_are_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = jsonschemas.build_resource_schema_for_rt

    def counting(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(args[0])
        return real(*args, **kwargs)

    jsonschemas.clear_caches()
    monkeypatch.setattr(jsonschemas, "build_resource_schema_for_rt", counting)
    for _ in range(5):
        assert validate_resource(full_user(), "User") == []
    assert calls == ["User"]
    jsonschemas.clear_caches()
