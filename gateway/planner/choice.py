"""Choosing between subgraphs that can resolve the same fields (@shareable, several owners):
the choice that costs the fewest fetches, counted over the whole level of a selection and
what lies below it (Apollo's planner costs whole plans; this counts fetches, greedily).

    products { name rating reviewCount }    rating: alpha or beta; reviewCount: beta only

Taking `rating` from alpha, the first that can, costs a fetch to alpha and one to beta;
taking both from beta costs one. And a field whose selection below cannot be completed
where it is resolved (a value type without a key has no way out of its subgraph) is taken
from a subgraph that can complete it:

    products { details { size } }    details: catalog (weight only) or beta (weight, size)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionNode,
    SelectionSetNode,
    get_named_type,
    is_composite_type,
)

from gateway.planner.routing import Routing

Choices = dict[tuple[str, int], str]  # (parent type, id of the field node) -> subgraph


class Chooser:
    def __init__(self, routing: Routing, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self.routing = routing
        self.sg = routing.sg
        self.fragments = fragments
        self._memo: dict[tuple[str, str, int, frozenset[str]], tuple[FieldNode, float]] = {}

    def choose(
        self,
        service: str,
        parent: str,
        selections: Sequence[SelectionNode],
        provided: frozenset[str],
        existing: Iterable[str] = (),
    ) -> Choices:
        """The subgraph each field of this level that leaves `service` is fetched from; a
        field `service` resolves stays unless that costs more fetches below than leaving."""
        options: dict[tuple[str, int], list[str]] = {}
        order: list[str] = []
        for type_name, node in self._fields(parent, selections):
            name = node.name.value
            graphs = self.sg.field_graphs(type_name, name)
            if name == "__typename" or not graphs:
                continue
            local = service in graphs or name in provided
            if local and self.routing.needs_elsewhere(service, type_name, name):
                local = False
            stay = self._below(service, type_name, node, provided) if local else math.inf
            if stay == 0:
                continue
            costs = {
                t: self._below(t, type_name, node, frozenset())
                for t in graphs
                if t != service and self.routing.entry(service, type_name, t, any_key=True)
            }
            if not costs:
                continue
            best = min(costs.values())
            if best == math.inf or (local and 1 + best >= stay):
                continue
            options[(type_name, id(node))] = [t for t, c in costs.items() if c == best]
            order += [t for t in options[(type_name, id(node))] if t not in order]
        return _cover(options, order, set(existing))

    def split(
        self, graphs: Sequence[str], parent: str, node: FieldNode
    ) -> list[tuple[str, FieldNode]] | None:
        """A root field several subgraphs resolve, when none completes what is asked below
        it but two do between them, each without another fetch: the field twice, each with
        its part (the first subgraph takes what both can), fetched at once rather than one
        after the other (as Apollo plans it).

            products { id name color price { amount } }    catalog: id name color
                                                           pricing: id name price
            ->  catalog { products { id name color } } and pricing { products { price ... } }
        """
        sub = node.selection_set
        if (
            len(graphs) < 2
            or sub is None
            or not all(isinstance(s, FieldNode) for s in sub.selections)
        ):
            return None
        field_type = getattr(self.routing.schema.get_type(parent), "fields", {})[node.name.value]
        named = get_named_type(field_type.type).name
        if any(self._level(g, named, sub.selections, frozenset()) == 0 for g in graphs):
            return None  # one subgraph can answer it all
        fields = [s for s in sub.selections if isinstance(s, FieldNode)]
        for first in graphs:
            mine = [f for f in fields if self._answers(first, named, f)]
            rest = [f for f in fields if f not in mine]
            for other in graphs:
                if other != first and rest and all(self._answers(other, named, f) for f in rest):
                    return [
                        (
                            first,
                            dataclasses.replace(
                                node, selection_set=SelectionSetNode(selections=tuple(mine))
                            ),
                        ),
                        (
                            other,
                            dataclasses.replace(
                                node, selection_set=SelectionSetNode(selections=tuple(rest))
                            ),
                        ),
                    ]
        return None

    def _answers(self, service: str, parent: str, node: FieldNode) -> bool:
        """Whether `service` resolves `parent.node` and all below it, by itself."""
        name = node.name.value
        if name == "__typename":
            return True
        if service not in self.sg.field_graphs(parent, name):
            return False
        return self._below(service, parent, node, frozenset()) == 0

    def _below(self, service: str, parent: str, node: FieldNode, provided: frozenset[str]) -> float:
        """How many more fetches the selection below `parent.node` costs if `service`
        resolves the field (inf: it cannot be completed from there)."""
        if node.selection_set is None:
            return 0
        definition = getattr(self.routing.schema.get_type(parent), "fields", {}).get(
            node.name.value
        )
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if not is_composite_type(named):
            return 0
        below = self.routing.provided_below(parent, node.name.value, service)
        key = (service, named.name, id(node), below)
        found = self._memo.get(key)
        if found is None or found[0] is not node:  # (an id is only unique while node lives)
            self._memo[key] = (node, 0)  # (a cycle through fragments costs nothing more)
            cost = self._level(service, named.name, node.selection_set.selections, below)
            self._memo[key] = (node, cost)
        return self._memo[key][1]

    def _level(
        self,
        service: str,
        parent: str,
        selections: Sequence[SelectionNode],
        provided: frozenset[str],
    ) -> float:
        total: float = 0
        targets: set[str] = set()
        for type_name, node in self._fields(parent, selections):
            name = node.name.value
            graphs = self.sg.field_graphs(type_name, name)
            if name == "__typename" or not graphs:
                continue
            local = service in graphs or name in provided
            if local and not self.routing.needs_elsewhere(service, type_name, name):
                total += self._below(service, type_name, node, provided)
                continue
            if self.routing.is_interface(type_name):
                total += 1  # asked of its implementations: not counted further
                continue
            best, chosen = math.inf, None
            for t in graphs:
                if t == service or self.routing.entry(service, type_name, t, any_key=True) is None:
                    continue
                cost = (0 if t in targets else 1) + self._below(t, type_name, node, frozenset())
                if cost < best:
                    best, chosen = cost, t
            if chosen is None:
                return math.inf
            targets.add(chosen)
            total += best
        return total

    def _fields(
        self, parent: str, selections: Iterable[SelectionNode]
    ) -> Iterable[tuple[str, FieldNode]]:
        """The fields of a level with the type each is selected on (fragments spread)."""
        for s in selections:
            if isinstance(s, FieldNode):
                yield parent, s
                continue
            if isinstance(s, FragmentSpreadNode):
                fragment = self.fragments.get(s.name.value)
                if fragment is None:
                    continue
                condition, inner = fragment.type_condition.name.value, fragment.selection_set
            else:
                assert isinstance(s, InlineFragmentNode)
                condition = s.type_condition.name.value if s.type_condition else parent
                inner = s.selection_set
            if self.routing.schema.get_type(condition) is not None:
                yield from self._fields(condition, inner.selections)


def _cover(
    options: dict[tuple[str, int], list[str]], order: list[str], existing: set[str]
) -> Choices:
    """Each field to one of its options, with as few subgraphs as can be (greedy set cover:
    the subgraph that takes the most fields first; then one already fetched from here; then
    the first named)."""
    choices: Choices = {}
    pending = dict(options)
    while pending:
        best = max(
            order,
            key=lambda t: (
                sum(t in o for o in pending.values()),
                t in existing,
                -order.index(t),
            ),
        )
        for field, o in list(pending.items()):
            if best in o:
                choices[field] = best
                del pending[field]
    return choices
