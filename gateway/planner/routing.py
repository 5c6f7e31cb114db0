"""Which subgraph resolves what: the owners of fields and types, the keys to enter a
subgraph with, and how much of a selection a subgraph can answer by itself."""

from __future__ import annotations

from collections.abc import Sequence

from graphql import FieldNode, GraphQLSchema, get_named_type, is_abstract_type

from gateway.errors import PlanningError
from gateway.planner.syntax import shallow_fields
from gateway.selections import parse_field_set
from gateway.supergraph import Supergraph


class Routing:
    def __init__(self, supergraph: Supergraph) -> None:
        self.sg = supergraph
        self.schema: GraphQLSchema = supergraph.schema

    def target(
        self,
        source: str,
        parent: str,
        name: str,
        graphs: Sequence[str],
        existing: set[str],
        prefer: str | None = None,
    ) -> tuple[str, str, str, bool]:
        """(subgraph, entity type, key, direct) to fetch `parent.name` from. Direct: `source`
        can supply the key; otherwise the key's fields are fetched first (from a subgraph
        that `source` can enter), as Apollo does when only a third subgraph knows both keys."""
        # the one preferred, then one fetched from here already, then in order (stable)
        ordered = sorted(graphs, key=lambda g: (g != prefer, g not in existing))
        for target in ordered:
            entry = self.entry(source, parent, target)
            if entry is not None:
                return target, *entry, True
        for target in ordered:
            entry = self.entry(source, parent, target, any_key=True)
            if entry is not None:
                return target, *entry, False
        raise PlanningError(
            f"cannot reach {parent}.{name} in subgraph {graphs[0]} from subgraph {source}: "
            "no key of it that the first can supply"
        )

    def entry(
        self, source: str, parent: str, target: str, *, any_key: bool = False
    ) -> tuple[str, str] | None:
        """The entity type and key to enter `target` with, from an object of `parent` in
        `source`: a key `source` can supply (any resolvable key, with `any_key`)."""
        candidates = [parent]
        if target not in self.sg.type_graphs(parent):  # reachable through an @interfaceObject
            candidates = [
                i
                for i in self.interfaces(parent)
                if any(j.graph == target and j.interface_object for j in self.sg.types.get(i, ()))
            ]
        for entity in candidates:
            for key in self.sg.keys(entity, target):
                fields = [
                    f.name.value
                    for f in parse_field_set(key).selections  # type: ignore[attr-defined]
                ]
                if any_key or all(source in self.sg.field_graphs(parent, f) for f in fields):
                    return entity, key
        return None

    def needs_elsewhere(self, service: str, parent: str, name: str) -> bool:
        """Whether the field's @requires in `service` names fields `service` cannot resolve
        (then they are fetched elsewhere and the field is asked for through `_entities`)."""
        join = self.sg.field_join(parent, name, service)
        if join is None or not join.requires:
            return False
        required = parse_field_set(join.requires).selections
        return not all(
            service in self.sg.field_graphs(parent, f.name.value)  # type: ignore[attr-defined]
            for f in required
        )

    def provided_below(self, parent: str, name: str, service: str) -> frozenset[str]:
        """The fields a `@provides` on `parent.name` in `service` makes local below it."""
        join = self.sg.field_join(parent, name, service)
        if join is None or not join.provides:
            return frozenset()
        return frozenset(
            f.name.value for f in shallow_fields(parse_field_set(join.provides).selections)
        )

    def score(self, service: str, field_type: object, node: FieldNode) -> int:
        """How many of the fields selected below `node` `service` resolves (two levels)."""
        named = get_named_type(field_type)  # type: ignore[arg-type]
        if node.selection_set is None or not hasattr(named, "fields"):
            return 0
        score = 0
        for f in shallow_fields(node.selection_set.selections):
            definition = named.fields.get(f.name.value)
            if definition is None:
                continue
            if service in self.sg.field_graphs(named.name, f.name.value):
                score += 1 + self.score(service, definition.type, f)
        return score

    def implementations(self, interface: str, service: str) -> list[str]:
        """The object types implementing `interface` in the subgraph `service`."""
        gql_type = self.schema.get_type(interface)
        out = []
        for t in self.schema.get_possible_types(gql_type):  # type: ignore[arg-type]
            joins = self.sg.implements.get(t.name, ())
            known = service in self.sg.type_graphs(t.name)
            if known and (not joins or (service, interface) in joins):
                out.append(t.name)
        return out

    def is_interface_object(self, type_name: str, service: str) -> bool:
        return any(
            j.graph == service and j.interface_object for j in self.sg.types.get(type_name, ())
        )

    def owners(self, interface: str) -> list[str]:
        """The subgraphs where an interface is a real interface with a key (not an object)."""
        return [
            j.graph
            for j in self.sg.types.get(interface, ())
            if j.key and j.resolvable and not j.interface_object
        ]

    def is_interface(self, type_name: str) -> bool:
        return is_abstract_type(self.schema.get_type(type_name))

    def interfaces(self, type_name: str) -> list[str]:
        return [i.name for i in getattr(self.schema.get_type(type_name), "interfaces", ())]
