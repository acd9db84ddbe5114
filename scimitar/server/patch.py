"""PATCH (RFC 7644 §3.5.2): apply a PatchOp request to a stored resource, all or nothing.

`apply_patch` works on a copy and returns it; the caller stores it only when no PatchError was
raised, which gives the RFC's atomicity: "Each operation in the sequence is applied to the target
resource; the resulting resource becomes the target of the next operation. Evaluation continues
until all operations are successfully applied or until an error condition is encountered."
`meta` is left to the server, which updates `lastModified` and `version`.

Decisions taken from the RFC text (each is also where a quirk branches off):
- `op` is matched case-insensitively (Entra sends `Replace`); RFC 7644 §3.5.2 defines the values
  "add", "remove", "replace" and SCIM keywords are case-insensitive elsewhere.
- Mutability (§3.5.2): "a client MUST NOT modify an attribute that has mutability "readOnly" or
  "immutable". However, a client MAY "add" a value to an "immutable" attribute if the attribute
  had no previous value." -> `mutability`. A readOnly value equal to the current one is no
  modification and is ignored (Okta's group rename carries the group's own `id`).
- Unassigning a required attribute (§3.5.2.2): "If an attribute is removed or becomes unassigned
  and is defined as a required attribute or a read-only attribute, the server SHALL return ...
  a "scimType" error code of "mutability"" -> `mutability`, not `invalidValue`.
- A value filter matching nothing: §3.12 `noTarget`, "This occurs when the specified "path" value
  contains a filter that yields no match" (replace and remove). For `add`, §3.5.2.1 says "If the
  target location does not exist, the attribute and value are added", so an add whose filter is a
  conjunction of `eq` tests (`emails[type eq "work"].value`) creates that element; any other
  filter cannot describe a new element and gives `noTarget`.
- A remove without path (§3.5.2.2): "If "path" is unspecified, the operation fails with HTTP
  status code 400 and a "scimType" error code of "noTarget"".
- Errors inside a path's `[...]` filter are `invalidFilter` (§3.12 lists it for "PATCH (Path
  Filter)"); other malformed or unknown paths are `invalidPath`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scimitar.quirks import Quirk
from scimitar.schema import PATCH_OP, Attribute, Resolved, ResourceType, SchemaRegistry
from scimitar.server.filters import (
    And,
    Compare,
    Filter,
    FilterError,
    PatchPath,
    PathError,
    compile_value_filter,
    parse_attr_path,
    parse_patch_path,
)
from scimitar.server.values import InvalidValue, extension_urn, normalize_value

__all__ = ["PatchError", "apply_patch"]


class PatchError(Exception):
    """A PATCH request the server answers with 400 and `scimType` (RFC 7644 §3.12)."""

    def __init__(self, scim_type: str, detail: str) -> None:
        super().__init__(f"{scim_type}: {detail}")
        self.scim_type = scim_type
        self.detail = detail
        #: what was applied before the error, set only under the patch-not-atomic quirk
        self.partial: dict[str, Any] | None = None


_OPS = ("add", "remove", "replace")
_MISSING = object()


def _clone(value: Any) -> Any:
    """A deep copy of JSON data, several times faster than copy.deepcopy."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


def _get_ci(obj: dict[str, Any], name: str) -> Any:
    """A message attribute by case-insensitive name (RFC 7643 §2.1), or _MISSING."""
    if name in obj:
        return obj[name]
    lowered = name.lower()
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return _MISSING


@dataclass
class _Target:
    text: str
    ext: str | None  # extension URN holding the attribute, None for core/common
    attr: Attribute
    sub: Attribute | None
    match: Callable[[dict[str, Any]], bool] | None
    filter: Filter | None
    common: bool


def apply_patch(
    resource: dict[str, Any],
    body: dict[str, Any],
    rt: ResourceType,
    registry: SchemaRegistry,
    *,
    quirks: frozenset[Quirk] = frozenset(),
) -> dict[str, Any]:
    """Validate a PatchOp body and return `resource` with every operation applied (input untouched)."""
    operations = _validate(body, quirks)
    patcher = _Patcher(_clone(resource), rt, registry, quirks)
    for index, (op, path, value) in enumerate(operations):
        try:
            patcher.run(index, op, path, value)
        except PatchError as exc:
            if Quirk.PATCH_NOT_ATOMIC in quirks:
                exc.partial = patcher.res  # the quirk: the caller keeps what was applied so far
            raise
    return patcher.res


