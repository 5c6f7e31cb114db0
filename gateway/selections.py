"""Selection trees that fetch groups build up and merge, then print as GraphQL.

Fields merge by response key (alias or name), inline fragments by type condition and
directives, so adding the same field twice (the client's, and one a key needs) asks for it
once. The order of first insertion is kept: printed fetches read like the client's query.

    tree = Selections()
    tree.field("topProducts").sub.field("upc")
    tree.field("topProducts").sub.field("name")
    tree.to_ast()   ->   { topProducts { upc name } }
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from graphql import (
    ArgumentNode,
    DirectiveNode,
    FieldNode,
    InlineFragmentNode,
    NamedTypeNode,
    NameNode,
    SelectionSetNode,
    parse,
    print_ast,
)


@dataclass
class FieldSelection:
    name: str
    alias: str | None = None
    arguments: tuple[ArgumentNode, ...] = ()
    directives: tuple[DirectiveNode, ...] = ()
    sub: Selections | None = None
    rank: int = 0  # 1: the planner had a choice of subgraphs for it (planner/aliases.py)

    def to_ast(self) -> FieldNode:
        sub = self.sub
        if sub is not None and not sub.to_ast().selections:  # all of it is asked elsewhere
            sub = Selections()
            sub.field("__typename", composite=False)
        return FieldNode(
            alias=NameNode(value=self.alias) if self.alias else None,
            name=NameNode(value=self.name),
            arguments=self.arguments,
            directives=self.directives,
            selection_set=sub.to_ast() if sub is not None else None,
        )


@dataclass
class FragmentSelection:
    type_condition: str | None
    directives: tuple[DirectiveNode, ...] = ()
    sub: Selections = field(default_factory=lambda: Selections())

    def to_ast(self) -> InlineFragmentNode:
        return InlineFragmentNode(
            type_condition=NamedTypeNode(name=NameNode(value=self.type_condition))
            if self.type_condition
            else None,
            directives=self.directives,
            selection_set=self.sub.to_ast(),
        )


@dataclass
class Selections:
    items: dict[str, FieldSelection | FragmentSelection] = field(default_factory=dict)

    def field(
        self,
        name: str,
        alias: str | None = None,
        arguments: Sequence[ArgumentNode] = (),
        directives: Sequence[DirectiveNode] = (),
        *,
        composite: bool = True,
        rank: int = 0,
    ) -> FieldSelection:
        """The field under its response key, added if absent (with a sub-tree if composite)."""
        key = alias or name
        directive_text = _directives(directives)
        if directive_text:
            key += " " + directive_text
        found = self.items.get(key)
        if not isinstance(found, FieldSelection):
            found = FieldSelection(
                name,
                alias,
                tuple(arguments or ()),
                tuple(directives or ()),
                Selections() if composite else None,
                rank,
            )
            self.items[key] = found
        found.rank = min(found.rank, rank)
        return found

    def fragment(
        self, type_condition: str | None, directives: Sequence[DirectiveNode] = ()
    ) -> Selections:
        key = f"... on {type_condition} {_directives(directives)}"
        found = self.items.get(key)
        if not isinstance(found, FragmentSelection):
            found = FragmentSelection(type_condition, tuple(directives or ()))
            self.items[key] = found
        return found.sub

    def promote(self, keys: Sequence[str]) -> None:
        """Move these response keys to the front, in this order (`__typename` and key fields
        lead a selection, as Apollo's planner prints them)."""
        front = {k: self.items[k] for k in keys if k in self.items}
        self.items = {**front, **{k: v for k, v in self.items.items() if k not in front}}

    def merge(self, other: Selections) -> None:
        for key, item in other.items.items():
            mine = self.items.get(key)
            if mine is None:
                self.items[key] = item
            elif mine.sub is not None and item.sub is not None:
                mine.sub.merge(item.sub)

    def __bool__(self) -> bool:
        return bool(self.items)

    def to_ast(self) -> SelectionSetNode:
        """Fragments left empty (their fields are fetched elsewhere) are left out."""
        return SelectionSetNode(
            selections=tuple(
                i.to_ast()
                for i in self.items.values()
                if not isinstance(i, FragmentSelection) or i.sub.to_ast().selections
            )
        )

    def __str__(self) -> str:
        return print_ast(self.to_ast())


@lru_cache(maxsize=4096)
def parse_field_set(field_set: str) -> SelectionSetNode:
    """A federation field set ("id org { id }") as a selection set (shared: not to be
    changed)."""
    [operation] = parse(f"{{ {field_set} }}").definitions
    return operation.selection_set  # type: ignore[attr-defined, no-any-return]


def _directives(directives: Sequence[DirectiveNode] | None) -> str:
    return " ".join(print_ast(d) for d in directives or ())
