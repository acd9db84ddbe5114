"""Hypothesis strategies for malformed SCIM requests, built from the attributes the target declares.

Every request names only the run's own resources: creates carry a run-prefixed userName (derived
from the request itself, so the same example is the same request on replay), and writes go to the
one User the check created (`own`). Sizes are capped (`OVERSIZED` at most 256 KiB, nesting at 40
levels) so a run cannot flood a staging server.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from scimitar.schema import CORE_USER, PATCH_OP, Attribute, SchemaRegistry

#: Sizes (characters) of the oversized string values.
OVERSIZED = (4 * 1024, 64 * 1024, 256 * 1024)
#: How deep the over-nested bodies go (servers commonly cap nesting around 32).
NESTING = 40

SCIM_JSON = "application/scim+json"


@dataclass(frozen=True)
class FuzzRequest:
    """One generated request: `path` is a SCIM path (the check's own User for writes)."""

    kind: str
    method: str
    path: str
    body: bytes | None = None
    content_type: str | None = SCIM_JSON
    params: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_write(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH")

    def key(self) -> tuple[Any, ...]:
        return (self.method, self.path, self.body, self.content_type, self.params)

    def describe(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.params)
        body = "" if self.body is None else f" with a {len(self.body)}-byte body"
        ct = "" if self.content_type == SCIM_JSON or self.body is None else f" ({self.content_type or 'no'} Content-Type)"
        return f"{self.kind}: {self.method} {self.path}{'?' + query if query else ''}{body}{ct}"


def declared_user_attributes(schemas: list[dict[str, Any]] | None) -> list[Attribute]:
    """The core User attributes the target declares in `/Schemas`, else the RFC's (RFC 7643 §8.7.1);
    readOnly ones are left out (a server may ignore them, RFC 7643 §2.2)."""
    attrs: list[Attribute] = []
    for doc in schemas or []:
        if isinstance(doc, dict) and doc.get("id") == CORE_USER:
            for item in doc.get("attributes") or []:
                try:
                    attrs.append(Attribute.from_json(item))
                except (KeyError, TypeError, AttributeError):
                    continue
    if not attrs:
        schema = SchemaRegistry.default().schema(CORE_USER)
        attrs = list(schema.attributes) if schema else []
    return [a for a in attrs if a.mutability != "readOnly" and a.name != "password"]


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)


def wrong_value(attr: Attribute) -> st.SearchStrategy[Any]:
    """A JSON value whose type is not the attribute's (RFC 7643 §2.3 data types, §2.4 multi-valued)."""
    scalar_list = st.lists(_SCALARS, min_size=1, max_size=3)
    obj = st.dictionaries(st.sampled_from(["value", "x", "type"]), _SCALARS, min_size=1, max_size=2)
    if attr.multi_valued:
        return st.one_of(st.booleans(), st.integers(), st.text(min_size=1, max_size=8), obj)
    if attr.type == "complex":
        return st.one_of(st.booleans(), st.integers(), st.text(min_size=1, max_size=8), scalar_list)
    if attr.type == "boolean":
        return st.one_of(st.sampled_from(["yes", "True", "1", ""]), st.integers(), scalar_list, obj)
    if attr.type in ("integer", "decimal"):
        return st.one_of(st.text(min_size=1, max_size=8), st.booleans(), scalar_list, obj)
    if attr.type == "dateTime":
        return st.one_of(st.sampled_from(["yesterday", "2026-13-45T99:99:99Z", ""]), st.integers(), obj)
    return st.one_of(st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), scalar_list, obj)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _user_name(prefix: str, seed_parts: Any) -> str:
    digest = hashlib.sha256(repr(seed_parts).encode()).hexdigest()[:12]
    return f"{prefix}fz{digest}@example.com"


_BROKEN_JSON = [
    '{"schemas": [',
    '{"userName": "x",}',
    "{'userName': 'x'}",
    '{"userName": "x"}}',
    '{"userName": "x"',
    "[1, 2",
    "nul",
    '"unterminated',
    '{"a": 1e999999}',
    "{" * 3,
    "",
]


