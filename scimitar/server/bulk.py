"""Bulk operations (RFC 7644 §3.7) on top of the service's ordinary operations.

"The service provider MUST try to resolve circular cross-references between resources in a single
bulk job but MAY stop after a failed attempt and instead return HTTP status code 409 (Conflict)",
and a `bulkId` "MUST be unique within the bulk request" (§3.7.1, §3.7.2). Operations run in
order; one whose data references a `bulkId:` of an operation not yet run waits until that one has
run. When every waiting operation waits on another (a cycle, e.g. the §3.7.1 example of two Groups
each a member of the other), the first waiting POST is created without the values that hold the
unresolved references, and once the job has run those values are added to it with a PATCH. If
that cannot be done (a referenced operation failed), the partly created resource is deleted again
and the operation answers 409: the one failed attempt the RFC allows.

The whole job runs under the store's lock, so no other request sees a cycle half resolved.
"""

from __future__ import annotations

import heapq
import logging
import re
from dataclasses import dataclass
from typing import Any

from scimitar.quirks import Quirk
from scimitar.schema import BULK_REQUEST, BULK_RESPONSE, PATCH_OP, ResourceType
from scimitar.server.errors import ScimError, bad_request
from scimitar.server.service import Result, ScimService

log = logging.getLogger("scimitar.server")

_BULK_REF = re.compile(r"bulkId:([^\"/\s]+)")