def _validate(body: Any, quirks: frozenset[Quirk]) -> list[tuple[str, str | None, Any]]:
    """RFC 7644 §3.5.2: "The body of an HTTP PATCH request MUST contain the attribute "Operations",
    whose value is an array of one or more PATCH operations", with the PatchOp `schemas` URI."""
    if not isinstance(body, dict):
        raise PatchError("invalidSyntax", "the PATCH body must be a JSON object")
    schemas = _get_ci(body, "schemas")
    if not isinstance(schemas, list) or not any(
        isinstance(s, str) and s.lower() == PATCH_OP.lower() for s in schemas
    ):
        raise PatchError("invalidSyntax", f'"schemas" must contain "{PATCH_OP}"')
    ops = _get_ci(body, "Operations")
    if not isinstance(ops, list) or not ops:
        raise PatchError("invalidSyntax", '"Operations" must be a non-empty array of operations')
    out: list[tuple[str, str | None, Any]] = []
    for i, op in enumerate(ops):
        if not isinstance(op, dict):
            raise PatchError("invalidSyntax", f"Operations[{i}] must be a JSON object")
        name = _get_ci(op, "op")
        if not isinstance(name, str):
            raise PatchError("invalidSyntax", f'Operations[{i}] needs an "op": "add", "remove" or "replace"')
        key = name if Quirk.PATCH_OPS_LOWERCASE_ONLY in quirks else name.lower()
        if key not in _OPS:
            raise PatchError(
                "invalidSyntax", f'Operations[{i}].op {name!r} is not one of "add", "remove", "replace"'
            )
        path = _get_ci(op, "path")
        if path is _MISSING or path is None or (isinstance(path, str) and not path.strip()):
            path = None
        elif not isinstance(path, str):
            raise PatchError("invalidPath", f"Operations[{i}].path must be a string")
        out.append((key, path, _get_ci(op, "value")))
    return out


