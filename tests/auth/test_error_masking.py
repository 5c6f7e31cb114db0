"""Nothing internal reaches a client: no subgraph URL, host or port when a subgraph is down,
no exception text (SQL, paths) when a fetch fails on a bug."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.routing import Route

from gateway.federation import Federation
from gateway.graphql_http import Executable, GraphQLEndpoint
from gateway.subgraph_client import HttpSubgraphs
from gateway.supergraph import load_supergraph
from tests.support.cluster import REPO
from tests.support.ports import free_port

SHOP = load_supergraph((REPO / "tests/fixtures/supergraphs/shop.graphql").read_text())


class Broken:
    """A subgraph client with a bug: its exception text is internal."""

    async def fetch(
        self, service: str, query: str, variables: Mapping[str, Any], session: Any = None
    ) -> Any:
        raise RuntimeError("SELECT password FROM users -- db.internal.example:5432")


async def answer(federation: Federation, query: str) -> httpx.Response:
    executable = Executable(federation.api, "v1", lambda _r: None, run=federation.run)
    endpoint = GraphQLEndpoint(lambda _r: executable)
    app = Starlette(routes=[Route("/graphql", endpoint.handle, methods=["POST"])])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return await c.post("/graphql", json={"query": query})


async def test_a_down_subgraph_is_named_but_its_address_never_shown() -> None:
    port = free_port()  # nothing listens there
    urls = {name: f"http://127.0.0.1:{port}/graphql" for name in SHOP.subgraphs}
    subgraphs = HttpSubgraphs(urls, timeout=5)
    try:
        resp = await answer(Federation(SHOP, subgraphs), "{ me { id name } }")
    finally:
        await subgraphs.close()
    [error] = resp.json()["errors"]
    assert error["extensions"]["code"] == "SUBGRAPH_FETCH_FAILED"
    assert error["message"].startswith("subgraph accounts failed: unreachable")
    assert "127.0.0.1" not in resp.text and str(port) not in resp.text
    assert "http" not in resp.text


async def test_a_bug_in_a_fetch_is_masked(caplog: Any) -> None:
    resp = await answer(Federation(SHOP, Broken()), "{ me { id } }")
    [error] = resp.json()["errors"]
    assert error["message"] == "subgraph accounts failed: internal error"
    assert "password" not in resp.text and "db.internal" not in resp.text
    assert "SELECT password" in caplog.text  # operators still see it in the log
