"""In-memory resource storage with the indexes that make equality lookups O(1).

Resources are plain dicts in wire form with canonical attribute names. The store owns no SCIM
rules beyond keeping its indexes true; the service decides what may be written. Writers hold
`lock` across their read-check-write sequence, so concurrent requests (uvicorn, several threads
of the in-process transport) cannot lose an update or break `userName` uniqueness.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

Resource = dict[str, Any]

#: Attributes with an equality index, per resource type (lowercase names).
INDEXED = {"User": ("id", "username", "externalid"), "Group": ("id", "displayname", "externalid")}


class Store:
    """Tables of resources by type, insertion-ordered (which gives a stable default list order)."""

    def __init__(self, *, case_sensitive_usernames: bool = False) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, dict[str, Resource]] = {"User": {}, "Group": {}}
        self._case_sensitive = case_sensitive_usernames
        # index name -> value key -> ids
        self._idx: dict[str, dict[str, dict[str, set[str]]]] = {
            rt: {name: {} for name in names if name != "id"} for rt, names in INDEXED.items()
        }
        self.groups_of: dict[str, set[str]] = {}
        self._version = 0

    # -- versions ---------------------------------------------------------------------------
    def next_version(self) -> str:
        with self.lock:
            self._version += 1
            return f'W/"{self._version}"'

    # -- index helpers ----------------------------------------------------------------------
    def _key(self, attr: str, value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        if attr == "externalid" or (attr == "username" and self._case_sensitive):
            return value
        return value.casefold()

    def _index_values(self, rt: str, res: Resource) -> Iterable[tuple[str, str]]:
        if rt == "User":
            k = self._key("username", res.get("userName"))
            if k is not None:
                yield "username", k
        else:
            k = self._key("displayname", res.get("displayName"))
            if k is not None:
                yield "displayname", k
        k = self._key("externalid", res.get("externalId"))
        if k is not None:
            yield "externalid", k

    def _unindex(self, rt: str, res: Resource) -> None:
        idx = self._idx[rt]
        rid = res["id"]
        for name, key in self._index_values(rt, res):
            ids = idx[name].get(key)
            if ids is not None:
                ids.discard(rid)
                if not ids:
                    del idx[name][key]
        if rt == "Group":
            for member in _member_ids(res):
                groups = self.groups_of.get(member)
                if groups is not None:
                    groups.discard(rid)
                    if not groups:
                        del self.groups_of[member]

    def _index(self, rt: str, res: Resource) -> None:
        idx = self._idx[rt]
        rid = res["id"]
        for name, key in self._index_values(rt, res):
            idx[name].setdefault(key, set()).add(rid)
        if rt == "Group":
            for member in _member_ids(res):
                self.groups_of.setdefault(member, set()).add(rid)

    # -- reads ------------------------------------------------------------------------------
    def get(self, rt: str, rid: str) -> Resource | None:
        return self.tables[rt].get(rid)

    def all(self, rt: str) -> list[Resource]:
        return list(self.tables[rt].values())

    def count(self, rt: str) -> int:
        return len(self.tables[rt])

    def lookup(self, rt: str, attr: str, value: Any) -> list[Resource] | None:
        """Candidates for `attr eq value` from an index, or None when `attr` is not indexed.

        Candidates are a superset (case-folded keys); callers confirm with the real predicate.
        """
        attr = attr.lower()
        table = self.tables[rt]
        if attr == "id":
            res = table.get(value) if isinstance(value, str) else None
            return [res] if res is not None else []
        if attr not in self._idx[rt]:
            return None
        key = self._key(attr, value)
        if key is None:
            return []
        ids = self._idx[rt][attr].get(key, ())
        return [table[i] for i in ids if i in table]

    def user_name_taken(self, user_name: str, *, except_id: str | None = None) -> bool:
        key = self._key("username", user_name)
        ids = self._idx["User"]["username"].get(key or "", set())
        return any(i != except_id for i in ids)

    def display_name_taken(self, name: str, *, except_id: str | None = None) -> bool:
        ids = self._idx["Group"]["displayname"].get(name.casefold(), set())
        return any(i != except_id for i in ids)

    # -- writes -----------------------------------------------------------------------------
    def put(self, rt: str, res: Resource) -> None:
        with self.lock:
            table = self.tables[rt]
            old = table.get(res["id"])
            if old is not None:
                self._unindex(rt, old)
            table[res["id"]] = res
            self._index(rt, res)

    def delete(self, rt: str, rid: str) -> Resource | None:
        with self.lock:
            old = self.tables[rt].pop(rid, None)
            if old is not None:
                self._unindex(rt, old)
            return old

    def clear(self) -> None:
        with self.lock:
            for rt in self.tables:
                self.tables[rt].clear()
                for idx in self._idx[rt].values():
                    idx.clear()
            self.groups_of.clear()


def _member_ids(group: Resource) -> Iterable[str]:
    for m in group.get("members", ()):
        v = m.get("value") if isinstance(m, dict) else None
        if isinstance(v, str):
            yield v
