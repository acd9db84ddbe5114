"""A small synchronous client for the reference server in-process, for the project's own tests."""

from __future__ import annotations

from typing import Any

import httpx

from scimitar.quirks import Quirk
from scimitar.server.app import create_app
from scimitar.server.config import ServerConfig
from scimitar.transport import InProcessTransport

TOKEN = "test-token-0123456789"
BASE = "http://scim.test/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def make_client(*quirks: Quirk, **config: Any) -> httpx.Client:
    config.setdefault("tokens", [TOKEN])
    cfg = ServerConfig(quirks=frozenset(quirks), **config)
    app = create_app(cfg)
    client = httpx.Client(
        transport=InProcessTransport(app, lifespan=False),
        base_url=BASE,
        headers={"Authorization": f"Bearer {TOKEN}", "Accept": "application/scim+json"},
    )
    client.app = app  # type: ignore[attr-defined]
    return client


def user_body(name: str = "bjensen@example.com", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [USER],
        "userName": name,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
    }
    body.update(extra)
    return body


def patch_body(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(ops)}
