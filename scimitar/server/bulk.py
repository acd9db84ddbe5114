"""Bulk operations (RFC 7644 §3.7) on top of the service's ordinary operations.

"The service provider MUST try to resolve circular cross-references between resources in a single
bulk job" and a `bulkId` "MUST be unique within the bulk request" (§3.7.1, §3.7.2). Operations run
in order; one whose data references a `bulkId:` not yet created waits until it is, and one that
never resolves fails with 409 as the RFC's example shows.
"""

from __future__ import annotations

import re
from typing import Any

from scimitar.schema import BULK_REQUEST, BULK_RESPONSE
from scimitar.server.errors import ScimError, bad_request
from scimitar.server.quirks import Quirk
from scimitar.server.service import Result, ScimService

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


def run_bulk(service: ScimService, body: Any, base: str, actor: str | None, body_size: int) -> Result:
    cfg = service.config
    limits = Quirk.BULK_LIMITS_IGNORED not in service.quirks
    if limits and body_size > cfg.max_payload_size:
        raise ScimError(
            413, f"the bulk request is {body_size} bytes; maxPayloadSize is {cfg.max_payload_size}"
        )
    if not isinstance(body, dict):
        raise bad_request("the request body must be a BulkRequest object", "invalidSyntax")
    if BULK_REQUEST not in (body.get("schemas") or []):
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
    bulk_ids = [op.get("bulkId") for op in ops if isinstance(op, dict) and op.get("bulkId")]
    if len(bulk_ids) != len(set(bulk_ids)):
        raise bad_request("bulkId values must be unique within the request", "invalidValue")

    resolve = Quirk.BULK_ID_UNRESOLVED not in service.quirks
    ids: dict[str, str] = {}
    results: dict[int, dict[str, Any]] = {}
    pending = list(range(len(ops)))
    errors = 0
    progress = True
    while pending and progress:
        progress = False
        for index in list(pending):
            op = ops[index]
            refs = _refs(op) if isinstance(op, dict) and resolve else set()
            waiting = {r for r in refs if r not in ids} - {op.get("bulkId")}
            if waiting and any(ops[i].get("bulkId") in waiting for i in pending if i != index):
                continue
            pending.remove(index)
            progress = True
            outcome = _one(service, op, ids if resolve else {}, base, actor, waiting)
            results[index] = outcome
            if int(outcome["status"]) >= 400:
                errors += 1
                if fail_on and errors >= fail_on:
                    pending.clear()
                    break
            elif isinstance(op, dict) and op.get("bulkId") and outcome.get("_id"):
                ids[op["bulkId"]] = outcome["_id"]
    for index in pending:  # unresolvable (circular through failures)
        op = ops[index]
        results[index] = _error(op, ScimError(409, "bulkId reference could not be resolved", "invalidValue"))
    out_ops = []
    for index in sorted(results):
        entry = results[index]
        entry.pop("_id", None)
        if Quirk.BULK_NO_LOCATION in service.quirks:
            entry.pop("location", None)  # the quirk
        if Quirk.BULK_ERROR_NO_RESPONSE in service.quirks:
            entry.pop("response", None)  # the quirk
        out_ops.append(entry)
    return Result(200, {"schemas": [BULK_RESPONSE], "Operations": out_ops})


def _error(op: Any, exc: ScimError) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "method": op.get("method") if isinstance(op, dict) else None,
        "status": str(exc.status),
        "response": exc.body(),
    }
    if isinstance(op, dict) and op.get("bulkId"):
        entry["bulkId"] = op["bulkId"]
    return entry


def _one(
    service: ScimService, op: Any, ids: dict[str, str], base: str, actor: str | None, unresolved: set[str]
) -> dict[str, Any]:
    try:
        if not isinstance(op, dict):
            raise bad_request("each operation must be an object", "invalidSyntax")
        if unresolved:
            raise ScimError(
                409,
                f"bulkId reference(s) {', '.join(sorted(unresolved))} could not be resolved",
                "invalidValue",
            )
        method = str(op.get("method", "")).upper()
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
        if method == "POST" and rid is None:
            if not op.get("bulkId"):
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
    entry: dict[str, Any] = {"method": method, "status": str(result.status)}
    if op.get("bulkId"):
        entry["bulkId"] = op["bulkId"]
    body = result.body if isinstance(result.body, dict) else {}
    rid = rid or body.get("id")
    if rid:
        entry["location"] = service.location(base, rt, rid)
        entry["_id"] = rid
    if result.headers.get("ETag"):
        entry["version"] = result.headers["ETag"]
    return entry
