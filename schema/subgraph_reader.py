"""Reading a Federation 2 subgraph's SDL (as `_service { sdl }` returns it) into plain data
for composition: its types, their keys, and each field's federation directives.

Directive names follow the subgraph's `@link(url: ".../federation/v2.x", import: [...])`:
imported directives are used by their (possibly renamed) names, the rest as
`@federation__name`. Federation's own machinery (_Service, _Entity, _Any, _service,
_entities) is left out: composition builds the supergraph's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    GraphQLError,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    parse,
    print_ast,
    value_from_ast_untyped,
)

from schema.errors import SchemaError

FEDERATION_TYPES = {
    "_Service",
    "_Entity",
    "_Any",
    "FieldSet",
    "link__Import",
    "link__Purpose",
    "federation__FieldSet",
    "federation__Scope",
    "federation__Policy",
}
FEDERATION_FIELDS = {"_service", "_entities"}
KNOWN = {
    "key",
    "shareable",
    "external",
    "requires",
    "provides",
    "override",
    "inaccessible",
    "tag",
    "extends",
    "interfaceObject",
    "composeDirective",
    "link",
}

KINDS = {
    ObjectTypeDefinitionNode: "OBJECT",
    ObjectTypeExtensionNode: "OBJECT",
    InterfaceTypeDefinitionNode: "INTERFACE",
    InterfaceTypeExtensionNode: "INTERFACE",
    UnionTypeDefinitionNode: "UNION",
    UnionTypeExtensionNode: "UNION",
    EnumTypeDefinitionNode: "ENUM",
    EnumTypeExtensionNode: "ENUM",
    InputObjectTypeDefinitionNode: "INPUT_OBJECT",
    InputObjectTypeExtensionNode: "INPUT_OBJECT",
    ScalarTypeDefinitionNode: "SCALAR",
    ScalarTypeExtensionNode: "SCALAR",
}


@dataclass
class SubField:
    name: str
    type: str  # printed: "[Review!]!"
    arguments: str  # printed argument list: "(zip: String!)" or ""
    description: str | None = None
    external: bool = False
    shareable: bool = False
    inaccessible: bool = False
    requires: str | None = None
    provides: str | None = None
    override: str | None = None
    override_label: str | None = None  # progressive @override(label:)
    default: str | None = None  # input fields: the printed default value


@dataclass
class SubType:
    name: str
    kind: str  # OBJECT INTERFACE UNION ENUM INPUT_OBJECT SCALAR
    description: str | None = None
    fields: dict[str, SubField] = field(default_factory=dict)
    keys: list[tuple[str, bool]] = field(default_factory=list)  # (field set, resolvable)
    shareable: bool = False
    inaccessible: bool = False
    interface_object: bool = False
    interfaces: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)  # union members
    values: dict[str, tuple[str | None, bool]] = field(default_factory=dict)  # enum: desc, inacc


@dataclass
class Subgraph:
    name: str
    url: str
    types: dict[str, SubType] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)  # operation -> type name


def read_subgraph(name: str, url: str, sdl: str) -> Subgraph:
    try:
        document = parse(sdl)
    except GraphQLError as e:
        raise SchemaError(f"subgraph {name}: {e.message}", source=name) from None
    names = _directive_names(document)
    sub = Subgraph(name, url)
    for d in document.definitions:
        if isinstance(d, SchemaDefinitionNode | SchemaExtensionNode):
            for op in d.operation_types or ():
                sub.roots[op.operation.value] = op.type.name.value
            continue
        kind = KINDS.get(type(d))
        if (
            kind is None
            or d.name.value in FEDERATION_TYPES
            or d.name.value.startswith(("link__", "federation__"))
        ):
            continue
        t = sub.types.setdefault(d.name.value, SubType(d.name.value, kind))
        if t.kind != kind:
            raise SchemaError(f"subgraph {name}: {t.name} is both a {t.kind} and a {kind}")
        t.description = t.description or (
            d.description.value if getattr(d, "description", None) else None
        )
        _read_type(t, d, names)
    for op, default in (
        ("query", "Query"),
        ("mutation", "Mutation"),
        ("subscription", "Subscription"),
    ):
        if op not in sub.roots and default in sub.types:
            sub.roots[op] = default
    return sub


def _read_type(t: SubType, d: Any, names: dict[str, str]) -> None:
    applied = _applied(d.directives, names)
    for args in applied.get("key", []):
        t.keys.append((args["fields"], args.get("resolvable", True)))
    t.shareable |= "shareable" in applied
    t.inaccessible |= "inaccessible" in applied
    t.interface_object |= "interfaceObject" in applied
    t.interfaces += [i.name.value for i in getattr(d, "interfaces", None) or ()]
    t.members += [m.name.value for m in getattr(d, "types", None) or ()]
    for v in getattr(d, "values", None) or ():
        t.values[v.name.value] = (
            v.description.value if v.description else None,
            "inaccessible" in _applied(v.directives, names),
        )
    for f in getattr(d, "fields", None) or ():
        if f.name.value in FEDERATION_FIELDS:
            continue
        fa = _applied(f.directives, names)
        args = getattr(f, "arguments", None)
        t.fields[f.name.value] = SubField(
            name=f.name.value,
            type=print_ast(f.type),
            arguments=f"({', '.join(print_ast(a) for a in args)})" if args else "",
            description=f.description.value if f.description else None,
            external="external" in fa,
            shareable="shareable" in fa or t.shareable,
            inaccessible="inaccessible" in fa,
            requires=fa["requires"][0]["fields"] if "requires" in fa else None,
            provides=fa["provides"][0]["fields"] if "provides" in fa else None,
            override=fa["override"][0]["from"] if "override" in fa else None,
            override_label=fa["override"][0].get("label") if "override" in fa else None,
            default=print_ast(f.default_value) if getattr(f, "default_value", None) else None,
        )


def _directive_names(document: DocumentNode) -> dict[str, str]:
    """The names under which federation's directives appear here: local name -> spec name."""
    names = {f"federation__{n}": n for n in KNOWN}
    for d in document.definitions:
        if not isinstance(d, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for link in d.directives or ():
            if link.name.value != "link":
                continue
            args = {a.name.value: value_from_ast_untyped(a.value) for a in link.arguments}
            if "/federation/" not in str(args.get("url", "")):
                continue
            for item in args.get("import") or ():
                if isinstance(item, str):
                    names[item.lstrip("@")] = item.lstrip("@")
                elif isinstance(item, dict):
                    names[str(item.get("as", item["name"])).lstrip("@")] = item["name"].lstrip("@")
    return names


def _applied(directives: Any, names: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for d in directives or ():
        spec = names.get(d.name.value)
        if spec is not None:
            out.setdefault(spec, []).append(_args(d))
    return out


def _args(d: DirectiveNode) -> dict[str, Any]:
    return {a.name.value: value_from_ast_untyped(a.value) for a in d.arguments or ()}
