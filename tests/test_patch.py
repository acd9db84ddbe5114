"""PATCH (RFC 7644 §3.5.2), including the exact bodies Okta and Entra ID send."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from scimitar.quirks import Quirk
from scimitar.schema import ENTERPRISE_USER, PATCH_OP, SchemaRegistry
from scimitar.server.patch import PatchError, apply_patch

REG = SchemaRegistry.default()
USER_RT = REG.resource_type("User")
GROUP_RT = REG.resource_type("Group")
CORE_USER = USER_RT.schema

USER: dict[str, Any] = {
    "schemas": [CORE_USER],
    "id": "u1",
    "externalId": "ext-1",
    "userName": "bjensen@example.com",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "displayName": "Babs",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@home.org", "type": "home"},
    ],
    "addresses": [{"type": "work", "streetAddress": "1 Main St", "locality": "Springfield"}],
    "meta": {
        "resourceType": "User",
        "created": "2020-01-01T00:00:00Z",
        "lastModified": "2020-01-01T00:00:00Z",
    },
}

GROUP: dict[str, Any] = {
    "schemas": [GROUP_RT.schema],
    "id": "g1",
    "displayName": "ClickHouse-Admins",
    "members": [{"value": "89bb1940", "display": "old@example.com"}, {"value": "u2"}],
    "meta": {"resourceType": "Group"},
}


def body(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(ops)}


def patch_user(
    *ops: dict[str, Any], quirks: frozenset[Quirk] = frozenset(), user: Any = None
) -> dict[str, Any]:
    return apply_patch(user or USER, body(*ops), USER_RT, REG, quirks=quirks)


def patch_group(*ops: dict[str, Any], quirks: frozenset[Quirk] = frozenset()) -> dict[str, Any]:
    return apply_patch(GROUP, body(*ops), GROUP_RT, REG, quirks=quirks)


def error(fn: Any, *args: Any, **kwargs: Any) -> PatchError:
    snapshot_u, snapshot_g = copy.deepcopy(USER), copy.deepcopy(GROUP)
    with pytest.raises(PatchError) as exc:
        fn(*args, **kwargs)
    # all or nothing: the stored resource is never modified
    assert snapshot_u == USER
    assert snapshot_g == GROUP
    return exc.value


# ------------------------------------------------------------------------------- request validation


@pytest.mark.parametrize(
    ("request_body", "scim_type"),
    [
        ([], "invalidSyntax"),
        ({"Operations": [{"op": "add", "path": "title", "value": "x"}]}, "invalidSyntax"),
        (
            {"schemas": ["urn:x"], "Operations": [{"op": "add", "path": "title", "value": "x"}]},
            "invalidSyntax",
        ),
        ({"schemas": [PATCH_OP]}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": []}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": {"op": "add"}}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": ["add"]}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": [{"path": "title", "value": "x"}]}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "move", "path": "title"}]}, "invalidSyntax"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": 5, "value": "x"}]}, "invalidPath"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title"}]}, "invalidValue"),
        ({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title"}]}, "invalidValue"),
    ],
)
def test_request_validation(request_body: Any, scim_type: str) -> None:
    exc = error(apply_patch, USER, request_body, USER_RT, REG)
    assert exc.scim_type == scim_type
    assert exc.detail


def test_message_keys_case_insensitive() -> None:
    out = apply_patch(
        USER,
        {"SCHEMAS": [PATCH_OP], "operations": [{"OP": "Add", "Path": "title", "Value": "Boss"}]},
        USER_RT,
        REG,
    )
    assert out["title"] == "Boss"


@pytest.mark.parametrize("op", ["add", "Add", "ADD", "replace", "Replace", "REPLACE"])
def test_op_case_insensitive(op: str) -> None:
    assert patch_user({"op": op, "path": "title", "value": "Boss"})["title"] == "Boss"


# ------------------------------------------------------------------------------- add


@pytest.mark.parametrize(
    ("op", "check"),
    [
        ({"op": "add", "path": "title", "value": "Boss"}, lambda u: u["title"] == "Boss"),
        ({"op": "add", "path": "displayName", "value": "New"}, lambda u: u["displayName"] == "New"),
        (
            {"op": "add", "path": "name.middleName", "value": "M"},
            lambda u: u["name"]["middleName"] == "M" and u["name"]["givenName"] == "Barbara",
        ),
        ({"op": "add", "path": "NAME.GIVENNAME", "value": "B"}, lambda u: u["name"]["givenName"] == "B"),
        (
            {"op": "add", "path": "name", "value": {"middleName": "M"}},
            lambda u: u["name"] == {"givenName": "Barbara", "familyName": "Jensen", "middleName": "M"},
        ),
        (
            {"op": "add", "path": "emails", "value": [{"value": "new@x", "type": "other"}]},
            lambda u: len(u["emails"]) == 3 and u["emails"][2]["value"] == "new@x",
        ),
        ({"op": "add", "path": "emails", "value": {"value": "new@x"}}, lambda u: len(u["emails"]) == 3),
        (
            {"op": "add", "path": "emails", "value": [{"value": "babs@home.org", "type": "home"}]},
            lambda u: len(u["emails"]) == 2,
        ),
        (
            {"op": "add", "path": "emails", "value": [{"value": "p@x", "primary": True}]},
            lambda u: u["emails"][0]["primary"] is False and u["emails"][2]["primary"] is True,
        ),
        (
            {"op": "add", "path": "phoneNumbers", "value": [{"value": "555", "type": "work"}]},
            lambda u: u["phoneNumbers"] == [{"value": "555", "type": "work"}],
        ),
        (
            {"op": "add", "path": 'emails[type eq "work"].display', "value": "W"},
            lambda u: u["emails"][0]["display"] == "W" and "display" not in u["emails"][1],
        ),
        (
            {"op": "add", "path": 'addresses[type eq "work"]', "value": {"postalCode": "12345"}},
            lambda u: (
                u["addresses"][0]
                == {
                    "type": "work",
                    "streetAddress": "1 Main St",
                    "locality": "Springfield",
                    "postalCode": "12345",
                }
            ),
        ),
        # §3.5.2.1 "If the target location does not exist, the attribute and value are added"
        (
            {"op": "add", "path": 'phoneNumbers[type eq "mobile"].value', "value": "555"},
            lambda u: u["phoneNumbers"] == [{"type": "mobile", "value": "555"}],
        ),
        (
            {"op": "add", "path": f"{ENTERPRISE_USER}:department", "value": "Sales"},
            lambda u: u[ENTERPRISE_USER] == {"department": "Sales"} and ENTERPRISE_USER in u["schemas"],
        ),
        (
            {"op": "add", "path": f"{ENTERPRISE_USER}:manager.value", "value": "m1"},
            lambda u: u[ENTERPRISE_USER] == {"manager": {"value": "m1"}},
        ),
        (
            {"op": "add", "path": ENTERPRISE_USER, "value": {"employeeNumber": "7"}},
            lambda u: u[ENTERPRISE_USER] == {"employeeNumber": "7"},
        ),
        ({"op": "add", "path": f"{CORE_USER}:nickName", "value": "B"}, lambda u: u["nickName"] == "B"),
        ({"op": "add", "path": "externalId", "value": "ext-2"}, lambda u: u["externalId"] == "ext-2"),
        ({"op": "add", "path": "title", "value": None}, lambda u: "title" not in u),
        # pathless: plain, dotted (Entra aadOptscim062020), URN-qualified and extension objects
        (
            {"op": "add", "value": {"title": "T", "name.familyName": "J2"}},
            lambda u: (
                u["title"] == "T" and u["name"]["familyName"] == "J2" and u["name"]["givenName"] == "Barbara"
            ),
        ),
        (
            {"op": "add", "value": {ENTERPRISE_USER: {"department": "D"}, f"{CORE_USER}:nickName": "N"}},
            lambda u: u[ENTERPRISE_USER]["department"] == "D" and u["nickName"] == "N",
        ),
        (
            {"op": "add", "value": {f"{ENTERPRISE_USER}:employeeNumber": "9"}},
            lambda u: u[ENTERPRISE_USER]["employeeNumber"] == "9",
        ),
        ({"op": "add", "value": {"emails": [{"value": "n@x"}]}}, lambda u: len(u["emails"]) == 3),
        ({"op": "add", "value": {"schemas": ["ignored"], "title": "T"}}, lambda u: u["title"] == "T"),
    ],
)
def test_add(op: dict[str, Any], check: Any) -> None:
    out = patch_user(op)
    assert check(out), out


def test_add_member_okta_and_dedupe() -> None:
    out = patch_group({"op": "add", "path": "members", "value": [{"value": "23a35c27", "display": "t@x"}]})
    assert out["members"][-1] == {"value": "23a35c27", "display": "t@x"}
    again = apply_patch(
        out, body({"op": "add", "path": "members", "value": [{"value": "23a35c27"}]}), GROUP_RT, REG
    )
    assert len(again["members"]) == 3


def test_add_member_entra() -> None:
    out = patch_group({"op": "Add", "path": "members", "value": [{"$ref": None, "value": "u9"}]})
    assert out["members"][-1] == {"value": "u9"}


# ------------------------------------------------------------------------------- replace


@pytest.mark.parametrize(
    ("op", "check"),
    [
        ({"op": "replace", "path": "displayName", "value": "X"}, lambda u: u["displayName"] == "X"),
        ({"op": "replace", "path": "title", "value": "new"}, lambda u: u["title"] == "new"),  # acts as add
        ({"op": "replace", "path": "displayName", "value": None}, lambda u: "displayName" not in u),
        (
            {"op": "replace", "path": "name", "value": {"givenName": "B"}},
            lambda u: u["name"] == {"givenName": "B", "familyName": "Jensen"},
        ),
        ({"op": "replace", "path": "name", "value": None}, lambda u: "name" not in u),
        (
            {"op": "replace", "path": "emails", "value": [{"value": "only@x"}]},
            lambda u: u["emails"] == [{"value": "only@x"}],
        ),
        ({"op": "replace", "path": "emails", "value": []}, lambda u: "emails" not in u),
        (
            {"op": "replace", "path": 'addresses[type eq "work"].streetAddress', "value": "2 Elm"},
            lambda u: (
                u["addresses"][0]["streetAddress"] == "2 Elm"
                and u["addresses"][0]["locality"] == "Springfield"
            ),
        ),
        (
            {"op": "replace", "path": 'emails[type eq "home"]', "value": {"value": "h@x", "type": "home"}},
            lambda u: u["emails"][1] == {"value": "h@x", "type": "home"},
        ),
        (
            {"op": "replace", "path": 'emails[type eq "home"].primary', "value": True},
            lambda u: u["emails"][1]["primary"] is True and u["emails"][0]["primary"] is False,
        ),
        # Entra ID
        (
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "x@example.com"},
            lambda u: u["emails"][0] == {"value": "x@example.com", "type": "work", "primary": True},
        ),
        (
            {"op": "Replace", "path": "name.familyName", "value": "Smith"},
            lambda u: u["name"]["familyName"] == "Smith",
        ),
        ({"op": "Replace", "path": "active", "value": "False"}, lambda u: u["active"] is False),
        ({"op": "Replace", "path": "active", "value": "True"}, lambda u: u["active"] is True),
        (
            {"op": "replace", "value": {"displayName": "D", "name.givenName": "G"}},
            lambda u: u["displayName"] == "D" and u["name"]["givenName"] == "G",
        ),
        # Okta deactivate / reactivate
        ({"op": "replace", "value": {"active": False}}, lambda u: u["active"] is False),
        ({"op": "replace", "value": {"active": True}}, lambda u: u["active"] is True),
        # readOnly values equal to the current ones are no modification
        ({"op": "replace", "value": {"id": "u1", "displayName": "N"}}, lambda u: u["displayName"] == "N"),
        (
            {"op": "replace", "path": f"{ENTERPRISE_USER}:department", "value": "D"},
            lambda u: u[ENTERPRISE_USER]["department"] == "D",
        ),
        ({"op": "replace", "value": {ENTERPRISE_USER: None}}, lambda u: ENTERPRISE_USER not in u),
    ],
)
def test_replace(op: dict[str, Any], check: Any) -> None:
    out = patch_user(op)
    assert check(out), out


def test_okta_group_rename() -> None:
    out = patch_group({"op": "replace", "value": {"id": "g1", "displayName": "New Name"}})
    assert out["displayName"] == "New Name"
    assert out["members"] == GROUP["members"]


def test_okta_full_push_replaces_members() -> None:
    out = patch_group({"op": "replace", "path": "members", "value": [{"value": "a"}, {"value": "b"}]})
    assert out["members"] == [{"value": "a"}, {"value": "b"}]


def test_entra_group_rename() -> None:
    assert patch_group({"op": "Replace", "path": "displayName", "value": "R"})["displayName"] == "R"


# ------------------------------------------------------------------------------- remove


@pytest.mark.parametrize(
    ("op", "check"),
    [
        ({"op": "remove", "path": "displayName"}, lambda u: "displayName" not in u),
        ({"op": "Remove", "path": "name.givenName"}, lambda u: u["name"] == {"familyName": "Jensen"}),
        ({"op": "remove", "path": "name"}, lambda u: "name" not in u),
        ({"op": "remove", "path": "emails"}, lambda u: "emails" not in u),
        (
            {"op": "remove", "path": 'emails[type eq "home"]'},
            lambda u: [e["type"] for e in u["emails"]] == ["work"],
        ),
        ({"op": "remove", "path": 'emails[type eq "work" or type eq "home"]'}, lambda u: "emails" not in u),
        (
            {"op": "remove", "path": 'emails[type eq "work"].primary'},
            lambda u: u["emails"][0] == {"value": "bjensen@example.com", "type": "work"},
        ),
        ({"op": "remove", "path": "nickName"}, lambda u: u == USER),  # unassigned: no-op
        ({"op": "remove", "path": f"{ENTERPRISE_USER}:department"}, lambda u: u == USER),
        ({"op": "remove", "path": "externalId"}, lambda u: "externalId" not in u),
    ],
)
def test_remove(op: dict[str, Any], check: Any) -> None:
    out = patch_user(op)
    assert check(out), out


def test_remove_extension_attribute_tidies() -> None:
    user = patch_user({"op": "add", "path": f"{ENTERPRISE_USER}:department", "value": "D"})
    out = patch_user({"op": "remove", "path": f"{ENTERPRISE_USER}:department"}, user=user)
    assert ENTERPRISE_USER not in out
    assert out["schemas"] == [CORE_USER]


def test_okta_membership_move() -> None:
    out = patch_group(
        {"op": "remove", "path": 'members[value eq "89bb1940"]'},
        {
            "op": "add",
            "path": "members",
            "value": [{"value": "23a35c27", "display": "test.user@example.com"}],
        },
    )
    assert [m["value"] for m in out["members"]] == ["u2", "23a35c27"]


def test_entra_remove_member_with_value_removes_only_listed() -> None:
    out = patch_group({"op": "Remove", "path": "members", "value": [{"$ref": None, "value": "89bb1940"}]})
    assert out["members"] == [{"value": "u2"}]


def test_entra_remove_member_not_present_is_noop() -> None:
    assert patch_group({"op": "Remove", "path": "members", "value": [{"value": "nobody"}]}) == GROUP


def test_remove_all_members() -> None:
    assert "members" not in patch_group({"op": "remove", "path": "members"})


def test_sequence_applies_in_order() -> None:
    out = patch_user(
        {"op": "add", "path": "title", "value": "A"},
        {"op": "replace", "path": "title", "value": "B"},
        {"op": "remove", "path": "title"},
        {"op": "add", "path": "nickName", "value": "N"},
    )
    assert "title" not in out and out["nickName"] == "N"


def test_input_is_never_modified() -> None:
    snapshot = copy.deepcopy(USER)
    patch_user(
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "z@x"},
        {"op": "remove", "path": "name"},
    )
    assert snapshot == USER


def test_meta_untouched() -> None:
    assert patch_user({"op": "replace", "path": "title", "value": "x"})["meta"] == USER["meta"]


# ------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("op", "scim_type", "fragment"),
    [
        ({"op": "remove"}, "noTarget", "path"),
        ({"op": "add", "path": "nosuch", "value": 1}, "invalidPath", "unknown attribute"),
        ({"op": "add", "path": "name.nosuch", "value": 1}, "invalidPath", "unknown attribute"),
        ({"op": "remove", "path": f"{ENTERPRISE_USER}:nosuch"}, "invalidPath", "unknown attribute"),
        ({"op": "add", "path": "a b", "value": 1}, "invalidPath", ""),
        ({"op": "add", "path": 'title[value eq "x"]', "value": 1}, "invalidPath", "multi-valued complex"),
        ({"op": "replace", "path": "emails.value", "value": "x"}, "invalidPath", "filter"),
        (
            {"op": "add", "path": 'emails[type eq "work"].nosuch', "value": 1},
            "invalidPath",
            "no sub-attribute",
        ),
        ({"op": "add", "path": 'emails[nosuch eq "x"]', "value": {}}, "invalidFilter", "no sub-attribute"),
        ({"op": "add", "path": "emails[type eq work]", "value": {}}, "invalidFilter", ""),
        ({"op": "add", "value": {"nosuch": 1}}, "invalidSyntax", "unknown attribute"),
        ({"op": "add", "value": "x"}, "invalidValue", "object"),
        ({"op": "add", "path": "title", "value": 5}, "invalidValue", "string"),
        ({"op": "add", "path": "active", "value": "yes"}, "invalidValue", "boolean"),
        ({"op": "add", "path": "name", "value": {"nosuch": "x"}}, "invalidSyntax", "no sub-attribute"),
        # value filters that match nothing (§3.12 noTarget)
        ({"op": "replace", "path": 'emails[type eq "other"].value', "value": "x"}, "noTarget", "matches"),
        ({"op": "replace", "path": 'emails[type eq "other"]', "value": {"value": "x"}}, "noTarget", ""),
        ({"op": "remove", "path": 'emails[type eq "other"]'}, "noTarget", ""),
        ({"op": "add", "path": 'emails[type co "oth"].value', "value": "x"}, "noTarget", ""),
        # mutability: readOnly, and required attributes (§3.5.2.2)
        ({"op": "replace", "path": "id", "value": "other"}, "mutability", "readOnly"),
        ({"op": "remove", "path": "id"}, "mutability", "readOnly"),
        ({"op": "replace", "value": {"id": "other"}}, "mutability", "readOnly"),
        (
            {"op": "replace", "path": "meta.created", "value": "2021-01-01T00:00:00Z"},
            "mutability",
            "readOnly",
        ),
        ({"op": "add", "path": "groups", "value": [{"value": "g1"}]}, "mutability", "readOnly"),
        ({"op": "remove", "path": "userName"}, "mutability", "required"),
        ({"op": "replace", "path": "userName", "value": None}, "mutability", "required"),
        ({"op": "replace", "value": {"userName": None}}, "mutability", "required"),
    ],
)
def test_errors(op: dict[str, Any], scim_type: str, fragment: str) -> None:
    exc = error(patch_user, op)
    assert exc.scim_type == scim_type, exc.detail
    assert fragment in exc.detail


def test_error_in_later_operation_discards_earlier_ones() -> None:
    exc = error(
        patch_user, {"op": "replace", "path": "title", "value": "x"}, {"op": "remove", "path": "userName"}
    )
    assert exc.scim_type == "mutability"
    assert "Operations[1]" in exc.detail


def test_group_required_display_name() -> None:
    assert error(patch_group, {"op": "remove", "path": "displayName"}).scim_type == "mutability"


def test_immutable_member_value() -> None:
    exc = error(patch_group, {"op": "replace", "path": 'members[value eq "u2"].value', "value": "u3"})
    assert exc.scim_type == "mutability"
    assert "immutable" in exc.detail


def test_immutable_may_be_added_when_unassigned() -> None:
    out = patch_group({"op": "add", "path": 'members[value eq "u2"].type', "value": "User"})
    assert out["members"][1] == {"value": "u2", "type": "User"}


def test_remove_member_by_filter_no_match_is_no_target() -> None:
    assert error(patch_group, {"op": "remove", "path": 'members[value eq "nobody"]'}).scim_type == "noTarget"


# ------------------------------------------------------------------------------- quirks


def test_quirk_ops_lowercase_only() -> None:
    q = frozenset({Quirk.PATCH_OPS_LOWERCASE_ONLY})
    assert patch_user({"op": "replace", "path": "title", "value": "x"}, quirks=q)["title"] == "x"
    assert (
        error(patch_user, {"op": "Replace", "path": "title", "value": "x"}, quirks=q).scim_type
        == "invalidSyntax"
    )


def test_quirk_remove_ignored() -> None:
    q = frozenset({Quirk.PATCH_REMOVE_IGNORED})
    assert patch_user({"op": "remove", "path": "displayName"}, quirks=q) == USER
    assert patch_user({"op": "remove"}, quirks=q) == USER
    assert patch_user({"op": "replace", "path": "title", "value": "x"}, quirks=q)["title"] == "x"


def test_quirk_active_ignored() -> None:
    q = frozenset({Quirk.PATCH_ACTIVE_IGNORED})
    out = patch_user({"op": "replace", "value": {"active": False, "title": "t"}}, quirks=q)
    assert out["active"] is True and out["title"] == "t"
    assert patch_user({"op": "add", "value": {"active": False}}, quirks=q)["active"] is True
    # a path-addressed replace still works (the quirk breaks Okta's pathless form only)
    assert patch_user({"op": "replace", "path": "active", "value": False}, quirks=q)["active"] is False


def test_quirk_no_value_filter() -> None:
    q = frozenset({Quirk.PATCH_NO_VALUE_FILTER})
    exc = error(patch_group, {"op": "remove", "path": 'members[value eq "u2"]'}, quirks=q)
    assert exc.scim_type == "invalidPath"
    assert patch_group({"op": "remove", "path": "members"}, quirks=q).get("members") is None


def test_quirk_string_bool_rejected() -> None:
    q = frozenset({Quirk.PATCH_STRING_BOOL_REJECTED})
    exc = error(patch_user, {"op": "Replace", "path": "active", "value": "False"}, quirks=q)
    assert exc.scim_type == "invalidValue"
    assert patch_user({"op": "replace", "path": "active", "value": False}, quirks=q)["active"] is False


def test_quirk_no_target_ignored() -> None:
    q = frozenset({Quirk.PATCH_NO_TARGET_IGNORED})
    assert patch_user({"op": "remove", "path": 'emails[type eq "other"]'}, quirks=q) == USER
    # replace keeps answering noTarget; the quirk is about remove
    assert (
        error(
            patch_user, {"op": "replace", "path": 'emails[type eq "x"].value', "value": "v"}, quirks=q
        ).scim_type
        == "noTarget"
    )


def test_quirk_add_replaces_members() -> None:
    q = frozenset({Quirk.PATCH_ADD_REPLACES_MEMBERS})
    out = patch_group({"op": "add", "path": "members", "value": [{"value": "new"}]}, quirks=q)
    assert out["members"] == [{"value": "new"}]
    # other multi-valued attributes still append
    assert (
        len(patch_user({"op": "add", "path": "emails", "value": [{"value": "n@x"}]}, quirks=q)["emails"]) == 3
    )


def test_quirk_immutable_writable() -> None:
    q = frozenset({Quirk.IMMUTABLE_WRITABLE})
    out = patch_group({"op": "replace", "path": 'members[value eq "u2"].value', "value": "u3"}, quirks=q)
    assert out["members"][1]["value"] == "u3"


def test_quirk_readonly_writable() -> None:
    q = frozenset({Quirk.READONLY_WRITABLE})
    out = patch_user({"op": "add", "path": "groups", "value": [{"value": "g1"}]}, quirks=q)
    assert out["groups"] == [{"value": "g1"}]
    # id and meta stay protected
    assert (
        error(patch_user, {"op": "replace", "path": "id", "value": "x"}, quirks=q).scim_type == "mutability"
    )
    exc = error(
        patch_user, {"op": "replace", "path": "meta.created", "value": "2021-01-01T00:00:00Z"}, quirks=q
    )
    assert exc.scim_type == "mutability"


def test_quirks_are_off_by_default() -> None:
    assert (
        error(patch_user, {"op": "add", "path": "groups", "value": [{"value": "g1"}]}).scim_type
        == "mutability"
    )
    assert patch_user({"op": "Remove", "path": "displayName"}).get("displayName") is None


# -- unqualified extension attribute names (RFC 7644 §3.10) and Entra's manager update ----------
#: Microsoft's SCIM tutorial, "Example 5. Request from Microsoft Entra ID to an SCIM endpoint to update
#: a user" (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups).
ENTRA_MANAGER_OP = {"op": "Add", "path": "manager", "value": [
    {"$ref": "http://scim.test/scim/v2/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
     "value": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee"}]}


def test_entra_manager_update_resolves_to_the_enterprise_extension() -> None:
    """"Clients MAY omit core schema attribute URN prefixes but SHOULD fully qualify extended
    attributes" (RFC 7644 §3.10): `manager` is defined by exactly one extension, so it names that one."""
    out = patch_user(ENTRA_MANAGER_OP)
    assert out[ENTERPRISE_USER]["manager"] == ENTRA_MANAGER_OP["value"][0]  # type: ignore[index]
    assert ENTERPRISE_USER in out["schemas"]
    assert "manager" not in out
    qualified = patch_user({"op": "add", "path": f"{ENTERPRISE_USER}:manager", "value": {"value": "m1"}})
    assert qualified[ENTERPRISE_USER]["manager"] == {"value": "m1"}
    assert patch_user({"op": "replace", "path": "employeeNumber", "value": "42"})[ENTERPRISE_USER] == {
        "employeeNumber": "42"}


