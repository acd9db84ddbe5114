"""Named response assertions: what one SCIM response must look like, whoever sent the request.

The catalogue's checks each send their own requests; many then judge a response the same way
("the body is a SCIM Error", "this is a ListResponse with integer paging"). Those judgements live
here, once, under a stable name, so that

* a catalogue check calls `require(ctx, "scim-error-body", response)`, and
* a scenario step says `expect: {checks: [scim-error-body]}` about the response it just got

and both mean exactly the same thing. An assertion sees only the response (status, headers,
body) and the request path; it never sends a request, so it can judge any replayed exchange.
`ASSERTIONS` is the list; the scenario loader refuses an unknown name at load time with the
file, step, field and line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scimitar.checks.context import CheckContext
    from scimitar.target import ScimResponse

SCIM_JSON = "application/scim+json"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass(frozen=True)
class Reply:
    """The part of a response an assertion may look at. `path` is the request path
    (`/Users?filter=...`, `/Groups/42`), used only to tell which resource type a listing holds."""

    status: int
    headers: Mapping[str, str]
    body: Any
    path: str = ""

    @classmethod
    def of(cls, response: ScimResponse) -> Reply:
        exchange = response.exchange
        url = str(getattr(exchange, "url", "") or "")
        return cls(response.status, dict(response.headers), response.json(), url)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


Judge = Callable[[Reply], list[str]]


@dataclass(frozen=True)
class ResponseAssertion:
    name: str
    section: str
    title: str
    judge: Judge


ASSERTIONS: dict[str, ResponseAssertion] = {}


def _assertion(name: str, section: str, title: str) -> Callable[[Judge], Judge]:
    def register(func: Judge) -> Judge:
        ASSERTIONS[name] = ResponseAssertion(name, section, title, func)
        return func

    return register


def _ci(obj: Any, name: str) -> Any:
    """`obj[name]` by case-insensitive name (RFC 7643 §2.1), or None."""
    if not isinstance(obj, dict):
        return None
    lowered = name.lower()
    return next((v for k, v in obj.items() if isinstance(k, str) and k.lower() == lowered), None)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _resource_type(path: str) -> str:
    """Which resource type a listing at `path` holds (RFC 7644 §3.2 endpoints); User by default."""
    from urllib.parse import urlsplit

    names = {"Groups": "Group", "Users": "User", "Schemas": "Schema", "ResourceTypes": "ResourceType"}
    for segment in reversed([s for s in urlsplit(path).path.split("/") if s]):
        if segment in names:
            return names[segment]
    return "User"


def _violations(found: list[Any], what: str) -> list[str]:
    return [f"{what}: {v.pointer or '/'}: {v.message}" for v in found[:5]]


@_assertion("scim-error-body", "RFC 7644 §3.12", "the body is a SCIM Error whose status is the HTTP status, as a string")
def scim_error_body(reply: Reply) -> list[str]:
    """RFC 7644 §3.12: "implementers MUST return the errors in the body of the response in a JSON
    format" with the schema URI "urn:ietf:params:scim:api:messages:2.0:Error"; "status: The HTTP
    status code [...] expressed as a JSON string. REQUIRED."; "scimType [...] OPTIONAL" (which
    keyword fits is judged by the checks that name one)."""
    from scimitar import jsonschemas

    problems = _violations(jsonschemas.validate_error(reply.body), "not a valid SCIM Error")
    status = _ci(reply.body, "status")
    if not problems and isinstance(status, str) and status.strip() != str(reply.status):
        problems.append(f"the Error's status is {status!r}, but the HTTP status is {reply.status}")
    return problems


@_assertion("list-response", "RFC 7644 §3.4.2", "the body is a ListResponse whose Resources are valid resources")
def list_response(reply: Reply) -> list[str]:
    """RFC 7644 §3.4.2: a query response carries the ListResponse schema URI, `totalResults`
    (REQUIRED, non-negative integer) and `Resources` when totalResults is not zero."""
    from scimitar import jsonschemas

    rt = _resource_type(reply.path)
    return _violations(jsonschemas.validate_list_response(reply.body, rt), f"not a valid ListResponse of {rt}")


@_assertion("list-response-paging", "RFC 7644 §3.4.2",
            "totalResults, startIndex and itemsPerPage are present and JSON integers")
def list_response_paging(reply: Reply) -> list[str]:
    """RFC 7644 §3.4.2: "totalResults [...] REQUIRED", "startIndex [...] REQUIRED when partial
    results are returned due to pagination", "itemsPerPage [...] REQUIRED when partial results are
    returned due to pagination"; Okta's import loop needs all three as integers."""
    problems = []
    for name in ("totalResults", "startIndex", "itemsPerPage"):
        value = _ci(reply.body, name)
        if not _int(value):
            problems.append(f"{name} is {'absent' if value is None else repr(value)}, expected an integer")
    return problems


