"""What a scenario can see and do beside SCIM: the product's console.

IdP flows only matter for what they cause in the product: ClickHouse's test plan says "user
appears in Members with role Admin", "further sign-in attempts fail". SCIM responses cannot show
that, so `observe` steps ask an **observer** and `admin` steps (credential rotation, role mapping)
drive a **console**. For the embedded reference server both are its admin API (`/_admin/...`);
for a remote product a team plugs in their own with `--observer module:factory` (replay) or the
`SCIMITAR_OBSERVER=module:factory` environment variable (pytest): `factory(target)` returns an
object implementing `Observer`, and optionally `Console`. Without one, scenarios that need them
are skipped with the reason, never failed.

The example plug-in is `admin_api_observer` below: it drives a *remote* `scimitar serve` through
its admin API, so the ClickHouse scenarios run against a reference server in another process:

    SCIMITAR_ADMIN_URL=http://127.0.0.1:8880/_admin SCIMITAR_ADMIN_TOKEN=... \\
    SCIM_USERNAME=scim_... SCIM_PASSWORD=... \\
    scimitar replay scenarios/clickhouse --target-url http://127.0.0.1:8880/scim/v2 \\
        --declare-profile clickhouse --observer scimitar.scenario.observer:admin_api_observer

A product's own observer has the same shape: a factory taking the target and returning an object
with `member`, `can_sign_in` and `roles` (plus `admin` for the console) that asks the product.
For credential-rotation scenarios it may also offer `second_credential()` (an `Authorization` value
of a disposable credential, never the run's own) and `credential_id(authorization, exclude=...)`
(the console id to revoke it by; None when it cannot be told apart, so nothing is guessed).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from scimitar.target import EMBEDDED_ORIGIN, AuthOverride, ScimClient

if TYPE_CHECKING:
    from scimitar.target import Target

OBSERVER_ENV = "SCIMITAR_OBSERVER"


@runtime_checkable
class Observer(Protocol):
    """Read-only questions about the product's state."""

    def member(self, user_name: str) -> dict[str, Any] | None:
        """The organisation member with this userName (ignoring case), with `roles`; None if not a member."""
        ...

    def can_sign_in(self, user_name: str) -> bool:
        """Whether this user may sign in now."""
        ...

    def roles(self) -> dict[str, Any]:
        """`{"roles": [{"name", "system", "scimGroup"}], "defaultRole", "strict"}`."""
        ...


@runtime_checkable
class Console(Protocol):
    """Actions an administrator takes in the product's console. Returns (HTTP-like status, body)."""

    def admin(self, action: str, params: Mapping[str, Any]) -> tuple[int, Any]: ...


