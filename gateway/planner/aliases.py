"""Internal aliases for fields that cannot share a response key in one fetch (federation#1257,
as Apollo's planner adds them). Under an interface, a subgraph may type `Song.duration` as
`Int!` and `Film.duration` as `Int`; both in one selection, the subgraph refuses the fetch
(the fields cannot merge). The later one gets an alias, and an output rewrite renames the
key back in the subgraph's answer before it is merged:

    media { ... on Song { duration } ... on Film { duration__alias_0: duration } }
    rewrite: media / ... on Film / duration__alias_0  ->  duration

Fields are taken in the order Apollo's planner puts them: those with one way to be fetched
first, then those it had a choice for (`FieldSelection.rank`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache

from graphql import (
    GraphQLSchema,
    ListTypeNode,
    NonNullTypeNode,
    TypeNode,
    get_named_type,
    is_composite_type,
    parse_type,
)

from gateway.selections import FieldSelection, FragmentSelection, Selections
from gateway.supergraph import Supergraph

Rewrite = tuple[tuple[str, ...], str]  # (path to the aliased key, "... on T" steps), its name


@dataclass
class _Seen:
    name: str
    field: tuple[str, str, str]  # parent type, field name, subgraph: its type, when needed
    subs: list[tuple[tuple[str, ...], Selections, str | None]]


def add_aliases(
    selections: Selections, parent: str | None, service: str, supergraph: Supergraph
) -> tuple[Selections, tuple[Rewrite, ...]]:
    """The selections with aliases where fields would conflict, and the rewrites that undo
    them (the selections themselves when nothing conflicts). `parent`: the type they are on
    (None above an `_entities` call, whose fragments say it)."""
    found: list[tuple[tuple[str, ...], FieldSelection, str]] = []
    _conflicts([((), selections, parent)], service, supergraph, found)
    if not found:
        return selections, ()
    ids = {id(f): (path, alias) for path, f, alias in found}
    copied = copy.deepcopy(selections, memo={})
    rewrites: list[Rewrite] = []
    for original, duplicate in zip(_all_fields(selections), _all_fields(copied), strict=True):
        if id(original) in ids:
            path, alias = ids[id(original)]
            rewrites.append(((*path, alias), original.alias or original.name))
            duplicate.alias = alias
    return copied, tuple(rewrites)


def _conflicts(
    levels: list[tuple[tuple[str, ...], Selections, str | None]],
    service: str,
    sg: Supergraph,
    found: list[tuple[tuple[str, ...], FieldSelection, str]],
) -> None:
    """Apollo's computeAliasesForNonMergingFields over the levels that merge into one."""
    fields = [
        (path, f, p)
        for level_path, selections, parent in levels
        for path, f, p in _fields_in(selections, parent, level_path)
    ]
    fields.sort(key=lambda x: x[1].rank)  # stable: within a rank, the order of the fetch
    seen: dict[str, _Seen] = {}
    for path, f, parent in fields:
        if f.name == "__typename" or parent is None:
            continue
        response = f.alias or f.name
        named = _named(sg.schema, parent, f.name)
        previous = seen.get(response)
        if previous is None:
            seen[response] = _Seen(f.name, (parent, f.name, service), [])
            target = seen[response]
        elif previous.name == f.name and _can_merge(
            sg.schema, _type_of(sg, *previous.field), _type_of(sg, parent, f.name, service)
        ):
            target = previous
        else:
            alias = _alias_name(response, seen)
            seen[alias] = _Seen(f.name, (parent, f.name, service), [])
            found.append((path, f, alias))
            target = seen[alias]
            response = alias
        if f.sub is not None:
            target.subs.append(((*path, response), f.sub, named))
    for s in seen.values():
        if s.subs:
            _conflicts(s.subs, service, sg, found)


def _fields_in(
    selections: Selections, parent: str | None, path: tuple[str, ...]
) -> list[tuple[tuple[str, ...], FieldSelection, str | None]]:
    out: list[tuple[tuple[str, ...], FieldSelection, str | None]] = []
    for item in selections.items.values():
        if isinstance(item, FieldSelection):
            out.append((path, item, parent))
        elif isinstance(item, FragmentSelection):
            step = (f"... on {item.type_condition}",) if item.type_condition else ()
            out += _fields_in(item.sub, item.type_condition or parent, (*path, *step))
    return out


def _all_fields(selections: Selections) -> list[FieldSelection]:
    out: list[FieldSelection] = []
    for item in selections.items.values():
        if isinstance(item, FieldSelection):
            out.append(item)
        if item.sub is not None:
            out += _all_fields(item.sub)
    return out


def _type_of(sg: Supergraph, parent: str, name: str, service: str) -> TypeNode | None:
    """The field's type in the subgraph (its own, where it differs from the supergraph's)."""
    join = sg.field_join(parent, name, service)
    if join is not None and join.type:
        return _parsed(join.type)
    definition = getattr(sg.schema.get_type(parent), "fields", {}).get(name)
    return _parsed(str(definition.type)) if definition is not None else None


@lru_cache(maxsize=1024)
def _parsed(type_text: str) -> TypeNode:
    return parse_type(type_text)


def _named(schema: GraphQLSchema, parent: str, name: str) -> str | None:
    definition = getattr(schema.get_type(parent), "fields", {}).get(name)
    return get_named_type(definition.type).name if definition is not None else None


def _can_merge(schema: GraphQLSchema, a: TypeNode | None, b: TypeNode | None) -> bool:
    """Apollo's typesCanBeMerged: same shape of lists and non-nulls; any two composite
    types, or the same leaf type."""
    if a is None or b is None:
        return True
    if isinstance(a, NonNullTypeNode):
        return isinstance(b, NonNullTypeNode) and _can_merge(schema, a.type, b.type)
    if isinstance(a, ListTypeNode):
        return isinstance(b, ListTypeNode) and _can_merge(schema, a.type, b.type)
    if isinstance(b, NonNullTypeNode | ListTypeNode):
        return False
    a_type, b_type = schema.get_type(a.name.value), schema.get_type(b.name.value)  # type: ignore[attr-defined]
    if is_composite_type(a_type):
        return is_composite_type(b_type)
    return a.name.value == b.name.value  # type: ignore[attr-defined]


def _alias_name(base: str, taken: dict[str, _Seen]) -> str:
    counter = 0
    while f"{base}__alias_{counter}" in taken:
        counter += 1
    return f"{base}__alias_{counter}"
