"""The filter grammar and its evaluation (RFC 7644 §3.4.2.2, §3.10, §3.4.2.3)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from scimitar.schema import ENTERPRISE_USER, SchemaRegistry
from scimitar.server.filters import (
    And,
    AttrPath,
    Compare,
    Complex,
    FilterError,
    Not,
    Or,
    PatchPath,
    PathError,
    Present,
    compile_filter,
    equality_terms,
    parse_attr_path,
    parse_filter,
    parse_patch_path,
    sort_key,
)

REG = SchemaRegistry.default()
USER = REG.resource_type("User")
GROUP = REG.resource_type("Group")
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"

BJENSEN: dict[str, Any] = {
    "schemas": [CORE, ENTERPRISE_USER],
    "id": "2819c223-7f76-453a-919d-413861904646",
    "externalId": "Bjensen-Ext",
    "userName": "bjensen@example.com",
    "name": {"givenName": "Barbara", "familyName": "O'Malley"},
    "displayName": "Babs Jensen",
    "title": "Tour Guide",
    "userType": "Employee",
    "active": True,
    "emails": [
        {"value": "bjensen@example.com", "type": "work", "primary": True},
        {"value": "babs@jensen.org", "type": "home"},
    ],
    "x509Certificates": [{"value": "TUlJRA=="}],
    "meta": {
        "resourceType": "User",
        "created": "2010-01-23T04:56:22Z",
        "lastModified": "2011-05-13T04:42:34+02:00",
    },
    ENTERPRISE_USER: {"employeeNumber": "701984", "department": "Tour", "manager": {"value": "26118915"}},
}

A = AttrPath("", "a")
B = AttrPath("", "b")
C = AttrPath("", "c")


def match(text: str, resource: dict[str, Any] = BJENSEN, **flags: bool) -> bool:
    return compile_filter(parse_filter(text), USER, REG, **flags)(resource)


# ------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('userName eq "bjensen"', Compare(AttrPath("", "userName"), "eq", "bjensen")),
        ('USERNAME EQ "x"', Compare(AttrPath("", "USERNAME"), "eq", "x")),
        ("title pr", Present(AttrPath("", "title"))),
        ("title PR", Present(AttrPath("", "title"))),
        ('name.familyName co "O\'Malley"', Compare(AttrPath("", "name", "familyName"), "co", "O'Malley")),
        ('a eq "q\\"uote\\u00e9"', Compare(A, "eq", 'q"uoteé')),
        ("a eq true", Compare(A, "eq", True)),
        ("a eq FALSE", Compare(A, "eq", False)),
        ("a eq null", Compare(A, "eq", None)),
        ("a gt 10", Compare(A, "gt", 10)),
        ("a lt -2.5", Compare(A, "lt", -2.5)),
        ("a ge 1e3", Compare(A, "ge", 1000.0)),
        ("  a   eq    1  ", Compare(A, "eq", 1)),
        # precedence: not > and > or
        ("a pr or b pr and c pr", Or(Present(A), And(Present(B), Present(C)))),
        ("a pr and b pr or c pr", Or(And(Present(A), Present(B)), Present(C))),
        ("(a pr or b pr) and c pr", And(Or(Present(A), Present(B)), Present(C))),
        ("not (a pr) and b pr", And(Not(Present(A)), Present(B))),
        ("not(a pr)", Not(Present(A))),
        ("NOT (a pr or b pr)", Not(Or(Present(A), Present(B)))),
        ("((a pr))", Present(A)),
        ("a pr and b pr and c pr", And(And(Present(A), Present(B)), Present(C))),
        ("a pr AND b pr OR c pr", Or(And(Present(A), Present(B)), Present(C))),
        ("not pr", Present(AttrPath("", "not"))),
        ("andy pr", Present(AttrPath("", "andy"))),
        (
            'emails[type eq "work" and value co "@example.com"]',
            Complex(
                AttrPath("", "emails"),
                And(
                    Compare(AttrPath("", "type"), "eq", "work"),
                    Compare(AttrPath("", "value"), "co", "@example.com"),
                ),
            ),
        ),
        (
            'emails[type eq "work"].value eq "x"',
            Complex(
                AttrPath("", "emails"),
                And(Compare(AttrPath("", "type"), "eq", "work"), Compare(AttrPath("", "value"), "eq", "x")),
            ),
        ),
        (
            f'{CORE}:userName sw "J"',
            Compare(AttrPath(CORE, "userName"), "sw", "J"),
        ),
        (
            f'{ENTERPRISE_USER}:manager.value eq "1"',
            Compare(AttrPath(ENTERPRISE_USER, "manager", "value"), "eq", "1"),
        ),
        ("members.$ref pr", Present(AttrPath("", "members", "$ref"))),
    ],
)
def test_parse(text: str, expected: object) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("userName", "operator"),
        ("userName eq", "value"),
        ('userName eq "x', "unterminated string"),
        ('userName eq "\\x"', "invalid string"),
        ("userName eq bjensen", "expected a value"),
        ('userName regex "x"', "'regex'"),
        ('userName eq "x" foo', "'and', 'or' or the end"),
        ('userName eq "x" and', "attribute name"),
        ("not a pr", "'(' after 'not'"),
        ("(a pr", "')'"),
        ("a pr)", "end of the filter"),
        ('emails[type eq "work"', "']'"),
        ('emails[type eq "work"] eq "x"', "end of the filter"),
        ('emails[types[x eq "y"]]', "do not nest"),
        ('name.givenName[x eq "y"]', "'['"),
        ("a.b.c pr", "not an attribute path"),
        ('1abc eq "x"', "not an attribute path"),
        ('urn: eq "x"', "without an attribute name"),
        ('userName eq"x"', "space"),
        ('userNameeq "x"', "operator"),
        ("a eq 01", "expected a value"),
    ],
)
def test_parse_errors(text: str, fragment: str) -> None:
    with pytest.raises(FilterError) as exc:
        parse_filter(text)
    assert fragment in str(exc.value)


def test_error_names_the_position() -> None:
    with pytest.raises(FilterError, match="at character 17"):
        parse_filter('userName eq "x" foo')


def test_attr_path_str_roundtrip() -> None:
    for text in ["userName", "name.givenName", f"{ENTERPRISE_USER}:manager.value", f"{CORE}:userName"]:
        assert str(parse_attr_path(text)) == text


@pytest.mark.parametrize("text", ["", "a b", "a[", "a.b.c", "urn:", 'emails[type eq "w"]'])
def test_attr_path_errors(text: str) -> None:
    with pytest.raises(PathError):
        parse_attr_path(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("members", PatchPath(AttrPath("", "members"))),
        ("name.familyName", PatchPath(AttrPath("", "name", "familyName"))),
        (
            'emails[type eq "work"].value',
            PatchPath(AttrPath("", "emails"), Compare(AttrPath("", "type"), "eq", "work"), "value"),
        ),
        (
            'members[value eq "2819c223"]',
            PatchPath(AttrPath("", "members"), Compare(AttrPath("", "value"), "eq", "2819c223")),
        ),
        (f"{ENTERPRISE_USER}:department", PatchPath(AttrPath(ENTERPRISE_USER, "department"))),
        (f"{ENTERPRISE_USER}:manager.value", PatchPath(AttrPath(ENTERPRISE_USER, "manager", "value"))),
    ],
)
def test_patch_path(text: str, expected: PatchPath) -> None:
    assert parse_patch_path(text) == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", PathError),
        ("emails[", FilterError),
        ('emails[type eq "work"]value', PathError),
        ('emails[type eq "work"].', PathError),
        ('emails[type eq "work"] x', PathError),
        ('name.givenName[type eq "x"]', PathError),
        ("emails[type eq work]", FilterError),
        ("a b", PathError),
    ],
)
def test_patch_path_errors(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_patch_path(text)


# ------------------------------------------------------------------------------- evaluation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # eq / ne, caseExact false (userName) vs true (id, externalId)
        ('userName eq "bjensen@example.com"', True),
        ('userName eq "BJENSEN@EXAMPLE.COM"', True),
        ('userName eq "other"', False),
        ('userName ne "BJENSEN@example.com"', False),
        ('userName ne "x"', True),
        ('id eq "2819c223-7f76-453a-919d-413861904646"', True),
        ('id eq "2819C223-7F76-453A-919D-413861904646"', False),
        ('externalId eq "Bjensen-Ext"', True),
        ('externalId eq "bjensen-ext"', False),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen@example.com"', True),
        # co / sw / ew
        ('userName co "JENSEN"', True),
        ('userName sw "bj"', True),
        ('userName sw "jensen"', False),
        ('userName ew ".COM"', True),
        ('externalId co "ext"', False),
        ('externalId co "Ext"', True),
        # string ordering (case-insensitive for userName)
        ('userName gt "A"', True),
        ('userName lt "C"', True),
        ('displayName ge "babs jensen"', True),
        ('displayName le "babs jensen"', True),
        ('displayName gt "babs jensen"', False),
        # sub-attributes
        ('name.familyName co "o\'malley"', True),
        ('name.givenName eq "Barbara"', True),
        ('name.givenName eq "x"', False),
        # pr
        ("title pr", True),
        ("nickName pr", False),
        ("name pr", True),
        ("emails pr", True),
        ("phoneNumbers pr", False),
        ("emails.type pr", True),
        # booleans
        ("active eq true", True),
        ("active eq false", False),
        ("active ne false", True),
        ("emails.primary eq true", True),
        # multi-valued: any value matches; complex without sub-attribute compares "value"
        ('emails.value eq "babs@jensen.org"', True),
        ('emails co "jensen.org"', True),
        ('emails co "nowhere"', False),
        ('emails.type eq "home"', True),
        ('emails.type eq "other"', False),
        # complex value filters
        ('emails[type eq "work" and value co "@example.com"]', True),
        ('emails[type eq "home" and value co "@example.com"]', False),
        ('emails[TYPE eq "WORK"]', True),
        ('emails[not (type eq "work")]', True),
        ('emails[type eq "work"].value eq "bjensen@example.com"', True),
        ('emails[type eq "home"].value eq "bjensen@example.com"', False),
        ('phoneNumbers[type eq "work"]', False),
        # dateTime: instants, with offsets
        ('meta.lastModified eq "2011-05-13T02:42:34Z"', True),
        ('meta.lastModified gt "2011-05-13T04:42:34Z"', False),
        ('meta.lastModified lt "2011-05-13T04:42:34Z"', True),
        ('meta.lastModified ge "2011-05-13T02:42:34.000Z"', True),
        ('meta.lastModified le "2011-05-13T01:42:34-01:00"', True),
        ('meta.created gt "2010-01-23T04:56:21Z"', True),
        ('meta.created lt "2010-01-23T04:56:22.5Z"', True),
        ('meta.created ne "2010-01-23T04:56:22Z"', False),
        # binary: eq only
        ('x509Certificates.value eq "TUlJRA=="', True),
        # extension attributes
        (f'{ENTERPRISE_USER}:employeeNumber eq "701984"', True),
        (f'{ENTERPRISE_USER}:department eq "TOUR"', True),
        (f"{ENTERPRISE_USER}:costCenter pr", False),
        (f'{ENTERPRISE_USER}:manager.value eq "26118915"', True),
        (f"{ENTERPRISE_USER}:manager pr", True),
        # schemas (RFC 7644 Figure 2)
        (f'schemas eq "{ENTERPRISE_USER}"', True),
        ('schemas eq "urn:x"', False),
        # logic and precedence
        ('title pr and userType eq "Employee"', True),
        ('title pr and userType eq "Intern"', False),
        ('nickName pr or userType eq "Employee"', True),
        ('userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', True),
        ('userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', False),
        ('not (userName eq "x")', True),
        ('userName eq "x" or userName eq "y" and active eq true', False),
        ('userName eq "x" and userName eq "y" or active eq true', True),
        ('(userName eq "x" or active eq true) and title pr', True),
        # null is "unassigned" (RFC 7643 §2.5)
        ("nickName eq null", True),
        ("title eq null", False),
        ("title ne null", True),
        # ne on an unassigned attribute matches (no value is identical)
        ('nickName ne "x"', True),
    ],
)
def test_evaluate(text: str, expected: bool) -> None:
    assert match(text) is expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('nosuch eq "x"', "unknown attribute 'nosuch'"),
        ('name.nosuch eq "x"', "no sub-attribute"),
        ('userName.sub eq "x"', "without sub-attributes"),
        ('urn:x:y:z:userName eq "x"', "unknown attribute"),
        (f'{ENTERPRISE_USER}:nosuch eq "x"', "unknown attribute"),
        ("active gt true", "'gt' cannot be used with the boolean"),
        ("active ge false", "boolean"),
        ("active lt true", "boolean"),
        ("active le true", "boolean"),
        ('x509Certificates.value gt "AA=="', "binary"),
        ('active co "t"', "needs a string"),
        ('meta.created sw "2010"', "needs a string"),
        ('active eq "yes"', "boolean attribute"),
        ("userName eq 1", "quoted string"),
        ("userName eq true", "quoted string"),
        ('meta.created gt "yesterday"', "dateTime"),
        ("meta.created gt 5", "dateTime"),
        ('name eq "x"', "complex attribute"),
        ('name co "x"', "complex attribute"),
        ("userName gt null", "null can only"),
        ('emails[nosuch eq "x"]', "no sub-attribute"),
        ('userName[x eq "y"]', "value filters apply to complex"),
        (f'emails[{CORE}:userName eq "x"]', "URN"),
    ],
)
def test_compile_errors(text: str, fragment: str) -> None:
    with pytest.raises(FilterError) as exc:
        compile_filter(parse_filter(text), USER, REG)
    assert fragment in str(exc.value)


def test_group_attributes() -> None:
    group = {"id": "g1", "displayName": "Admins", "members": [{"value": "u1", "display": "Ann"}]}
    assert compile_filter(parse_filter('displayName eq "admins"'), GROUP, REG)(group)
    assert compile_filter(parse_filter('members[value eq "u1"]'), GROUP, REG)(group)
    assert compile_filter(parse_filter('members.value eq "u1"'), GROUP, REG)(group)
    # members.value is not caseExact in RFC 7643 §8.7.1, so case folds
    assert compile_filter(parse_filter('members.value eq "U1"'), GROUP, REG)(group)
    with pytest.raises(FilterError):
        compile_filter(parse_filter('userName eq "x"'), GROUP, REG)


def test_numbers_compare_numerically() -> None:
    # no integer/decimal attribute in the RFC schemas: use a one-off registry
    schemas = [
        {
            "id": "urn:x:Thing",
            "name": "Thing",
            "attributes": [
                {"name": "score", "type": "integer"},
                {"name": "ratio", "type": "decimal"},
            ],
        }
    ]
    reg = SchemaRegistry(schemas, [{"name": "Thing", "endpoint": "/Things", "schema": "urn:x:Thing"}], [])
    rt = reg.resource_type("Thing")
    thing = {"score": 10, "ratio": 0.5}
    cases = [
        ("score gt 9", True),
        ("score gt 10", False),
        ("score ge 10", True),
        ("score lt 10.5", True),
        ("score eq 10", True),
        ("score ne 10", False),
        ("ratio le 0.5", True),
        ("ratio gt 0.25", True),
        ("ratio eq 1", False),
    ]
    for text, expected in cases:
        assert compile_filter(parse_filter(text), rt, reg)(thing) is expected, text
    for bad in ['score eq "10"', "score eq true", "score co 1"]:
        with pytest.raises(FilterError):
            compile_filter(parse_filter(bad), rt, reg)


# ------------------------------------------------------------------------------- quirks


def test_quirk_case_sensitive() -> None:
    assert match('userName eq "BJENSEN@EXAMPLE.COM"')
    assert not match('userName eq "BJENSEN@EXAMPLE.COM"', case_sensitive=True)
    assert match('userName eq "bjensen@example.com"', case_sensitive=True)


def test_quirk_string_dates() -> None:
    # 04:42:34+02:00 is 02:42:34Z: as an instant it is earlier, as a string it is later
    assert not match('meta.lastModified gt "2011-05-13T03:00:00Z"')
    assert match('meta.lastModified gt "2011-05-13T03:00:00Z"', string_dates=True)


def test_quirk_no_complex() -> None:
    assert match('emails[type eq "work"]')
    with pytest.raises(FilterError, match="not supported"):
        match('emails[type eq "work"]', no_complex=True)
    assert match('emails.type eq "work"', no_complex=True)


# ------------------------------------------------------------------------------- index terms


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ('userName eq "x"', {"username": "x"}),
        ('USERNAME eq "X"', {"username": "X"}),
        ('externalId eq "e" and userName eq "u"', {"externalid": "e", "username": "u"}),
        ('id eq "1" and active eq true', {"id": "1", "active": True}),
        (f'{CORE}:userName eq "x"', {"username": "x"}),
        ('displayName eq "G"', {"displayname": "G"}),
        ('userName eq "x" and title pr', {"username": "x"}),
        ('userName eq "x" or userName eq "y"', {}),
        ('not (userName eq "x")', {}),
        ('userName ne "x"', {}),
        ('name.givenName eq "x"', {}),
        (f'{ENTERPRISE_USER}:department eq "x"', {}),
        ('emails[type eq "work"]', {}),
        ("nickName eq null", {}),
    ],
)
def test_equality_terms(text: str, terms: dict[str, object]) -> None:
    assert equality_terms(parse_filter(text)) == terms


# ------------------------------------------------------------------------------- sorting


def _users() -> list[dict[str, Any]]:
    return [
        {
            "id": "1",
            "userName": "carol",
            "name": {"givenName": "Zoe"},
            "emails": [{"value": "z@x"}],
            "meta": {"created": "2020-01-01T00:00:00Z"},
        },
        {
            "id": "2",
            "userName": "Alice",
            "emails": [{"value": "b@x"}, {"value": "a@x", "primary": True}],
            "meta": {"created": "2020-01-01T01:00:00+02:00"},
        },
        {"id": "3", "userName": "bob", "name": {"givenName": "adam"}},
    ]


@pytest.mark.parametrize(
    ("sort_by", "ascending"),
    [
        ("userName", ["2", "3", "1"]),
        ("USERNAME", ["2", "3", "1"]),
        ("name.givenName", ["3", "1", "2"]),
        ("emails", ["2", "1", "3"]),
        ("emails.value", ["2", "1", "3"]),
        ("meta.created", ["2", "1", "3"]),
        ("id", ["1", "2", "3"]),
    ],
)
def test_sort_key(sort_by: str, ascending: list[str]) -> None:
    key = sort_key(USER, REG, sort_by)
    assert [u["id"] for u in sorted(_users(), key=key)] == ascending
    descending = [u["id"] for u in sorted(_users(), key=key, reverse=True)]
    assert descending == list(reversed(ascending))


def test_sort_missing_last_ascending_first_descending() -> None:
    key = sort_key(USER, REG, "name.givenName")
    users = _users()
    assert sorted(users, key=key)[-1]["id"] == "2"
    assert sorted(users, key=key, reverse=True)[0]["id"] == "2"


def test_sort_case_exact() -> None:
    key = sort_key(USER, REG, "externalId")
    users = [{"id": "1", "externalId": "b"}, {"id": "2", "externalId": "B"}, {"id": "3", "externalId": "a"}]
    assert [u["id"] for u in sorted(users, key=key)] == ["2", "3", "1"]  # "B" < "a" < "b"


@pytest.mark.parametrize("sort_by", ["nosuch", "name", "name.nosuch", "a b", ""])
def test_sort_key_errors(sort_by: str) -> None:
    with pytest.raises(FilterError):
        sort_key(USER, REG, sort_by)


# ------------------------------------------------------------------------------- speed


def test_speed_of_username_eq() -> None:
    fn = compile_filter(parse_filter('userName eq "bjensen@example.com"'), USER, REG)
    n = 100_000
    start = time.perf_counter()
    for _ in range(n):
        fn(BJENSEN)
    per = (time.perf_counter() - start) / n * 1e6
    print(f"\ncompiled userName eq: {per:.3f} µs per resource")
    assert fn(BJENSEN)
