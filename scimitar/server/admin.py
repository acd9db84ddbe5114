"""The reference server's admin API: not SCIM, its own path and its own credential.

Scenarios use it to drive what a real product does in its console: rotate SCIM credentials
(create, list, revoke), read the organisation's members with their roles, map roles to groups,
read the audit log, check whether a user may sign in, and reset the store between runs.
Secrets are shown once, in the response that creates them, and never listed again.
"""

from __future__ import annotations

import hmac
import re
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scimitar.server.auth import TooManyCredentials
from scimitar.server.errors import ScimError

if TYPE_CHECKING:
    from scimitar.server.app import ScimServer

#: The largest admin request body: every admin message is a handful of short fields.
MAX_ADMIN_BODY = 64 * 1024
#: RFC 6750 §2.1 `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`: what a
#: Bearer token can be and still travel in `Authorization: Bearer <token>`.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*\Z")
#: A Basic user-id: RFC 7617 §2 "a user-id containing a colon character is invalid"; kept to
#: the characters an IdP's key field takes.
_KEY = re.compile(r"[A-Za-z0-9\-._~]+\Z")
#: A Basic password: visible ASCII (RFC 7617 allows more, but it must survive every IdP's form).
_SECRET = re.compile(r"[\x21-\x7e]+\Z")
_MAX_SECRET = 4096
_MAX_NAME = 256


def _invalid(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidValue")


def _only(data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    """Refuse fields the endpoint does not know: a typo must not be silently ignored."""
    unknown = sorted(k for k in data if k not in allowed)
    if unknown:
        raise _invalid(
            f"unknown field(s) {', '.join(repr(k[:40]) for k in unknown[:5])}; this endpoint takes "
            + (", ".join(allowed) if allowed else "no fields")
        )


def _string(data: dict[str, Any], name: str, pattern: re.Pattern[str] | None, limit: int) -> str | None:
    """`data[name]` as a string, None when absent or null; a 400 naming the field otherwise."""
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(f"'{name}' must be a string, got {type(value).__name__}")
    if not value or len(value) > limit:
        raise _invalid(f"'{name}' must be 1 to {limit} characters long, got {len(value)}")
    if pattern is not None and not pattern.match(value):
        raise _invalid(f"'{name}' holds characters it may not ({_RULES.get(name, 'see the docs')})")
    if pattern is None and any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise _invalid(f"'{name}' must not hold control characters")
    return value


_RULES = {
    "token": "RFC 6750 b64token: letters, digits and - . _ ~ + / then optional '='",
    "key": "letters, digits and - . _ ~; no ':' (RFC 7617)",
    "secret": "visible ASCII, no spaces",
}


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
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_ADMIN_BODY:
                raise ScimError(413, f"an admin request body is at most {MAX_ADMIN_BODY} bytes")
        if not raw.strip():
            return {}
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
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
        _only(data, ("kind", "token", "key", "secret"))
        kind = _string(data, "kind", None, 16) or ("basic" if server.config.clickhouse else "bearer")
        try:
            if kind == "basic":
                if data.get("token") is not None:
                    raise _invalid(
                        "'token' belongs to kind 'bearer'; a basic credential takes 'key' and 'secret'"
                    )
                cred = store.add_basic(
                    _string(data, "key", _KEY, _MAX_NAME), _string(data, "secret", _SECRET, _MAX_SECRET)
                )
                created: dict[str, Any] = {
                    **cred.public(),
                    "key": cred.key,
                    "secret": cred.secret,
                    "bearer": f"{cred.key}:{cred.secret}",
                }
            elif kind == "bearer":
                if data.get("key") is not None or data.get("secret") is not None:
                    raise _invalid(
                        "'key' and 'secret' belong to kind 'basic'; a bearer credential takes 'token'"
                    )
                cred = store.add_bearer(_string(data, "token", _B64TOKEN, _MAX_SECRET))
                created = {**cred.public(), "token": cred.secret}
            else:
                raise ScimError(400, f"kind must be 'bearer' or 'basic', got {kind[:20]!r}", "invalidValue")
        except TooManyCredentials as exc:
            raise ScimError(409, str(exc), "tooMany") from None
        except ValueError as exc:
            raise _invalid(str(exc)) from None
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
            _only(data, ("name", "scimGroup"))
            name = _string(data, "name", None, _MAX_NAME)
            if name is None:
                raise ScimError(400, "a role needs a 'name'", "invalidValue")
            try:
                org.add_role(name, _string(data, "scimGroup", None, _MAX_NAME))
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
            _only(data, ("strictRoleMapping", "defaultRole"))
            strict = data.get("strictRoleMapping")
            if "strictRoleMapping" in data and not isinstance(strict, bool):
                # bool("false") is True: a string here would switch strict mapping on
                raise _invalid(f"'strictRoleMapping' must be true or false, got {type(strict).__name__}")
            default = _string(data, "defaultRole", None, _MAX_NAME)
            if "defaultRole" in data and (default is None or default not in org.roles):
                raise _invalid(f"'defaultRole' must name an existing role ({', '.join(sorted(org.roles))})")
            # validated as a whole before anything changes: a refused request changes nothing
            if isinstance(strict, bool):
                org.strict = strict
            if default is not None:
                org.default_role = default
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
        _only(data, ("userName",))
        user_name = _string(data, "userName", None, 1024)
        if user_name is None:
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
