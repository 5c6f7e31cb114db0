"""A real peer proves the store subgraphs are Apollo Federation v2: Apollo Gateway composes
the example services by introspection and answers a query joining two of them."""

from __future__ import annotations

import httpx
import pytest

from tests.peers.apollo import apollo_gateway
from tests.support.cluster import Cluster

pytestmark = pytest.mark.slow


def test_apollo_gateway_joins_orders_with_their_users(cluster: Cluster) -> None:
    cluster.graphql(
        "mutation { insertUsers(objects: ["
        '{id: "fu1", email: "fu1@x.io", name: "Ada", role: ADMIN, createdAt: "t"},'
        '{id: "fu2", email: "fu2@x.io", name: "Lin", role: MEMBER, createdAt: "t"}'
        "]) { id } }"
    )
    cluster.graphql(
        "mutation { insertOrders(objects: ["
        '{id: "fo1", userId: "fu1", productIds: [], total: 12.5, status: PAID, '
        'createdAt: "t"},'
        '{id: "fo2", userId: "fu2", productIds: [], total: 3, status: PENDING, '
        'createdAt: "t"},'
        '{id: "fo3", userId: "fu1", productIds: [], total: 8, status: SHIPPED, '
        'createdAt: "t"}]) { id } }'
    )
    subgraphs = {
        name: f"{cluster.url}/subgraphs/{name}/graphql" for name in ("users", "orders", "products")
    }
    query = """{
      orders(where: {id: {_in: ["fo1", "fo2", "fo3"]}}, orderBy: [{total: DESC}]) {
        id total status user { id name email }
      }
    }"""
    with apollo_gateway(subgraphs) as url:
        resp = httpx.post(url, json={"query": query}, timeout=30, trust_env=False)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "data": {
            "orders": [
                {
                    "id": "fo1",
                    "total": 12.5,
                    "status": "PAID",
                    "user": {"id": "fu1", "name": "Ada", "email": "fu1@x.io"},
                },
                {
                    "id": "fo3",
                    "total": 8.0,
                    "status": "SHIPPED",
                    "user": {"id": "fu1", "name": "Ada", "email": "fu1@x.io"},
                },
                {
                    "id": "fo2",
                    "total": 3.0,
                    "status": "PENDING",
                    "user": {"id": "fu2", "name": "Lin", "email": "fu2@x.io"},
                },
            ]
        }
    }
    # Our merged endpoint gives the same answer.
    assert cluster.graphql(query) == resp.json()["data"]