def _refs(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(_BULK_REF.findall(value))
    if isinstance(value, list):
        return set().union(*(_refs(v) for v in value)) if value else set()
    if isinstance(value, dict):
        return set().union(*(_refs(v) for v in value.values())) if value else set()
    return set()


def _resolve(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _BULK_REF.sub(lambda m: ids.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [_resolve(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, ids) for k, v in value.items()}
    return value


def _bulk_id(op: Any) -> str | None:
    value = op.get("bulkId") if isinstance(op, dict) else None
    return value if isinstance(value, str) and value else None


def _defer(data: dict[str, Any], waiting: set[str], prefix: str = "") -> tuple[dict[str, Any], list[Any]]:
    """`data` without the values that reference `waiting` bulkIds, and the PATCH operations that
    add those values back once the references resolve."""
    kept: dict[str, Any] = {}
    later: list[Any] = []
    for key, value in data.items():
        if not _refs(value) & waiting or key.lower() == "schemas":
            kept[key] = value
        elif isinstance(value, list):
            keep = [v for v in value if not _refs(v) & waiting]
            if keep:
                kept[key] = keep
            later.append(
                {"op": "add", "path": prefix + key, "value": [v for v in value if _refs(v) & waiting]}
            )
        elif isinstance(value, dict) and not prefix and key.lower().startswith("urn:"):
            inner, inner_later = _defer(value, waiting, key + ":")
            kept[key] = inner
            later.extend(inner_later)
        else:
            later.append({"op": "add", "path": prefix + key, "value": value})
    return kept, later


@dataclass
class _Fixup:
    index: int
    rt: ResourceType
    rid: str
    operations: list[Any]


def run_bulk(service: ScimService, body: Any, base: str, actor: str | None, body_size: int) -> Result:
    cfg = service.config
    limits = Quirk.BULK_LIMITS_IGNORED not in service.quirks
    if limits and body_size > cfg.max_payload_size:
        raise ScimError(
            413, f"the bulk request is {body_size} bytes; maxPayloadSize is {cfg.max_payload_size}"
        )
    if not isinstance(body, dict):
        raise bad_request("the request body must be a BulkRequest object", "invalidSyntax")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or BULK_REQUEST not in schemas:
        raise bad_request(f"'schemas' must contain {BULK_REQUEST}", "invalidSyntax")
    ops = body.get("Operations")
    if not isinstance(ops, list) or not ops:
        raise bad_request("'Operations' must be a non-empty list", "invalidSyntax")
    if limits and len(ops) > cfg.max_operations:
        raise ScimError(
            413, f"the bulk request has {len(ops)} operations; maxOperations is {cfg.max_operations}"
        )
    fail_on = body.get("failOnErrors")
    if fail_on is not None and (not isinstance(fail_on, int) or isinstance(fail_on, bool) or fail_on < 1):
        raise bad_request("'failOnErrors' must be a positive integer", "invalidValue")
    if Quirk.BULK_FAIL_ON_ERRORS_IGNORED in service.quirks:
        fail_on = None  # the quirk: every operation runs
    bulk_ids = [b for b in map(_bulk_id, ops) if b is not None]
    if len(bulk_ids) != len(set(bulk_ids)):
        raise bad_request("bulkId values must be unique within the request", "invalidValue")
    with service.store.lock:
        out_ops = _run(service, ops, fail_on, base, actor)
    return Result(200, {"schemas": [BULK_RESPONSE], "Operations": out_ops})


def _run(
    service: ScimService, ops: list[Any], fail_on: int | None, base: str, actor: str | None
) -> list[dict[str, Any]]:
    resolve = Quirk.BULK_ID_UNRESOLVED not in service.quirks
    ids: dict[str, str] = {}
    results: dict[int, dict[str, Any]] = {}
    fixups: list[_Fixup] = []
    errors = 0
    # Operations run in request order, except that one referencing the bulkId of an operation
    # that has not run yet waits for it (a topological order, smallest index first): linear in
    # the size of the request, however the references are arranged.
    own = [_bulk_id(op) for op in ops]
    declared = {bid: i for i, bid in enumerate(own) if bid is not None}
    refs = [_refs(op) if resolve and isinstance(op, dict) else set() for op in ops]
    blockers: list[set[str]] = [
        {r for r in refs[i] if r in declared and r != own[i]} for i in range(len(ops))
    ]
    dependents: dict[str, list[int]] = {}
    for i, deps in enumerate(blockers):
        for bid in deps:
            dependents.setdefault(bid, []).append(i)
    ready = [i for i, deps in enumerate(blockers) if not deps]
    heapq.heapify(ready)
    pending = set(range(len(ops)))

    def waiting_of(index: int) -> set[str]:
        return {r for r in refs[index] if r not in ids} - {own[index]}

    def finish(index: int, outcome: dict[str, Any]) -> bool:
        """Record one outcome and release the operations waiting on it; True when failOnErrors
        says to stop."""
        nonlocal errors
        results[index] = outcome
        pending.discard(index)
        bid = own[index]
        if int(outcome["status"]) < 400 and bid and outcome.get("_id"):
            ids[bid] = outcome["_id"]
        if bid is not None:
            for d in dependents.get(bid, ()):
                blockers[d].discard(bid)
                if not blockers[d] and d in pending:
                    heapq.heappush(ready, d)
        if int(outcome["status"]) >= 400:
            errors += 1
            return bool(fail_on and errors >= fail_on)
        return False

    stopped = False
    while pending and not stopped:
        if ready:
            index = heapq.heappop(ready)
            if index in pending:
                stopped = finish(
                    index, _one(service, ops[index], ids if resolve else {}, base, actor, waiting_of(index))
                )
            continue
        # every pending operation waits on another: a cycle. Break it at the first POST whose
        # unresolved references are all in its data.
        index = min((i for i in pending if _breakable(ops[i], waiting_of(i))), default=-1)
        if index < 0:
            break
        op = ops[index]
        waiting = waiting_of(index)
        data, later = _defer(op["data"], waiting)
        outcome = _one(service, {**op, "data": data}, ids, base, actor, set())
        if int(outcome["status"]) >= 400:
            err = outcome.get("response", {}).get("detail", "")
            outcome = _error(
                op,
                ScimError(
                    409,
                    f"the circular bulkId reference(s) {', '.join(sorted(waiting))} could not be "
                    f"resolved: creating the resource without them failed ({err})",
                ),
            )
        else:
            rt = service.registry.by_endpoint("/" + op["path"].strip("/"))
            assert rt is not None
            fixups.append(_Fixup(index, rt, outcome["_id"], later))
        stopped = finish(index, outcome)
    for index in sorted(pending) if not stopped else ():  # never resolvable
        results[index] = _error(
            ops[index],
            ScimError(
                409, f"bulkId reference(s) {', '.join(sorted(waiting_of(index)))} could not be resolved"
            ),
        )
    for fix in fixups:
        _apply_fixup(service, ops, results, fix, ids, base, actor)
    out_ops = []
    for index in sorted(results):
        entry = results[index]
        entry.pop("_id", None)
        if Quirk.BULK_NO_LOCATION in service.quirks:
            entry.pop("location", None)  # the quirk
        if Quirk.BULK_ERROR_NO_RESPONSE in service.quirks:
            entry.pop("response", None)  # the quirk
        out_ops.append(entry)
    return out_ops


def _breakable(op: Any, waiting: set[str]) -> bool:
    """A POST whose unresolved references sit in its data (not its path), so it can be created
    without them first."""
    return (
        isinstance(op, dict)
        and bool(waiting)
        and str(op.get("method", "")).upper() == "POST"
        and _bulk_id(op) is not None
        and isinstance(op.get("path"), str)
        and not _refs(op["path"])
        and isinstance(op.get("data"), dict)
        and waiting <= _refs(op["data"])
    )


def _apply_fixup(
    service: ScimService,
    ops: list[Any],
    results: dict[int, dict[str, Any]],
    fix: _Fixup,
    ids: dict[str, str],
    base: str,
    actor: str | None,
) -> None:
    """Add the deferred values to the resource created to break a cycle, or undo its creation."""
    operations = _resolve(fix.operations, ids)
    left = _refs(operations)
    try:
        if left:
            raise ScimError(
                409,
                f"the circular bulkId reference(s) {', '.join(sorted(left))} could not be resolved "
                "(the referenced operations failed)",
            )
        try:
            done = service.patch(
                fix.rt, fix.rid, {"schemas": [PATCH_OP], "Operations": operations}, base, actor
            )
        except ScimError:
            raise
        except Exception:
            log.exception("unhandled error completing a circular bulk reference")
            raise ScimError(500, "internal server error in this operation; see the server log") from None
    except ScimError as exc:
        service.undo_create(fix.rt, fix.rid, base, actor)  # a failed operation leaves nothing behind
        results[fix.index] = _error(ops[fix.index], exc)
        return
    if done.headers.get("ETag"):
        results[fix.index]["version"] = done.headers["ETag"]


def _shown(op: Any, key: str) -> str:
    value = op.get(key) if isinstance(op, dict) else None
    return repr(value)[:80]


def _error(op: Any, exc: ScimError) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "method": op.get("method") if isinstance(op, dict) else None,
        "status": str(exc.status),
        "response": exc.body(),
    }
    if isinstance(op, dict) and op.get("bulkId") is not None:
        entry["bulkId"] = op["bulkId"]
    return entry


def _one(
    service: ScimService, op: Any, ids: dict[str, str], base: str, actor: str | None, unresolved: set[str]
) -> dict[str, Any]:
    try:
        if not isinstance(op, dict):
            raise bad_request("each operation must be an object", "invalidSyntax")
        if op.get("bulkId") is not None and _bulk_id(op) is None:
            raise bad_request("'bulkId' must be a non-empty string", "invalidValue")
        if unresolved:
            # §3.7.1: "... MAY stop after a failed attempt and instead return HTTP status code 409"
            raise ScimError(409, f"bulkId reference(s) {', '.join(sorted(unresolved))} could not be resolved")
        method = op.get("method")
        if not isinstance(method, str):
            raise bad_request("'method' must be one of POST, PUT, PATCH, DELETE", "invalidValue")
        method = method.upper()
        path = _resolve(op.get("path"), ids)
        data = _resolve(op.get("data"), ids)
        if not isinstance(path, str) or not path.startswith("/"):
            raise bad_request("'path' must be a resource path such as /Users", "invalidValue")
        parts = [p for p in path.split("/") if p]
        rt = service.registry.by_endpoint("/" + parts[0]) if parts else None
        if rt is None or len(parts) > 2:
            raise bad_request(f"unknown bulk path {path!r}", "invalidPath")
        rid = parts[1] if len(parts) == 2 else None
        version = op.get("version")
        if version is not None and not isinstance(version, str):
            raise bad_request("'version' must be an ETag string", "invalidValue")
        if method == "POST" and rid is None:
            if _bulk_id(op) is None:
                raise bad_request("POST operations require a bulkId", "invalidValue")
            result = service.create(rt, data, base, actor)
        elif method == "PUT" and rid:
            result = service.replace(rt, rid, data, base, actor, if_match=version)
        elif method == "PATCH" and rid:
            result = service.patch(rt, rid, data, base, actor, if_match=version)
        elif method == "DELETE" and rid:
            result = service.delete(rt, rid, base, actor, if_match=version)
        else:
            raise bad_request(f"unsupported bulk operation {method} {path}", "invalidValue")
    except ScimError as exc:
        return _error(op, exc)
    except Exception:
        # A bug in one operation is that operation's error: the operations before it stay as they
        # are (RFC 7644 §3.7: each one is processed on its own unless failOnErrors stops the job)
        # and the client still gets a BulkResponse saying what happened to each.
        log.exception("unhandled error in bulk operation %s %s", _shown(op, "method"), _shown(op, "path"))
        return _error(op, ScimError(500, "internal server error in this operation; see the server log"))
    entry: dict[str, Any] = {"method": method, "status": str(result.status)}
    if _bulk_id(op):
        entry["bulkId"] = op["bulkId"]
    body = result.body if isinstance(result.body, dict) else {}
    rid = rid or body.get("id")
    if rid:
        entry["location"] = service.location(base, rt, rid)
        entry["_id"] = rid
    if result.headers.get("ETag"):
        entry["version"] = result.headers["ETag"]
    return entry
