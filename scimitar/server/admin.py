"""The reference server's admin API: not SCIM, its own path and its own credential.

Scenarios use it to drive what a real product does in its console: rotate SCIM credentials
(create, list, revoke), read the organisation's members with their roles, map roles to groups,
read the audit log, check whether a user may sign in, and reset the store between runs.
Secrets are shown once, in the response that creates them, and never listed again.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scimitar.server.auth import TooManyCredentials
from scimitar.server.errors import ScimError

if TYPE_CHECKING:
    from scimitar.server.app import ScimServer


def routes(server: ScimServer) -> list[Route]:
    prefix = server.config.admin_path

    def guard(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), server.config.admin_token.encode()
        )
        if not ok:
            raise ScimError(401, "the admin API needs 'Authorization: Bearer <admin token>'")

    async def _json(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            import orjson

            data = orjson.loads(raw)
        except ValueError:
            raise ScimError(400, "the request body is not valid JSON", "invalidSyntax") from None
        if not isinstance(data, dict):
            raise ScimError(400, "the request body must be a JSON object", "invalidSyntax")
        return data

    async def credentials(request: Request) -> Response:
        guard(request)
        store = server.credentials
        if request.method == "GET":
            return server.json(
                {
                    "credentials": [c.public() for c in store.all()],
                    "live": len(store.live()),
                    "maxLive": store.max_live,
                }
            )
        data = await _json(request)
        kind = data.get("kind") or ("basic" if server.config.clickhouse else "bearer")
        try:
            if kind == "basic":
                cred = store.add_basic(data.get("key"), data.get("secret"))
                created: dict[str, Any] = {
                    **cred.public(),
                    "key": cred.key,
                    "secret": cred.secret,
                    "bearer": f"{cred.key}:{cred.secret}",
                }
            elif kind == "bearer":
                cred = store.add_bearer(data.get("token"))
                created = {**cred.public(), "token": cred.secret}
            else:
                raise ScimError(400, f"kind must be 'bearer' or 'basic', got {kind!r}", "invalidValue")
        except TooManyCredentials as exc:
            raise ScimError(409, str(exc), "tooMany") from None
        return server.json(created, 201)

    async def credential_one(request: Request) -> Response:
        guard(request)
        if not server.credentials.revoke(request.path_params["id"]):
            raise ScimError(404, f"no live credential {request.path_params['id']!r}")
        return Response(status_code=204)

    async def members(request: Request) -> Response:
        guard(request)
        return server.json({"members": server.service.org.members()})

    async def roles(request: Request) -> Response:
        guard(request)
        org = server.service.org
        if request.method == "POST":
            data = await _json(request)
            name = data.get("name")
            if not isinstance(name, str) or not name:
                raise ScimError(400, "a role needs a 'name'", "invalidValue")
            try:
                org.add_role(name, data.get("scimGroup"))
            except ValueError as exc:
                raise ScimError(400, str(exc), "invalidValue") from None
        return server.json(
            {
                "roles": [r.public() for r in org.roles.values()],
                "defaultRole": org.default_role,
                "strict": org.strict,
            }
        )

    async def settings(request: Request) -> Response:
        guard(request)
        org = server.service.org
        if request.method == "POST":
            data = await _json(request)
            if "strictRoleMapping" in data:
                org.strict = bool(data["strictRoleMapping"])
            if "defaultRole" in data:
                org.default_role = str(data["defaultRole"])
        return server.json(
            {
                "profile": server.config.profile,
                "strictRoleMapping": org.strict,
                "defaultRole": org.default_role,
                "quirks": sorted(q.value for q in server.config.quirks),
            }
        )

    async def audit(request: Request) -> Response:
        guard(request)
        return server.json({"events": list(server.service.audit)})

    async def signin(request: Request) -> Response:
        guard(request)
        data = await _json(request)
        user_name = data.get("userName")
        if not isinstance(user_name, str):
            raise ScimError(400, "give the 'userName' that signs in", "invalidValue")
        allowed = server.service.org.can_sign_in(user_name)
        return server.json({"userName": user_name, "allowed": allowed}, 200 if allowed else 403)

    async def reset(request: Request) -> Response:
        guard(request)
        server.service.store.clear()
        server.service.audit.clear()
        return Response(status_code=204)

    return [
        Route(f"{prefix}/credentials", credentials, methods=["GET", "POST"]),
        Route(f"{prefix}/credentials/{{id}}", credential_one, methods=["DELETE"]),
        Route(f"{prefix}/members", members, methods=["GET"]),
        Route(f"{prefix}/roles", roles, methods=["GET", "POST"]),
        Route(f"{prefix}/settings", settings, methods=["GET", "POST"]),
        Route(f"{prefix}/audit", audit, methods=["GET"]),
        Route(f"{prefix}/signin", signin, methods=["POST"]),
        Route(f"{prefix}/reset", reset, methods=["POST"]),
    ]
