"""Federation field sets (`@key(fields:)`, `@requires`, `@provides`) read against one
subgraph's types: which fields they name, and the same set without some of them.

    targets(sub, "Product", "upc variation { id }")
        -> [("Product", "upc"), ("Product", "variation"), ("Variation", "id")]
    without(sub, "Product", "price weight", lambda t, f: f == "price") -> "weight"

A field set that does not parse, or names a field the subgraph lacks, yields what could be
read (composition reports bad field sets elsewhere; here they are only looked through).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from graphql import (
    FieldNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    print_ast,
)

if TYPE_CHECKING:
    from schema.subgraph_reader import Subgraph

# (type, field) -> is that field to be dropped
Dropped = Callable[[str, str], bool]


def base(type_text: str) -> str:
    """`[Review!]!` -> `Review`."""
    return type_text.strip("[]!")


def _selections(text: str) -> SelectionSetNode | None:
    try:
        document = parse(f"{{{text}}}", no_location=True)
    except GraphQLError:
        return None
    op = document.definitions[0]
    return op.selection_set if isinstance(op, OperationDefinitionNode) else None


def top_level(text: str) -> list[str]:
    """The fields a field set names at its top level: "id sku { a } b" -> [id, sku, b]."""
    selections = _selections(text)
    if selections is None:
        return []
    return [s.name.value for s in selections.selections if isinstance(s, FieldNode)]


def targets(sub: Subgraph, type_name: str, text: str) -> list[tuple[str, str]]:
    """Every (type, field) the field set selects, nested ones and, under an interface field,
    the same field of each implementation the subgraph has."""
    out: list[tuple[str, str]] = []
    selections = _selections(text)
    if selections is not None:
        _collect(sub, type_name, selections, out)
    return out


def _collect(
    sub: Subgraph, type_name: str, selections: SelectionSetNode, out: list[tuple[str, str]]
) -> None:
    t = sub.types.get(type_name)
    for s in selections.selections:
        if isinstance(s, InlineFragmentNode):
            inner = s.type_condition.name.value if s.type_condition else type_name
            _collect(sub, inner, s.selection_set, out)
            continue
        if not isinstance(s, FieldNode) or t is None or s.name.value not in t.fields:
            continue
        name = s.name.value
        out.append((type_name, name))
        if t.kind == "INTERFACE":
            out += [
                (impl.name, name)
                for impl in sub.types.values()
                if type_name in impl.interfaces and name in impl.fields
            ]
        if s.selection_set is not None:
            _collect(sub, base(t.fields[name].type), s.selection_set, out)


def without(sub: Subgraph, type_name: str, text: str, kept: Dropped) -> str | None:
    """The field set keeping only the leaves `kept(type, field)` accepts (a kept field keeps
    its whole selection), printed as Apollo prints it; None when nothing is left, `text`
    itself when nothing was dropped or the field set cannot be read."""
    selections = _selections(text)
    if selections is None:
        return text
    try:
        printed, dropped = _without(sub, type_name, selections, kept)
    except _Unreadable:
        return text
    if not dropped:
        return text
    return " ".join(printed) or None


class _Unreadable(Exception):
    pass


def _without(
    sub: Subgraph, type_name: str, selections: SelectionSetNode, kept: Dropped
) -> tuple[list[str], bool]:
    t = sub.types.get(type_name)
    out: list[str] = []
    dropped = False
    for s in selections.selections:
        if isinstance(s, InlineFragmentNode):
            inner = s.type_condition.name.value if s.type_condition else type_name
            body, lost = _without(sub, inner, s.selection_set, kept)
            dropped |= lost
            if body:
                out.append(_fragment(s, body))
            continue
        if not isinstance(s, FieldNode) or t is None or s.name.value not in t.fields:
            raise _Unreadable
        if kept(type_name, s.name.value):
            out.append(_compact(s))
            continue
        dropped = True
        if s.selection_set is not None:
            body, _ = _without(sub, base(t.fields[s.name.value].type), s.selection_set, kept)
            if body:
                out.append(f"{_head(s)} {{ {' '.join(body)} }}")
    return out, dropped


def _head(s: FieldNode) -> str:
    return print_ast(FieldNode(alias=s.alias, name=s.name, arguments=s.arguments, directives=()))


def _fragment(s: InlineFragmentNode, body: list[str]) -> str:
    condition = f" on {s.type_condition.name.value}" if s.type_condition else ""
    return f"...{condition} {{ {' '.join(body)} }}"


def _compact(s: FieldNode | InlineFragmentNode) -> str:
    """One selection on one line: `variation { id }`."""
    if isinstance(s, InlineFragmentNode):
        return _fragment(s, [_compact(x) for x in s.selection_set.selections])  # type: ignore[arg-type]
    if s.selection_set is None:
        return _head(s)
    inner = " ".join(_compact(x) for x in s.selection_set.selections)  # type: ignore[arg-type]
    return f"{_head(s)} {{ {inner} }}"