class AdminApiConsole:
    """Observer and console of a reference server, through its admin API (`/_admin/...`).

    Requests go through a scimitar client (absolute URLs, the admin token as the credential), so
    they are recorded and masked like every other exchange.
    """

    def __init__(self, client: ScimClient, admin_url: str, admin_token: str) -> None:
        self.client = client
        self.base = admin_url.rstrip("/")
        self.auth = AuthOverride(token=admin_token)

    def _call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        response = self.client.request(method, self.base + path, json=body, auth=self.auth)
        return response.status, response.json()

    def member(self, user_name: str) -> dict[str, Any] | None:
        _, body = self._call("GET", "/members")
        for member in (body or {}).get("members", []):
            if str(member.get("userName", "")).casefold() == user_name.casefold():
                return dict(member)
        return None

    def can_sign_in(self, user_name: str) -> bool:
        status, body = self._call("POST", "/signin", {"userName": user_name})
        return status == 200 and bool((body or {}).get("allowed"))

    def roles(self) -> dict[str, Any]:
        _, body = self._call("GET", "/roles")
        return dict(body or {})

    def credential_id(self, authorization: str, *, exclude: str | None = None) -> str | None:
        """The id of the live credential an `Authorization` value proves, or None when it cannot be
        told apart from `exclude` (the run's own credential) or from another one: rotation
        scenarios revoke by this id, so a guess could revoke the wrong credential.

        The admin API never shows secrets: a key + secret pair is found by its key, a bearer token
        by the two characters of its `secretHint`, and only when no other live bearer shares them."""
        def identity(header: str | None) -> tuple[str, str] | None:
            if not header:
                return None
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "basic":
                import base64

                key = base64.b64decode(value).decode("utf-8").partition(":")[0]
                return ("basic", key)
            return ("bearer", "****" + value[-2:] if len(value) > 8 else "****")

        wanted, other = identity(authorization), identity(exclude)
        if wanted is None or wanted == other:
            return None
        _, body = self._call("GET", "/credentials")
        live = [c for c in (body or {}).get("credentials", []) if isinstance(c, dict) and not c.get("revoked")]
        if wanted[0] == "basic":
            found = [c for c in live if c.get("kind") == "basic" and c.get("key") == wanted[1]]
        else:
            found = [c for c in live if c.get("kind") == "bearer" and c.get("secretHint") == wanted[1]]
        return str(found[0]["id"]) if len(found) == 1 else None

    def admin(self, action: str, params: Mapping[str, Any]) -> tuple[int, Any]:
        if action == "create-credential":
            return self._call("POST", "/credentials", {"kind": params.get("kind")} if params.get("kind") else {})
        if action == "revoke-credential":
            return self._call("DELETE", f"/credentials/{params['id']}")
        if action == "list-credentials":
            return self._call("GET", "/credentials")
        if action == "settings":
            return self._call("POST", "/settings", dict(params))
        if action == "add-role":
            return self._call("POST", "/roles", {"name": params["name"], "scimGroup": params.get("scimGroup")})
        raise ValueError(f"unknown admin action {action!r}")


class EmbeddedConsole(AdminApiConsole):
    """The admin API of the embedded (in-process) reference server."""

    def __init__(self, client: ScimClient, admin_token: str, admin_path: str = "/_admin") -> None:
        super().__init__(client, EMBEDDED_ORIGIN + admin_path, admin_token)


ADMIN_URL_ENV = "SCIMITAR_ADMIN_URL"
ADMIN_TOKEN_ENV = "SCIMITAR_ADMIN_TOKEN"


def admin_api_observer(target: Target, environ: Mapping[str, str] | None = None) -> AdminApiConsole:
    """The example observer factory: a remote `scimitar serve`'s admin API as observer and console.

    `SCIMITAR_ADMIN_TOKEN` is the admin token the server printed (or its `--admin-token`);
    `SCIMITAR_ADMIN_URL` defaults to the target's origin + `/_admin`.
    """
    from urllib.parse import urlsplit

    from scimitar.exchange import Recorder

    env = environ if environ is not None else os.environ
    token = env.get(ADMIN_TOKEN_ENV)
    if not token:
        raise ValueError(f"admin_api_observer needs the admin token in ${ADMIN_TOKEN_ENV}")
    url = env.get(ADMIN_URL_ENV)
    if not url:
        parts = urlsplit(target.base_url)
        url = f"{parts.scheme}://{parts.netloc}/_admin"
    masker = target.masker()
    masker.add(token)
    return AdminApiConsole(target.client(masker, Recorder()), url, token)


ObserverFactory = Callable[["Target"], object]


def load_factory(spec: str) -> ObserverFactory:
    """`package.module:callable` -> the callable; ValueError with one line when it cannot be found."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"observer {spec!r}: write module:factory, e.g. mycompany.scim_console:make_observer")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"observer {spec!r}: cannot import {module_name}: {exc}") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ValueError(f"observer {spec!r}: {module_name} has no callable {attr!r}")
    return factory  # type: ignore[no-any-return]


def factory_from_env(environ: Mapping[str, str] | None = None) -> ObserverFactory | None:
    spec = (environ if environ is not None else os.environ).get(OBSERVER_ENV)
    return load_factory(spec) if spec else None
