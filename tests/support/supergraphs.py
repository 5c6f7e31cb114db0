"""Comparing two supergraphs semantically: the same subgraphs, joins and API schema (the text
may differ in order and layout)."""

from __future__ import annotations

from graphql import lexicographic_sort_schema, print_schema

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
