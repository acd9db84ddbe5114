"""The admin API validates what it is sent, and nothing it is sent can break the SCIM side
(issue 10, item 12).

`POST /_admin/credentials {"token": 12345}` once stored a number as a secret: every SCIM request
then answered a plain-text 500 (the comparison of secrets failed) until restart, and the bad
credential could be neither listed nor revoked. Every admin endpoint now checks types, lengths and
unknown fields before it changes anything; a property test throws arbitrary JSON at all of them
and then requires SCIM (and the admin listing) to work as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.server_client import make_client, user_body  # noqa: E402
from tests.test_server_fuzz import json_values, keys  # noqa: E402

ADMIN = "admin-token-0123456789"
ADMIN_URL = "http://scim.test/_admin"


def _client(profile: str = "rfc") -> httpx.Client:
    return make_client(admin_token=ADMIN, profile=profile)


def _admin(c: httpx.Client, method: str, path: str, body: Any = None, raw: bytes | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    if raw is not None:
        return c.request(method, ADMIN_URL + path, content=raw, headers={**headers, "Content-Type": "application/json"})
    return c.request(method, ADMIN_URL + path, json=body, headers=headers)


def _state(c: httpx.Client) -> tuple[Any, Any, Any]:
    return (
        _admin(c, "GET", "/credentials").json(),
        _admin(c, "GET", "/roles").json(),
        _admin(c, "GET", "/settings").json(),
    )


def _scim_works(c: httpx.Client) -> None:
    r = c.get("/Users", params={"count": 1})
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("application/scim+json")


@pytest.fixture
def c() -> Iterator[httpx.Client]:
    client = _client()
    yield client
    client.close()


def test_numeric_token_is_a_clear_400_and_scim_keeps_working(c: httpx.Client) -> None:
    before = _state(c)
    r = _admin(c, "POST", "/credentials", {"token": 12345})
    assert r.status_code == 400, r.text
    assert r.json()["scimType"] == "invalidValue" and "'token' must be a string" in r.json()["detail"]
    assert _state(c) == before
    _scim_works(c)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/credentials", {"token": 12345}, "token"),
        ("/credentials", {"token": ["a"]}, "token"),
        ("/credentials", {"token": ""}, "token"),
        ("/credentials", {"token": "has space"}, "token"),
        ("/credentials", {"token": "x" * 5000}, "token"),
        ("/credentials", {"token": "é-token-0123"}, "token"),
        ("/credentials", {"kind": 7}, "kind"),
        ("/credentials", {"kind": "oauth"}, "kind"),
        ("/credentials", {"kind": "basic", "key": {"a": 1}}, "key"),
        ("/credentials", {"kind": "basic", "key": "a:b"}, "key"),
        ("/credentials", {"kind": "basic", "secret": 3.5}, "secret"),
        ("/credentials", {"kind": "basic", "secret": "tab\there"}, "secret"),
        ("/credentials", {"kind": "basic", "token": "abc"}, "token"),
        ("/credentials", {"kind": "bearer", "secret": "abc"}, "secret"),
        ("/credentials", {"tokne": "typo-0123456789"}, "tokne"),
        ("/roles", {"name": 5}, "name"),
        ("/roles", {"name": ""}, "name"),
        ("/roles", {"name": "R", "scimGroup": {"x": 1}}, "scimGroup"),
        ("/roles", {"name": "R", "scimGroup": "a\x00b"}, "scimGroup"),
        ("/roles", {"name": "Member"}, "system role"),
        ("/roles", {"name": "R", "extra": 1}, "extra"),
        ("/settings", {"strictRoleMapping": "false"}, "strictRoleMapping"),
        ("/settings", {"strictRoleMapping": 1}, "strictRoleMapping"),
        ("/settings", {"defaultRole": 5}, "defaultRole"),
        ("/settings", {"defaultRole": "No-such-role"}, "defaultRole"),
        ("/settings", {"defaultRole": None}, "defaultRole"),
        ("/settings", {"strictRoleMapping": True, "defaultRole": "nope"}, "defaultRole"),
        ("/signin", {"userName": 5}, "userName"),
        ("/signin", {"userName": ["a"]}, "userName"),
        ("/signin", {"userName": "a", "password": "x"}, "password"),
    ],
)
def test_admin_fields_are_validated_and_a_refusal_changes_nothing(
    c: httpx.Client, path: str, body: Any, field: str
) -> None:
    before = _state(c)
    r = _admin(c, "POST", path, body)
    assert r.status_code == 400, r.text
    assert r.json()["scimType"] == "invalidValue" and field in r.json()["detail"], r.text
    assert _state(c) == before  # `strictRoleMapping: true` with a bad defaultRole sets neither
    _scim_works(c)


@pytest.mark.parametrize("raw", [b"[1]", b"12", b"{", b'"x"', b"\xff", b"{" + b'"a":' * 10 + b"1"])
def test_admin_bodies_must_be_json_objects(c: httpx.Client, raw: bytes) -> None:
    r = _admin(c, "POST", "/roles", raw=raw)
    assert r.status_code == 400 and r.json()["scimType"] == "invalidSyntax", r.text


def test_admin_body_size_is_bounded(c: httpx.Client) -> None:
    r = _admin(c, "POST", "/signin", raw=b'{"userName": "' + b"a" * 100_000 + b'"}')
    assert r.status_code == 413, r.text


def test_valid_admin_requests_still_work() -> None:
    c = _client("clickhouse")
    r = _admin(c, "POST", "/credentials", {"kind": "bearer", "token": "A1b2-C3d4.E5f6_G7h8~9/+=="})
    assert r.status_code == 201, r.text
    assert c.get("/Users", headers={"Authorization": "Bearer A1b2-C3d4.E5f6_G7h8~9/+=="}).status_code == 200
    _admin(c, "DELETE", f"/credentials/{r.json()['id']}")
    r = _admin(c, "POST", "/credentials", {"kind": "basic", "key": "scim_abc", "secret": "s3cr:et!"})
    assert r.status_code == 201, r.text
    assert c.get("/Users", auth=("scim_abc", "s3cr:et!")).status_code == 200
    assert _admin(c, "POST", "/roles", {"name": "Ops", "scimGroup": None}).status_code == 200
    r = _admin(c, "POST", "/settings", {"strictRoleMapping": True, "defaultRole": "Ops"})
    assert r.status_code == 200 and r.json()["strictRoleMapping"] is True and r.json()["defaultRole"] == "Ops"
    c.post("/Users", json=user_body("ops@example.com", emails=[{"value": "ops@example.com", "primary": True}]))
    assert _admin(c, "POST", "/signin", {"userName": "ops@example.com"}).json()["allowed"] is True


ENDPOINTS = [
    ("GET", "/credentials"), ("POST", "/credentials"), ("DELETE", "/credentials/{text}"), ("GET", "/members"),
    ("GET", "/roles"), ("POST", "/roles"), ("GET", "/settings"), ("POST", "/settings"), ("GET", "/audit"),
    ("POST", "/signin"), ("POST", "/reset"), ("PUT", "/credentials"), ("POST", "/{text}"),
]  # fmt: skip
FIELDS = ["kind", "token", "key", "secret", "name", "scimGroup", "strictRoleMapping", "defaultRole", "userName"]
#: values of the wrong JSON type for every admin field (the issue's `{"token": 12345}` among them)
wrong_types = st.one_of(
    st.integers(-(2**63), 2**63), st.floats(allow_nan=False), st.booleans(),
    st.lists(st.text(max_size=3), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)  # fmt: skip
#: one field with a value of the wrong type, the shape most likely to slip past a check
one_wrong = st.builds(lambda k, v: {k: v}, st.sampled_from(FIELDS), wrong_types)
admin_bodies = st.one_of(
    one_wrong,
    json_values,
    st.dictionaries(st.sampled_from(FIELDS), wrong_types, min_size=1, max_size=3),
    st.dictionaries(st.sampled_from(FIELDS) | keys, json_values, max_size=4),
    st.fixed_dictionaries(
        {},
        optional={
            "kind": st.sampled_from(["bearer", "basic", "BASIC", "", "x"]) | json_values,
            "token": st.text(min_size=1, max_size=30) | json_values,
            "key": st.text(max_size=12) | json_values,
            "secret": st.text(max_size=12) | json_values,
        },
    ),
    st.fixed_dictionaries(
        {"name": st.text(max_size=12) | json_values},
        optional={"scimGroup": st.text(max_size=12) | json_values},
    ),
)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{m} {p}" for m, p in ENDPOINTS])
@pytest.mark.parametrize("profile", ["rfc", "clickhouse"])
def test_fuzzing_the_admin_api_never_breaks_scim(profile: str, endpoint: tuple[str, str]) -> None:
    c = _client(profile)
    own = _admin(c, "GET", "/credentials").json()["credentials"][0]["id"]  # the token the checks use
    method, template = endpoint

    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(
        text=st.text(max_size=20).filter(lambda t: t != own),
        body=admin_bodies,
        as_json=st.integers(0, 5),
    )
    def one(text: str, body: Any, as_json: int) -> None:
        path = template.replace("{text}", quote(text, safe="") or "x")
        r = _admin(c, method, path, body if as_json else None)
        assert r.status_code < 500, (method, path, body, r.status_code, r.text[:300])
        _scim_works(c)
        listing = _admin(c, "GET", "/credentials")
        assert listing.status_code == 200, listing.text[:300]
        live = [cred for cred in listing.json()["credentials"] if not cred["revoked"]]
        for cred in live:  # keep room for the next example's POST /credentials
            if cred["id"] != own:
                _admin(c, "DELETE", f"/credentials/{cred['id']}")

    one()
    _scim_works(c)
    assert c.post("/Users", json=user_body("after-fuzz@example.com")).status_code == 201
    c.close()
