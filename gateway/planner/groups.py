"""Fetch groups: what one fetch asks one subgraph at one response path, and the Fetch each
becomes. An entity group's selection sits inside `... on <entity>` under `_entities`; its
`requires` builds each representation (`__typename`, a key, `@requires` fields)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from graphql import FieldNode, FragmentDefinitionNode, InlineFragmentNode, SelectionNode

from gateway.plan import Fetch
from gateway.planner.aliases import add_aliases
from gateway.planner.conditions import Conditions, strip
from gateway.planner.fragments import reuse_fragments
from gateway.planner.syntax import variables
from gateway.selections import Selections
from gateway.supergraph import Supergraph


@dataclass(eq=False)
class Group:
    service: str
    path: tuple[str, ...]  # where its results merge ("@" for list items); () at the root
    entity: str | None  # the type of its `_entities` call; None for a root fetch
    # what it asks for; in an entity group, under `... on <entity>` fragments (which carry
    # the @skip/@include met on the way to it)
    selections: Selections = field(default_factory=Selections)
    requires: Selections = field(default_factory=Selections)  # likewise

    parents: list[Group] = field(default_factory=list)


def buckets(groups: Sequence[Group]) -> list[list[Group]]:
    """Groups that can share one fetch: entity groups of one subgraph at one path (for
    different types of an abstract selection) become one `_entities` call."""
    out: dict[object, list[Group]] = {}
    for g in groups:
        key = (g.service, g.path) if g.entity is not None else id(g)
        out.setdefault(key, []).append(g)
    return list(out.values())


def selection_of(groups: Sequence[Group]) -> Selections:
    """What a bucket of groups asks for, together."""
    if len(groups) == 1:
        return groups[0].selections
    out = Selections()
    for g in groups:
        out.merge(copy.deepcopy(g.selections))  # merge adopts items: keep the groups' own
    return out


def fetch_of(
    groups: Sequence[Group],
    kind: str,
    handled: Conditions,
    supergraph: Supergraph,
    root: str,
    fragments: Mapping[str, FragmentDefinitionNode],
) -> Fetch:
    """The one Fetch of a bucket of groups, without the conditions Condition nodes decide,
    with internal aliases where fields would conflict and the client's `fragments` spread
    where they fit (`root`: the root type's name)."""
    first = groups[0]
    parent = root if first.entity is None else None
    tree, renames = add_aliases(
        strip(selection_of(groups), handled), parent, first.service, supergraph
    )
    tree, used = reuse_fragments(tree, parent, first.service, supergraph, fragments)
    selection = tree.to_ast()
    usages = tuple(dict.fromkeys(v for node in (selection, *used) for v in variables(node)))
    if first.entity is None:
        return Fetch(first.service, selection, None, kind, usages, (), renames, used)
    requires = Selections()
    for g in groups:  # (strip makes new trees: merging them leaves the groups' own alone)
        requires.merge(strip(g.requires, None))  # built whatever the conditions
    return Fetch(first.service, selection, requires.to_ast(), "query", usages, (), renames, used)


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
