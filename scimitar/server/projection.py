"""Which attributes a response carries: `attributes`, `excludedAttributes` and the `returned` rules.

RFC 7644 §3.4.2.5: "attributes: A multi-valued list of strings indicating the names of resource
attributes to return in the response, overriding the set of attributes that would be returned by
default." and "excludedAttributes: ... Each resource attribute listed will be removed from the
default set of attributes ... Attributes whose "returned" characteristic is "always" ... are
always returned." RFC 7643 §2.2: "never: The attribute is never returned".
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from scimitar.schema import Attribute, ResourceType, SchemaRegistry

Resource = dict[str, Any]


@dataclass(frozen=True)
class _Spec:
    key: str  # top-level key in the resource (attribute name, or extension URN)
    attr: Attribute
    urn: str  # extension URN when the attribute lives under it, else ""
    sub: Attribute | None


class Projector:
    """Projects stored resources of one resource type onto what a response may show."""

    def __init__(
        self,
        rt: ResourceType,
        registry: SchemaRegistry,
        *,
        password_returned: bool = False,
        attributes_ignored: bool = False,
        excluded_ignored: bool = False,
    ) -> None:
        self.rt = rt
        self.registry = registry
        self.attributes_ignored = attributes_ignored
        self.excluded_ignored = excluded_ignored
        self.password_returned = password_returned  # Quirk.PASSWORD_RETURNED
        # (urn or "", attribute name) pairs that never appear by default
        self._hidden: list[tuple[str, str]] = []
        self._always: list[tuple[str, str]] = [("", "id")]
        for urn, attr in registry.attributes(rt):
            ext = urn if urn and urn != rt.schema else ""
            if (attr.returned == "never" and not (password_returned and attr.name == "password")) or attr.returned == "request":
                self._hidden.append((ext, attr.name))
            elif attr.returned == "always":
                self._always.append((ext, attr.name))
        self._hidden_top = {name for urn, name in self._hidden if not urn}

    def _spec(self, path: str) -> _Spec | None:
        r = self.registry.resolve(self.rt, path.strip())
        if r is None:
            return None
        if r.in_extension:
            return _Spec(r.schema, r.attribute, r.schema, r.sub)
        return _Spec(r.attribute.name, r.attribute, "", r.sub)

    def default(self, res: Resource) -> Resource:
        """The default representation: everything but `never` and `request` attributes."""
        if not any(k in res for k in self._hidden_top) and not any(urn for urn, _ in self._hidden):
            return dict(res)
        out = dict(res)
        for urn, name in self._hidden:
            if urn:
                ext = out.get(urn)
                if isinstance(ext, dict) and name in ext:
                    out[urn] = {k: v for k, v in ext.items() if k != name}
            else:
                out.pop(name, None)
        return out

    def project(self, res: Resource, attributes: list[str] | None, excluded: list[str] | None) -> Resource:
        if attributes and not self.attributes_ignored:
            return self._only(res, attributes)
        out = self.default(res)
        if excluded and not self.excluded_ignored:
            self._drop(out, excluded)
        return out

    def _only(self, res: Resource, attributes: list[str]) -> Resource:
        out: Resource = {}
        if "schemas" in res:
            out["schemas"] = res["schemas"]
        for urn, name in self._always:
            src = res.get(urn) if urn else res
            if isinstance(src, dict) and name in src:
                if urn:
                    out.setdefault(urn, {})[name] = src[name]
                else:
                    out[name] = src[name]
        for path in attributes:
            spec = self._spec(path)
            if spec is None or (spec.attr.returned == "never" and not self.password_returned):
                continue
            if spec.urn:
                src_ext = res.get(spec.urn)
                if not isinstance(src_ext, dict) or spec.attr.name not in src_ext:
                    continue
                dst_ext = out.setdefault(spec.urn, {})
                _copy_attr(src_ext, dst_ext, spec.attr, spec.sub)
            else:
                _copy_attr(res, out, spec.attr, spec.sub)
        return out

    def _drop(self, out: Resource, excluded: list[str]) -> None:
        for path in excluded:
            spec = self._spec(path)
            if spec is None or spec.attr.returned == "always":
                continue
            holder: Any = out
            if spec.urn:
                holder = out.get(spec.urn)
                if not isinstance(holder, dict):
                    continue
                holder = out[spec.urn] = dict(holder)
            name = spec.attr.name
            if name not in holder:
                continue
            if spec.sub is None:
                del holder[name]
                if spec.urn and not holder:
                    del out[spec.urn]
                continue
            if spec.sub.returned == "always":
                continue
            value = copy.deepcopy(holder[name])
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    item.pop(spec.sub.name, None)
            holder[name] = value


def _copy_attr(src: Resource, dst: Resource, attr: Attribute, sub: Attribute | None) -> None:
    if attr.name not in src:
        return
    value = src[attr.name]
    if sub is None:
        dst[attr.name] = value
        return
    if attr.multi_valued and isinstance(value, list):
        existing = dst.get(attr.name)
        picked = [{sub.name: v[sub.name]} for v in value if isinstance(v, dict) and sub.name in v]
        if isinstance(existing, list) and len(existing) == len(picked):
            for e, p in zip(existing, picked, strict=True):
                e.update(p)
        elif picked:
            dst[attr.name] = picked
    elif isinstance(value, dict) and sub.name in value:
        dst.setdefault(attr.name, {})[sub.name] = value[sub.name]


def split_attr_list(raw: str | list[str] | None) -> list[str] | None:
    """`attributes=a,b` (query) or `["a","b"]` (POST .search) as a list of names."""
    if raw is None:
        return None
    items = raw if isinstance(raw, list) else raw.split(",")
    out = [str(i).strip() for i in items if str(i).strip()]
    return out or None
