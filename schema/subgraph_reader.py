"""Reading a subgraph's SDL (as `_service { sdl }` returns it) into plain data for
composition: its types, their keys, and each field's federation directives.

A Federation 2 subgraph links the federation spec: directive names follow its
`@link(url: ".../federation/v2.x", import: [...])` (imported directives by their, possibly
renamed, names, the rest as `@federation__name`). A subgraph without that link is a
Federation 1 subgraph: `@key @external @requires @provides @extends @tag` by their plain names,
no Federation 2 directive; composition upgrades it first (`schema.fed1`). Federation's own
machinery (_Service, _Entity, _Any, _FieldSet, _service, _entities) is left out: composition
builds the supergraph's own.

In both, the key fields of an entity extension (`extend type T @key(fields: "id")`, or
`@extends`) are resolvable even when marked @external, as Apollo reads them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveDefinitionNode,
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
from schema.field_sets import top_level
from schema.links import Feature, link_arguments, read_links

FEDERATION_TYPES = {
    "_Service",
    "_Entity",
    "_Any",
    "_FieldSet",
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
FED1 = {"key", "external", "requires", "provides", "extends", "tag"}
# Federation 2 directives a Federation 1 subgraph cannot use (unless it defines them itself)
FED2_ONLY = {
    "shareable",
    "override",
    "inaccessible",
    "interfaceObject",
    "composeDirective",
    "authenticated",
    "requiresScopes",
    "policy",
    "context",
    "fromContext",
    "cost",
    "listSize",
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
    applied: list[DirectiveNode] = field(default_factory=list)  # other directives


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
    defined: bool = False  # has a definition, not only `extend type`
    extended: bool = False  # has an `extend type`
    extends: bool = False  # @extends
    extension_keys: set[str] = field(default_factory=set)  # keys applied by an `extend type`
    external: bool = False  # @external on the type
    interfaces: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)  # union members
    values: dict[str, tuple[str | None, bool]] = field(default_factory=dict)  # enum: desc, inacc
    applied: list[DirectiveNode] = field(default_factory=list)  # other directives
    value_applied: dict[str, list[DirectiveNode]] = field(default_factory=dict)  # enum values


@dataclass
class Subgraph:
    name: str
    url: str
    types: dict[str, SubType] = field(default_factory=dict)
    roots: dict[str, str] = field(default_factory=dict)  # operation -> type name
    federation_2: bool = True  # False: a Federation 1 subgraph, upgraded by composition
    links: list[Feature] = field(default_factory=list)  # the features it @links
    compose_directives: list[str] = field(default_factory=list)  # @composeDirective(name:)
    directive_definitions: dict[str, DirectiveDefinitionNode] = field(default_factory=dict)


def read_subgraph(name: str, url: str, sdl: str) -> Subgraph:
    try:
        document = parse(sdl)
    except GraphQLError as e:
        raise SchemaError(f"subgraph {name}: {e.message}", source=name) from None
    names, federation_2 = _directive_names(document)
    if not federation_2:
        _refuse_fed2_directives(name, document)
    sub = Subgraph(name, url, federation_2=federation_2, links=read_links(document))
    for d in document.definitions:
        if isinstance(d, SchemaDefinitionNode | SchemaExtensionNode):
            for op in d.operation_types or ():
                sub.roots[op.operation.value] = op.type.name.value
            composed = _applied(d.directives, names).get("composeDirective", [])
            sub.compose_directives += [str(args.get("name") or "") for args in composed]
    # directives an argument keeps in the supergraph (other directives on arguments go)
    on_arguments = {"deprecated", *(n.lstrip("@") for n in sub.compose_directives)}
    on_arguments |= {n for n, spec in names.items() if spec in ("inaccessible", "tag")}
    for d in document.definitions:
        if isinstance(d, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        if isinstance(d, DirectiveDefinitionNode):
            sub.directive_definitions[d.name.value] = d
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
        _read_type(t, d, names, on_arguments)
    for t in sub.types.values():
        _mark_externals(t, federation_2)
    for op, default in (
        ("query", "Query"),
        ("mutation", "Mutation"),
        ("subscription", "Subscription"),
    ):
        if op not in sub.roots and default in sub.types:
            sub.roots[op] = default
    return sub


def _read_type(t: SubType, d: Any, names: dict[str, str], on_arguments: set[str]) -> None:
    applied = _applied(d.directives, names)
    extension = "Extension" in type(d).__name__
    t.extended |= extension
    t.defined |= not extension
    t.extends |= "extends" in applied
    t.external |= "external" in applied
    for args in applied.get("key", []):
        t.keys.append((_field_set(args["fields"]), args.get("resolvable", True)))
        if extension:
            t.extension_keys.add(t.keys[-1][0])
    t.shareable |= "shareable" in applied
    t.applied += _others(d.directives, names)
    t.inaccessible |= "inaccessible" in applied
    t.interface_object |= "interfaceObject" in applied
    t.interfaces += [i.name.value for i in getattr(d, "interfaces", None) or ()]
    t.members += [m.name.value for m in getattr(d, "types", None) or ()]
    for v in getattr(d, "values", None) or ():
        t.values[v.name.value] = (
            v.description.value if v.description else None,
            "inaccessible" in _applied(v.directives, names),
        )
        t.value_applied.setdefault(v.name.value, []).extend(_others(v.directives, names))
    for f in getattr(d, "fields", None) or ():
        if f.name.value in FEDERATION_FIELDS:
            continue
        fa = _applied(f.directives, names)
        args = getattr(f, "arguments", None)
        t.fields[f.name.value] = SubField(
            name=f.name.value,
            type=print_ast(f.type),
            arguments=_arguments(args, on_arguments),
            description=f.description.value if f.description else None,
            external="external" in fa,
            shareable="shareable" in fa or t.shareable,
            inaccessible="inaccessible" in fa,
            requires=_field_set(fa["requires"][0]["fields"]) if "requires" in fa else None,
            provides=_field_set(fa["provides"][0]["fields"]) if "provides" in fa else None,
            override=fa["override"][0]["from"] if "override" in fa else None,
            override_label=fa["override"][0].get("label") if "override" in fa else None,
            default=print_ast(f.default_value) if getattr(f, "default_value", None) else None,
            applied=_others(f.directives, names),
        )


def _mark_externals(t: SubType, federation_2: bool) -> None:
    """@external on a Federation 2 type makes each of its fields external; the key fields of
    an entity extension are not external however marked."""
    if t.external and federation_2:
        for f in t.fields.values():
            f.external = True
    for key, _ in t.keys:
        if t.extends or key in t.extension_keys:
            for name in top_level(key):
                if name in t.fields:
                    t.fields[name].external = False


def _field_set(value: Any) -> str:
    """A `fields:` argument; Federation 1 also took a list of strings."""
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return " ".join(value)
    return str(value)


def _refuse_fed2_directives(name: str, document: DocumentNode) -> None:
    defined = {d.name.value for d in document.definitions if isinstance(d, DirectiveDefinitionNode)}
    used: dict[str, list[str]] = {}
    for d in document.definitions:
        owner = getattr(getattr(d, "name", None), "value", None)
        if owner is None:
            continue
        places = [(owner, d.directives or ())]
        for f in getattr(d, "fields", None) or getattr(d, "values", None) or ():
            places.append((f"{owner}.{f.name.value}", f.directives or ()))
        for where, directives in places:
            for directive in directives:
                n = directive.name.value
                if n in FED2_ONLY and n not in defined:
                    used.setdefault(n, []).append(where)
    if used:
        found = "; ".join(
            f"@{n} on " + ", ".join(f'"{w}"' for w in where) for n, where in used.items()
        )
        imports = ", ".join(f'"@{n}"' for n in ["key", *used])
        raise SchemaError(
            f'subgraph "{name}" is a Federation 1 subgraph (its SDL has no @link to the '
            f"federation spec v2) but uses Federation 2 directives: {found}",
            suggestion="make it a Federation 2 subgraph: add `extend schema @link(url: "
            f'"https://specs.apollo.dev/federation/v2.3", import: [{imports}])`, '
            "or remove them",
        )


def _directive_names(document: DocumentNode) -> tuple[dict[str, str], bool]:
    """The names under which federation's directives appear here (local name -> spec name),
    and whether the subgraph links Federation 2."""
    names = {f"federation__{n}": n for n in KNOWN}
    federation_2 = False
    for args in link_arguments(document):
        if "/federation/" not in str(args.get("url", "")):
            continue
        federation_2 = True
        for item in args.get("import") or ():
            if isinstance(item, str):
                names[item.lstrip("@")] = item.lstrip("@")
            elif isinstance(item, dict):
                names[str(item.get("as", item["name"])).lstrip("@")] = item["name"].lstrip("@")
    if not federation_2:
        return {n: n for n in FED1}, False
    return names, True


def _applied(directives: Any, names: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for d in directives or ():
        spec = names.get(d.name.value)
        if spec is not None:
            out.setdefault(spec, []).append(_args(d))
    return out


def _arguments(args: Any, kept: set[str]) -> str:
    """A field's printed argument list, with only the `kept` directives on each argument."""
    if not args:
        return ""
    printed = (
        print_ast(
            dataclasses.replace(
                a, directives=tuple(d for d in a.directives or () if d.name.value in kept)
            )
        )
        for a in args
    )
    return f"({', '.join(printed)})"


def _others(directives: Any, names: dict[str, str]) -> list[DirectiveNode]:
    """The directives that are not federation's."""
    return [d for d in directives or () if d.name.value not in names]


def _args(d: DirectiveNode) -> dict[str, Any]:
    return {a.name.value: value_from_ast_untyped(a.value) for a in d.arguments or ()}
