"""Composition against @apollo/composition: the same supergraph (semantically: joins, API
schema) for the fixture federations, and refusals that name subgraphs, types and fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.supergraph import load_supergraph
from schema.composition import compose
from schema.errors import SchemaErrors
from schema.parser import parse_service
from schema.subgraph import subgraph_sdl
from schema.subgraph_reader import read_subgraph
from tests.support.supergraphs import same

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def shop() -> str:
    files = sorted((FIXTURES / "subgraphs" / "shop").glob("*.graphql"))
    return compose(
        [read_subgraph(p.stem, f"http://127.0.0.1:0/{p.stem}", p.read_text()) for p in files]
    )


def store() -> str:
    subs = []
    for name in ("users", "orders", "products"):
        model = parse_service(name, (ROOT / "examples" / f"{name}.graphql").read_text())
        url = f"http://127.0.0.1:4000/subgraphs/{name}/graphql"
        subs.append(read_subgraph(name, url, subgraph_sdl(model)))
    return compose(subs)


@pytest.mark.parametrize(("ours", "apollos"), [(shop, "shop"), (store, "store-examples")])
def test_same_supergraph_as_apollo(ours, apollos: str) -> None:  # type: ignore[no-untyped-def]
    apollo = (FIXTURES / "supergraphs" / f"{apollos}.graphql").read_text()
    same(load_supergraph(ours()), load_supergraph(apollo))


LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", '
    'import: ["@key", "@shareable", "@external"])\n'
)


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        (
            'type Query { x: Int } type T @key(fields: "id") { id: ID! name: String }',
            'type Query { y: Int } type T @key(fields: "id") { id: ID! name: String }',
            'non-shareable field "T.name" is resolved from several subgraphs: "a" and "b"',
        ),
        (
            "type Query { x: T } type T { id: ID! }",
            "type Query { y: Int } enum T { A }",
            "T is a different kind of type in different subgraphs: OBJECT in a, ENUM in b",
        ),
        (
            "type Query { x: T } type T @shareable { v: Int }",
            "type Query { y: T } type T @shareable { v: String }",
            'field "T.v" has different types: Int in a, String in b',
        ),
        (
            'type Query { x: T } type T @key(fields: "id") { id: ID! v: Int @external }',
            "type Query { y: Int }",
            'field "T.v" is @external in a but no subgraph resolves it',
        ),
        (
            "type Query { x(i: I): Int } input I { a: Int! b: Int }",
            "type Query { y(i: I): Int } input I { b: Int }",
            'required input field "I.a" is missing from some subgraphs',
        ),
        (
            "type Query { x(e: E): E } enum E { A B }",
            "type Query { y: E } enum E { A C }",
            'enum "E" is used as an input and an output but its values differ: '
            '"B" only in "a"; "C" only in "b"',
        ),
        (
            "type Query { x(e: E = B): Int } enum E { A B }",
            "type Query { y(e: E! = A): Int } enum E { A C }",
            'argument "Query.x(e:)" in "a" defaults to "B", which not every subgraph has in E',
        ),
    ],
)
def test_refusals_name_subgraphs_types_and_fields(a: str, b: str, message: str) -> None:
    with pytest.raises(SchemaErrors) as refused:
        compose(
            [read_subgraph("a", "http://a", LINK + a), read_subgraph("b", "http://b", LINK + b)]
        )
    assert message in str(refused.value)


@pytest.mark.slow
def test_the_store_fixture_is_what_apollo_composes_from_the_examples() -> None:
    """The fixture must follow the examples and the generator: re-composed here by Apollo."""
    from tests.peers.apollo import compose as apollo_compose

    sdls = {}
    for name in ("users", "orders", "products"):
        model = parse_service(name, (ROOT / "examples" / f"{name}.graphql").read_text())
        sdls[name] = subgraph_sdl(model)
    urls = {n: f"http://127.0.0.1:4000/subgraphs/{n}/graphql" for n in sdls}
    fixture = (FIXTURES / "supergraphs" / "store-examples.graphql").read_text()
    same(load_supergraph(apollo_compose(sdls, urls=urls)), load_supergraph(fixture))
