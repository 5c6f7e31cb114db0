"""Comparing two supergraphs semantically: the same subgraphs, joins and API schema (the text
may differ in order and layout)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from graphql import (
    DirectiveDefinitionNode,
    SchemaDefinitionNode,
    TypeDefinitionNode,
    lexicographic_sort_schema,
    print_ast,
    print_schema,
    value_from_ast_untyped,
)

from gateway.api_schema import api_schema
from gateway.supergraph import Supergraph


def same(a: Supergraph, b: Supergraph) -> None:
    assert sorted(a.subgraphs.values(), key=str) == sorted(b.subgraphs.values(), key=str)
    for table in ("types", "fields", "implements", "union_members", "enum_values"):
        mine, theirs = getattr(a, table), getattr(b, table)
        assert set(mine) == set(theirs), table
        for key in mine:
            assert set(mine[key]) == set(theirs[key]), (table, key)
    assert print_schema(lexicographic_sort_schema(api_schema(a))) == print_schema(
        lexicographic_sort_schema(api_schema(b))
    )


def same_custom_directives(a: Supergraph, b: Supergraph) -> None:
    """The same custom features linked, custom directive definitions and applications (what
    `@composeDirective` keeps), by meaning."""
    assert _features(a) == _features(b)
    assert _definitions(a) == _definitions(b)
    assert _applications(a) == _applications(b)


def _custom(name: str) -> bool:
    return not name.startswith(("join__", "link__")) and name not in ("link", "inaccessible")


def _features(sg: Supergraph) -> list[str]:
    out = []
    for d in sg.document.definitions:
        if isinstance(d, SchemaDefinitionNode):
            for link in d.directives or ():
                args = {a.name.value: value_from_ast_untyped(a.value) for a in link.arguments}
                if not str(args.get("url", "")).startswith("https://specs.apollo.dev/"):
                    out.append(json.dumps(args, sort_keys=True))
    return sorted(out)


def _definitions(sg: Supergraph) -> dict[str, tuple[object, ...]]:
    return {
        d.name.value: (
            d.description.value if d.description else None,
            d.repeatable,
            sorted(loc.value for loc in d.locations),
            [print_ast(dataclasses.replace(a, description=None)) for a in d.arguments or ()],
        )
        for d in sg.document.definitions
        if isinstance(d, DirectiveDefinitionNode) and _custom(d.name.value)
    }


def _applications(sg: Supergraph) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}

    def visit(coordinate: str, node: Any) -> None:
        applied = sorted(
            print_ast(d) for d in getattr(node, "directives", None) or () if _custom(d.name.value)
        )
        if applied:
            out[coordinate] = applied
        for member in ("fields", "values", "arguments"):
            for m in getattr(node, member, None) or ():
                visit(f"{coordinate}.{m.name.value}", m)

    for d in sg.document.definitions:
        if isinstance(d, TypeDefinitionNode):
            visit(d.name.value, d)
    return out
