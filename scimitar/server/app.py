"""The reference server's HTTP layer: Starlette routes over `ScimService`.

`create_app(config)` returns an ASGI application. Authentication, the operational quirks (latency,
throttling) and error rendering wrap the router in one plain ASGI callable, which costs less per
request than Starlette middleware classes. Every error, including 404/405 from routing and
unexpected exceptions, is answered as a SCIM Error body (RFC 7644 §3.12), never a bare 500 page.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import uuid
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from scimitar.quirks import Quirk
from scimitar.schema import LIST_RESPONSE, ResourceType
from scimitar.server import admin
from scimitar.server.auth import CredentialStore
from scimitar.server.bulk import run_bulk
from scimitar.server.config import ServerConfig
from scimitar.server.errors import ScimError, bad_request
from scimitar.server.service import RACY_QUIRKS, ListParams, Result, ScimService, parse_list_params

log = logging.getLogger("scimitar.server")

SCIM_JSON = "application/scim+json"
_JSON_TYPES = ("application/scim+json", "application/json")


class ScimServer:
    """Everything one running reference server holds: config, credentials, service state."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.service = ScimService(config)
        self.credentials = CredentialStore(
            max_live=config.max_credentials,
            accept_key_secret_bearer=True,
        )
        self.credentials.allow_revoked = Quirk.REVOKED_TOKEN_ACCEPTED in config.quirks
        for token in config.tokens:
            self.credentials.add_bearer(token)
        for key, secret in config.basic:
            self.credentials.add_basic(key, secret)
        self.media_type = "application/json" if Quirk.CONTENT_TYPE_JSON in config.quirks else SCIM_JSON
        self._counter = itertools.count(1)

    # -- responses --------------------------------------------------------------------------
    def json(self, body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        content = b"" if body is None else orjson.dumps(body)
        return Response(
            content,
            status_code=status,
            headers=headers,
            media_type=self.media_type if body is not None else None,
        )

    def error(self, exc: ScimError, headers: dict[str, str] | None = None) -> Response:
        q = self.config.quirks
        body = exc.body(
            status_as_number=Quirk.ERROR_STATUS_NUMBER in q,
            with_schemas=Quirk.ERROR_NO_SCHEMAS not in q,
            with_scim_type=Quirk.ERROR_NO_SCIMTYPE not in q,
        )
        if Quirk.SCIMTYPE_UNKNOWN in q and "scimType" in body:
            body["scimType"] = "badRequest"  # the quirk: a keyword outside RFC 7644 Table 9
        return self.json(body, exc.status, headers)

    def result(self, result: Result) -> Response:
        if result.status in (204, 304):
            return Response(status_code=result.status, headers=result.headers)
        return self.json(result.body, result.status, result.headers)


def _base(request: Request, server: ScimServer) -> str:
    host = request.headers.get("host") or "localhost"
    # the scope's scheme is what `request.url.scheme` reports, without building the whole URL
    scheme = str(request.scope.get("scheme", "http")).lower()
    return f"{scheme}://{host}{server.config.base_path}"


async def _body(request: Request, server: ScimServer) -> tuple[Any, int]:
    ctype = request.headers.get("content-type", "")
    media = ctype.split(";", 1)[0].strip().lower()
    if Quirk.REJECT_SCIM_CONTENT_TYPE in server.config.quirks and media == SCIM_JSON:
        raise ScimError(415, f"unsupported media type {media}")
    if Quirk.REJECT_JSON_CONTENT_TYPE in server.config.quirks and media == "application/json":
        raise ScimError(415, f"unsupported media type {media}")  # the quirk
    if media and media not in _JSON_TYPES and not media.endswith("+json"):
        raise ScimError(415, f"unsupported media type {media!r}; send application/scim+json")
    declared = request.headers.get("content-length")
    # the bulk-limits-ignored quirk also lets bodies past maxPayloadSize through (up to 64 MiB)
    limit = (
        server.config.max_payload_size if Quirk.BULK_LIMITS_IGNORED not in server.config.quirks else 1 << 26
    )
    # more digits than any limit has (and Python's int() refuses past 4,300 digits): too large
    if declared and declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
        raise ScimError(413, f"the request body is larger than {limit} bytes")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise ScimError(413, f"the request body is larger than {limit} bytes")
    if not raw.strip():
        raise bad_request("the request body is empty; a JSON object is required", "invalidSyntax")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if Quirk.BAD_JSON_500 in server.config.quirks:
            raise ScimError(500, "internal server error") from None  # the quirk
        raise bad_request(f"the request body is not valid JSON: {exc}", "invalidSyntax") from None
    if len(raw) > 2 * MAX_DEPTH and _too_deep(body):
        raise bad_request(f"the request body nests deeper than {MAX_DEPTH} levels", "invalidSyntax")
    return body, len(raw)


#: The deepest JSON nesting a request may have. The deepest SCIM message is a PatchOp inside a Bulk
#: operation reaching a complex extension attribute (about 10 levels); orjson accepts 1024, which
#: is past Python's recursion limit for the code that walks request values.
MAX_DEPTH = 32


def _too_deep(value: Any) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return False


def _params(request: Request) -> ListParams:
    q = request.query_params
    if not q:
        return ListParams()
    lowered = {k.lower(): v for k, v in q.multi_items()}
    quirks = request.app.state.server.config.quirks
    clamp = Quirk.PAGING_NOT_CLAMPED not in quirks
    return parse_list_params(lambda name: lowered.get(name.lower()), clamp=clamp)


def _write_params(request: Request) -> ListParams:
    """`attributes`/`excludedAttributes` for a POST/PUT/PATCH response (RFC 7644 §3.9)."""
    if Quirk.ATTRIBUTES_WRITE_IGNORED in request.app.state.server.config.quirks:
        return ListParams()  # the quirk
    return _params(request)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _actor(request: Request) -> str | None:
    cred = request.scope.get("scimitar.credential")
    return getattr(cred, "id", None)


def create_app(config: ServerConfig | None = None) -> Starlette:
    """Build the ASGI application of one reference server (state lives in `app.state.server`)."""
    config = config or ServerConfig()
    server = ScimServer(config)
    service = server.service
    if config.seed_users or config.seed_groups:
        from scimitar.server.seed import seed_store

        seed_store(service, config.seed_users, config.seed_groups, config.seed)
    base_path = config.base_path
    racy = bool(config.quirks & RACY_QUIRKS)

    async def write(operation: Any, *args: Any) -> Result:
        """A write; under a race quirk in a worker thread, so that under uvicorn (one event loop)
        concurrent requests really meet in the quirk's window, as they do on a threaded server."""
        if racy:
            result: Result = await run_in_threadpool(operation, *args)
            return result
        done: Result = operation(*args)
        return done

    def resource_routes(rt: ResourceType) -> list[Route]:
        async def collection(request: Request) -> Response:
            base = _base(request, server)
            if request.method == "GET":
                return server.result(service.list_resources(rt, _params(request), base))
            body, _ = await _body(request, server)
            created = await write(service.create, rt, body, base, _actor(request), _write_params(request))
            return server.result(created)

        async def item(request: Request) -> Response:
            base = _base(request, server)
            rid = request.path_params["id"]
            method = request.method
            if method == "GET":
                inm = request.headers.get("if-none-match")
                return server.result(service.get(rt, rid, base, _params(request), inm))
            if_match = request.headers.get("if-match")
            if method == "DELETE":
                return server.result(await write(service.delete, rt, rid, base, _actor(request), if_match))
            body, _ = await _body(request, server)
            if method == "PUT":
                params = _write_params(request)
                return server.result(
                    await write(service.replace, rt, rid, body, base, _actor(request), if_match, params)
                )
            params = _write_params(request)
            patched = await write(service.patch, rt, rid, body, base, _actor(request), if_match, params)
            return server.result(patched)

        async def search(request: Request) -> Response:
            body, _ = await _body(request, server)
            return server.result(service.search(rt, body, _base(request, server)))

        ep = rt.endpoint
        return [
            Route(f"{base_path}{ep}", collection, methods=["GET", "POST"]),
            Route(f"{base_path}{ep}/.search", search, methods=["POST"]),
            Route(f"{base_path}{ep}/{{id}}", item, methods=["GET", "PUT", "PATCH", "DELETE"]),
        ]

    def _no_filter(request: Request) -> None:
        # RFC 7644 §4: "If a "filter" is provided, the service provider SHOULD respond with HTTP
        # status code 403 (Forbidden)" for the discovery endpoints.
        if Quirk.DISCOVERY_FILTER_IGNORED in server.config.quirks:
            return  # the quirk: the filter is silently ignored
        if any(k.lower() == "filter" for k in request.query_params):
            raise ScimError(403, "filtering is not supported on discovery endpoints")

    def _list(docs: list[dict[str, Any]], request: Request | None = None) -> dict[str, Any]:
        if request is not None and Quirk.DISCOVERY_PAGINATED in server.config.quirks:
            p = _params(request)  # the quirk: discovery lists are paged like resource lists
            docs = docs[
                p.start_index - 1 : p.start_index - 1 + (p.count if p.count is not None else len(docs))
            ]
        return {
            "schemas": [LIST_RESPONSE],
            "totalResults": len(docs),
            "startIndex": 1,
            "itemsPerPage": len(docs),
            "Resources": docs,
        }

    async def spc(request: Request) -> Response:
        _no_filter(request)
        return server.json(service.service_provider_config(_base(request, server)))

    async def schemas(request: Request) -> Response:
        _no_filter(request)
        return server.json(_list(service.schema_docs(_base(request, server)), request))

    async def schema_one(request: Request) -> Response:
        wanted = request.path_params["id"].lower()
        if Quirk.DISCOVERY_NO_SINGLE in server.config.quirks:
            wanted = ""  # the quirk: no single schema is served
        for doc in service.schema_docs(_base(request, server)):
            if doc["id"].lower() == wanted:
                return server.json(doc)
        raise ScimError(404, f"schema {request.path_params['id']!r} not found")

    async def resource_types(request: Request) -> Response:
        _no_filter(request)
        docs = service.resource_type_docs(_base(request, server))
        if Quirk.RESOURCETYPES_NOT_LIST in server.config.quirks:
            return server.json(docs)  # the quirk: a bare array
        return server.json(_list(docs, request))

    async def resource_type_one(request: Request) -> Response:
        wanted = request.path_params["name"].lower()
        if Quirk.DISCOVERY_NO_SINGLE in server.config.quirks:
            wanted = ""  # the quirk: no single resource type is served
        for doc in service.resource_type_docs(_base(request, server)):
            if doc["name"].lower() == wanted or doc["id"].lower() == wanted:
                return server.json(doc)
        raise ScimError(404, f"resource type {request.path_params['name']!r} not found")

    async def root_search(request: Request) -> Response:
        if Quirk.HTML_404 in server.config.quirks:
            raise ScimError(404, "no root search")  # the quirk: answered as an unrouted path
        body, _ = await _body(request, server)
        return server.result(service.search(None, body, _base(request, server)))

    async def bulk(request: Request) -> Response:
        body, size = await _body(request, server)
        return server.result(run_bulk(service, body, _base(request, server), _actor(request), size))

    async def me(request: Request) -> Response:
        # RFC 7644 §3.11: "A service provider that does NOT support this feature SHOULD respond
        # with HTTP status code 501 (Not Implemented)." Provisioning credentials here belong to
        # an IdP connection, not to a User resource, so there is no subject for /Me to alias.
        if Quirk.ME_404 in server.config.quirks:  # a framework's 404 for a route that does not exist
            return Response("Not Found", status_code=404, media_type="text/plain")
        if Quirk.ME_STUB_200 in server.config.quirks:
            return server.json({})
        raise ScimError(
            501,
            "/Me is not supported: the authenticated client is a provisioning "
            "credential, not a User resource",
        )

    # The resource routes come first: Starlette tries routes in order, and these carry nearly all
    # the traffic. No path matches both them and a later route, so the order changes no answer.
    routes: list[Route] = resource_routes(service.users) + resource_routes(service.groups)
    routes += [
        Route(f"{base_path}/ServiceProviderConfig", spc, methods=["GET"]),
        Route(f"{base_path}/Schemas", schemas, methods=["GET"]),
        Route(f"{base_path}/Schemas/{{id:path}}", schema_one, methods=["GET"]),
        Route(f"{base_path}/ResourceTypes", resource_types, methods=["GET"]),
        Route(f"{base_path}/ResourceTypes/{{name}}", resource_type_one, methods=["GET"]),
        Route(f"{base_path}/.search", root_search, methods=["POST"]),
        Route(f"{base_path}/Bulk", bulk, methods=["POST"]),
        Route(f"{base_path}/Me", me, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
        Route(f"{base_path}/Me/{{rest:path}}", me, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
    ]
    routes += admin.routes(server)

    def html_404(request: Request) -> Response | None:
        """The HTML_404 quirk: the 404 a web framework renders for what its routes do not match
        (discovery ids, `/.search`, resource ids that are not UUIDs), not a SCIM Error."""
        if Quirk.HTML_404 not in server.config.quirks:
            return None
        segments = [s for s in request.url.path.split("/") if s]
        unrouted = (
            any(s in ("Schemas", "ResourceTypes") for s in segments[:-1])
            or segments[-1:] == [".search"]
            or (len(segments) >= 2 and segments[-2] in ("Users", "Groups") and not _is_uuid(segments[-1]))
        )
        page = "<!doctype html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"
        return Response(page, status_code=404, media_type="text/html") if unrouted else None

    async def scim_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ScimError)
        if exc.status == 404 and (page := html_404(request)) is not None:
            return page
        return server.error(exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404 and Quirk.HTML_404 in server.config.quirks:
            return Response("<html><body><h1>Not Found</h1></body></html>", status_code=404, media_type="text/html")
        detail = {
            404: f"no endpoint at {request.url.path}",
            405: f"method {request.method} is not allowed on {request.url.path}",
        }.get(exc.status_code, str(exc.detail))
        return server.error(ScimError(exc.status_code, detail), dict(exc.headers or {}))

    app = Starlette(
        routes=routes,
        exception_handlers={ScimError: scim_error, HTTPException: http_error},
    )
    app.state.server = server
    app.add_middleware(_Gate, server=server)  # type: ignore[arg-type]
    if Quirk.EVENTUAL_CONSISTENCY in config.quirks:  # the quirk: reads come from a lagging replica
        from scimitar.server.eventual import LaggingReads

        return LaggingReads(app, create_app)
    return app


class _Gate:
    """Authentication and operational quirks in front of the router (plain ASGI, no overhead)."""

    def __init__(self, app: Any, server: ScimServer) -> None:
        self.app = app
        self.server = server
        self.scim_prefix = server.config.base_path + "/"
        self.admin_prefix = server.config.admin_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Everything, authentication included, answers its failures: nothing escapes to uvicorn
        # as a plain-text 500.
        try:
            await self._gate(scope, receive, send)
        except ClientDisconnect:
            # The client went away before its body arrived: nobody is left to answer, and it is
            # no server error. One debug line, no traceback.
            log.debug("client disconnected during %s %s", scope.get("method"), scope.get("path"))
        except Exception:
            # A bug must still answer a SCIM error, never a traceback (the log keeps it).
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            try:
                await self.server.error(ScimError(500, "internal server error; see the server log"))(
                    scope, receive, send
                )
            except Exception:
                pass  # the response had already started

    async def _gate(self, scope: Scope, receive: Receive, send: Send) -> None:
        server = self.server
        path: str = scope["path"]
        # the admin prefix as a whole segment: `/_admin-scim/...` is no admin path
        if path.startswith(self.admin_prefix) and path[
            len(self.admin_prefix) : len(self.admin_prefix) + 1
        ] in ("/", ""):
            await self.app(scope, receive, send)  # the admin routes check their own token
            return
        quirks = server.config.quirks
        if quirks:
            n = next(server._counter)
            if Quirk.SLOW in quirks:
                await asyncio.sleep(server.config.latency_ms / 1000)
            if Quirk.THROTTLE_429 in quirks and n % 5 == 0:
                await server.error(ScimError(429, "too many requests; retry later"), {"Retry-After": "1"})(
                    scope, receive, send
                )
                return
            if Quirk.FLAKY_503 in quirks and n % 7 == 0:
                await server.error(ScimError(503, "service temporarily unavailable"), {"Retry-After": "1"})(
                    scope, receive, send
                )
                return
        if not server.config.no_auth and Quirk.AUTH_NOT_ENFORCED not in quirks:
            header = None
            for name, value in scope["headers"]:
                if name == b"authorization":
                    header = value.decode("latin-1")
                    break
            cred = server.credentials.authenticate(header)
            if cred is None and not (header and Quirk.AUTH_ANY_TOKEN in quirks):
                challenge = (
                    {}
                    if Quirk.NO_WWW_AUTHENTICATE in quirks
                    else {"WWW-Authenticate": 'Bearer realm="scim", Basic realm="scim"'}
                )
                detail = (
                    "authentication required: send Authorization: Bearer <token> or Basic"
                    if not header
                    else "the credential was not accepted"
                )
                await server.error(ScimError(401, detail), challenge)(scope, receive, send)
                return
            scope["scimitar.credential"] = cred
        if Quirk.ACCEPT_JSON_406 in quirks and (b"accept", b"application/json") in scope["headers"]:
            await server.error(ScimError(406, "only application/scim+json is served"))(scope, receive, send)
            return  # the quirk
        await self.app(scope, receive, send)

