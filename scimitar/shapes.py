"""Server shapes: the schemas, resource types and ServiceProviderConfig a reference server declares.

The reference server serves the full RFC 7643 schemas by default. Real servers declare less (a User
with `emails.value` only, `name.formatted` required, no enterprise extension) or say that filtering
and sorting are unsupported. A *shape* lets the reference server declare and enforce exactly that,
so the harness can prove on its own server that its test data and expectations follow what a target
declares, and support can serve a customer's real `/Schemas` to reproduce a report.

A shape file is JSON, one of:
- a JSON array of schema representations (RFC 7643 §7), or a `/Schemas` ListResponse
  (RFC 7644 §4: "Resources" holds the schema representations);
- an object with `Schemas` (array or ListResponse), and optionally `ResourceTypes` (array or
  ListResponse, RFC 7643 §6) and `ServiceProviderConfig` (members merged over the server's own,
  e.g. `{"filter": {"supported": false}}`).

Without `ResourceTypes`, the RFC's User and Group resource types are used, each keeping only the
extensions whose schema the file declares. The reference server serves Users and Groups, so a
shape must declare both core schemas. Named shapes live in `fixtures/shapes/` (`--shape NAME`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scimitar.schema import CORE_GROUP, CORE_USER, SchemaRegistry, fixtures_dir

#: Named shapes and what each is: the file under `fixtures/shapes/` and the server profile it implies.
SHAPES: dict[str, tuple[str | None, str | None]] = {
    "rfc": (None, None),  # the full RFC 7643 schemas (the default)
    "minimal": ("minimal.json", None),
    "no-filter-sort": ("no-filter-sort.json", None),
    "clickhouse": (None, "clickhouse"),  # RFC schemas, ClickHouse profile rules
}


class ShapeError(ValueError):
    """A shape file that cannot be served (unreadable, not JSON, or missing User/Group)."""


@dataclass(frozen=True)
class Shape:
    """What one server instance declares: a schema registry plus ServiceProviderConfig overrides."""

    name: str
    registry: SchemaRegistry
    spc: dict[str, Any] = field(default_factory=dict)
    profile: str | None = None

    def supported(self, member: str) -> bool:
        """Whether the shape leaves `member` (`filter`, `sort`, ...) supported (the default: yes)."""
        value = self.spc.get(member)
        if isinstance(value, dict) and isinstance(value.get("supported"), bool):
            return bool(value["supported"])
        return True


def shapes_dir() -> Path:
    """`fixtures/shapes` in the repository, or its copy packaged in a wheel."""
    packaged = Path(__file__).parent / "_fixtures" / "shapes"
    if packaged.is_dir():
        return packaged
    return fixtures_dir().parent / "shapes"


def _items(value: Any, what: str) -> list[dict[str, Any]]:
    if isinstance(value, dict) and isinstance(value.get("Resources"), list):
        value = value["Resources"]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ShapeError(f"{what} must be a JSON array or a ListResponse of objects")
    return value


def _rfc_resource_types(schema_ids: set[str]) -> list[dict[str, Any]]:
    """The RFC resource types, each keeping only the extensions the shape declares a schema for."""
    out = []
    for rt in json.loads((fixtures_dir() / "resource_types.json").read_text()):
        rt = dict(rt)
        rt["schemaExtensions"] = [e for e in rt.get("schemaExtensions", []) if e["schema"] in schema_ids]
        out.append(rt)
    return out


def shape_from_json(data: Any, name: str = "custom") -> Shape:
    """Build a shape from the parsed content of a shape file (see the module docstring)."""
    spc: dict[str, Any] = {}
    resource_types: list[dict[str, Any]] | None = None
    if isinstance(data, dict) and "Resources" not in data:
        if "ServiceProviderConfig" in data:
            if not isinstance(data["ServiceProviderConfig"], dict):
                raise ShapeError("ServiceProviderConfig must be a JSON object")
            spc = data["ServiceProviderConfig"]
        if "ResourceTypes" in data:
            resource_types = _items(data["ResourceTypes"], "ResourceTypes")
        schemas_value = data.get("Schemas")
        if schemas_value is None:
            schemas = json.loads((fixtures_dir() / "schemas.json").read_text())
        else:
            schemas = _items(schemas_value, "Schemas")
    else:
        schemas = _items(data, "the shape")
    ids = {s.get("id") for s in schemas}
    for core in (CORE_USER, CORE_GROUP):
        if core not in ids:
            raise ShapeError(f"the shape must declare the {core} schema (the server serves Users and Groups)")
    if any(not isinstance(s.get("id"), str) or not isinstance(s.get("attributes", []), list) for s in schemas):
        raise ShapeError("every schema needs a string 'id' and a list of 'attributes'")
    if resource_types is None:
        resource_types = _rfc_resource_types({i for i in ids if isinstance(i, str)})
    names = {rt.get("name") for rt in resource_types}
    if not {"User", "Group"} <= names:
        raise ShapeError("ResourceTypes must list the User and Group resource types")
    common = json.loads((fixtures_dir() / "common_attributes.json").read_text())
    try:
        registry = SchemaRegistry(schemas, resource_types, common)
    except (KeyError, TypeError) as exc:
        raise ShapeError(f"malformed schema or resource type: missing {exc}") from None
    return Shape(name=name, registry=registry, spc=spc)


def load_shape_file(path: str | Path) -> Shape:
    """A shape from a JSON file (`scimitar serve --schemas FILE`)."""
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ShapeError(f"cannot read {p}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ShapeError(f"{p} is not JSON: {exc}") from None
    return shape_from_json(data, name=p.stem)


def named_shape(name: str) -> Shape:
    """A shape by name (`rfc`, `minimal`, `no-filter-sort`, `clickhouse`)."""
    if name not in SHAPES:
        raise ShapeError(f"unknown shape {name!r}; choose one of {', '.join(SHAPES)}")
    file, profile = SHAPES[name]
    if file is None:
        return Shape(name=name, registry=SchemaRegistry.default(), profile=profile)
    shape = load_shape_file(shapes_dir() / file)
    return Shape(name=name, registry=shape.registry, spc=shape.spc, profile=profile)
