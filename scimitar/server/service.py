"""The SCIM protocol logic of the reference server, independent of HTTP.

Routes (`app.py`) and Bulk call the same operations, so a bulk POST behaves exactly like a plain
POST. Every operation either returns a `Result` or raises `ScimError`; nothing here knows about
Starlette. Each write runs under the store's lock from the read of the current state to the
write of the new one: no lost update, no uniqueness race.
"""

from __future__ import annotations

import copy
import itertools
import re
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scimitar.quirks import Quirk
from scimitar.schema import (
    CORE_USER,
    LIST_RESPONSE,
    SEARCH_REQUEST,
    Attribute,
    ResourceType,
    SchemaRegistry,
)
from scimitar.server import filters
from scimitar.server.cache import BoundedCache
from scimitar.server.clickhouse import Organization
from scimitar.server.config import ServerConfig
from scimitar.server.errors import ScimError, bad_request, not_found
from scimitar.server.patch import PatchError, apply_patch
from scimitar.server.projection import Projector, split_attr_list
from scimitar.server.store import Resource, Store
from scimitar.server.values import InvalidValue, normalize_resource

#: h9-race: how long the race quirks let go of the lock between their check and their write. Long
#: enough that requests released together (the `race` checks) land in it; short enough for a run.
RACE_WINDOW_S = 0.1
_RACY_CREATE = frozenset({Quirk.RACE_CHECK_THEN_INSERT, Quirk.RACE_UNIQUE_500})
#: Every quirk that opens a race window (the app runs writes in worker threads under them).
RACY_QUIRKS = _RACY_CREATE | {
    Quirk.RACE_LOST_MEMBERSHIP_UPDATE,
    Quirk.RACE_IF_MATCH_UNCHECKED,
    Quirk.RACE_DELETE_ORPHANS_MEMBER,
}


def _race_window() -> None:
    """The gap a racy server leaves between reading and writing (a round trip to its database)."""
    time.sleep(RACE_WINDOW_S)


class _TableWindow:
    """A table's resources in insertion order as a read-only sequence (`len`, slices) that is
    not copied: listing a page of a 100k-user table touches the page, not the table."""

    __slots__ = ("_table",)

    def __init__(self, table: dict[str, Resource]) -> None:
        self._table = table

    def __len__(self) -> int:
        return len(self._table)

    def __getitem__(self, window: slice) -> list[Resource]:
        start, stop, _ = window.indices(len(self._table))
        return list(itertools.islice(self._table.values(), start, stop))


@dataclass
class Result:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ListParams:
    filter: str | None = None
    start_index: int = 1
    count: int | None = None
    sort_by: str | None = None
    sort_order: str = "ascending"
    attributes: list[str] | None = None
    excluded: list[str] | None = None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _int_param(raw: Any, name: str) -> int:
    if isinstance(raw, bool):
        raise bad_request(f"{name} must be an integer, got {raw!r}", "invalidValue")
    if isinstance(raw, int):
        return raw
    try:
        return int(str(raw).strip())
    except ValueError:
        raise bad_request(f"{name} must be an integer, got {raw!r}", "invalidValue") from None


def parse_list_params(get: Callable[[str], Any], *, clamp: bool = True) -> ListParams:
    """Query parameters (RFC 7644 §3.4.2) from a lookup function, names case-insensitive.

    `clamp=False` is the PAGING_NOT_CLAMPED quirk: out-of-range values answer 400.
    """
    p = ListParams()
    p.filter = _str_param(get("filter"), "filter")
    raw_start = get("startIndex")
    if raw_start is not None:
        # "A value less than 1 SHALL be interpreted as 1." (RFC 7644 §3.4.2.4)
        p.start_index = _int_param(raw_start, "startIndex")
        if p.start_index < 1 and not clamp:
            raise bad_request(f"startIndex must be at least 1, got {raw_start!r}", "invalidValue")
        p.start_index = max(1, p.start_index)
        if p.start_index > 2**63 - 1:  # beyond any list, and beyond what JSON encoders take
            raise bad_request(f"startIndex {raw_start!r} is out of range", "invalidValue")
    raw_count = get("count")
    if raw_count is not None:
        # "A negative value SHALL be interpreted as "0"." (RFC 7644 §3.4.2.4)
        p.count = _int_param(raw_count, "count")
        if p.count < 0 and not clamp:
            raise bad_request(f"count must not be negative, got {raw_count!r}", "invalidValue")
        p.count = min(max(0, p.count), 2**63 - 1)
    p.sort_by = _str_param(get("sortBy"), "sortBy")
    order = get("sortOrder")
    if order is not None:
        if not isinstance(order, str) or order.lower() not in ("ascending", "descending"):
            raise bad_request(f"sortOrder must be 'ascending' or 'descending', got {order!r}", "invalidValue")
        p.sort_order = str(order).lower()
    p.attributes = split_attr_list(_attr_list_param(get("attributes"), "attributes"))
    p.excluded = split_attr_list(_attr_list_param(get("excludedAttributes"), "excludedAttributes"))
    return p


def _str_param(raw: Any, name: str) -> str | None:
    """A string parameter; a SearchRequest body (RFC 7644 §3.4.3) can carry any JSON type."""
    if raw is None or isinstance(raw, str):
        return raw
    raise bad_request(f"{name} must be a string, got {raw!r}", "invalidValue")


def _attr_list_param(raw: Any, name: str) -> str | list[str] | None:
    """`attributes`: a comma-separated string (query) or "A multi-valued list of strings" (§3.4.3)."""
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, list) and all(isinstance(i, str) for i in raw):
        return raw
    raise bad_request(f"{name} must be a string or a list of strings, got {raw!r}", "invalidValue")


