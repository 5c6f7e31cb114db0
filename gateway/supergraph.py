"""Reading an Apollo Federation supergraph: which subgraph can resolve what.

The supergraph SDL (as Rover or `@apollo/composition` write it) carries the join spec's
directives; this module turns them into plain data for the planner:

    type Furniture @join__type(graph: PRODUCTS, key: "upc")
                   @join__type(graph: SHIPPING, key: "upc") {
      weight: Int! @join__field(graph: PRODUCTS) @join__field(graph: SHIPPING, external: true)
      shippingEstimate: Int! @join__field(graph: SHIPPING, requires: "weight")
    }

    sg.type_graphs("Furniture")                      -> ("products", "shipping")
    sg.keys("Furniture", "shipping")                 -> ("upc",)
    sg.field_graphs("Furniture", "weight")           -> ("products",)
    sg.field_join("Furniture", "shippingEstimate", "shipping").requires -> "weight"

Spec prefixes follow `@link(url:, as:)` (`join__type` is `<prefix>__type`); Federation 1
supergraphs (`@core`, join v0.1) are read with their own ownership rules. A linked feature
marked `for: EXECUTION` or `for: SECURITY` that shardgate does not implement is refused: serving
without it would return wrong data or skip an authorization rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    GraphQLSchema,
    SchemaDefinitionNode,
    TypeDefinitionNode,
    UnionTypeDefinitionNode,
    build_ast_schema,
    parse,
    value_from_ast_untyped,
)

from gateway.errors import SupergraphError

# Specs whose directives this module (and the planner) understands.
IMPLEMENTED = {"link", "core", "join", "inaccessible", "tag"}
_SPEC_URL = re.compile(r"^https?://specs\.apollo\.dev/(?P<name>[a-zA-Z_]+)/v(?P<version>\d+\.\d+)")


@dataclass(frozen=True)
class Subgraph:
    name: str  # the subgraph's real name, used in plans: "products"
    enum_value: str  # its join__Graph value: "PRODUCTS"
    url: str


@dataclass(frozen=True)
class TypeJoin:
    """One `@join__type`: the type exists in `graph` (with this key, if any)."""

    graph: str
    key: str | None = None
    extension: bool = False
    resolvable: bool = True
    interface_object: bool = False


@dataclass(frozen=True)
class FieldJoin:
    """One `@join__field`. `graph` None: inherited through an @interfaceObject (v0.3+)."""

    graph: str | None
    requires: str | None = None
    provides: str | None = None
    type: str | None = None  # the subgraph's own type for the field, when it differs
    external: bool = False
    override: str | None = None
    used_overridden: bool = False
    override_label: str | None = None


@dataclass(frozen=True)
class Link:
    url: str
    name: str  # the spec: "join"
    version: str  # "0.3"
    prefix: str  # how its directives are named here: "join" -> @join__type
    purpose: str | None  # "EXECUTION", "SECURITY" or None


@dataclass
class Supergraph:
    sdl: str
    document: DocumentNode
    schema: GraphQLSchema  # the whole supergraph: plan against this
    links: tuple[Link, ...]
    subgraphs: dict[str, Subgraph]  # by name
    types: dict[str, tuple[TypeJoin, ...]] = field(default_factory=dict)
    fields: dict[tuple[str, str], tuple[FieldJoin, ...]] = field(default_factory=dict)
    implements: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    union_members: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    enum_values: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)  # Fed1 @join__owner

    @property
    def federation_version(self) -> int:
        return 1 if self.join_version == "0.1" else 2

    @property
    def join_version(self) -> str:
        return next(link.version for link in self.links if link.name == "join")

    def prefix(self, spec: str) -> str | None:
        return next((link.prefix for link in self.links if link.name == spec), None)

    def type_graphs(self, type_name: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(j.graph for j in self.types.get(type_name, ())))

    def keys(self, type_name: str, graph: str, *, resolvable_only: bool = True) -> tuple[str, ...]:
        """The key field sets `graph` declares for the type (the ones `_entities` accepts)."""
        return tuple(
            j.key
            for j in self.types.get(type_name, ())
            if j.graph == graph and j.key is not None and (j.resolvable or not resolvable_only)
        )

    def field_join(self, type_name: str, field_name: str, graph: str) -> FieldJoin | None:
        """The field's join in `graph`; for an implementation that `graph` sees only through
        an @interfaceObject, the interface's (its @requires, for one)."""
        own = next(
            (j for j in self.fields.get((type_name, field_name), ()) if j.graph == graph), None
        )
        if own is not None:
            return own
        for iface in self._interfaces_of(type_name):
            if any(j.graph == graph and j.interface_object for j in self.types.get(iface, ())):
                return next(
                    (j for j in self.fields.get((iface, field_name), ()) if j.graph == graph),
                    None,
                )
        return None

    def field_graphs(self, type_name: str, field_name: str) -> tuple[str, ...]:
        """The subgraphs that can resolve the field (not external, not overridden away).
        Override labels are off, as in Apollo Gateway (the Router evaluates them): a field
        under a progressive `@override(label:)` stays with the subgraph it moves from."""
        joins = self.fields.get((type_name, field_name))
        if not joins:  # no @join__field: wherever the type is (Fed1: its owner, if any)
            owner = self.owners.get(type_name)
            return (owner,) if owner else self.type_graphs(type_name)
        graphs = [
            j.graph
            for j in joins
            if j.graph
            and not j.external
            and not j.used_overridden
            and not (j.override and j.override_label)
        ]
        if any(j.graph is None for j in joins) or not graphs:  # through an @interfaceObject
            graphs += self._interface_object_graphs(type_name, field_name)
        if self.federation_version == 1:  # Fed1 lists only local fields; keys resolve locally
            graphs += [
                j.graph
                for j in self.types.get(type_name, ())
                if j.key and field_name in j.key.split()
            ]
        return tuple(dict.fromkeys(graphs))

    def _interface_object_graphs(self, type_name: str, field_name: str) -> list[str]:
        """The @interfaceObject subgraphs that resolve the field for an implementation."""
        out = []
        for iface in self._interfaces_of(type_name):
            iface_joins = self.fields.get((iface, field_name))
            for j in self.types.get(iface, ()):
                if not j.interface_object or j.graph is None:
                    continue
                own = self.field_join(iface, field_name, j.graph)
                if iface_joins is None or (own is not None and not own.external):
                    out.append(j.graph)
        return out

    def _interfaces_of(self, type_name: str) -> list[str]:
        gql_type = self.schema.get_type(type_name)
        return [i.name for i in getattr(gql_type, "interfaces", ())]


