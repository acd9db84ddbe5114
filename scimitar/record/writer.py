"""Turn captured exchanges into a scenario file that replays against any SCIM server.

What makes a recording replay somewhere else, each for a reason:

* **Ids become captures.** The id a server assigned in its answer to a create (`POST /Users`) is
  captured there (`capture: {user_1_id: body.id}`) and every later occurrence, in paths, queries,
  bodies and expectations, becomes `{{ captured.user_1_id }}`: another server assigns other ids.
* **Names go under the run prefix.** A name the IdP created (`userName`, a group's `displayName`)
  becomes a variable `{{ run.prefix }}<name>`, with its upper/lower/URL-encoded spellings, and a
  name that already carries a scimitar run prefix gets the replaying run's prefix instead: the
  run's cleanup finds what the replay created, and two replays never collide.
* **The requests stay the IdP's.** Method, path, the query's own percent-encoding (kept as a raw
  query in the path when the engine's encoding would differ), the headers that matter and the
  body's bytes (as `json:` only when the engine's compact serialisation gives the same bytes).
* **What the server answered becomes the expectation.** Status, the `Location`/`ETag` headers'
  presence, the response's media type and its key fields (`userName`, `active`, members, a filtered
  list's `totalResults` and matches, an error's `schemas` and `status`): replayed against the same
  server it passes; against a server that answers differently it fails at the first difference,
  which is what `scimitar diagnose` reads.
* **No credential reaches the file.** The recorded `Authorization` is dropped (the replay sends the
  run's own credential: `SCIM_TOKEN` or `SCIM_USERNAME`/`SCIM_PASSWORD`); the recording's Masker
  masks every secret it saw, in every encoding, in every string, and passwords in bodies.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import parse_qsl, quote

import yaml

from scimitar.exchange import MASK, Masker
from scimitar.record.model import Capture, Captured
from scimitar.scenario.engine import _query
from scimitar.scenario.format import IDP_BODY_CONTENT_TYPE, IDP_HEADERS

#: A scimitar run prefix (`scimitar-<run id>-`, see `scimitar.run`), in any case.
_RUN_PREFIX = re.compile(r"scimitar-[a-z0-9]{1,16}-", re.IGNORECASE)
_COLLECTION = re.compile(r"^/(Users|Groups)/?$")
_UUIDISH = re.compile(r"^(?P<head>.{0,8}?)[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

#: The public page of each IdP's SCIM behaviour: the scenario-level `source` of the expectations.
IDP_SOURCES = {
    "okta": "https://developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20",
    "entra": "https://learn.microsoft.com/en-us/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups",
}
#: Key fields of a resource that a replay compares (what an IdP reads back after a write).
RESOURCE_FIELDS = ("userName", "displayName", "active", "externalId")


def guess_idp(exchanges: Sequence[Captured]) -> str:
    """`okta`, `entra` or `generic`, from the User-Agent first, then from request forms: Okta looks
    users up with `filter=userName%20eq`, Entra sends `aadOptscim062020` flags and PATCH ops in
    capitals (`"op":"Replace"`) with `excludedAttributes=members` (learn.microsoft.com, link above)."""
    for ex in exchanges:
        agent = (ex.header("User-Agent") or "").lower()
        if "okta" in agent:
            return "okta"
        if "azure" in agent or "microsoft" in agent or "aad" in agent:
            return "entra"
    okta = entra = 0
    for ex in exchanges:
        query = ex.query
        text = ex.body.decode("utf-8", "replace")
        if "aadoptscim" in (ex.path + query).lower():
            entra += 3
        if query.startswith("filter=userName%20eq") or "filter=userName%20eq%20" in query:
            okta += 1
        if re.search(r'"op"\s*:\s*"(Replace|Add|Remove)"', text):
            entra += 1
        if "excludedAttributes=members" in query:
            entra += 1
    if okta > entra:
        return "okta"
    if entra > okta:
        return "entra"
    return "generic"


class _Substitutions:
    """Recorded values (ids, names) and the template each becomes, applied longest first."""

    def __init__(self) -> None:
        self.pairs: list[tuple[str, str]] = []
        self._ordered: list[tuple[str, str]] = []

    def add(self, value: str, template: str) -> None:
        if not value or any(v == value for v, _ in self.pairs):
            return
        self.pairs.append((value, template))
        self._ordered = sorted(self.pairs, key=lambda p: len(p[0]), reverse=True)

    def apply(self, text: str) -> str:
        if text.startswith("urn:"):  # a schema URI is vocabulary, never a name the IdP chose ("User")
            return text
        if not self._ordered:
            return _prefixes(text)
        # One pass with alternation, so a template's own text is never substituted again.
        pattern = re.compile("|".join(re.escape(v) for v, _ in self._ordered))
        table = dict(self._ordered)
        return _prefixes(pattern.sub(lambda m: table[m.group(0)], text))


def _prefixes(text: str) -> str:
    """A recorded scimitar run prefix becomes the replaying run's, in the same case."""

    def one(m: re.Match[str]) -> str:
        found = m.group(0)
        if found.isupper():
            return "{{ run.prefix | upper }}"
        return "{{ run.prefix }}"

    return _RUN_PREFIX.sub(one, text)


