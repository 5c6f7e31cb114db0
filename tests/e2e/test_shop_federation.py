"""The shop federation executed: requires, provides, override, @interfaceObject, unions and
interfaces, through shardgate's gateway and Apollo Gateway over the same running subgraphs.
Every fixture operation must give the same JSON from both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.peers.apollo import apollo_gateway, shop_subgraphs
from tests.support.gateways import shardgate_gateway

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parents[1] / "fixtures"
OPERATIONS = sorted(
    p for p in (FIXTURES / "operations" / "shop").glob("*.graphql") if p.stem != "mutation"
)  # a mutation changes the data: tested alone


@pytest.fixture(scope="module")
def gateways() -> Iterator[tuple[str, str]]:
    supergraph = FIXTURES / "supergraphs" / "shop.graphql"
    with (
        shop_subgraphs() as urls,
        shardgate_gateway(supergraph=supergraph, subgraph_urls=urls) as ours,
        apollo_gateway(urls) as apollo,
    ):
        yield ours, apollo


def ask(url: str, query: str, variables: dict | None = None) -> dict:
    body = {"query": query, "variables": variables or {}}
    return httpx.post(url, json=body, timeout=30, trust_env=False).json()


@pytest.mark.parametrize("operation", OPERATIONS, ids=[p.stem for p in OPERATIONS])
def test_same_answer_as_apollo_gateway(gateways: tuple[str, str], operation: Path) -> None:
    ours, apollo = gateways
    variables = {"skipName": False}
    expected = ask(apollo, operation.read_text(), variables)
    assert "errors" not in expected, expected
    assert ask(ours, operation.read_text(), variables) == expected


def test_a_mutation_then_reading_its_effect(gateways: tuple[str, str]) -> None:
    ours, _ = gateways
    added = ask(ours, 'mutation { addReview(upc: "b2", body: "New") { body author { name } } }')
    assert added == {"data": {"addReview": {"body": "New", "author": {"name": "Ada"}}}}
    books = ask(ours, '{ search(text: "emma") { ... on Book { reviews { body } } } }')
    assert {"body": "New"} in books["data"]["search"][0]["reviews"]


def test_introspection_comes_from_the_api_schema(gateways: tuple[str, str]) -> None:
    ours, apollo = gateways
    query = (
        "{ __schema { queryType { name } types { name } } "
        '__type(name: "User") { fields { name } } me { name } }'
    )
    mine, theirs = ask(ours, query), ask(apollo, query)
    assert mine["data"]["me"] == {"name": "Ada"}
    names = {t["name"] for t in mine["data"]["__schema"]["types"]}
    assert names == {t["name"] for t in theirs["data"]["__schema"]["types"]}
    assert "join__Graph" not in names  # machinery stays hidden
    fields = {f["name"] for f in mine["data"]["__type"]["fields"]}
    assert "ssn" not in fields and "email" in fields  # @inaccessible stays hidden


@pytest.mark.parametrize(
    ("operation", "variables"),
    [("include-on-a-jump", {"withReviews": False}), ("skip-on-a-jump", {"noStock": True})],
)
def test_conditional_fetches_skipped_answer_as_apollo(
    gateways: tuple[str, str], operation: str, variables: dict
) -> None:
    ours, apollo = gateways
    query = (FIXTURES / "operations" / "shop" / f"{operation}.graphql").read_text()
    expected = ask(apollo, query, variables)
    assert "errors" not in expected
    assert ask(ours, query, variables) == expected