def load_supergraph(sdl: str) -> Supergraph:
    try:
        document = parse(sdl)
    except Exception as e:  # GraphQLSyntaxError names line and column
        raise SupergraphError(f"the supergraph is not valid GraphQL: {e}") from None
    links = _links(document)
    join = next((link for link in links if link.name == "join"), None)
    if join is None:
        raise SupergraphError(
            "no join spec is linked: this is not a supergraph",
            suggestion="compose one with `shardgate compose`, Rover or @apollo/composition",
        )
    for link in links:
        if link.name not in IMPLEMENTED and link.purpose in ("EXECUTION", "SECURITY"):
            raise SupergraphError(
                f"the supergraph links {link.url} for {link.purpose}, which shardgate does not "
                "implement; serving it without that would be wrong",
                suggestion="remove that feature from the subgraphs, or use a gateway that has it",
            )
    try:
        schema = build_ast_schema(document, assume_valid_sdl=True)
    except Exception as e:
        raise SupergraphError(f"the supergraph does not build a schema: {e}") from None
    sg = Supergraph(sdl, document, schema, links, {})
    _read_joins(sg, join.prefix)
    return sg


def _links(document: DocumentNode) -> tuple[Link, ...]:
    found: list[Link] = []
    for definition in document.definitions:
        if not isinstance(definition, SchemaDefinitionNode):
            continue
        for d in definition.directives or ():
            args = _args(d)
            url = args.get("url") or args.get("feature")  # @link(url:) or Fed1 @core(feature:)
            if d.name.value not in ("link", "core") or not isinstance(url, str):
                continue
            match = _SPEC_URL.match(url)
            name = match["name"] if match else url.rstrip("/").rsplit("/", 2)[-2]
            version = match["version"] if match else url.rstrip("/").rsplit("/", 1)[-1]
            found.append(
                Link(url, name, version.lstrip("v"), args.get("as") or name, args.get("for"))
            )
    return tuple(found)