class _Patcher:
    def __init__(
        self, res: dict[str, Any], rt: ResourceType, registry: SchemaRegistry, quirks: frozenset[Quirk]
    ) -> None:
        self.res = res
        self.rt = rt
        self.registry = registry
        self.quirks = quirks
        self.coerce = Quirk.PATCH_STRING_BOOL_REJECTED not in quirks
        self.where = ""
        self.required: list[tuple[str | None, Attribute]] = [
            (None if urn in ("", rt.schema) else urn, a) for urn, a in registry.attributes(rt) if a.required
        ]

    # ------------------------------------------------------------------ driver
    def run(self, index: int, op: str, path: str | None, value: Any) -> None:
        self.where = f"Operations[{index}]"
        if op == "remove" and Quirk.PATCH_REMOVE_IGNORED in self.quirks:
            return  # the quirk: remove answers success and does nothing
        if path is None and op != "remove" and Quirk.PATCH_PATHLESS_REJECTED in self.quirks:
            raise PatchError("invalidPath", f'{self.where}: "path" is required')  # the quirk
        if path and path.strip().lower().startswith("urn:") and Quirk.PATCH_URN_PATH_REJECTED in self.quirks:
            raise PatchError("invalidPath", f"{self.where}: unsupported path {path!r}")  # the quirk
        if path and Quirk.PATCH_UNKNOWN_PATH_IGNORED in self.quirks and self._undefined(path):
            return  # the quirk: a path naming an undefined attribute is a silent success
        before = [self._present(ext, a) for ext, a in self.required]
        if op == "remove":
            if path is None:
                raise PatchError("noTarget", f'{self.where}: "remove" needs a "path" (RFC 7644 §3.5.2.2)')
            if (urn := extension_urn(self.rt, path.strip())) is not None:
                # the extension URN names its object, as for add/replace below: remove each attribute
                held = self.res.get(urn)
                for name in list(held) if isinstance(held, dict) else []:
                    self._remove(self._target(f"{urn}:{name}", allow_filter=False), _MISSING)
            else:
                self._remove(self._target(path, allow_filter=True), value)
        else:
            if value is _MISSING:
                raise PatchError("invalidValue", f'{self.where}: "{op}" needs a "value" (RFC 7644 §3.5.2.1)')
            if path is None:
                self._pathless(op, value)
            elif (urn := extension_urn(self.rt, path.strip())) is not None:
                self._pathless(op, {urn: value})
            else:
                self._write(op, self._target(path, allow_filter=True), value)
        for (ext, attr), was in zip(self.required, before, strict=True):
            if was and not self._present(ext, attr):
                raise PatchError(
                    "mutability",
                    f"{self.where}: {attr.name} is required and cannot be removed or unassigned "
                    "(RFC 7644 §3.5.2.2)",
                )

    def _undefined(self, path: str) -> bool:
        """Whether `path` parses but names no attribute of the resource type (for a quirk)."""
        try:
            pp = parse_patch_path(path)
        except (PathError, FilterError):
            return False
        return self._resolve(str(pp.attr)) is None

    def _resolve(self, path: str) -> Resolved | None:
        """RFC 7644 §3.10 attribute notation; an unqualified name that exactly one extension of the
        resource type defines resolves there (Entra's `"path":"manager"`, see SchemaRegistry.resolve),
        unless the `unqualified-extension-rejected` quirk refuses it."""
        lenient = Quirk.UNQUALIFIED_EXTENSION_REJECTED not in self.quirks
        return self.registry.resolve(self.rt, path, unqualified_extensions=lenient)

    def _present(self, ext: str | None, attr: Attribute) -> bool:
        holder = self.res.get(ext) if ext else self.res
        return isinstance(holder, dict) and holder.get(attr.name) not in (None, "", [], {})

    # ------------------------------------------------------------------ paths
    def _target(self, text: str, *, allow_filter: bool, unknown_type: str = "invalidPath") -> _Target:
        if "[" in text and Quirk.PATCH_NO_VALUE_FILTER in self.quirks:
            raise PatchError("invalidPath", f"{self.where}: value filters in paths are not supported")
        try:
            pp = parse_patch_path(text) if allow_filter else _plain_path(text)
        except PathError as exc:
            raise PatchError("invalidPath", f"{self.where}: {exc}") from None
        except FilterError as exc:
            raise PatchError("invalidFilter", f"{self.where}: {exc}") from None
        resolved = self._resolve(str(pp.attr))
        if resolved is None:
            raise PatchError(unknown_type, f"{self.where}: unknown attribute {str(pp.attr)!r} in {text!r}")
        attr = resolved.attribute
        sub = resolved.sub
        match = None
        if pp.value_filter is not None:
            if attr.type != "complex" or not attr.multi_valued:
                raise PatchError(
                    "invalidPath",
                    f"{self.where}: {attr.name} is not a multi-valued complex attribute; "
                    f"{text!r} cannot select values of it",
                )
            try:
                match = compile_value_filter(pp.value_filter, attr)
            except FilterError as exc:
                raise PatchError("invalidFilter", f"{self.where}: {exc}") from None
            if pp.sub is not None:
                sub = attr.sub(pp.sub)
                if sub is None:
                    raise PatchError(
                        "invalidPath", f"{self.where}: {attr.name} has no sub-attribute {pp.sub!r}"
                    )
        elif sub is not None and attr.multi_valued:
            raise PatchError(
                "invalidPath",
                f"{self.where}: {text!r} names a sub-attribute of every {attr.name} value; select values "
                f'with a filter, e.g. {attr.name}[type eq "work"].{sub.name}',
            )
        ext = resolved.schema if resolved.in_extension else None
        return _Target(text, ext, attr, sub, match, pp.value_filter, resolved.schema == "")

    def _container(self, t: _Target, create: bool) -> dict[str, Any] | None:
        if t.ext is None:
            return self.res
        holder = self.res.get(t.ext)
        if isinstance(holder, dict):
            return holder
        if not create:
            return None
        holder = self.res[t.ext] = {}
        schemas = self.res.get("schemas")
        if isinstance(schemas, list) and not any(
            isinstance(s, str) and s.lower() == t.ext.lower() for s in schemas
        ):
            # RFC 7643 §3: "schemas" lists "the schemas ... and any extension schema URIs used"
            schemas.append(t.ext)
        return holder

    def _tidy(self, t: _Target) -> None:
        """Drop an extension object that became empty, and its URN from `schemas`."""
        if t.ext is None or self.res.get(t.ext):
            return
        self.res.pop(t.ext, None)
        if any(e.schema == t.ext and e.required for e in self.rt.extensions):
            return
        schemas = self.res.get("schemas")
        if isinstance(schemas, list):
            schemas[:] = [s for s in schemas if not (isinstance(s, str) and s.lower() == t.ext.lower())]

    def _norm(self, attr: Attribute, value: Any, where: str) -> Any:
        try:
            return normalize_value(attr, value, where=where, coerce_string_bool=self.coerce)
        except InvalidValue as exc:
            raise PatchError(exc.scim_type, f"{self.where}: {exc}") from None

    # ------------------------------------------------------------------ mutability
    def _allowed(self, attr: Attribute, old: Any, new: Any, where: str, common: bool) -> bool:
        """Whether to write `new` over `old` for `attr`: False when nothing changes, raises when
        mutability forbids the change."""
        if old == new:
            return False
        if attr.mutability == "readOnly":
            protected = common and attr.name in ("id", "meta")
            if Quirk.READONLY_WRITABLE in self.quirks and not protected:
                return True  # the quirk: readOnly attributes other than id/meta are written
            raise PatchError(
                "mutability", f"{self.where}: {where} is readOnly and cannot be modified (RFC 7644 §3.5.2)"
            )
        if attr.mutability == "immutable" and old not in (None, [], {}):
            if Quirk.IMMUTABLE_WRITABLE in self.quirks:
                return True  # the quirk: immutable attributes can be changed
            raise PatchError(
                "mutability",
                f"{self.where}: {where} is immutable and already has a value (RFC 7644 §3.5.2)",
            )
        return True

    def _check_element(self, attr: Attribute, old: Any, new: Any, where: str) -> None:
        """Sub-attribute mutability inside one complex value (e.g. `manager.displayName` readOnly)."""
        old_d = old if isinstance(old, dict) else {}
        new_d = new if isinstance(new, dict) else {}
        for sub in attr.sub_attributes:
            if sub.mutability in ("readOnly", "immutable"):
                self._allowed(sub, old_d.get(sub.name), new_d.get(sub.name), f"{where}.{sub.name}", False)

    def _store(self, t: _Target, holder: dict[str, Any], new: Any) -> None:
        if new in (None, [], {}):
            holder.pop(t.attr.name, None)
        else:
            holder[t.attr.name] = new
        self._tidy(t)

    # ------------------------------------------------------------------ add / replace
    def _pathless(self, op: str, value: Any) -> None:
        """RFC 7644 §3.5.2.1/§3.5.2.3 without "path": "the target location is assumed to be the
        resource itself" and "value" is an object of attributes. Keys may be plain, dotted
        (`name.givenName`, Entra), URN-qualified, or an extension URN holding an object."""
        if not isinstance(value, dict):
            raise PatchError(
                "invalidValue", f'{self.where}: without "path", "value" must be an object of attributes'
            )
        for key, item in value.items():
            if not isinstance(key, str) or key.lower() == "schemas":
                continue
            urn = extension_urn(self.rt, key)
            if urn is not None:
                schema = self.registry.schema(urn)
                if item is None and op == "replace" and schema is not None:
                    # replacing the extension with null unassigns each of its attributes
                    item = {a.name: None for a in schema.attributes}
                if not isinstance(item, dict):
                    raise PatchError("invalidValue", f"{self.where}: {urn} must be an object of attributes")
                for sub_key, sub_item in item.items():
                    target = self._target(
                        f"{urn}:{sub_key}", allow_filter=False, unknown_type="invalidSyntax"
                    )
                    self._write(op, target, sub_item)
                continue
            if key.lower() == "id" and Quirk.PATCH_ECHOED_ID_REJECTED in self.quirks:
                raise PatchError("mutability", f"{self.where}: id is readOnly")  # the quirk
            target = self._target(key, allow_filter=False, unknown_type="invalidSyntax")
            if (
                Quirk.PATCH_ACTIVE_IGNORED in self.quirks
                and target.attr.name == "active"
                and target.ext is None
            ):
                continue  # the quirk: Okta's pathless {"active": false} is ignored
            self._write(op, target, item)

    def _write(self, op: str, t: _Target, value: Any) -> None:
        if t.match is not None:
            self._write_selected(op, t, value)
            return
        holder = self._container(t, create=True)
        assert holder is not None
        old = holder.get(t.attr.name)
        attr = t.attr
        if attr.multi_valued:
            items = self._norm(attr, value, t.text) or []
            if (op == "replace" and Quirk.PATCH_REPLACE_MULTI_MERGES not in self.quirks) or (  # the quirk: merges
                Quirk.PATCH_ADD_REPLACES_MEMBERS in self.quirks and attr.name == "members"
            ):
                new: Any = items
            else:
                new = _merge_values(attr, old if isinstance(old, list) else [], items)
            if items and attr.type == "complex":
                _one_primary(new, items, self.quirks)
        elif t.sub is not None:
            leaf = self._norm(t.sub, value, t.text)
            new = dict(old) if isinstance(old, dict) else {}
            if leaf is None:
                if op == "add":
                    self._tidy(t)
                    return
                new.pop(t.sub.name, None)
            else:
                new[t.sub.name] = leaf
            self._check_element(attr, old, new, attr.name)
        elif attr.type == "complex":
            if (isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict)
                    and Quirk.UNQUALIFIED_EXTENSION_REJECTED not in self.quirks):
                # Entra's documented manager update sends the single-valued `manager` as a one-item
                # array, [{"$ref": ..., "value": ...}]; it is read as that one value, as a lone object
                # for a multi-valued attribute is read as a one-item array (values.normalize_value).
                value = value[0]
            part = self._norm(attr, value, t.text)
            if part is None and op == "add":
                self._tidy(t)
                return
            # §3.5.2.3: "Sub-attributes that are not specified in the "value" parameter are left
            # unchanged" (and §3.5.2.1 merges likewise); replacing with null unassigns it.
            new = {**old, **part} if isinstance(old, dict) and part is not None else part
            if op == "replace" and Quirk.PATCH_COMPLEX_REPLACE_DROPS in self.quirks:
                new = part  # the quirk: sub-attributes not sent are dropped
            self._check_element(attr, old, new, attr.name)
        else:
            new = self._norm(attr, value, t.text)
            if new is None and op == "add":
                self._tidy(t)
                return
        if self._allowed(attr, old, new, t.text, t.common):
            self._store(t, holder, new)
        else:
            self._tidy(t)

    def _write_selected(self, op: str, t: _Target, value: Any) -> None:
        holder = self._container(t, create=True)
        assert holder is not None and t.match is not None
        attr = t.attr
        old = holder.get(attr.name)
        elements: list[Any] = list(old) if isinstance(old, list) else []
        hits = [i for i, el in enumerate(elements) if isinstance(el, dict) and t.match(el)]
        new_elements = [dict(el) if isinstance(el, dict) else el for el in elements]
        if not hits:
            adds = op == "add" or Quirk.PATCH_REPLACE_NO_TARGET_ADDS in self.quirks  # the quirk for replace
            seed = _element_from_filter(attr, t.filter) if adds else None
            if seed is None:
                self._tidy(t)
                raise PatchError(
                    "noTarget", f"{self.where}: no value of {attr.name} matches the filter in {t.text!r}"
                )
            new_elements.append(seed)
            hits = [len(new_elements) - 1]
        touched: list[dict[str, Any]] = []
        for i in hits:
            el = new_elements[i]
            if t.sub is not None:
                leaf = self._norm(t.sub, value, t.text)
                if leaf is None:
                    el.pop(t.sub.name, None)
                else:
                    el[t.sub.name] = leaf
                new_el = el
            else:
                part = self._norm(_single_of(attr), value, t.text)
                new_el = (part or {}) if op == "replace" else {**el, **(part or {})}
            new_el = self._norm(_single_of(attr), new_el, t.text) or {}
            self._check_element(attr, elements[i] if i < len(elements) else None, new_el, attr.name)
            new_elements[i] = new_el
            touched.append(new_el)
        result = [el for el in new_elements if el]
        _one_primary(result, touched, self.quirks)
        if self._allowed(attr, old, result, t.text, t.common):
            self._store(t, holder, result)

    # ------------------------------------------------------------------ remove
    def _remove(self, t: _Target, value: Any) -> None:
        holder = self._container(t, create=False)
        attr = t.attr
        old = holder.get(attr.name) if holder is not None else None
        if t.match is not None:
            elements: list[Any] = list(old) if isinstance(old, list) else []
            hits = {i for i, el in enumerate(elements) if isinstance(el, dict) and t.match(el)}
            if not hits:
                if Quirk.PATCH_NO_TARGET_IGNORED in self.quirks:
                    return  # the quirk: a filter matching nothing is a success
                raise PatchError(
                    "noTarget", f"{self.where}: no value of {attr.name} matches the filter in {t.text!r}"
                )
            result: list[Any] = []
            for i, el in enumerate(elements):
                if i not in hits:
                    result.append(el)
                elif t.sub is not None:
                    # §3.5.2.2: "Sub-attributes whose values have been removed SHALL be considered unassigned"
                    new_el = {k: v for k, v in el.items() if k != t.sub.name}
                    self._check_element(attr, el, new_el, attr.name)
                    if new_el:
                        result.append(el if Quirk.PATCH_REMOVE_FILTERED_SUB_IGNORED in self.quirks else new_el)
            new: Any = result
        elif old in (None, "", [], {}):
            return  # removing what is unassigned changes nothing
        elif (
            attr.multi_valued
            and attr.type == "complex"
            and value not in (_MISSING, None, [], {})
            and Quirk.PATCH_REMOVE_VALUE_IGNORED not in self.quirks  # the quirk: removes every value
        ):
            # Entra: {"op":"Remove","path":"members","value":[{"value":"<id>"}]} removes those members
            listed = self._norm(attr, value, t.text) or []
            new = [el for el in old if not any(_same_value(el, item) for item in listed)]
        elif t.sub is not None:
            new = {k: v for k, v in old.items() if k != t.sub.name} if isinstance(old, dict) else old
            self._check_element(attr, old, new, attr.name)
        else:
            new = None
        assert holder is not None
        if self._allowed(attr, old, new or None, t.text, t.common):
            self._store(t, holder, new)


