"""Fetch groups: what one fetch asks one subgraph at one response path, and the Fetch each
becomes. An entity group's selection sits inside `... on <entity>` under `_entities`; its
`requires` builds each representation (`__typename`, a key, `@requires` fields)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from graphql import FieldNode, InlineFragmentNode, SelectionNode

from gateway.plan import Fetch
from gateway.planner.syntax import variables
from gateway.selections import Selections


@dataclass(eq=False)
class Group:
    service: str
    path: tuple[str, ...]  # where its results merge ("@" for list items); () at the root
    entity: str | None  # the type of its `_entities` call; None for a root fetch
    selections: Selections = field(default_factory=Selections)
    requires: Selections = field(default_factory=Selections)  # inside `... on entity`
    parents: list[Group] = field(default_factory=list)
    # (variable, include): the group runs only when the variable is true (or false, @skip)
    condition: tuple[str, bool] | None = None

    def fetch(self, kind: str) -> Fetch:
        if self.entity is None:
            selection = self.selections.to_ast()
            return Fetch(self.service, selection, None, kind, variables(selection))
        outer = Selections()
        outer.fragment(self.entity).merge(self.selections)
        requires = Selections()
        requires.fragment(self.entity).merge(self.requires)
        selection = outer.to_ast()
        return Fetch(self.service, selection, requires.to_ast(), "query", variables(selection))


def buckets(groups: Sequence[Group]) -> list[list[Group]]:
    """Groups that can share one fetch: entity groups of one subgraph at one path (for
    different types of an abstract selection) become one `_entities` call."""
    out: dict[object, list[Group]] = {}
    for g in groups:
        key = (g.service, g.path, g.condition) if g.entity is not None else id(g)
        out.setdefault(key, []).append(g)
    return list(out.values())


def fetch_of(groups: Sequence[Group], kind: str) -> Fetch:
    """The one Fetch of a bucket of groups."""
    if len(groups) == 1:
        return groups[0].fetch(kind)
    outer, requires = Selections(), Selections()
    for g in groups:
        outer.fragment(g.entity).merge(g.selections)
        requires.fragment(g.entity).merge(g.requires)
    selection = outer.to_ast()
    return Fetch(groups[0].service, selection, requires.to_ast(), "query", variables(selection))


def add_field_set(into: Selections, selections: Iterable[SelectionNode]) -> None:
    """A field set (key or requirement) into a representation's selection, as written: an
    aliased field reads the alias and sends the field's name."""
    for s in selections:
        if isinstance(s, FieldNode):
            sub = s.selection_set
            alias = s.alias.value if s.alias else None
            selected = into.field(s.name.value, alias, composite=sub is not None)
            if sub is not None and selected.sub is not None:
                add_field_set(selected.sub, sub.selections)
        elif isinstance(s, InlineFragmentNode):
            condition = s.type_condition.name.value if s.type_condition else None
            add_field_set(into.fragment(condition), s.selection_set.selections)