def _read_joins(sg: Supergraph, prefix: str) -> None:
    graph_enum = sg.schema.get_type(f"{prefix}__Graph")
    if graph_enum is None or graph_enum.ast_node is None:
        raise SupergraphError(f"the supergraph has no {prefix}__Graph enum")
    by_value: dict[str, str] = {}
    assert isinstance(graph_enum.ast_node, EnumTypeDefinitionNode)
    for value in graph_enum.ast_node.values or ():
        args = _directive_args(value.directives, f"{prefix}__graph")
        if not args:
            raise SupergraphError(f"{prefix}__Graph.{value.name.value} has no @{prefix}__graph")
        sub = Subgraph(args[0]["name"], value.name.value, args[0]["url"])
        sg.subgraphs[sub.name] = sub
        by_value[sub.enum_value] = sub.name

    def graph(args: dict[str, Any]) -> str | None:
        value = args.get("graph")
        return None if value is None else by_value[value]

    for definition in sg.document.definitions:
        if not isinstance(definition, TypeDefinitionNode):
            continue
        name = definition.name.value
        if name.startswith(f"{prefix}__"):
            continue
        sg.types[name] = tuple(
            TypeJoin(
                graph(a) or "",
                a.get("key"),
                bool(a.get("extension")),
                a.get("resolvable", True),
                bool(a.get("isInterfaceObject")),
            )
            for a in _directive_args(definition.directives, f"{prefix}__type")
        )
        owner = _directive_args(definition.directives, f"{prefix}__owner")
        if owner:
            sg.owners[name] = by_value[owner[0]["graph"]]
        sg.implements[name] = tuple(
            (by_value[a["graph"]], a["interface"])
            for a in _directive_args(definition.directives, f"{prefix}__implements")
        )
        if isinstance(definition, UnionTypeDefinitionNode):
            sg.union_members[name] = tuple(
                (by_value[a["graph"]], a["member"])
                for a in _directive_args(definition.directives, f"{prefix}__unionMember")
            )
        if isinstance(definition, EnumTypeDefinitionNode):
            for v in definition.values or ():
                sg.enum_values[name, v.name.value] = tuple(
                    by_value[a["graph"]]
                    for a in _directive_args(v.directives, f"{prefix}__enumValue")
                )
        for f in getattr(definition, "fields", None) or ():
            joins = _directive_args(f.directives, f"{prefix}__field")
            if joins:
                sg.fields[name, f.name.value] = tuple(
                    FieldJoin(
                        graph(a),
                        a.get("requires"),
                        a.get("provides"),
                        a.get("type"),
                        bool(a.get("external")),
                        a.get("override"),
                        bool(a.get("usedOverridden")),
                        a.get("overrideLabel"),
                    )
                    for a in joins
                )


def _directive_args(directives: Iterable[DirectiveNode] | None, name: str) -> list[dict[str, Any]]:
    return [_args(d) for d in directives or () if d.name.value == name]


def _args(directive: DirectiveNode) -> dict[str, Any]:
    return {a.name.value: value_from_ast_untyped(a.value) for a in directive.arguments or ()}
