"""`shardgate gateway --supergraph` against Apollo Gateway: the same supergraph over the same
running subgraphs must give the same JSON for the same operations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.peers.apollo import apollo_gateway, compose
from tests.support.cluster import Cluster
from tests.support.gateways import shardgate_gateway

pytestmark = pytest.mark.slow

SERVICES = ("users", "orders", "products")


@pytest.fixture(scope="module")
def gateways(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    cluster.graphql(
        "mutation { insertUsers(objects: ["
        '{id: "g1", email: "g1@x.io", name: "Gia", role: ADMIN, createdAt: "t"},'
        '{id: "g2", email: "g2@x.io", name: "Gus", role: MEMBER, createdAt: "t"}'
        "]) { id } }"
    )
    cluster.graphql(
        "mutation { insertProducts(objects: ["
        '{id: "gp1", sku: "GP1", name: "Desk", price: 120, stock: 3},'
        '{id: "gp2", sku: "GP2", name: "Lamp", price: 30, stock: 0}]) { id } }'
    )
    cluster.graphql(
        "mutation { insertOrders(objects: ["
        '{id: "go1", userId: "g1", productIds: ["gp1", "gp2"], total: 150, '
        'status: PAID, createdAt: "t"},'
        '{id: "go2", userId: "g2", productIds: ["gp2"], total: 30, '
        'status: PENDING, createdAt: "t"},'
        '{id: "go3", userId: "nobody", productIds: ["gp1", "nope"], total: 1, '
        'status: PENDING, createdAt: "t"}]) { id } }'
    )
    urls = {s: f"{cluster.url}/subgraphs/{s}/graphql" for s in SERVICES}
    sdls = {
        s: cluster.graphql("{ _service { sdl } }", path=f"/subgraphs/{s}/graphql")["_service"][
            "sdl"
        ]
        for s in SERVICES
    }
    supergraph = tmp_path_factory.mktemp("federation") / "supergraph.graphql"
    supergraph.write_text(compose(sdls, urls=urls))
    with shardgate_gateway(supergraph=supergraph) as ours, apollo_gateway(urls) as apollo:
        yield ours, apollo


def both(
    gateways: tuple[str, str], query: str, variables: dict[str, Any] | None = None
) -> tuple[Any, Any]:
    body = {"query": query, **({"variables": variables} if variables else {})}
    ours, apollo = (httpx.post(url, json=body, timeout=30, trust_env=False) for url in gateways)
    return ours.json(), apollo.json()


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (
            '{ orders(where: {id: {_in: ["go1", "go2"]}}, orderBy: [{total: DESC}]) '
            "{ id total status user { id name email role } } }",
            None,
        ),
        ('{ order(id: "go1") { id products { id name price } user { name } } }', None),
        (
            '{ users(where: {id: {_in: ["g1", "g2"]}}, orderBy: [{name: ASC}]) { name } '
            'usersAggregate(where: {id: {_in: ["g1", "g2"]}}) { count } }',
            None,
        ),
        (
            "query Q($id: ID!, $withUser: Boolean!) { order(id: $id) { __typename id "
            "buyer: user @include(if: $withUser) { __typename n: name } ...Parts } } "
            "fragment Parts on Order { total status }",
            {"id": "go2", "withUser": True},
        ),
        (
            "query Q($id: ID!, $withUser: Boolean!) { order(id: $id) { id "
            "user @include(if: $withUser) { name } } }",
            {"id": "go2", "withUser": False},
        ),
        ('{ order(id: "missing") { id user { name } } }', None),
    ],
    ids=[
        "entity-join",
        "list-references",
        "one-subgraph",
        "variables-fragments-aliases",
        "include-false",
        "null-root",
    ],
)
def test_same_answers_as_apollo_gateway(
    gateways: tuple[str, str], query: str, variables: dict[str, Any] | None
) -> None:
    ours, apollo = both(gateways, query, variables)
    assert "errors" not in apollo, apollo
    assert ours == apollo


def test_mutations_run_in_order(gateways: tuple[str, str]) -> None:
    ours_url, _ = gateways
    query = (
        'mutation { a: insertUser(object: {id: "gm1", email: "gm1@x.io", role: GUEST, '
        'createdAt: "t"}) { id } b: updateUser(id: "gm1", set: {name: "Named"}) { name } }'
    )
    answer = httpx.post(ours_url, json={"query": query}, timeout=30, trust_env=False).json()
    assert answer == {"data": {"a": {"id": "gm1"}, "b": {"name": "Named"}}}


def test_validation_errors_name_the_problem(gateways: tuple[str, str]) -> None:
    ours, _ = both(gateways, "{ orders { nope } }")
    assert ours["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "nope" in ours["errors"][0]["message"]


def test_healthz_and_plan_command(gateways: tuple[str, str], tmp_path: Path) -> None:
    ours_url, _ = gateways
    health = httpx.get(ours_url.replace("/graphql", "/healthz"), trust_env=False).json()
    assert sorted(health["subgraphs"]) == sorted(SERVICES)


@pytest.fixture(scope="module")
def composing(cluster: Cluster, gateways: tuple[str, str]) -> Iterator[str]:
    """A gateway that composed the supergraph itself, from the subgraphs' _service { sdl }."""
    urls = {name: f"{cluster.url}/subgraphs/{name}/graphql" for name in SERVICES}
    with shardgate_gateway(compose_from=urls) as url:
        yield url


def test_own_composition_gives_the_same_answers(gateways: tuple[str, str], composing: str) -> None:
    _, apollo = gateways
    for query in (
        '{ orders(where: {id: {_in: ["go1", "go2"]}}, orderBy: [{total: DESC}]) '
        "{ id total user { name } products { name } } }",
        '{ usersAggregate(where: {id: {_in: ["g1", "g2"]}}) { count } }',
    ):
        ours, theirs = both((composing, apollo), query)
        assert "errors" not in theirs and ours == theirs


def test_dangling_references_answer_as_apollo_gateway_does(gateways: tuple[str, str]) -> None:
    """A user or product id that no document has: the same data and errors as Apollo."""
    ours, apollo = both(gateways, '{ order(id: "go3") { id user { name } products { name } } }')
    assert ours == apollo
