"""Why a refused step is a real blocker: what the target itself declares it lacks.

A scenario sends the IdP's request unchanged, and a server that refuses it blocks that IdP's
provisioning. A bare "status 400, expected 201" leaves support guessing whether the harness or the
server is at fault. Where the target's own discovery documents say why, the failed step's message
says it first, so the readiness line reads as the answer to the customer's question:

* **Filtering declared unsupported** (ServiceProviderConfig `filter.supported: false`, RFC 7643 §5)
  while the IdP looks resources up with a filter. Okta: "Okta checks that the User object exists on
  the SCIM server through a GET method request with the filter=userName parameter"
  (https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20). Entra: "users are retrieved
  with their `id` and queried with their `username` and `externalId`, and groups are queried with
  `displayName`" (https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups).
  Neither IdP can be told to do otherwise, so such a target blocks those flows.
* **The IdP's body against the target's `/Schemas`**: attributes and sub-attributes the IdP sends
  that the target does not declare (Okta's `emails[].type`/`primary`, `displayName`), and ones the
  target marks required that the IdP does not send (`name.formatted`). RFC 7644 §3.3 lets a server
  refuse a body that does not conform to its schema (Table 9 `invalidSyntax`: "did not conform to the
  request schema"; `invalidValue`: "A required value was missing"), so the refusal is the server's
  right and the IdP's failure is real.

Only facts from the target's own documents are stated; the server's reason for its answer is not
guessed, and nothing is added when the target declares nothing relevant.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from scimitar.schema import CORE_GROUP, CORE_USER

if TYPE_CHECKING:
    from scimitar.checks.context import Discovery

_CORE = {"Users": ("User", CORE_USER), "Groups": ("Group", CORE_GROUP)}
_ENDPOINT = re.compile(r"^/?(Users|Groups)(?:/[^/?#]+)?/?(?:\?|$)")
_LOOKUP = re.compile(r"\s*([A-Za-z0-9_.:$\[\]\"-]+?)\s+([A-Za-z]{2})\b")
#: Common attributes (RFC 7643 §3.1) every resource has, whatever its schema declares.
_COMMON = {"schemas", "id", "externalid", "meta"}


def filter_reason(idp: str, path: str, query: Mapping[str, Any] | None, discovery: Discovery) -> str | None:
    """`the target declares filter unsupported ...; Okta looks users up with filter=userName eq`, when
    the request carried a filter and the target's ServiceProviderConfig says filtering is off."""
    text = (query or {}).get("filter")
    if not isinstance(text, str) or discovery.features.filter is not False:
        return None
    match = _LOOKUP.match(text)
    lookup = f"filter={match.group(1)} {match.group(2)}" if match else "a filter"
    endpoint = _ENDPOINT.match(path)
    what = (endpoint.group(1).lower() if endpoint else "resources")
    return (f"the target declares filter unsupported (ServiceProviderConfig filter.supported: false), "
            f"and {idp} looks {what} up with {lookup}")


def _schema(discovery: Discovery, urn: str) -> dict[str, Any] | None:
    for schema in discovery.schemas or []:
        if isinstance(schema, dict) and str(schema.get("id", "")).lower() == urn.lower():
            return schema
    return None


def _extensions(discovery: Discovery, core: str) -> dict[str, dict[str, Any] | None]:
    """The extension URNs the target's resource type with core schema `core` lists, with their schemas."""
    out: dict[str, dict[str, Any] | None] = {}
    for rt in discovery.resource_types or []:
        if isinstance(rt, dict) and str(rt.get("schema", "")).lower() == core.lower():
            for ext in rt.get("schemaExtensions") or []:
                if isinstance(ext, dict) and isinstance(ext.get("schema"), str):
                    out[ext["schema"].lower()] = _schema(discovery, ext["schema"])
    return out


def _by_name(attributes: Any) -> dict[str, dict[str, Any]]:
    return {str(a.get("name", "")).lower(): a for a in attributes or [] if isinstance(a, dict)}


def _walk(attrs: dict[str, dict[str, Any]], body: Mapping[str, Any], prefix: str,
          undeclared: list[str], missing: list[str]) -> None:
    """Collect undeclared (sub-)attributes of `body` and required ones it lacks, against `attrs`."""
    present = {str(k).lower() for k in body}
    for key, value in body.items():
        attr = attrs.get(str(key).lower())
        if attr is None:
            undeclared.append(f"{prefix}{key}")
            continue
        if attr.get("type") != "complex" or value in (None, [], {}):
            continue
        subs = _by_name(attr.get("subAttributes"))
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not isinstance(item, dict):
                continue
            undeclared += [f"{prefix}{attr['name']}.{k}" for k in item if str(k).lower() not in subs]
            missing += [f"{prefix}{attr['name']}.{s['name']}" for n, s in subs.items()
                        if s.get("required") is True and s.get("mutability") != "readOnly"
                        and n not in {str(k).lower() for k in item}]
    missing += [f"{prefix}{a['name']}" for n, a in attrs.items()
                if a.get("required") is True and a.get("mutability") != "readOnly" and n not in present]


def body_reason(idp: str, method: str, path: str, body: Any, discovery: Discovery) -> str | None:
    """What of the IdP's POST/PUT body the target's /Schemas do not declare, or require and miss."""
    endpoint = _ENDPOINT.match(path)
    if method not in ("POST", "PUT") or endpoint is None or not isinstance(body, dict):
        return None
    _name, core_urn = _CORE[endpoint.group(1)]
    core = _schema(discovery, core_urn)
    if core is None:
        return None  # no usable /Schemas: nothing the target declared to point at
    extensions = _extensions(discovery, core_urn)
    undeclared: list[str] = []
    missing: list[str] = []
    core_body: dict[str, Any] = {}
    for key, value in body.items():
        lowered = str(key).lower()
        if lowered in _COMMON or lowered == core_urn.lower():
            continue
        if lowered.startswith("urn:"):
            if lowered not in extensions:
                undeclared.append(str(key))
            elif isinstance(value, dict) and extensions[lowered] is not None:
                ext = extensions[lowered] or {}
                _walk(_by_name(ext.get("attributes")), value, f"{key}:", undeclared, [])
            continue
        core_body[key] = value
    _walk(_by_name(core.get("attributes")), core_body, "", undeclared, missing)
    parts = []
    if undeclared:
        parts.append(f"{idp}'s body carries {', '.join(dict.fromkeys(undeclared))}, which the target's "
                     "/Schemas do not declare")
    if missing:
        parts.append(f"the target's /Schemas require {', '.join(dict.fromkeys(missing))}, which {idp} "
                     "does not send")
    return "; ".join(parts) or None