class ScimService:
    """One reference server's state and operations."""

    def __init__(self, config: ServerConfig, registry: SchemaRegistry | None = None) -> None:
        self.config = config
        self.quirks = config.quirks
        self.shape = config.shape
        self.registry = registry or (config.shape.registry if config.shape else SchemaRegistry.default())
        # RFC 7644 §4: the ServiceProviderConfig says which optional features exist; the server
        # behaves as it declares (a shape may switch filtering and sorting off).
        self.filter_supported = config.shape is None or config.shape.supported("filter")
        self.sort_supported = config.shape is None or config.shape.supported("sort")
        core_user = self.registry.schema(CORE_USER)
        self.user_groups_declared = core_user is not None and core_user.attribute("groups") is not None
        self.store = Store(case_sensitive_usernames=Quirk.USERNAME_CASE_SENSITIVE in self.quirks)
        self.users = self.registry.resource_type("User")
        self.groups = self.registry.resource_type("Group")
        q = self.quirks
        self.projectors = {
            rt.name: Projector(
                rt,
                self.registry,
                password_returned=Quirk.PASSWORD_RETURNED in q,
                attributes_ignored=Quirk.ATTRIBUTES_IGNORED in q,
                excluded_ignored=Quirk.EXCLUDED_ATTRIBUTES_IGNORED in q,
            )
            for rt in (self.users, self.groups)
        }
        self.org = Organization(
            self.store,
            default_role=config.default_role,
            strict=config.strict_role_mapping,
            role_fixed_at_creation=Quirk.ROLE_NOT_UPDATED in q,
            inactive_are_members=Quirk.DEACTIVATE_KEEPS_MEMBER in q,
        )
        self.audit: deque[dict[str, Any]] = deque(maxlen=10_000)
        self._attr_cache: dict[tuple[str, str], list[tuple[str, Attribute]]] = {}
        # compiled filters: bounded by entries and by filter text (see `cache.py`)
        self._compiled: BoundedCache[tuple[str, str], tuple[Callable[[Resource], bool], dict[str, Any]]] = (
            BoundedCache(max_entries=2048, max_cost=256 << 10, max_item_cost=8 << 10)
        )

    # -- helpers ----------------------------------------------------------------------------
    def rt_for(self, name: str) -> ResourceType:
        return self.users if name == "User" else self.groups

    def location(self, base: str, rt: ResourceType, rid: str) -> str:
        if Quirk.LOCATION_NO_BASE_PATH in self.quirks and self.config.base_path:
            base = base.removesuffix(self.config.base_path)  # the quirk: a proxy prefix lost
        return f"{base}{rt.endpoint}/{rid}"

    def record(self, action: str, rt: str, rid: str, actor: str | None, **extra: Any) -> None:
        self.audit.append(
            {"time": now_iso(), "action": action, "resourceType": rt, "id": rid, "credential": actor, **extra}
        )

    def view(self, rt: ResourceType, res: Resource, base: str) -> Resource:
        """The stored resource plus what is computed on read: `meta.location`, `User.groups`."""
        out = dict(res)
        meta = res.get("meta")
        if meta is not None:
            out["meta"] = {**meta, "location": self.location(base, rt, res["id"])}
        if rt is self.users and self.user_groups_declared and Quirk.USER_GROUPS_MISSING not in self.quirks:
            gids = self.store.groups_of.get(res["id"])
            if gids:
                groups = []
                for gid in gids:
                    g = self.store.get("Group", gid)
                    if g is not None:
                        groups.append(
                            {
                                "value": gid,
                                "$ref": self.location(
                                    base,
                                    self.users if Quirk.REF_WRONG_ENDPOINT in self.quirks else self.groups,
                                    gid,
                                ),
                                "display": g.get("displayName"),
                                "type": "direct",
                            }
                        )
                if groups:
                    out["groups"] = groups
        return out

    def render(
        self,
        rt: ResourceType,
        res: Resource,
        base: str,
        attributes: list[str] | None = None,
        excluded: list[str] | None = None,
    ) -> Resource:
        out = self.projectors[rt.name].project(self.view(rt, res, base), attributes, excluded)
        if Quirk.EXCLUDED_DROPS_ALWAYS in self.quirks and any(e.lower() == "id" for e in excluded or ()):
            out.pop("id", None)
        if Quirk.PROJECTION_DROPS_SCHEMAS in self.quirks and attributes:
            out.pop("schemas", None)  # the quirk: `attributes=` loses `schemas`
        if Quirk.RESOURCE_NO_SCHEMAS in self.quirks:
            out.pop("schemas", None)
        if Quirk.META_MISSING in self.quirks:
            out.pop("meta", None)
        if Quirk.GROUP_META_MISSING in self.quirks and rt.name == "Group":
            out.pop("meta", None)  # the quirk: meta on Users only
        if Quirk.DATETIME_NOT_XSD in self.quirks and isinstance(out.get("meta"), dict):
            out["meta"] = {
                k: v.replace("T", " ") if k in ("created", "lastModified") else v
                for k, v in out["meta"].items()
            }
        if Quirk.ACTIVE_AS_STRING in self.quirks and isinstance(out.get("active"), bool):
            out["active"] = str(out["active"]).lower()
        return out

    def etag_headers(self, res: Resource) -> dict[str, str]:
        if Quirk.NO_ETAG in self.quirks:
            return {}
        version = res.get("meta", {}).get("version")
        return {"ETag": version} if version else {}

    def _get_existing(self, rt: ResourceType, rid: str) -> Resource:
        res = self.store.get(rt.name, rid)
        if res is None:
            raise not_found(f"{rt.name} {rid!r} not found")
        return res

    def _check_if_match(self, res: Resource, if_match: str | None) -> None:
        """RFC 7644 §3.14: a stale `If-Match` fails with 412 Precondition Failed."""
        if if_match is None or Quirk.IF_MATCH_IGNORED in self.quirks:
            return
        tags = [t.strip() for t in if_match.split(",")]
        version = res.get("meta", {}).get("version", "")
        if "*" in tags and Quirk.IF_MATCH_STAR_REJECTED not in self.quirks:  # the quirk: `*` is compared, 412
            return
        if Quirk.IF_MATCH_STRONG_ONLY in self.quirks and version.startswith("W/"):
            raise ScimError(412, f"If-Match {if_match}: a weak ETag never matches strongly")  # the quirk
        weak = version.removeprefix("W/")
        if not any(t == version or t.removeprefix("W/") == weak for t in tags):
            raise ScimError(412, f"If-Match {if_match} does not match the current version {version}")

    # -- input validation -------------------------------------------------------------------
    def _normalize(self, rt: ResourceType, body: Any) -> Resource:
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object", "invalidSyntax")
        schemas = body.get("schemas")
        if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
            raise bad_request(
                "'schemas' is required and must be a list of schema URIs (RFC 7643 §3)", "invalidSyntax"
            )
        lowered = {s.lower() for s in schemas}
        if rt.schema.lower() not in lowered:
            raise bad_request(f"'schemas' must contain {rt.schema}", "invalidSyntax")
        known = {u.lower() for u in rt.schema_ids}
        unknown = [s for s in schemas if s.lower() not in known]
        if unknown:
            raise bad_request(f"unknown schema URI in 'schemas': {', '.join(unknown)}", "invalidValue")
        try:
            res = normalize_resource(
                body,
                rt,
                self.registry,
                unknown="ignore" if self.config.clickhouse else "reject",
                primary_once=Quirk.PRIMARY_DUPLICATES_KEPT not in self.quirks,  # the quirk: both kept
            )
        except InvalidValue as exc:
            raise bad_request(str(exc), exc.scim_type) from None
        # canonical schema list, extensions that carry data included
        res["schemas"] = [u for u in rt.schema_ids if u.lower() in lowered or u in res]
        return res

    def _attrs(self, rt: ResourceType, kind: str) -> list[tuple[str, Attribute]]:
        """The (urn, attribute) pairs of `registry.attributes(rt)` that are `readOnly`, `required`
        (and writable) or `immutable`, computed once: the schemas do not change while serving."""
        key = (rt.name, kind)
        found = self._attr_cache.get(key)
        if found is None:
            found = [
                (urn, a)
                for urn, a in self.registry.attributes(rt)
                if (kind == "readOnly" and a.mutability == "readOnly")
                or (kind == "required" and a.required and a.mutability != "readOnly")
                or (kind == "immutable" and a.mutability == "immutable")
            ]
            self._attr_cache[key] = found
        return found

    def _strip_readonly(self, rt: ResourceType, res: Resource, current: Resource | None) -> None:
        """RFC 7644 §3.5.1: "readOnly ... values provided SHALL be ignored"."""
        if Quirk.READONLY_WRITABLE in self.quirks:
            return  # the quirk: `meta`, `groups` and other readOnly values are kept
        for urn, attr in self._attrs(rt, "readOnly"):
            if urn and urn != rt.schema:
                ext = res.get(urn)
                if isinstance(ext, dict):
                    ext.pop(attr.name, None)
            else:
                res.pop(attr.name, None)

    def _enforce_canonical(self, rt: ResourceType, res: Resource) -> None:
        """The CANONICAL_VALUES_ENFORCED quirk: refuse a sub-attribute value outside its
        `canonicalValues`, which RFC 7643 §7 calls "suggested canonical values that MAY be used"."""
        for urn, attr in self.registry.attributes(rt):
            holder = res.get(urn, {}) if urn and urn != rt.schema else res
            values = holder.get(attr.name) if isinstance(holder, dict) else None
            for item in values if isinstance(values, list) else []:
                for sub in attr.sub_attributes:
                    value = item.get(sub.name) if isinstance(item, dict) else None
                    if sub.canonical_values and isinstance(value, str) and value not in sub.canonical_values:
                        raise bad_request(f"{attr.name}.{sub.name} {value!r} is not one of "
                                          f"{', '.join(sub.canonical_values)}", "invalidValue")

    def _check_required(self, rt: ResourceType, res: Resource) -> None:
        if Quirk.CANONICAL_VALUES_ENFORCED in self.quirks:
            self._enforce_canonical(rt, res)
        self._check_required_subs(rt, res)
        for urn, attr in self._attrs(rt, "required"):
            holder = res.get(urn, {}) if urn and urn != rt.schema else res
            if attr.name not in holder:
                if Quirk.REQUIRED_NOT_ENFORCED in self.quirks and attr.type == "string":
                    holder[attr.name] = str(uuid.uuid4())  # the quirk: filled in, not refused
                    continue
                raise bad_request(f"required attribute '{attr.name}' is missing", "invalidValue")

    def _check_required_subs(self, rt: ResourceType, res: Resource) -> None:
        """RFC 7643 §2.2 "required": a value of a complex attribute must carry the sub-attributes its
        schema marks required (only custom shapes have any: the RFC schemas mark none)."""
        if Quirk.REQUIRED_NOT_ENFORCED in self.quirks:
            return
        for urn, attr in self.registry.attributes(rt):
            required = [s for s in attr.sub_attributes if s.required and s.mutability != "readOnly"]
            if not required:
                continue
            holder = res.get(urn, {}) if urn and urn != rt.schema else res
            value = holder.get(attr.name) if isinstance(holder, dict) else None
            for item in value if isinstance(value, list) else [value] if value is not None else []:
                missing = [s.name for s in required if not isinstance(item, dict) or s.name not in item]
                if missing:
                    raise bad_request(
                        f"required sub-attribute '{attr.name}.{missing[0]}' is missing", "invalidValue"
                    )

    def _check_immutable(self, rt: ResourceType, new: Resource, current: Resource) -> None:
        if Quirk.IMMUTABLE_WRITABLE in self.quirks:
            return
        for urn, attr in self._attrs(rt, "immutable"):
            ext = urn and urn != rt.schema
            old_holder = current.get(urn, {}) if ext else current
            new_holder = new.get(urn, {}) if ext else new
            if attr.name in old_holder and old_holder[attr.name] != new_holder.get(attr.name):
                raise bad_request(f"'{attr.name}' is immutable and cannot be changed", "mutability")

    def _apply_profile(self, rt: ResourceType, res: Resource) -> None:
        if not self.config.clickhouse or rt is not self.users:
            return
        user_name = res.get("userName", "")
        if "@" not in user_name:
            raise bad_request(f"userName {user_name!r} must be an email address", "invalidValue")
        emails = res.get("emails") or []
        primary = next((e for e in emails if e.get("primary")), emails[0] if emails else None)
        if primary is None or str(primary.get("value", "")).casefold() != user_name.casefold():
            raise bad_request(
                f"userName {user_name!r} must equal the primary email "
                f"({primary.get('value') if primary else 'none given'}), ignoring case",
                "invalidValue",
            )
        if Quirk.EMAIL_CASE_KEPT not in self.quirks:
            res["userName"] = user_name.lower()
            for e in emails:
                if isinstance(e.get("value"), str):
                    e["value"] = e["value"].lower()

    def _check_unique(self, rt: ResourceType, res: Resource, except_id: str | None) -> None:
        if Quirk.UNIQUE_CHECK_INCLUDES_SELF in self.quirks:
            except_id = None  # the quirk: a resource conflicts with itself
        if rt is self.users:
            if Quirk.DUPLICATE_USERNAME in self.quirks:
                return
            if self.store.user_name_taken(res["userName"], except_id=except_id):
                raise ScimError(409, f"userName {res['userName']!r} is already taken", "uniqueness")
        elif self.config.group_display_name_unique:
            name = res.get("displayName")
            if isinstance(name, str) and self.store.display_name_taken(name, except_id=except_id):
                raise ScimError(409, f"a group named {name!r} already exists", "uniqueness")

    def _check_members(self, rt: ResourceType, res: Resource, base: str) -> None:
        """Members must reference existing Users or Groups; fill `type`, `$ref` and `display`."""
        if rt is not self.groups or "members" not in res:
            return
        seen: set[str] = set()
        members = []
        for m in res["members"]:
            value = m.get("value")
            if not isinstance(value, str):
                raise bad_request("each member needs a 'value' (the member's id)", "invalidValue")
            if value in seen:
                continue
            seen.add(value)
            target = self.store.get("User", value)
            kind = "User"
            if target is None:
                target = self.store.get("Group", value)
                kind = "Group"
            if target is None:
                raise bad_request(f"member {value!r} is not an existing User or Group", "invalidValue")
            if kind == "Group" and value == res.get("id"):
                raise bad_request("a group cannot be a member of itself", "invalidValue")
            ref_rt = self.rt_for(kind)
            if Quirk.REF_WRONG_ENDPOINT in self.quirks:
                ref_rt = self.groups if kind == "User" else self.users
            out = {"value": value, "type": kind, "$ref": self.location(base, ref_rt, value)}
            display = target.get("displayName") or target.get("userName")
            if display:
                out["display"] = display
            members.append(out)
        if members:
            res["members"] = members
        else:
            res.pop("members", None)

    def _meta(self, rt: ResourceType, created: str | None = None) -> dict[str, Any]:
        ts = now_iso()
        meta = {
            "resourceType": rt.name,
            "created": created or ts,
            "lastModified": ts,
            "version": self.store.next_version(),
        }
        if Quirk.META_LAST_MODIFIED_SKEW in self.quirks:
            meta["created"] = "2000-01-01T00:00:00.000Z"  # the quirk: created != lastModified
        return meta

    # -- operations -------------------------------------------------------------------------
    def get(
        self, rt: ResourceType, rid: str, base: str, params: ListParams, if_none_match: str | None = None
    ) -> Result:
        # Reads hold the lock too: rendering iterates the membership index and listing iterates a
        # table, which a writer in another thread (the in-process transport) may be changing.
        with self.store.lock:
            return self._get(rt, rid, base, params, if_none_match)

    def _get(
        self, rt: ResourceType, rid: str, base: str, params: ListParams, if_none_match: str | None
    ) -> Result:
        res = self.store.get(rt.name, rid)
        if res is None:
            if Quirk.NOT_FOUND_200 in self.quirks:
                return Result(200, {})
            raise not_found(f"{rt.name} {rid!r} not found")
        version = res.get("meta", {}).get("version")
        if (
            if_none_match
            and version
            and Quirk.IF_NONE_MATCH_IGNORED not in self.quirks
            # RFC 7232 §3.2: "A recipient MUST use the weak comparison function" for If-None-Match
            and any(
                (t.strip() == "*" and Quirk.IF_NONE_MATCH_STAR_IGNORED not in self.quirks)
                or t.strip().removeprefix("W/") == version.removeprefix("W/")
                for t in if_none_match.split(",")
            )
        ):
            return Result(304, None, self.etag_headers(res))
        body = self.render(rt, res, base, params.attributes, params.excluded)
        return Result(200, body, self.etag_headers(res))

    def create(
        self,
        rt: ResourceType,
        body: Any,
        base: str,
        actor: str | None = None,
        params: ListParams | None = None,
    ) -> Result:
        res = self._normalize(rt, body)
        if Quirk.EXTENSION_DROPPED in self.quirks:
            for ext in rt.extensions:
                res.pop(ext.schema, None)
        if Quirk.GROUP_MEMBERS_DROPPED in self.quirks and rt is self.groups:
            res.pop("members", None)
        client_id = res.get("id") if Quirk.READONLY_WRITABLE in self.quirks else None
        self._strip_readonly(rt, res, None)
        self._check_required(rt, res)
        self._apply_profile(rt, res)
        racy = rt is self.users and bool(self.quirks & _RACY_CREATE)
        if racy:  # the race quirks: the uniqueness check and the insert are two steps
            with self.store.lock:
                self._check_unique(rt, res, None)
            _race_window()
        with self.store.lock:
            if not racy:
                self._check_unique(rt, res, None)
            elif Quirk.RACE_UNIQUE_500 in self.quirks and self.store.user_name_taken(res["userName"]):
                raise ScimError(500, "internal server error")  # the quirk: the store's unique index fired
            res["id"] = client_id if isinstance(client_id, str) else str(uuid.uuid4())
            self._check_members(rt, res, base)
            if self.config.clickhouse and rt is self.groups:
                # linked before it is stored: a name the organisation refuses stores nothing
                self.org.link_group(res["id"], res["displayName"])
            res["meta"] = self._meta(rt)
            self.store.put(rt.name, res)
            if rt is self.users:
                self.org.user_created(res["id"])
        self.record("create", rt.name, res["id"], actor)
        status = 200 if Quirk.CREATE_200 in self.quirks else 201
        headers = self.etag_headers(res)
        if Quirk.CREATE_NO_LOCATION not in self.quirks:
            headers["Location"] = self.location(base, rt, res["id"])
        if Quirk.CREATE_EMPTY_BODY in self.quirks:
            return Result(status, None, headers)
        p = params or ListParams()
        return Result(status, self.render(rt, res, base, p.attributes, p.excluded), headers)

    def _store_update(
        self, rt: ResourceType, current: Resource, new: Resource, base: str, action: str, actor: str | None
    ) -> Resource:
        """Common tail of PUT and PATCH: validate, bump meta, store. Caller holds the lock."""
        self._check_required(rt, new)
        self._apply_profile(rt, new)
        self._check_unique(rt, new, current["id"])
        self._check_members(rt, new, base)
        if self.config.clickhouse and rt is self.groups and new.get("displayName") != current.get("displayName"):
            # groups bind to roles by name: a renamed group binds to the role of its new name
            self.org.link_group(current["id"], new["displayName"])
        new["id"] = current["id"]
        meta = dict(current["meta"])
        if Quirk.READONLY_WRITABLE in self.quirks and isinstance(new.get("meta"), dict):
            meta.update(new["meta"])  # the quirk: the client's `meta.created` is stored
        if Quirk.VERSION_UNCHANGED not in self.quirks:
            meta["lastModified"] = now_iso()
            meta["version"] = self.store.next_version()
        new["meta"] = meta
        self.store.put(rt.name, new)
        self.record(action, rt.name, current["id"], actor)
        return new

    def replace(
        self,
        rt: ResourceType,
        rid: str,
        body: Any,
        base: str,
        actor: str | None = None,
        if_match: str | None = None,
        params: ListParams | None = None,
    ) -> Result:
        """PUT (RFC 7644 §3.5.1): replace everything the client may write."""
        new = self._normalize(rt, body)
        if Quirk.PUT_REJECTS_READONLY in self.quirks and ("id" in new or "meta" in new):
            raise bad_request("'id' and 'meta' are readOnly and cannot be sent", "mutability")
        based_on, if_match_checked = self._racy_read(rt, rid, if_match, membership=False)
        with self.store.lock:
            if Quirk.PUT_CREATES in self.quirks and self.store.get(rt.name, rid) is None:
                self._strip_readonly(rt, new, None)
                self._check_required(rt, new)
                new["id"] = rid  # the quirk: PUT upserts
                new["meta"] = self._meta(rt)
                self.store.put(rt.name, new)
                return Result(201, self.render(rt, new, base), self.etag_headers(new))
            current = based_on if based_on is not None else self._get_existing(rt, rid)
            if not if_match_checked:
                self._check_if_match(current, if_match)
            self._strip_readonly(rt, new, current)
            new.pop("id", None)
            if "password" not in new and "password" in current:
                new["password"] = current["password"]
            if Quirk.PUT_MERGES in self.quirks:
                merged = copy.deepcopy(current)
                for key, value in new.items():
                    old = merged.get(key)
                    if isinstance(old, list) and isinstance(value, list):
                        merged[key] = old + [v for v in value if v not in old]
                    elif isinstance(old, dict) and isinstance(value, dict):
                        merged[key] = {**old, **value}
                    else:
                        merged[key] = value
                new = merged
            self._check_immutable(rt, new, current)
            stored = self._store_update(rt, current, new, base, "replace", actor)
        if Quirk.PUT_204 in self.quirks:
            return Result(204)
        p = params or ListParams()
        return Result(200, self.render(rt, stored, base, p.attributes, p.excluded), self.etag_headers(stored))

    def patch(
        self,
        rt: ResourceType,
        rid: str,
        body: Any,
        base: str,
        actor: str | None = None,
        if_match: str | None = None,
        params: ListParams | None = None,
    ) -> Result:
        """PATCH (RFC 7644 §3.5.2): all operations apply, or none."""
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object", "invalidSyntax")
        based_on, if_match_checked = self._racy_read(rt, rid, if_match, membership=True)
        with self.store.lock:
            current = based_on if based_on is not None else self._get_existing(rt, rid)
            if not if_match_checked:
                self._check_if_match(current, if_match)
            try:
                new = apply_patch(current, body, rt, self.registry, quirks=self.quirks)
            except PatchError as exc:
                if exc.partial is not None:  # the patch-not-atomic quirk keeps the ops applied so far
                    exc.partial.pop("groups", None)
                    self._store_update(rt, current, exc.partial, base, "patch", actor)
                raise bad_request(exc.detail, exc.scim_type) from None
            new.pop("groups", None)
            if Quirk.PATCH_IGNORED in self.quirks:
                new = copy.deepcopy(current)  # the quirk: PATCH changes nothing
            if new == current and Quirk.PATCH_NOOP_TOUCHES not in self.quirks:
                # §3.5.2.1: an operation that changes nothing "SHALL NOT change the modify timestamp"
                stored = current
            else:
                stored = self._store_update(rt, current, new, base, "patch", actor)
        p = params or ListParams()
        shown = current if Quirk.PATCH_RESPONSE_STALE in self.quirks else stored
        return Result(200, self.render(rt, shown, base, p.attributes, p.excluded), self.etag_headers(stored))

    def _racy_read(
        self, rt: ResourceType, rid: str, if_match: str | None, *, membership: bool
    ) -> tuple[Resource | None, bool]:
        """The race quirks of PUT and PATCH: read (and compare If-Match) under the lock, let go of
        it for `RACE_WINDOW_S`, then write. Returns the copy the write is based on (None: re-read it)
        and whether If-Match was already compared. Without a race quirk: (None, False), one lock."""
        lost = membership and rt is self.groups and Quirk.RACE_LOST_MEMBERSHIP_UPDATE in self.quirks
        unchecked = if_match is not None and Quirk.RACE_IF_MATCH_UNCHECKED in self.quirks
        if not (lost or unchecked):
            return None, False
        with self.store.lock:
            snapshot = copy.deepcopy(self._get_existing(rt, rid))
            self._check_if_match(snapshot, if_match)
        _race_window()
        # lost update: the write is based on the stale copy; unchecked If-Match: on a fresh read
        return (snapshot if lost else None), True

    def delete(
        self, rt: ResourceType, rid: str, base: str, actor: str | None = None, if_match: str | None = None
    ) -> Result:
        """DELETE (RFC 7644 §3.6): 204, then the resource is gone (404) everywhere."""
        seen_groups: set[str] | None = None
        if rt is self.users and Quirk.RACE_DELETE_ORPHANS_MEMBER in self.quirks:
            with self.store.lock:  # the quirk: the groups to clean are read before the delete
                seen_groups = set(self.store.groups_of.get(rid, ()))
            _race_window()
        with self.store.lock:
            if Quirk.DELETE_IDEMPOTENT_204 in self.quirks and self.store.get(rt.name, rid) is None:
                return Result(204)  # the quirk: deleting nothing "succeeds"
            current = self._get_existing(rt, rid)
            self._check_if_match(current, if_match)
            if Quirk.SOFT_DELETE in self.quirks and rt is self.users:
                # the quirk: "delete" deactivates; the User stays readable, listed and a member
                self._store_update(rt, current, {**current, "active": False}, base, "delete", actor)
                return Result(204)
            if Quirk.DELETED_STILL_READABLE not in self.quirks:
                self.store.delete(rt.name, rid)
            if Quirk.DELETE_KEEPS_MEMBERSHIP not in self.quirks:
                for gid in list(self.store.groups_of.get(rid, ()) if seen_groups is None else seen_groups):
                    group = self.store.get("Group", gid)
                    if group is None:
                        continue
                    updated = dict(group)
                    updated["members"] = [m for m in group.get("members", []) if m.get("value") != rid]
                    if not updated["members"]:
                        del updated["members"]
                    updated["meta"] = {
                        **group["meta"],
                        "lastModified": now_iso(),
                        "version": self.store.next_version(),
                    }
                    self.store.put("Group", updated)
            if rt is self.groups:
                self.org.unlink_group(rid)
        self.record("delete", rt.name, rid, actor)
        if Quirk.DELETE_200 in self.quirks:
            return Result(200, self.render(rt, current, base))
        return Result(204)

    def undo_create(self, rt: ResourceType, rid: str, base: str, actor: str | None = None) -> None:
        """Roll back a create that a later step of the same request could not complete (a Bulk
        cycle): delete the resource and take back the roles and records its creation made."""
        try:
            self.delete(rt, rid, base, actor)
        except ScimError:
            pass  # already gone
        if rt is self.groups:
            self.org.undo_group(rid)
        else:
            self.org.undo_user(rid)
        # no reader ever saw it (the job holds the lock): the audit log keeps no trace of it either
        kept = [e for e in self.audit if e.get("id") != rid]
        if len(kept) != len(self.audit):
            self.audit.clear()
            self.audit.extend(kept)

    # -- queries ----------------------------------------------------------------------------
    def _compile(self, rt: ResourceType, text: str) -> tuple[Callable[[Resource], bool], dict[str, Any]]:
        """A compiled predicate and its index terms, cached: IdPs repeat the same filter shapes."""
        key = (rt.name, text)
        entry = self._compiled.get(key)
        if entry is None:
            cost = len(text)
            try:
                if Quirk.FILTER_BOOLEAN_NE_AS_EQ in self.quirks:  # the quirk: `active ne true` acts as eq
                    text = re.sub(r"\bne(\s+(?:true|false)\b)", r"eq\1", text, flags=re.IGNORECASE)
                parsed = filters.parse_filter(text)
                fn = filters.compile_filter(
                    parsed,
                    rt,
                    self.registry,
                    case_sensitive=Quirk.FILTER_CASE_SENSITIVE in self.quirks,
                    string_dates=Quirk.FILTER_STRING_DATES in self.quirks,
                    no_complex=Quirk.FILTER_NO_COMPLEX in self.quirks,
                    ignore_case_exact=Quirk.FILTER_IGNORES_CASE_EXACT in self.quirks,
                )
            except filters.FilterError as exc:
                if Quirk.UNKNOWN_FILTER_ATTR_500 in self.quirks:
                    raise ScimError(500, "internal server error") from None
                raise bad_request(f"invalid filter {filters.shown(text)}: {exc}", "invalidFilter") from None
            entry = (fn, filters.equality_terms(parsed))
            self._compiled.put(key, entry, cost)
        return entry

    def _matches(self, rt: ResourceType, text: str | None, base: str) -> list[Resource]:
        table = self.store.tables[rt.name]
        if not text or Quirk.FILTER_IGNORED in self.quirks:
            return list(table.values())
        if not self.filter_supported:
            # The shape declares `filter.supported: false`. Answering with the unfiltered list would
            # hand the client resources it did not ask for; Table 9 of RFC 7644 §3.12 has the code
            # for this: invalidFilter, "the specified attribute and filter comparison combination
            # is not supported" (here: none is).
            raise bad_request(
                "filtering is not supported (ServiceProviderConfig filter.supported is false)", "invalidFilter"
            )
        fn, terms = self._compile(rt, text)
        candidates: list[Resource] | None = None
        # the FILTER_IGNORES_CASE_EXACT quirk scans everything: the indexes would keep `caseExact`
        for attr, value in ({} if Quirk.FILTER_IGNORES_CASE_EXACT in self.quirks else terms).items():
            found = self.store.lookup(rt.name, attr, value)
            if found is not None:
                candidates = found
                break
        if candidates is None:
            candidates = list(table.values())
        needs_view = rt is self.users and "groups" in text.lower()
        if Quirk.FILTER_GROUPS_NOT_COMPUTED in self.quirks:
            needs_view = False  # the quirk: `groups` is matched on the stored resource, which has none
        if needs_view:
            return [r for r in candidates if fn(self.view(rt, r, base))]
        return [r for r in candidates if fn(r)]

    def list_resources(self, rt: ResourceType, p: ListParams, base: str) -> Result:
        if p.sort_by and not self.sort_supported:
            # RFC 7644 §3.4.2.3: sorting is OPTIONAL, and this shape declares `sort.supported: false`;
            # RFC 7644 §3.4.2: providers "SHOULD ignore any query parameters they do not recognize
            # instead of rejecting the query", so sortBy/sortOrder are ignored, not refused.
            p.sort_by = None
        with self.store.lock:
            return self._list_resources(rt, p, base)

    def _list_resources(self, rt: ResourceType, p: ListParams, base: str) -> Result:
        # The matches go to `_page` as they are: pairing each with its type would allocate one
        # tuple per stored resource, which at 100k users costs more than rendering the page.
        items: list[Resource] | _TableWindow
        if (not p.filter or Quirk.FILTER_IGNORED in self.quirks) and not (
            p.sort_by and Quirk.SORT_IGNORED not in self.quirks
        ):
            # no filter, no sort: the page is a slice of the table, which need not be copied
            items = _TableWindow(self.store.tables[rt.name])
        else:
            items = self._matches(rt, p.filter, base)
        return self._page(items, p, base, sort_rt=rt, single=rt)

    def _sort_key(self, rt: ResourceType, sort_by: str) -> Callable[[Resource], tuple[Any, ...]]:
        try:
            return filters.sort_key(
                rt,
                self.registry,
                sort_by,
                case_sensitive=Quirk.SORT_CASE_SENSITIVE in self.quirks,
                first_value=Quirk.SORT_FIRST_VALUE in self.quirks,
            )
        except filters.FilterError as exc:
            raise bad_request(f"invalid sortBy {sort_by!r}: {exc}", "invalidValue") from None

    def _page(
        self,
        items: list[Any] | _TableWindow,
        p: ListParams,
        base: str,
        sort_rt: ResourceType | None,
        single: ResourceType | None = None,
    ) -> Result:
        """One page of `items`: (type, resource) pairs, or resources of the type `single`."""
        if p.sort_by and Quirk.SORT_IGNORED not in self.quirks and sort_rt is not None:
            descending = p.sort_order == "descending" and Quirk.SORT_ORDER_IGNORED not in self.quirks
            assert isinstance(items, list)  # a `_TableWindow` is never sorted
            if single is not None:
                items.sort(key=self._sort_key(single, p.sort_by), reverse=descending)
            else:
                # the root .search: each type sorts by the attribute where its schema has it
                # (`meta.created`, `id`, `externalId`, `displayName`); a type whose schema lacks it
                # counts as having no value (last when ascending, RFC 7644 §3.4.2.3).
                keys: dict[str, Callable[[Resource], tuple[Any, ...]]] = {}
                error: ScimError | None = None
                for each in (self.users, self.groups):
                    try:
                        keys[each.name] = self._sort_key(each, p.sort_by)
                    except ScimError as exc:
                        error = error or exc
                if not keys and error is not None:
                    raise error
                try:
                    items.sort(
                        key=lambda pair: keys[pair[0].name](pair[1]) if pair[0].name in keys else (1, ""),
                        reverse=descending,
                    )
                except TypeError:
                    raise bad_request(
                        f"sortBy {p.sort_by!r} has values of different types in Users and Groups", "invalidValue"
                    ) from None
        total = len(items)
        if not items and p.filter and Quirk.FILTER_EMPTY_404 in self.quirks:
            raise not_found("no resources match the filter")
        count = self.config.max_results
        if p.count is not None and Quirk.COUNT_IGNORED not in self.quirks:
            count = p.count
        count = min(count, self.config.max_results)
        if Quirk.COUNT_ZERO_IGNORED in self.quirks and count == 0:
            count = self.config.max_results
        start = 1 if Quirk.STARTINDEX_IGNORED in self.quirks else p.start_index
        page: list[Any] = list(items[start - 1 : start - 1 + count])
        if single is not None:
            resources = [self.render(single, r, base, p.attributes, p.excluded) for r in page]
        else:
            resources = [self.render(each, r, base, p.attributes, p.excluded) for each, r in page]
        body: dict[str, Any] = {
            "schemas": [LIST_RESPONSE],
            "totalResults": len(page) if Quirk.TOTAL_RESULTS_PAGE_LENGTH in self.quirks else total,
            "startIndex": start,
            "itemsPerPage": p.count if Quirk.ITEMS_PER_PAGE_COUNT in self.quirks and p.count else len(page),
            "Resources": resources,
        }
        return Result(200, body)

    def search(self, rt: ResourceType | None, body: Any, base: str) -> Result:
        """POST .search (RFC 7644 §3.4.3), at the root (every type) or per resource type."""
        if Quirk.SEARCH_POST_UNSUPPORTED in self.quirks:
            raise not_found("not found")
        if not isinstance(body, dict):
            raise bad_request("the request body must be a SearchRequest object", "invalidSyntax")
        schemas = body.get("schemas")
        if not isinstance(schemas, list) or SEARCH_REQUEST not in schemas:
            raise bad_request(f"'schemas' must contain {SEARCH_REQUEST}", "invalidSyntax")
        lowered = {k.lower(): v for k, v in body.items()}
        p = parse_list_params(lambda name: lowered.get(name.lower()))
        if rt is not None:
            return self.list_resources(rt, p, base)
        if p.sort_by and not self.sort_supported:
            p.sort_by = None  # as in `list_resources`: sortBy is ignored where sorting is unsupported
        with self.store.lock:
            return self._search_all(p, base)

    def _search_all(self, p: ListParams, base: str) -> Result:
        items: list[tuple[ResourceType, Resource]] = []
        errors: list[ScimError] = []
        for each in (self.users, self.groups):
            try:
                items.extend((each, r) for r in self._matches(each, p.filter, base))
            except ScimError as exc:
                errors.append(exc)
        if len(errors) == 2:
            raise errors[0]
        return self._page(items, p, base, sort_rt=None if not p.sort_by else self.users)  # both types

    # -- discovery --------------------------------------------------------------------------
    def service_provider_config(self, base: str) -> dict[str, Any]:
        schemes = (
            []
            if self.config.no_auth
            else [
                {
                    "type": "oauthbearertoken",
                    "name": "OAuth Bearer Token",
                    "description": "Authentication with a bearer token in the Authorization header",
                    "specUri": "https://www.rfc-editor.org/info/rfc6750",
                    "primary": True,
                },
                {
                    "type": "httpbasic",
                    "name": "HTTP Basic",
                    "description": "HTTP Basic authentication with a SCIM key and secret",
                    "specUri": "https://www.rfc-editor.org/info/rfc7617",
                },
            ]
        )
        out: dict[str, Any] = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://example.invalid/scimitar",
            "patch": {"supported": True},
            "bulk": {
                "supported": True,
                "maxOperations": self.config.max_operations,
                "maxPayloadSize": self.config.max_payload_size,
            },
            "filter": {"supported": True, "maxResults": self.config.max_results},
            "changePassword": {"supported": False},
            "sort": {"supported": True},
            "etag": {"supported": True},
            "authenticationSchemes": schemes,
            "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"},
        }
        for member, value in (self.shape.spc if self.shape else {}).items():
            if isinstance(value, dict) and isinstance(out.get(member), dict):
                out[member] = {**out[member], **value}
            else:
                out[member] = value
        if Quirk.SPC_NO_AUTH_SCHEMES in self.quirks:
            del out["authenticationSchemes"]
        if Quirk.SPC_NO_SCHEMAS in self.quirks:
            del out["schemas"]
        if Quirk.SPC_INCOMPLETE in self.quirks:
            del out["sort"], out["changePassword"], out["bulk"]["maxPayloadSize"], out["filter"]["maxResults"]
        return out

    def schema_docs(self, base: str) -> list[dict[str, Any]]:
        docs = []
        for urn in self.registry.schemas:
            if Quirk.SCHEMAS_INCOMPLETE in self.quirks and "enterprise" in urn:
                continue
            schema = self.registry.schema(urn)
            if schema is not None:
                doc = schema.to_json(f"{base}/Schemas/{urn}")
                if Quirk.SCHEMA_ATTRS_INCOMPLETE in self.quirks:
                    for attr in doc["attributes"]:
                        for sub in attr.get("subAttributes", []):
                            sub.pop("type", None), sub.pop("multiValued", None)
                docs.append(doc)
        return docs

    def resource_type_docs(self, base: str) -> list[dict[str, Any]]:
        docs = [rt.to_json(f"{base}/ResourceTypes/{rt.name}") for rt in self.registry.resource_types.values()]
        if Quirk.RESOURCETYPE_WRONG_ENDPOINT in self.quirks:
            for doc in docs:
                if doc["name"] == "Group":
                    doc["endpoint"] = "/Group"
        return docs

    def stats(self) -> dict[str, Any]:
        return {"users": self.store.count("User"), "groups": self.store.count("Group"), "time": time.time()}
