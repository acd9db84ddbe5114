"""Seeded fuzz run against the reference server in-process: no 5xx, no change after a failed write.

    python bench/fuzz.py                      # 20,000 requests (rfc and clickhouse profiles), seed 0
    python bench/fuzz.py --requests 50000 --seed 7
    python bench/fuzz.py --requests 3000 --quirk patch-not-atomic   # the counts must catch it

A seeded `random.Random` (not hypothesis: 20,000 requests must take seconds, and the same seed must
give the same run) builds requests from the vocabulary of `tests/test_server_fuzz.py`: valid-ish
Users, Groups, PATCH and Bulk bodies with values swapped for junk, filters from the grammar with
mutations, and the inputs that once reached a 500: numbers past Python's 4,300-digit limit, `1e999999`,
NaN/Infinity, lone surrogates, NUL bytes, non-UTF-8 bytes, deep nesting, huge headers and
Content-Lengths. Before every write the store (tables, indexes, memberships, and the clickhouse
organisation's roles and links) is copied; after a write that failed (a 4xx, or a BulkResponse
whose every operation failed) it must be the same.

Prints the request count, the 5xx count (Bulk operations answering 5xx included), the number of
failed writes that changed stored data, the error answers that were not RFC 7644 §3.12 Error
bodies, and the wall time. Exit status 1 if any count but the request count is not 0.
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import logging
import os
import random
import sys
import time
from typing import Any
from urllib.parse import quote

import httpx

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from scimitar.quirks import Quirk, parse_quirks
from tests.server_client import ENTERPRISE, GROUP, PATCH, USER, make_client, user_body
from tests.test_server_fuzz import ATTR_NAMES, ATTR_PATHS, LITERALS, OPS, URNS

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BIG = "9" * 5000
#: raw JSON fragments no Python value produces: spliced into bodies as text
RAW_JUNK = [BIG, "-" + BIG, "1e999999", "-1e999999", "NaN", "Infinity", "-Infinity", '"\\ud800"',
            '"a\\udfffb"', '"\\u0000"', '"\x00"', "1" + "0" * 400, "0." + "0" * 5000 + "1", "[" * 40 + "]" * 40,
            '"' + "x" * 70000 + '"', "true", "null", "{}", "[]", '"bulkId:b0"', '"bulkId:nope"']  # fmt: skip
SCALARS: list[Any] = [None, True, False, 0, -1, 2**63 - 1, 2**64 - 1, -(2**63), 1.5, -0.0, 1e308, "", "x",
                      "x" * 5000, "é☃\U0001f600", "\x00", "2024-01-01T00:00:00Z", "True", "work", "bulkId:b0"]  # fmt: skip
BIG_FILTER_NUMBERS = [BIG, "-" + BIG, "1e999999", BIG + ".5", "18446744073709551616", "1" + "0" * 4301]


class Gen:
    """Random requests from one seed."""

    def __init__(self, rnd: random.Random) -> None:
        self.r = rnd
        self.n_user = 0

    def pick(self, items: list[Any]) -> Any:
        return items[self.r.randrange(len(items))]

    # -- values ---------------------------------------------------------------------------------
    def junk(self, depth: int = 0) -> Any:
        k = self.r.randrange(10)
        if k < 6 or depth > 2:
            return self.pick(SCALARS)
        if k < 8:
            return [self.junk(depth + 1) for _ in range(self.r.randrange(3))]
        return {self.key(): self.junk(depth + 1) for _ in range(self.r.randrange(3))}

    def key(self) -> str:
        k = self.r.randrange(4)
        name = self.pick(ATTR_NAMES) if k < 2 else self.pick(URNS) if k == 2 else self.pick(["", "x", "$ref", "É"])
        return self.pick([name, name.upper(), name.lower(), name.swapcase()])

    def mutate(self, body: Any) -> Any:
        body = copy.deepcopy(body)
        for _ in range(self.r.randrange(1, 4)):
            holder = body
            for _depth in range(self.r.randrange(3)):
                if isinstance(holder, dict) and holder:
                    nxt = holder[self.pick(sorted(holder))]
                elif isinstance(holder, list) and holder:
                    nxt = self.pick(holder)
                else:
                    break
                if not isinstance(nxt, dict | list) or not nxt:
                    break
                holder = nxt
            if isinstance(holder, dict):
                choice = self.r.randrange(3)
                if choice == 0 and holder:
                    holder[self.pick(sorted(holder))] = self.junk()
                elif choice == 1 and holder:
                    holder.pop(self.pick(sorted(holder)))
                else:
                    holder[self.key()] = self.junk()
            elif isinstance(holder, list) and holder:
                holder[self.r.randrange(len(holder))] = self.junk()
        return body

    def user(self) -> dict[str, Any]:
        self.n_user += 1
        name = f"fz{self.n_user}-{self.r.randrange(10**6)}@example.com"
        body = user_body(name, externalId=f"x{self.n_user}", password="s3cret!", displayName="F")
        if self.r.random() < 0.3:
            body["schemas"] = [USER, ENTERPRISE]
            body[ENTERPRISE] = {"employeeNumber": str(self.n_user), "manager": {"value": "m"}}
        return body if self.r.random() < 0.4 else self.mutate(body)

    def group(self, member: str) -> dict[str, Any]:
        self.n_user += 1
        name = self.pick([f"G{self.n_user}", "ClickHouse-Admins", "Developer", "Member", f"g{self.r.randrange(50)}"])
        body: dict[str, Any] = {"schemas": [GROUP], "displayName": name}
        if self.r.random() < 0.6:
            body["members"] = [{"value": self.pick([member, "nope", "bulkId:b0", "bulkId:b1"])}]
        return body if self.r.random() < 0.4 else self.mutate(body)

    # -- filters and paths ----------------------------------------------------------------------
    def filter(self, depth: int = 0) -> str:
        k = self.r.randrange(6 if depth < 3 else 2)
        if k <= 1:
            path = self.pick(ATTR_PATHS)
            op = self.pick(OPS)
            if op.lower() == "pr":
                return f"{path} {op}"
            lit = self.pick(BIG_FILTER_NUMBERS) if self.r.random() < 0.15 else self.pick(LITERALS)
            return f"{path} {op} {lit}"
        if k == 2:
            return f"{self.filter(depth + 1)} {self.pick(['and', 'or', 'AND'])} {self.filter(depth + 1)}"
        if k == 3:
            return f"not ({self.filter(depth + 1)})"
        if k == 4:
            return f"({self.filter(depth + 1)})"
        return f"{self.pick(['emails', 'members', 'addresses', 'groups'])}[{self.filter(depth + 1)}]"

    def mutated_filter(self) -> str:
        text = self.filter()
        roll = self.r.random()
        if roll < 0.03:
            return " or ".join([text] * 300)  # past the term limit
        if roll < 0.05:
            return text + " or " + 'userName eq "' + "x" * 70000 + '"'  # past the length limit
        for _ in range(self.r.randrange(3)):
            i = self.r.randrange(len(text) + 1)
            text = text[:i] + self.pick([*'()[]"\\ .:$', "and", "\x00", "é", "\\ud800", "\ud800"]) + text[i:]
        return text

    def patch(self) -> Any:
        if self.r.random() < 0.05:
            return self.junk()
        ops = []
        for _ in range(self.r.randrange(4)):
            op: dict[str, Any] = {"op": self.pick(["add", "remove", "replace", "Replace", "move", 3])}
            k = self.r.randrange(4)
            if k == 0:
                op["path"] = self.pick(ATTR_PATHS)
            elif k == 1:
                sub = self.pick(["", ".value", ".primary", ".display"])
                op["path"] = f"{self.pick(['emails', 'members', 'addresses', 'phoneNumbers'])}[{self.mutated_filter()}]{sub}"
            elif k == 2:
                op["path"] = self.pick(['emails[type eq "\\ud800"].value', f"emails[value eq {BIG}]", "emails[", ""])
            if self.r.random() < 0.8:
                op["value"] = self.junk() if self.r.random() < 0.5 else self.pick(
                    ["x@example.com", [{"value": "a@b.c", "type": "work"}], {"displayName": "N"}, True]
                )
            ops.append(op)
        return {"schemas": self.pick([[PATCH]] * 5 + [[], "x"]), "Operations": ops}

    def bulk(self, ids: dict[str, str]) -> Any:
        ops: list[Any] = []
        for i in range(self.r.randrange(1, 6)):
            method = self.pick(["POST", "PUT", "PATCH", "DELETE", "GET", None])
            target = self.pick(["/Users", "/Groups", f"/Users/{ids['user']}", f"/Groups/{ids['group']}",
                                "/Users/bulkId:b0", "/Groups/bulkId:b1", "/Nope", ""])  # fmt: skip
            op: dict[str, Any] = {"method": method, "path": target, "bulkId": self.pick([f"b{i}", "b0", "", 5])}
            if method in ("POST", "PUT"):
                op["data"] = self.user() if "Users" in target else self.group("bulkId:b0")
            elif method == "PATCH":
                op["data"] = self.patch()
            ops.append(op)
        body: dict[str, Any] = {"schemas": [BULK], "Operations": ops}
        if self.r.random() < 0.3:
            body["failOnErrors"] = self.pick([1, 2, 0, "1"])
        return body

    # -- whole requests -------------------------------------------------------------------------
    def request(self, ids: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
        """(method, path, httpx keyword arguments)."""
        kw: dict[str, Any] = {}
        k = self.r.randrange(100)
        u, g = ids["user"], ids["group"]
        if k < 16:
            method, path, body = "POST", "/Users", self.user()
        elif k < 24:
            method, path, body = "POST", "/Groups", self.group(u)
        elif k < 32:
            method, path, body = "PUT", self.pick([f"/Users/{u}", f"/Groups/{g}"]), None
            body = self.user() if "Users" in path else self.group(u)
        elif k < 48:
            method, path, body = "PATCH", self.pick([f"/Users/{u}", f"/Groups/{g}"]), self.patch()
        elif k < 52:
            method, path, body = "DELETE", self.pick([f"/Users/{u}", f"/Groups/{g}", "/Users/nope"]), None
        elif k < 62:
            method, path, body = "POST", "/Bulk", self.bulk(ids)
        elif k < 76:
            method, path, body = "GET", self.pick(["/Users", "/Groups"]), None
            kw["params"] = {"filter": self.mutated_filter()}
            for name in self.r.sample(["startIndex", "count", "sortBy", "attributes", "excludedAttributes"], 2):
                kw["params"][name] = self.pick(["1", "0", "-1", BIG, "1e3", "userName", "emails,,name", "\x00"])
        elif k < 84:
            method, path = "POST", self.pick(["/.search", "/Users/.search", "/Groups/.search"])
            body = {"schemas": [SEARCH], "filter": self.mutated_filter(), "count": self.pick([1, 10, 2**64 - 1, "x"])}
        elif k < 92:
            # raw bytes: junk JSON text spliced into a valid body, or bytes that are not UTF-8
            method = self.pick(["POST", "PUT", "PATCH"])
            path = {"POST": self.pick(["/Users", "/Groups", "/Bulk", "/.search"]), "PUT": f"/Users/{u}", "PATCH": f"/Users/{u}"}[method]
            raw = json.dumps(self.user() if method != "PATCH" else self.patch())
            cut = raw.rfind("}")
            raw = raw[:cut] + f', "{self.key()}": {self.pick(RAW_JUNK)}' + raw[cut:]
            if self.r.random() < 0.2:
                data = raw.encode("utf-8", "surrogatepass")[:200] + self.pick([b"\xff\xfe", b"\xed\xa0\x80", b"\xc3\x28"])
            else:
                data = raw.encode("utf-8", "surrogatepass")
            kw["content"] = data
            kw["headers"] = {"Content-Type": self.pick(["application/scim+json", "application/json", "text/plain", ""])}
            body = None
        else:
            method = self.pick(["GET", "POST", "DELETE", "OPTIONS"])
            path = self.pick(["/ServiceProviderConfig", "/Schemas", "/ResourceTypes", "/Me", "/Nope", f"/Users/{BIG}",
                              "/Schemas/urn:x", "/ResourceTypes/User", "/Users/%ff", "/Users/\u2028"])  # fmt: skip
            body = None
            if self.r.random() < 0.5:
                kw["params"] = {"filter": self.filter()}
        if body is not None:  # json.dumps escapes a lone surrogate (`"\ud800"`), as a raw client could send it
            kw["content"] = json.dumps(body).encode()
            kw["headers"] = {"Content-Type": "application/scim+json"}
        params = kw.pop("params", None)
        if params and method == "GET" and len(params.get("filter", "")) > 20_000 and path in ("/Users", "/Groups"):
            # past any URL length limit: the same query as a SearchRequest (RFC 7644 §3.4.3)
            method, path = "POST", path + "/.search"
            kw["content"] = json.dumps({"schemas": [SEARCH], **params}).encode()
            kw["headers"] = {"Content-Type": "application/scim+json"}
        elif params:  # encoded here: a raw client sends `\ud800` as its UTF-8 bytes, httpx would refuse
            path += "?" + "&".join(
                f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in params.items()
            )
        headers = kw.setdefault("headers", {})
        roll = self.r.random()
        if roll < 0.05:
            headers["If-Match"] = self.pick(["*", 'W/"1"', "x" * 10000, '"\u00ff"'.encode("latin-1"), b"\xff\xfe"])
        elif roll < 0.07:
            headers["X-Big"] = "a" * 100_000
        elif roll < 0.09:
            headers["Content-Length"] = BIG
        return method, path, kw


def snapshot(c: httpx.Client) -> Any:
    service = c.app.state.server.service  # type: ignore[attr-defined]
    store, org = service.store, service.org
    with store.lock:
        return copy.deepcopy(
            (store.tables, store._idx, store.groups_of, {n: r.public() for n, r in org.roles.items()}, org.group_role)
        )


def fresh(profile: str, quirks: tuple[Quirk, ...] = ()) -> tuple[httpx.Client, dict[str, str]]:
    c = make_client(*quirks, profile=profile, max_payload_size=256 << 10)
    uid = c.post("/Users", json=user_body("fuzz.base@example.com")).json()["id"]
    gid = c.post("/Groups", json={"schemas": [GROUP], "displayName": "ClickHouse-Admins", "members": [{"value": uid}]})
    return c, {"user": uid, "group": gid.json()["id"]}


def run(total: int, seed: int, quirks: tuple[Quirk, ...] = ()) -> dict[str, Any]:
    gen = Gen(random.Random(seed))
    counts: collections.Counter[str] = collections.Counter()
    examples: dict[str, list[str]] = collections.defaultdict(list)
    c, ids = fresh("rfc", quirks)
    profile = "rfc"
    for i in range(total + 1000):  # a few requests httpx refuses to build do not count
        if counts["requests"] >= total:
            break
        if i % 500 == 0:  # a fresh server now and then keeps the store (and each copy of it) small
            c.close()
            profile = "clickhouse" if (i // 500) % 4 == 3 else "rfc"
            c, ids = fresh(profile, quirks)
        method, path, kw = gen.request(ids)
        write = method in ("POST", "PUT", "PATCH", "DELETE") and not path.endswith(".search")
        before = snapshot(c) if write else None
        try:
            r = c.request(method, path, **kw)
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError, TypeError, ValueError) as exc:
            # a request httpx itself refuses to build or send (not the server's doing); counted
            counts["not sent"] += 1
            examples["not sent"].append(f"{method} {path}: {exc}"[:200])
            continue
        counts["requests"] += 1
        counts[f"profile {profile}"] += 1
        failed = r.status_code >= 400
        if r.status_code == 501 and path.split("?")[0].startswith("/Me"):
            # RFC 7644 §3.11: "A service provider that does NOT support this feature SHOULD respond
            # with HTTP status code 501 (Not Implemented)": the prescribed answer, not a failure
            counts["501 on /Me"] += 1
        elif r.status_code >= 500:
            counts["5xx"] += 1
            examples["5xx"].append(f"{method} {path} -> {r.status_code} {r.text[:200]}")
        if failed:
            try:
                body = r.json()
            except ValueError:
                body = None
            if not isinstance(body, dict) or body.get("schemas") != [ERROR] or body.get("status") != str(r.status_code):
                counts["non-SCIM error bodies"] += 1
                examples["non-SCIM error bodies"].append(f"{method} {path} -> {r.status_code} {r.text[:200]}")
        elif path == "/Bulk" and r.status_code == 200:
            statuses = [int(o["status"]) for o in r.json()["Operations"]]
            if any(s >= 500 for s in statuses):
                counts["5xx"] += 1
                examples["5xx"].append(f"Bulk operation 5xx: {r.text[:300]}")
            failed = bool(statuses) and all(s >= 400 for s in statuses)
        if write and failed:
            counts["failed writes"] += 1
            if snapshot(c) != before:
                counts["data changes after failed write"] += 1
                examples["data changes after failed write"].append(f"{method} {path} -> {r.status_code} {r.text[:200]}")
        if r.status_code == 404 or method == "DELETE" or path == "/Bulk":  # keep the targets alive
            for key, ep in (("user", "/Users"), ("group", "/Groups")):
                if c.get(f"{ep}/{ids[key]}").status_code == 404:
                    c.close()
                    c, ids = fresh(profile, quirks)
                    break
    c.close()
    return {"counts": counts, "examples": examples}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--requests", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--quirk",
        action="append",
        default=[],
        help="run against a server with this quirk, to see the counts catch it (e.g. patch-not-atomic)",
    )
    args = ap.parse_args()
    logging.disable(logging.CRITICAL)  # the server logs every unhandled error; the counts say it
    t = time.perf_counter()
    out = run(args.requests, args.seed, tuple(parse_quirks(args.quirk)))
    took = time.perf_counter() - t
    counts = out["counts"]
    print(f"seed {args.seed}: {counts['requests']} requests in {took:.1f} s "
          f"({counts['profile rfc']} rfc, {counts['profile clickhouse']} clickhouse; {counts['not sent']} refused by httpx)")  # fmt: skip
    print(f"  5xx: {counts['5xx']} (besides {counts['501 on /Me']} answers 501 to /Me, as RFC 7644 §3.11 says)")
    print(f"  failed writes: {counts['failed writes']}, data changes after a failed write: "
          f"{counts['data changes after failed write']}")  # fmt: skip
    print(f"  error answers that are not SCIM Error bodies: {counts['non-SCIM error bodies']}")
    for name, items in out["examples"].items():
        for line in items[:3]:
            print(f"  e.g. {name}: {line}")
    bad = counts["5xx"] + counts["data changes after failed write"] + counts["non-SCIM error bodies"]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