def test_unqualified_names_prefer_core_and_stay_strict_elsewhere() -> None:
    # core first: `displayName` is the core attribute, never an extension's
    assert patch_user({"op": "replace", "path": "displayName", "value": "B"})["displayName"] == "B"
    # a name no schema defines is still refused, and an array of two is no single value
    assert error(patch_user, {"op": "add", "path": "nosuchattr", "value": "x"}).scim_type == "invalidPath"
    two = [{"value": "a"}, {"value": "b"}]
    assert error(patch_user, {"op": "add", "path": "manager", "value": two}).scim_type == "invalidValue"
    # a name two extensions define is ambiguous: unresolved
    ext_b = "urn:example:params:scim:schemas:extension:b:2.0:User"
    schemas = [s for s in _rfc_json("schemas.json")] + [
        {"id": ext_b, "name": "B", "attributes": [{"name": "manager", "type": "string", "multiValued": False}]}]
    rts = _rfc_json("resource_types.json")
    for rt in rts:
        if rt["name"] == "User":
            rt["schemaExtensions"] = [*rt["schemaExtensions"], {"schema": ext_b, "required": False}]
    reg = SchemaRegistry(schemas, rts, _rfc_json("common_attributes.json"))
    user_rt = reg.resource_type("User")
    assert reg.resolve(user_rt, "manager", unqualified_extensions=True) is None
    assert reg.resolve(user_rt, "employeeNumber", unqualified_extensions=True) is not None
    # outside PATCH paths and filters (bodies, attributes=, the harness's factory) names stay strict
    assert REG.resolve(USER_RT, "manager") is None


