"""The reference server through HTTP (in-process): the RFC behaviour each route promises."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from scimitar.quirks import Quirk
from tests.server_client import ENTERPRISE, GROUP, PATCH, make_client, patch_body, user_body


@pytest.fixture()
def c() -> httpx.Client:
    return make_client()


def create(c: httpx.Client, **kw: Any) -> dict[str, Any]:
    r = c.post("/Users", json=user_body(**kw))
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_discovery_documents(c: httpx.Client) -> None:
    spc = c.get("/ServiceProviderConfig").json()
    assert spc["patch"]["supported"] is True
    assert spc["authenticationSchemes"]
    schemas = c.get("/Schemas").json()
    ids = {s["id"] for s in schemas["Resources"]}
    assert ids == {"urn:ietf:params:scim:schemas:core:2.0:User", GROUP, ENTERPRISE}
    one = c.get(f"/Schemas/{ENTERPRISE}")
    assert one.status_code == 200 and one.json()["id"] == ENTERPRISE
    rts = c.get("/ResourceTypes").json()
    assert {r["name"] for r in rts["Resources"]} == {"User", "Group"}
    assert c.get("/ResourceTypes/User").json()["endpoint"] == "/Users"
    assert c.get("/Schemas?filter=id eq \"x\"").status_code == 403


def test_create_read_replace_delete(c: httpx.Client) -> None:
    r = c.post("/Users", json=user_body(externalId="e1"))
    assert r.status_code == 201
    assert r.headers["content-type"].startswith("application/scim+json")
    body = r.json()
    assert r.headers["location"] == body["meta"]["location"]
    assert r.headers["etag"] == body["meta"]["version"]
    for key in ("created", "lastModified", "location", "resourceType", "version"):
        assert key in body["meta"]
    uid = body["id"]
    got = c.get(f"/Users/{uid}").json()
    assert got["userName"] == "bjensen@example.com" and "password" not in got
    new = user_body(displayName="Babs", id="ignored", meta={"created": "1999-01-01T00:00:00Z"})
    del new["name"]
    r = c.put(f"/Users/{uid}", json=new)
    assert r.status_code == 200, r.text
    put = r.json()
    assert put["id"] == uid and put["displayName"] == "Babs" and "name" not in put
    assert put["meta"]["created"] == body["meta"]["created"]
    assert put["meta"]["version"] != body["meta"]["version"]
    assert c.delete(f"/Users/{uid}").status_code == 204
    gone = c.get(f"/Users/{uid}")
    assert gone.status_code == 404 and gone.json()["status"] == "404"


def test_password_never_returned(c: httpx.Client) -> None:
    body = create(c, password="s3cret!")
    assert "password" not in body
    assert "password" not in c.get(f"/Users/{body['id']}?attributes=password").json()


def test_username_unique_case_insensitive(c: httpx.Client) -> None:
    create(c)
    r = c.post("/Users", json=user_body("BJensen@Example.com"))
    assert r.status_code == 409 and r.json()["scimType"] == "uniqueness"
    found = c.get('/Users?filter=userName eq "BJENSEN@example.COM"').json()
    assert found["totalResults"] == 1


def test_filters_and_paging(c: httpx.Client) -> None:
    for i in range(7):
        create(c, name=f"user{i}@example.com", displayName=f"User {i}")
    page = c.get("/Users?startIndex=3&count=2").json()
    assert page["totalResults"] == 7 and page["startIndex"] == 3 and page["itemsPerPage"] == 2
    assert [r["userName"] for r in page["Resources"]] == ["user2@example.com", "user3@example.com"]
    zero = c.get("/Users?count=0").json()
    assert zero["totalResults"] == 7 and zero["Resources"] == []
    past = c.get("/Users?startIndex=50").json()
    assert past["totalResults"] == 7 and past["Resources"] == []
    co = c.get('/Users?filter=userName co "user1" or userName sw "USER6"').json()
    assert co["totalResults"] == 2
    desc = c.get("/Users?sortBy=userName&sortOrder=descending&count=1").json()
    assert desc["Resources"][0]["userName"] == "user6@example.com"
    bad = c.get('/Users?filter=userName eq')
    assert bad.status_code == 400 and bad.json()["scimType"] == "invalidFilter"
    unknown = c.get('/Users?filter=nosuch eq "x"')
    assert unknown.status_code == 400 and unknown.json()["scimType"] == "invalidFilter"
    none = c.get('/Users?filter=userName eq "nobody@example.com"').json()
    assert none["totalResults"] == 0


def test_attributes_and_excluded(c: httpx.Client) -> None:
    uid = create(c)["id"]
    only = c.get(f"/Users/{uid}?attributes=userName,name.givenName").json()
    assert set(only) == {"schemas", "id", "userName", "name"} and only["name"] == {"givenName": "Barbara"}
    ex = c.get(f"/Users/{uid}?excludedAttributes=emails,id").json()
    assert "emails" not in ex and ex["id"] == uid


def test_patch_okta_and_entra_forms(c: httpx.Client) -> None:
    uid = create(c)["id"]
    r = c.patch(f"/Users/{uid}", json=patch_body({"op": "replace", "value": {"active": False}}))
    assert r.status_code == 200 and r.json()["active"] is False
    r = c.patch(f"/Users/{uid}", json=patch_body({"op": "Replace", "path": "active", "value": "True"}))
    assert r.status_code == 200 and r.json()["active"] is True
    r = c.patch(f"/Users/{uid}", json=patch_body(
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "bj@example.com"}))
    assert r.json()["emails"][0]["value"] == "bj@example.com"
    r = c.patch(f"/Users/{uid}", json=patch_body({"op": "remove", "path": "userName"}))
    assert r.status_code == 400
    assert c.get(f"/Users/{uid}").json()["userName"] == "bjensen@example.com"
    r = c.patch(f"/Users/{uid}", json={"Operations": [{"op": "replace", "path": "active", "value": False}]})
    assert r.status_code == 400 and r.json()["scimType"] == "invalidSyntax"


def test_patch_extension_urn_path_remove_matches_add(c: httpx.Client) -> None:
    # found by scim2-tester: "add"/"replace" accept the extension URN as "path", "remove" answered
    # 400 "unknown attribute" for the same URN. Removing it unassigns every extension attribute.
    uid = create(c)["id"]
    r = c.patch(f"/Users/{uid}", json=patch_body(
        {"op": "add", "path": ENTERPRISE, "value": {"department": "D", "costCenter": "C"}}))
    assert r.status_code == 200, r.text
    assert r.json()[ENTERPRISE] == {"department": "D", "costCenter": "C"}
    assert ENTERPRISE in r.json()["schemas"]
    r = c.patch(f"/Users/{uid}", json=patch_body({"op": "remove", "path": ENTERPRISE.upper()}))
    assert r.status_code == 200, r.text
    assert ENTERPRISE not in r.json() and ENTERPRISE not in r.json()["schemas"]
    r = c.patch(f"/Users/{uid}", json=patch_body({"op": "remove", "path": ENTERPRISE}))
    assert r.status_code == 200, r.text  # removing what is unassigned changes nothing


def test_groups_membership_and_user_groups(c: httpx.Client) -> None:
    a, b = create(c)["id"], create(c, name="x@example.com")["id"]
    g = c.post("/Groups", json={"schemas": [GROUP], "displayName": "Admins", "members": [{"value": a}]})
    assert g.status_code == 201, g.text
    gid = g.json()["id"]
    assert g.json()["members"][0]["type"] == "User"
    r = c.patch(f"/Groups/{gid}", json=patch_body(
        {"op": "remove", "path": f'members[value eq "{a}"]'},
        {"op": "add", "path": "members", "value": [{"value": b}]}))
    assert r.status_code == 200
    assert [m["value"] for m in r.json()["members"]] == [b]
    groups = c.get(f"/Users/{b}").json()["groups"]
    assert groups[0]["value"] == gid and groups[0]["display"] == "Admins"
    assert "groups" not in c.get(f"/Users/{a}").json()
    c.delete(f"/Users/{b}")
    assert "members" not in c.get(f"/Groups/{gid}").json()
    dup = c.post("/Groups", json={"schemas": [GROUP], "displayName": "admins"})
    assert dup.status_code == 409
    bad = c.post("/Groups", json={"schemas": [GROUP], "displayName": "G2", "members": [{"value": "nope"}]})
    assert bad.status_code == 400


def test_etags(c: httpx.Client) -> None:
    body = create(c)
    uid, etag = body["id"], body["meta"]["version"]
    assert c.get(f"/Users/{uid}", headers={"If-None-Match": etag}).status_code == 304
    r = c.patch(f"/Users/{uid}", headers={"If-Match": 'W/"stale"'},
                json=patch_body({"op": "replace", "path": "displayName", "value": "x"}))
    assert r.status_code == 412 and r.json()["status"] == "412"
    r = c.patch(f"/Users/{uid}", headers={"If-Match": etag},
                json=patch_body({"op": "replace", "path": "displayName", "value": "x"}))
    assert r.status_code == 200


def test_bulk_with_bulk_id(c: httpx.Client) -> None:
    r = c.post("/Bulk", json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Groups", "bulkId": "g",
             "data": {"schemas": [GROUP], "displayName": "Team", "members": [{"value": "bulkId:u"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": user_body("bulk@example.com")},
        ]})
    assert r.status_code == 200, r.text
    ops = r.json()["Operations"]
    assert [o["status"] for o in ops] == ["201", "201"]
    gid = ops[0]["location"].rsplit("/", 1)[1]
    uid = ops[1]["location"].rsplit("/", 1)[1]
    assert c.get(f"/Groups/{gid}").json()["members"][0]["value"] == uid
    too_many = c.post("/Bulk", json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                                     "Operations": [{"method": "DELETE", "path": "/Users/x"}] * 1001})
    assert too_many.status_code == 413


def test_search_post(c: httpx.Client) -> None:
    create(c)
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName eq "bjensen@example.com"', "attributes": ["userName"]}
    for path in ("/Users/.search", "/.search"):
        r = c.post(path, json=body)
        assert r.status_code == 200 and r.json()["totalResults"] == 1, r.text


@pytest.mark.parametrize(
    ("method", "path", "content", "status", "scim_type"),
    [
        ("POST", "/Users", b"{not json", 400, "invalidSyntax"),
        ("POST", "/Users", b"[]", 400, "invalidSyntax"),
        ("POST", "/Users", b'{"userName": "x"}', 400, "invalidSyntax"),
        ("POST", "/Users", b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}', 400,
         "invalidValue"),
        ("POST", "/Users", b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], '
                           b'"userName": 5}', 400, "invalidValue"),
        ("POST", "/Users", b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], '
                           b'"userName": "a", "bogus": 1}', 400, "invalidSyntax"),
        ("GET", "/Users?startIndex=abc", b"", 400, "invalidValue"),
        ("GET", "/Users?sortOrder=sideways", b"", 400, "invalidValue"),
        ("GET", "/Nope", b"", 404, None),
        ("DELETE", "/Users", b"", 405, None),
        ("GET", "/Me", b"", 501, None),
    ],
)
def test_bad_requests_get_scim_errors(c: httpx.Client, method: str, path: str, content: bytes,
                                      status: int, scim_type: str | None) -> None:
    r = c.request(method, path, content=content or None,
                  headers={"Content-Type": "application/scim+json"} if content else {})
    assert r.status_code == status, r.text
    body = r.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == str(status) and body["detail"]
    assert body.get("scimType") == scim_type
    assert c.get("/Users").json()["totalResults"] == 0


def test_oversized_body_413() -> None:
    c = make_client(max_payload_size=1000)
    r = c.post("/Users", json=user_body(displayName="x" * 2000))
    assert r.status_code == 413 and r.json()["status"] == "413"


def test_auth_required() -> None:
    c = make_client()
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic !!"}):
        r = c.get("/Users", headers=headers)
        assert r.status_code == 401 and "WWW-Authenticate" in r.headers
        assert r.json()["status"] == "401" and "test-token" not in r.text


def test_quirks_change_behaviour() -> None:
    c = make_client(Quirk.CREATE_200, Quirk.ERROR_STATUS_NUMBER, Quirk.STARTINDEX_IGNORED)
    assert c.post("/Users", json=user_body()).status_code == 200
    assert c.get("/Users/nope").json()["status"] == 404
    c.post("/Users", json=user_body("b@example.com"))
    assert c.get("/Users?startIndex=2&count=1").json()["Resources"][0]["userName"] == "bjensen@example.com"


def test_concurrent_creates_keep_username_unique() -> None:
    c = make_client()
    app = c.app  # type: ignore[attr-defined]
    from scimitar.transport import InProcessTransport

    statuses: list[int] = []

    def worker() -> None:
        with httpx.Client(transport=InProcessTransport(app, lifespan=False), base_url="http://scim.test/scim/v2",
                          headers={"Authorization": "Bearer test-token-0123456789"}) as mine:
            for i in range(20):
                statuses.append(mine.post("/Users", json=user_body(f"race{i}@example.com")).status_code)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(201) == 20 and statuses.count(409) == 60
    assert c.get("/Users?count=0").json()["totalResults"] == 20


def test_patch_content_untouched_on_error(c: httpx.Client) -> None:
    uid = create(c)["id"]
    before = c.get(f"/Users/{uid}").json()
    r = c.patch(f"/Users/{uid}", json=patch_body(
        {"op": "replace", "path": "displayName", "value": "changed"},
        {"op": "replace", "path": "nosuch", "value": 1}))
    assert r.status_code == 400 and r.json()["scimType"] == "invalidPath"
    assert c.get(f"/Users/{uid}").json() == before
    assert PATCH


def test_patch_that_changes_nothing_keeps_meta() -> None:
    # RFC 7644 §3.5.2.1: such an operation "SHALL NOT change the modify timestamp of the resource"
    c = make_client()
    uid = c.post("/Users", json=user_body("noop@example.com", nickName="n")).json()["id"]
    before = c.get(f"/Users/{uid}").json()["meta"]
    r = c.patch(f"/Users/{uid}", json=patch_body({"op": "add", "path": "nickName", "value": "n"}))
    assert r.status_code == 200 and r.json()["meta"]["version"] == before["version"]
    assert c.get(f"/Users/{uid}").json()["meta"]["lastModified"] == before["lastModified"]


def test_if_none_match_uses_weak_comparison() -> None:
    # RFC 7232 §3.2: "A recipient MUST use the weak comparison function" for If-None-Match
    c = make_client()
    r = c.post("/Users", json=user_body("weak@example.com"))
    etag = r.headers["etag"]
    strong = etag.removeprefix("W/")
    assert c.get(f"/Users/{r.json()['id']}", headers={"If-None-Match": strong}).status_code == 304


def test_huge_start_index_is_a_client_error() -> None:
    c = make_client()
    r = c.get("/Users", params={"startIndex": "9" * 30, "count": "9" * 30})
    assert r.status_code == 400 and r.json()["scimType"] == "invalidValue"
    assert c.get("/Users", params={"startIndex": "1", "count": "9" * 30}).status_code == 200


def test_password_is_write_only(c: httpx.Client) -> None:
    """changePassword is unsupported, yet `password` (mutability writeOnly, returned never, RFC 7643
    §4.1.1) is accepted on POST, PUT and PATCH, never returned, and cannot be probed by filter/sort."""
    store = c.app.state.server.service.store  # type: ignore[attr-defined]
    r = c.post("/Users", json=user_body(password="Secret-1"))
    assert r.status_code == 201 and "password" not in r.json()
    uid = r.json()["id"]
    writes = [
        ("PATCH", patch_body({"op": "replace", "path": "password", "value": "Secret-2"}), "Secret-2"),
        ("PATCH", patch_body({"op": "replace", "value": {"password": "Secret-3"}}), "Secret-3"),
        ("PUT", user_body(password="Secret-4"), "Secret-4"),
        ("PUT", user_body(), "Secret-4"),  # a PUT without password keeps it: it was never readable
    ]
    for method, body, stored in writes:
        r = c.request(method, f"/Users/{uid}", json=body)
        assert r.status_code == 200 and "password" not in r.text, r.text
        assert store.get("User", uid)["password"] == stored
    for params in ({}, {"attributes": "password"}, {"attributes": "password,userName"}):
        assert "Secret" not in c.get(f"/Users/{uid}", params=params).text
        assert "Secret" not in c.get("/Users", params=params).text
    probe = c.get("/Users", params={"filter": 'password eq "Secret-4"'})
    assert probe.status_code == 400 and probe.json()["scimType"] == "invalidFilter"
    assert c.get("/Users", params={"sortBy": "password"}).status_code == 400


def test_root_search_sorts_users_and_groups_together(c: httpx.Client) -> None:
    search = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
    import time

    create(c, name="m@example.com", displayName="Mid", externalId="2")
    time.sleep(0.002)  # meta.created has millisecond precision
    c.post("/Groups", json={"schemas": [GROUP], "displayName": "alpha", "externalId": "3"})
    time.sleep(0.002)
    create(c, name="z@example.com", displayName="Zed", externalId="1")
    time.sleep(0.002)
    c.post("/Groups", json={"schemas": [GROUP], "displayName": "beta"})

    def names(sort_by: str, order: str = "ascending") -> list[str]:
        r = c.post("/.search", json={"schemas": [search], "sortBy": sort_by, "sortOrder": order})
        assert r.status_code == 200, r.text
        return [x["displayName"] for x in r.json()["Resources"]]

    assert names("displayName") == ["alpha", "beta", "Mid", "Zed"]
    assert names("DISPLAYNAME", "descending") == ["Zed", "Mid", "beta", "alpha"]
    assert names("externalId") == ["Zed", "Mid", "alpha", "beta"]  # no value: last when ascending
    assert names("meta.created") == ["Mid", "alpha", "Zed", "beta"]
    # an attribute only one type has sorts that type; the other has no value (RFC 7644 §3.4.2.3)
    assert names("userName") == ["Mid", "Zed", "alpha", "beta"]
    assert names("members.value", "descending")[:2] == ["Mid", "Zed"]  # no value: first when descending
    bad = c.post("/.search", json={"schemas": [search], "sortBy": "nope"})
    assert bad.status_code == 400 and bad.json()["scimType"] == "invalidValue"


def test_clickhouse_group_rename_relinks_and_refusals_store_nothing() -> None:
    c = make_client(profile="clickhouse", strict_role_mapping=True)
    org = c.app.state.server.service.org  # type: ignore[attr-defined]
    r = c.post("/Groups", json={"schemas": [GROUP], "displayName": "ClickHouse-Admins"})
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    assert org.group_role[gid] == "Admin"
    rename = patch_body({"op": "replace", "path": "displayName", "value": "Developer"})
    assert c.patch(f"/Groups/{gid}", json=rename).status_code == 200
    assert org.group_role[gid] == "Developer"
    for name in ("Unmapped", "Member"):  # strict: unknown; a system role: never
        r = c.patch(f"/Groups/{gid}", json=patch_body({"op": "replace", "path": "displayName", "value": name}))
        assert r.status_code == 400, r.text
        assert c.get(f"/Groups/{gid}").json()["displayName"] == "Developer" and org.group_role[gid] == "Developer"
        r = c.post("/Groups", json={"schemas": [GROUP], "displayName": name})
        assert r.status_code == 400
    assert c.get("/Groups").json()["totalResults"] == 1 and len(org.group_role) == 1
