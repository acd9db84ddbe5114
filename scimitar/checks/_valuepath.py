"""Value selection filters over what the target declares (`emails[type eq "work"]`, `emails[value eq "a@x"]`).

RFC 7644 §3.4.2.2 (Figure 1) defines `valuePath = attrPath "[" valFilter "]"`, and PATCH paths use
the same form (§3.5.2: `PATH = attrPath / valuePath [subAttr]`). The filter may name any
sub-attribute of the complex attribute. The RFC schema lets the checks select by `type`, but a
narrow schema may declare `emails` with `value` alone, and the same requirement can then be tested
with a filter on `value`. `ValuePath` holds the attribute and the sub-attribute that selects
(`DataFactory.value_selector`), builds values that differ in it, and writes the filter text. The
PATCH checks and the complex-filter check then read the same in either form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scimitar.checks.context import CheckContext
from scimitar.declared import AttrRef
from scimitar.schema import Attribute
from scimitar.schema import get_ci as ci

#: Type values tried in this order (RFC 7643 §4.1.2 lists "work", "home", "other" for emails).
_KINDS = ("work", "home", "other")


@dataclass(frozen=True)
class ValuePath:
    """A multi-valued complex attribute and the sub-attribute its value filters select by."""

    ref: AttrRef  # `sub` is the selecting sub-attribute: `type`, or `value` where no `type` is usable

    @property
    def name(self) -> str:
        return self.ref.attribute.name

    @property
    def by(self) -> str:
        """The selecting sub-attribute's name (`type` or `value`)."""
        return self.ref.leaf.name

    @property
    def attribute(self) -> Attribute:
        return self.ref.attribute

    def items(self, ctx: CheckContext, count: int, **subs: Any) -> list[dict[str, Any]]:
        """`count` fresh values that differ in the selecting sub-attribute; each has a fresh
        `value`, a distinct `type` where it selects (canonical values where the target lists
        them), and the sub-attributes `subs` the attribute declares. The first is `primary` where
        `primary` is declared."""
        attr = self.attribute
        type_attr = attr.sub("type")
        kinds = _kinds(type_attr, count) if type_attr is not None and type_attr.mutability != "readOnly" else []
        out = []
        for i in range(count):
            item: dict[str, Any] = {"value": self.fresh_value(ctx)}
            if kinds:
                item["type"] = kinds[i]
            if i == 0 and attr.sub("primary") is not None:
                item["primary"] = True
            item.update({k: v for k, v in subs.items() if attr.sub(k) is not None})
            out.append(item)
        return out

    def fresh_value(self, ctx: CheckContext) -> Any:
        """A new `value` for the attribute (an address under the run prefix for `emails`)."""
        value_attr = self.attribute.sub("value")
        assert value_attr is not None
        return ctx.data.value_for(value_attr, self.name)

    def key(self, item: Any) -> str | None:
        """The selecting sub-attribute's value in `item`, lower case, or None (`type` and
        `emails.value` are `"caseExact": false` in the RFC 7643 §8.7.1 User schema)."""
        value = ci(item, self.by)
        return value.lower() if isinstance(value, str) else None

    def path(self, item: dict[str, Any], sub: str | None = None) -> str:
        """The value path that selects `item` (`emails[type eq "home"]`), with `.sub` if given."""
        text = f'{self.name}[{self.by} eq "{item[self.by]}"]'
        return f"{text}.{sub}" if sub else text

    def values(self, resource: Any) -> list[dict[str, Any]]:
        """The attribute's values in a resource body."""
        found = ci(resource, self.name)
        return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []

    def keys(self, resource: Any) -> set[str]:
        """The selecting sub-attribute's values in a resource body, lower case."""
        return {k for k in (self.key(e) for e in self.values(resource)) if k is not None}

    def selected(self, resource: Any, item: dict[str, Any]) -> list[dict[str, Any]]:
        """The values of a resource body the filter for `item` selects."""
        return [e for e in self.values(resource) if self.key(e) == self.key(item)]


def _kinds(type_attr: Attribute, count: int) -> list[str]:
    """`count` type values, distinct as far as the target allows: work, home, other, or the
    canonical values with those first (the factory selects by `type` only where two differ)."""
    canonical = type_attr.canonical_values
    pool = [] if canonical else list(_KINDS)
    for value in [v for k in _KINDS for v in canonical if v.lower() == k] + list(canonical):
        if value.lower() not in {p.lower() for p in pool}:
            pool.append(value)
    return [pool[i % len(pool)] for i in range(count)]


def value_path(ctx: CheckContext, *, also: tuple[str, ...] = ()) -> ValuePath:
    """The target's value path (`DataFactory.value_selector`), or skip with what it lacks."""
    ref = ctx.data.value_selector(also=also)
    subs = " and ".join(f"'{s}'" for s in ("value", *also))
    plural = "s" if also else ""
    return ValuePath(ctx.need(ref, f"writable multi-valued complex attribute with {subs} sub-attribute{plural}"))