def test_unqualified_extension_rejected_quirk_refuses_entra_manager() -> None:
    quirk = frozenset({Quirk.UNQUALIFIED_EXTENSION_REJECTED})
    assert error(patch_user, ENTRA_MANAGER_OP, quirks=quirk).scim_type == "invalidPath"
    qualified = {**ENTRA_MANAGER_OP, "path": f"{ENTERPRISE_USER}:manager"}
    assert error(patch_user, qualified, quirks=quirk).scim_type == "invalidValue"  # the one-item array


def _rfc_json(name: str) -> Any:
    import json

    from scimitar.schema import fixtures_dir

    return json.loads((fixtures_dir() / name).read_text())


def test_filter_on_an_unqualified_extension_attribute() -> None:
    """Entra checks a reference before updating it ("Query the value of a reference attribute to be
    updated", the tutorial's Example 4): `manager` in a filter resolves like the PATCH path."""
    from tests.server_client import make_client

    c = make_client()
    h = {"Content-Type": "application/scim+json"}
    made = c.post("/Users", headers=h, json={"schemas": [CORE_USER, ENTERPRISE_USER], "userName": "r@x.example",
                                              ENTERPRISE_USER: {"manager": {"value": "m-1"}}})
    assert made.status_code == 201
    found = c.get("/Users", headers=h, params={"filter": 'manager.value eq "m-1"'}).json()
    assert found["totalResults"] == 1 and found["Resources"][0]["id"] == made.json()["id"]