def _walk(value: Any, fn: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, fn) for v in value]
    if isinstance(value, str):
        return fn(value)
    return value


def _json(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _compact(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _is_created_name(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 4


def build_scenario(capture: Capture, *, when: dt.datetime | None = None, name: str | None = None) -> dict[str, Any]:
    """The scenario (as the dict the YAML file holds) replaying `capture`."""
    when = when or dt.datetime.now(dt.UTC)
    day = when.strftime("%Y-%m-%d")
    exchanges = [ex for ex in capture.exchanges if ex.method in ("GET", "POST", "PUT", "PATCH", "DELETE")]
    idp = guess_idp(exchanges)
    subs = _Substitutions()
    variables: dict[str, str] = {}
    masker = capture.masker
    counters = {"user": 0, "group": 0, "ext": 0}

    # Names the IdP created, before any step is written (a lookup precedes the create).
    for ex in exchanges:
        match = _COLLECTION.match(ex.path)
        body = _json(ex.body)
        if ex.method != "POST" or not match or not isinstance(body, dict):
            continue
        kind = "user" if match.group(1) == "Users" else "group"
        attr = "userName" if kind == "user" else "displayName"
        value = body.get(attr)
        if _is_created_name(value) and not _RUN_PREFIX.match(str(value)):
            counters[kind] += 1
            var = f"{kind}_{counters[kind]}_name"
            variables[var] = "{{ run.prefix }}" + str(value)
            _add_spellings(subs, str(value), var)
        external = body.get("externalId")
        if isinstance(external, str) and _UUIDISH.match(external):
            counters["ext"] += 1
            var = f"external_{counters['ext']}"
            head = _UUIDISH.match(external)
            variables[var] = (head.group("head") if head else "") + "{{ uuid }}"
            subs.add(external, "{{ " + var + " }}")

    digests = [ex.credential for ex in exchanges if ex.credential]
    usual = max(set(digests), key=digests.count) if digests else None
    headers = _scenario_headers(exchanges, idp)
    steps: list[dict[str, Any]] = []
    for index, ex in enumerate(exchanges):
        step = _step(ex, index, idp, headers, subs, counters, capture.upstream_host, day)
        if ex.credential and ex.credential != usual and ex.status in (401, 403):
            # Another credential, refused: a deliberately wrong one (Okta's connection test sends one).
            step["request"]["auth"] = {"bearer": "not-the-recorded-credential"}
            step["note"] += "; sent another credential than the rest, which the server refused"
        steps.append(step)
    description = (
        f"Recorded from {capture.upstream_host} on {day} by `scimitar record` ({len(steps)} requests"
        + (f", {capture.dropped} more not kept" if capture.dropped else "")
        + "). Each step sends the request as the IdP sent it and expects what that server answered "
        "(status, key fields); ids the server assigned are captured, names the IdP created carry the "
        "run prefix. The recorded credential is not in this file: the replay sends the run's own "
        "(SCIM_TOKEN, or SCIM_USERNAME and SCIM_PASSWORD). Ids the recording did not see created are "
        "kept as recorded and replay only against that server."
    )
    scenario: dict[str, Any] = {
        "name": name or f"{'Okta' if idp == 'okta' else 'Entra ID' if idp == 'entra' else 'A client'} "
                        f"recorded from {capture.upstream_host} on {day}",
        "description": description,
    }
    if idp in IDP_SOURCES:
        scenario["source"] = IDP_SOURCES[idp]
    scenario["idp"] = idp
    if headers:
        scenario["headers"] = headers
    if variables:
        scenario["vars"] = variables
    scenario["steps"] = steps
    masked = _walk(scenario, masker.mask_text)
    return dict(masker.mask_json(masked))


def _add_spellings(subs: _Substitutions, value: str, var: str) -> None:
    """The name as sent, upper- and lower-cased (case-insensitive lookups), and URL-encoded."""
    ref = "{{ " + var + " }}"
    subs.add(value, ref)
    for spelled, flt in ((value.upper(), "upper"), (value.lower(), "lower")):
        if spelled != value:
            subs.add(spelled, "{{ " + var + f" | {flt}" + " }}")
    encoded = quote(value, safe="")
    if encoded != value:
        subs.add(encoded, "{{ " + var + " | urlencode }}")


def _scenario_headers(exchanges: Sequence[Captured], idp: str) -> dict[str, str | None]:
    """The IdP's constant headers where they differ from the engine's defaults for that IdP."""
    if not exchanges:
        return {}
    first = exchanges[0]
    defaults = IDP_HEADERS[idp]
    out: dict[str, str | None] = {}
    for name in ("User-Agent", "Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language"):
        seen = {ex.header(name) for ex in exchanges}
        value = first.header(name)
        if len(seen) != 1:
            continue  # varies by request: per step
        default = defaults.get(name)
        if value is None and default is not None:
            out[name] = None
        elif value is not None and value != default:
            out[name] = value
    return out


def _request(ex: Captured, idp: str, headers: dict[str, str | None], subs: _Substitutions) -> dict[str, Any]:
    request: dict[str, Any] = {"method": ex.method}
    path = subs.apply(ex.path)
    if ex.query:
        pairs = parse_qsl(ex.query, keep_blank_values=True)
        as_dict = dict(pairs)
        if len(as_dict) == len(pairs) and _query(as_dict) == ex.query:
            request["path"] = path
            request["query"] = {k: subs.apply(v) for k, v in pairs}
        else:  # the IdP's own encoding ('+' for space, unencoded characters): kept byte for byte
            request["path"] = path + "?" + subs.apply(ex.query)
    else:
        request["path"] = path
    step_headers: dict[str, str | None] = {}
    defaults = {**IDP_HEADERS[idp], **{k: v for k, v in headers.items()}}
    for name in ("User-Agent", "Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language",
                 "If-Match", "If-None-Match", "Prefer"):
        value = ex.header(name)
        default = defaults.get(name)
        if value != default:
            step_headers[name] = value
    if ex.body:
        content_type = ex.header("Content-Type")
        if content_type != IDP_BODY_CONTENT_TYPE[idp]:
            step_headers["Content-Type"] = content_type
        parsed = _json(ex.body)
        if parsed is not None and _compact(parsed) == ex.body:
            request["json"] = _walk(parsed, subs.apply)
        else:
            request["body"] = subs.apply(ex.body.decode("utf-8", "replace"))
    if step_headers:
        request["headers"] = step_headers
    if not ex.authorized:
        request["auth"] = "none"
    return request


def _step(ex: Captured, index: int, idp: str, headers: dict[str, str | None], subs: _Substitutions,
          counters: dict[str, int], host: str, day: str) -> dict[str, Any]:
    request = _request(ex, idp, headers, subs)
    body = _json(ex.response_body)
    expect: dict[str, Any] = {"status": ex.status}
    step: dict[str, Any] = {"name": f"{ex.method} {ex.path}" + (f"?{ex.query}" if ex.query else "")
                            + f" -> {ex.status}"}
    if len(step["name"]) > 120:
        step["name"] = step["name"][:117] + "..."
    step["note"] = f"recorded from {host} on {day}"
    step["request"] = request
    media = (ex.response_headers.get("content-type") or "").split(";")[0].strip()
    response_headers: dict[str, Any] = {}
    if media:
        response_headers["Content-Type"] = media
    for name in ("Location", "ETag"):
        if name.lower() in ex.response_headers:
            response_headers[name] = True
    if response_headers:
        expect["headers"] = response_headers
    json_subset, asserts = _key_fields(ex, body, subs)
    if json_subset:
        expect["json"] = json_subset
    if asserts:
        expect["assert"] = asserts
    step["expect"] = expect
    match = _COLLECTION.match(ex.path)
    if ex.method == "POST" and match and 200 <= ex.status < 300 and isinstance(body, dict):
        rid = body.get("id")
        if isinstance(rid, str) and rid:
            kind = "user" if match.group(1) == "Users" else "group"
            counters[f"{kind}_id"] = counters.get(f"{kind}_id", 0) + 1
            capture = f"{kind}_{counters[kind + '_id']}_id"
            step["capture"] = {capture: "body.id"}
            subs.add(rid, "{{ captured." + capture + " }}")
    return step


def _key_fields(ex: Captured, body: Any, subs: _Substitutions) -> tuple[dict[str, Any], list[str]]:
    """The fields of the answer an IdP acts on, as a JSON subset and assertion lines."""
    if not ex.response_body.strip() and ex.status not in (204, 304) and ex.method != "HEAD":
        return {}, ["body == null"]  # an empty answer where one was due (the IdP reads it)
    if not isinstance(body, dict):
        return {}, []
    subset: dict[str, Any] = {}
    asserts: list[str] = []
    raw_schemas = body.get("schemas")
    schemas: list[Any] = raw_schemas if isinstance(raw_schemas, list) else []
    texts = [v for k, v in parse_qsl(ex.query) if k.lower() == "excludedattributes"]
    excluded = [n.strip() for text in texts for n in text.split(",")
                if re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", n.strip())]
    if ERROR_URN in schemas or (ex.status >= 400 and "detail" in body):
        if ERROR_URN in schemas:
            subset["schemas"] = [ERROR_URN]
        elif "schemas" not in body:
            asserts.append("body.schemas not exists")
        if "status" in body:
            subset["status"] = body["status"]
        return subset, asserts
    if LIST_URN in schemas or "Resources" in body:
        filtered = "filter=" in ex.query or (ex.method == "POST" and ex.path.endswith("/.search"))
        raw = body.get("Resources")
        resources: list[Any] = raw if isinstance(raw, list) else []
        if filtered and isinstance(body.get("totalResults"), int):
            asserts.append(f"body.totalResults == {body['totalResults']}")
        elif isinstance(body.get("totalResults"), int):
            # Unfiltered: the count depends on what the server holds, so only its relation to the page
            # (more than one page, or not) is expected; the flows create what they list.
            more = body["totalResults"] > len(resources)
            count = dict(parse_qsl(ex.query)).get("count", "")
            full = count.isdigit() and int(count) == len(resources) > 0
            op = ">" if more else "==" if full else ">="  # a full page said to be all there is: as recorded
            asserts.append(f"body.totalResults {op} {len(resources)}")
        for key in ("startIndex", "itemsPerPage"):
            if isinstance(body.get(key), int):
                asserts.append(f"body.{key} == {body[key]}")
        for name in excluded:  # excluded by the request: returned or not, as recorded
            returned = any(isinstance(item, dict) and name in item for item in resources)
            asserts.append(f"len(body.Resources[*].{name}) {'>' if returned else '=='} 0")
        if filtered and resources:
            items = []
            for item in resources:
                if isinstance(item, dict):
                    kept = {k: item[k] for k in ("id", "userName", "displayName") if isinstance(item.get(k), str)}
                    items.append(_walk(kept, subs.apply))
            if items:
                subset["Resources"] = items
        return subset, asserts
    for key in RESOURCE_FIELDS:
        if key in body and isinstance(body[key], str | bool | int):
            subset[key] = _walk(body[key], subs.apply)
    if isinstance(body.get("id"), str):
        known = subs.apply(body["id"])
        if known != body["id"]:
            subset["id"] = known
        else:
            asserts.append("body.id exists")
    for name in excluded:
        asserts.append(f"body.{name} {'exists' if name in body else 'not exists'}")
    members = body.get("members")
    if isinstance(members, list):
        values = [{"value": subs.apply(m["value"])} for m in members if isinstance(m, dict)
                  and isinstance(m.get("value"), str)]
        if values:
            subset["members"] = values
        asserts.append(f"len(body.members) == {len(members)}")
    elif "Group" in " ".join(map(str, schemas)) and "body.members not exists" not in asserts:
        asserts.append("body.members not exists")  # a group answered without members: none, or not returned
    return subset, asserts


class _Dumper(yaml.SafeDumper):
    """Block style, key order kept, long strings unwrapped."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def to_yaml(scenario: dict[str, Any], masker: Masker | None = None) -> str:
    """The scenario file's text; `masker` is applied once more to the text as a last pass."""
    text = yaml.dump(scenario, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)
    header = "# Written by `scimitar record`. Replay: scimitar replay --target-url URL THIS_FILE\n"
    text = header + text
    if masker is not None:
        text = masker.mask_text(text)
    return text


__all__ = ["MASK", "build_scenario", "guess_idp", "to_yaml"]