def _plain_path(text: str) -> PatchPath:
    return PatchPath(parse_attr_path(text))


def _single_of(attr: Attribute) -> Attribute:
    """The definition of one value of a multi-valued attribute."""
    return dataclasses.replace(attr, multi_valued=False)


def _same_value(el: Any, item: Any) -> bool:
    if isinstance(el, dict) and isinstance(item, dict) and "value" in item:
        return bool(el.get("value") == item["value"])
    return bool(el == item)


def _merge_values(attr: Attribute, old: list[Any], items: list[Any]) -> list[Any]:
    """§3.5.2.1: "If the target location specifies a multi-valued attribute, a new value is added
    to the attribute" and "If the target location already contains the value specified, no changes
    SHOULD be made". `members` are the same member when their `value` (the id) is the same."""
    by_value = attr.name == "members"
    out = list(old)
    for item in items:
        if any(_same_value(el, item) if by_value else el == item for el in out):
            continue
        out.append(item)
    return out


def _one_primary(values: list[Any], written: list[Any], quirks: frozenset[Quirk] = frozenset()) -> None:
    """§3.5.2: "a PATCH operation that sets a value's "primary" sub-attribute to "true" SHALL cause
    the server to automatically set "primary" to "false" for any other values in the array"."""
    if Quirk.PATCH_PRIMARY_NOT_CLEARED in quirks:
        return  # the quirk: other values stay primary
    if not any(isinstance(w, dict) and w.get("primary") is True for w in written):
        return
    chosen = next(w for w in reversed(written) if isinstance(w, dict) and w.get("primary") is True)
    for v in values:
        if v is not chosen and isinstance(v, dict) and v.get("primary") is True:
            v["primary"] = False


def _element_from_filter(attr: Attribute, f: Filter | None) -> dict[str, Any] | None:
    """The new element an `add` to `emails[type eq "work"]` describes, or None if `f` describes none."""
    out: dict[str, Any] = {}
    stack: list[Filter] = [f] if f is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, And):
            stack.extend((node.left, node.right))
            continue
        if not isinstance(node, Compare) or node.op != "eq" or node.value is None:
            return None
        sub = attr.sub(node.path.name)
        if sub is None or node.path.sub or node.path.urn:
            return None
        out[sub.name] = node.value
    return out or None
