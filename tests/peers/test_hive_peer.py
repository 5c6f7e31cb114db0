"""tests/peers/hive.py: the supergraph Hive Gateway serves points at the running subgraphs."""

from __future__ import annotations

import re

import pytest

from loadtests.gateway_load import SUPERGRAPH
from tests.peers.apollo import ApolloPeerError
from tests.peers.hive import with_urls

SHOP = ("accounts", "inventory", "products", "reviews", "shipping")


def test_every_subgraph_url_is_replaced() -> None:
    urls = {name: f"http://127.0.0.1:{4001 + i}/graphql" for i, name in enumerate(SHOP)}

    served = with_urls(SUPERGRAPH.read_text(), urls)

    assert dict(re.findall(r'@join__graph\(name: "(\w+)", url: "([^"]*)"\)', served)) == urls
    assert "127.0.0.1:0/" not in served


def test_a_missing_or_unknown_subgraph_is_named() -> None:
    urls = {name: "http://127.0.0.1:4001/graphql" for name in SHOP}

    with pytest.raises(ApolloPeerError, match="no URL given for subgraph 'shipping'"):
        with_urls(SUPERGRAPH.read_text(), {n: u for n, u in urls.items() if n != "shipping"})
    with pytest.raises(ApolloPeerError, match=r"no subgraph named \['users'\]"):
        with_urls(SUPERGRAPH.read_text(), {**urls, "users": "http://127.0.0.1:4009/graphql"})