def _resource(rt: str) -> Judge:
    def judge(reply: Reply) -> list[str]:
        from scimitar import jsonschemas

        return _violations(jsonschemas.validate_resource(reply.body, rt), f"not a valid {rt}")

    judge.__doc__ = f"RFC 7643: the body is a {rt} resource valid against the RFC's schema definitions."
    return judge


_assertion("resource-schema-User", "RFC 7643 §4.1", "the body is a valid User")(_resource("User"))
_assertion("resource-schema-Group", "RFC 7643 §4.2", "the body is a valid Group")(_resource("Group"))


@_assertion("content-type-scim", "RFC 7644 §3.8", "a response with a body is application/scim+json")
def content_type_scim(reply: Reply) -> list[str]:
    """RFC 7644 §3.8: "Service providers MUST support the "Accept" header "Accept:
    application/scim+json"" (the media type of RFC 7644 §8.1). 204 and 304 carry no body."""
    if reply.status in (204, 304):
        return []
    raw = reply.header("content-type")
    media = (raw or "").split(";", 1)[0].strip().lower()
    return [] if media == SCIM_JSON else [f"Content-Type is {raw!r}, expected {SCIM_JSON}"]


@_assertion("etag-matches-version", "RFC 7644 §3.14", "meta.version is present and equals the ETag header")
def etag_matches_version(reply: Reply) -> list[str]:
    """RFC 7644 §3.14: SCIM ETags "SHOULD be specified within the "version" attribute contained in
    the resource's "meta" attribute"; RFC 7643 §3.1: "This value must be the same as the
    entity-tag (ETag) HTTP response header"."""
    etag = reply.header("etag")
    version = _ci(_ci(reply.body, "meta"), "version")
    if etag is None:
        return ["the response carries no ETag header"]
    if not isinstance(version, str) or version != etag:
        return [f"meta.version is {version!r}, the ETag header is {etag!r}"]
    return []


@_assertion("location-matches-meta", "RFC 7644 §3.3", "the Location header equals meta.location")
def location_matches_meta(reply: Reply) -> list[str]:
    """RFC 7644 §3.3: "The URI of the created resource SHALL include, in the HTTP "Location" header
    and the HTTP body, a JSON representation [RFC7159] with the attribute "meta.location"."""
    location = reply.header("location")
    if not location:
        return ["the response has no Location header"]
    meta_location = _ci(_ci(reply.body, "meta"), "location")
    if not isinstance(meta_location, str) or meta_location.rstrip("/") != location.rstrip("/"):
        return [f"meta.location is {meta_location!r}, the Location header is {location!r}"]
    return []


def names() -> list[str]:
    return sorted(ASSERTIONS)


def problems(name: str, reply: Reply) -> list[str]:
    """Every way `reply` misses the named assertion (empty when it holds); KeyError for an unknown name."""
    try:
        assertion = ASSERTIONS[name]
    except KeyError:
        raise KeyError(f"no response assertion {name!r}; known: {', '.join(names())}") from None
    return assertion.judge(reply)


def require(ctx: CheckContext, name: str, response: ScimResponse, what: str = "") -> None:
    """Fail the check (with `response` as the evidence) unless the named assertion holds."""
    found = problems(name, Reply.of(response))
    if not found:
        ctx.evaluated()
    else:
        assertion = ASSERTIONS[name]
        ctx.fail(
            f"{what + ': ' if what else ''}{'; '.join(found)}",
            expected=assertion.title,
            actual="\n".join(found),
            response=response,
        )