class Requests:
    """The strategies of one check run: `prefix` names what creates make, `own` the check's User."""

    def __init__(
        self,
        prefix: str,
        own: str,
        attributes: list[Attribute],
        own_body: dict[str, Any] | None = None,
        salt: str = "",
    ) -> None:
        # `salt` (the check id) keeps two checks drawing the same example from creating one userName
        self.prefix = prefix + (hashlib.sha256(salt.encode()).hexdigest()[:4] if salt else "")
        self.own = own
        self.attributes = attributes or [Attribute(name="displayName")]
        self.own_body = own_body or {"schemas": [CORE_USER]}

    def _user(self, extra: dict[str, Any]) -> dict[str, Any]:
        """A complete, valid User to create, but for `extra` (one defect at a time; what a lenient
        server stores still looks like a user to the IdP flows that list users afterwards)."""
        name = _user_name(self.prefix, sorted(extra.items(), key=str))
        body: dict[str, Any] = {
            "schemas": [CORE_USER],
            "userName": name,
            "name": {"givenName": "Fuzz", "familyName": "Case"},
            "emails": [{"value": name, "type": "work", "primary": True}],
            "active": True,
        }
        body.update(extra)
        return body

    def _own(self, extra: dict[str, Any]) -> dict[str, Any]:
        """The check's own User as a PUT body (`own_body`), but for `extra`."""
        body = copy.deepcopy(self.own_body)
        body.update(extra)
        return body

    def invalid_json(self) -> st.SearchStrategy[FuzzRequest]:
        text = st.one_of(
            st.sampled_from(_BROKEN_JSON),
            st.text(max_size=30).filter(_not_json),
        )
        return st.builds(
            lambda method, doc: FuzzRequest(
                "invalid JSON", method, "/Users" if method == "POST" else self.own, doc.encode("utf-8")
            ),
            st.sampled_from(["POST", "PUT", "PATCH"]),
            text,
        )

    def wrong_type(self) -> st.SearchStrategy[FuzzRequest]:
        @st.composite
        def build(draw: st.DrawFn) -> FuzzRequest:
            attr = draw(st.sampled_from(self.attributes))
            value = draw(wrong_value(attr))
            how = draw(st.sampled_from(["POST", "PUT", "PATCH"]))
            kind = f"wrong type for {attr.name} ({'multi-valued ' if attr.multi_valued else ''}{attr.type})"
            if how == "PATCH":
                op = {"op": "replace", "path": attr.name, "value": value}
                return FuzzRequest(kind, "PATCH", self.own, _dumps({"schemas": [PATCH_OP], "Operations": [op]}))
            if how == "PUT":
                return FuzzRequest(kind, "PUT", self.own, _dumps(self._own({attr.name: value})))
            return FuzzRequest(kind, "POST", "/Users", _dumps(self._user({attr.name: value})))

        return build()

    def oversized(self) -> st.SearchStrategy[FuzzRequest]:
        @st.composite
        def build(draw: st.DrawFn) -> FuzzRequest:
            shape = draw(st.sampled_from(["string", "nested", "number"]))
            if shape == "nested":
                depth = draw(st.integers(min_value=NESTING // 2, max_value=NESTING))
                value: Any = "x"
                for _ in range(depth):
                    value = {"value": value}
                body = self._user({"name": value})
                return FuzzRequest(f"nested {depth} levels", "POST", "/Users", _dumps(body))
            if shape == "number":
                digits = draw(st.integers(min_value=400, max_value=5000))
                raw = '{"schemas": ["' + CORE_USER + '"], "userName": "' + _user_name(self.prefix, digits)
                raw += '", "x509Certificates": ' + "9" * digits + "}"
                return FuzzRequest(f"a {digits}-digit number", "POST", "/Users", raw.encode())
            size = draw(st.sampled_from(OVERSIZED))
            name = draw(st.sampled_from(["displayName", "nickName", "title", "userName"]))
            value = self.prefix + "o" * size
            method = draw(st.sampled_from(["POST", "PUT"]))
            if method == "PUT":
                return FuzzRequest(f"a {size}-character {name}", "PUT", self.own, _dumps(self._own({name: value})))
            body = self._user({name: value})
            if name == "userName":
                body["emails"] = [{"value": f"{_user_name(self.prefix, size)}", "type": "work"}]
            return FuzzRequest(f"a {size}-character {name}", "POST", "/Users", _dumps(body))

        return build()

    def bad_filter(self) -> st.SearchStrategy[FuzzRequest]:
        names = [a.name for a in self.attributes] + ["scimitarNoSuchAttribute", "emails[type", "name..givenName", ""]
        ops = ["eq", "xx", "", "pr", "gt", "co", "and", "not", "eq eq"]
        values = ['"open', "unquoted", "123abc", "true false", '"a"', "(", ")", '"\\u00"', "[", "null"]
        structured = st.builds(
            lambda a, o, v, wrap: (("(" * wrap) + f"{a} {o} {v}").strip(),
            st.sampled_from(names),
            st.sampled_from(ops),
            st.sampled_from(values),
            st.integers(min_value=0, max_value=70),
        )
        garbage = st.text(alphabet='ab "()[].=!<>\\ eqandortpr', min_size=1, max_size=30)
        return st.builds(
            lambda text: FuzzRequest("malformed filter", "GET", "/Users", params=(("filter", text),)),
            st.one_of(structured, garbage),
        )

    def bad_patch(self) -> st.SearchStrategy[FuzzRequest]:
        paths = st.sampled_from(
            ['emails[type eq "work"', "name..givenName", "members[value eq]", "urn:bad:schema:", "", "[]",
             'emails[type eq "work"].nosuchsub', "scimitarNoSuchAttribute", "userName.sub", "meta.id", ")"]
        )  # fmt: skip
        op_names = st.sampled_from(["add", "replace", "remove", "move", "", "ADD ", "copy"])
        bad_op = st.fixed_dictionaries({"op": op_names, "path": paths, "value": _SCALARS})
        valid = st.just({"op": "replace", "path": "displayName", "value": self.prefix + "patched"})

        @st.composite
        def build(draw: st.DrawFn) -> FuzzRequest:
            shape = draw(st.sampled_from(["bad-op", "valid-then-bad", "no-operations", "operations-not-list"]))
            if shape == "no-operations":
                body: Any = {"schemas": [PATCH_OP]}
            elif shape == "operations-not-list":
                body = {"schemas": [PATCH_OP], "Operations": draw(st.one_of(_SCALARS, st.just({"op": "add"})))}
            elif shape == "valid-then-bad":
                body = {"schemas": [PATCH_OP], "Operations": [draw(valid), draw(bad_op)]}
            else:
                body = {"schemas": [PATCH_OP], "Operations": [draw(bad_op)]}
            return FuzzRequest(f"malformed PATCH ({shape})", "PATCH", self.own, _dumps(body))

        return build()

    def bad_content_type(self) -> st.SearchStrategy[FuzzRequest]:
        types = st.sampled_from(
            ["text/plain", "application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded",
             "application/scim+json; charset=utf-16", "image/png", None]
        )  # fmt: skip

        @st.composite
        def build(draw: st.DrawFn) -> FuzzRequest:
            ct = draw(types)
            body = self._user({"displayName": self.prefix + "ct"})
            body["userName"] = _user_name(self.prefix, ("ct", ct))
            return FuzzRequest("bad Content-Type", "POST", "/Users", _dumps(body), content_type=ct)

        return build()

    def any_request(self) -> st.SearchStrategy[FuzzRequest]:
        return st.one_of(
            self.invalid_json(),
            self.wrong_type(),
            self.bad_filter(),
            self.bad_patch(),
            self.oversized(),
            self.bad_content_type(),
        )

    def writes_to_own(self) -> st.SearchStrategy[FuzzRequest]:
        """Only requests that write the check's own User (PUT/PATCH), for the "changes nothing" check."""
        own = st.one_of(self.invalid_json(), self.wrong_type(), self.bad_patch(), self.bad_patch())
        return own.filter(lambda r: r.path == self.own and r.method in ("PUT", "PATCH"))


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False
