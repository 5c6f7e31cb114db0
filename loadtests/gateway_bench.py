"""`shardgate bench gateway`: shardgate's federation gateway next to Apollo Gateway, in one run.

Both serve the shop supergraph (tests/fixtures/supergraphs/shop.graphql) over the same five
subgraphs, which run in one Node process (@apollo/subgraph, in-memory data). Three operations,
each for `seconds` with IN_FLIGHT requests in flight on each gateway in turn:

    (a) one subgraph       { me { id name email } }
    (b) entity join        { me { name reviews { body } } }               accounts -> reviews
    (c) @requires chain    { topProducts { ... on Furniture { shippingEstimate } } }
                                                                   products -> shipping(weight)

Needs Node.js 20 and npm (the peers are installed on first use).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import time
from pathlib import Path

from loadtests.measure import BenchError, GraphQLClient, percentile

REPO = Path(__file__).resolve().parent.parent
SUPERGRAPH = REPO / "tests" / "fixtures" / "supergraphs" / "shop.graphql"
IN_FLIGHT = 16
OPERATIONS = {
    "one subgraph": "{ me { id name email } }",
    "entity join": "{ me { name reviews { body } } }",
    "@requires chain": "{ topProducts { ... on Furniture { shippingEstimate } } }",
}


async def _load(url: str, query: str, seconds: float) -> tuple[float, float, float]:
    latencies: list[float] = []
    async with GraphQLClient(url, IN_FLIGHT) as client:
        await client.call("warm-up", query, {})
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            clock = time.perf_counter
            while clock() < deadline:
                sent = clock()
                await client.call("bench", query, {})
                latencies.append(clock() - sent)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        elapsed = time.perf_counter() - start
    latencies.sort()
    return (
        len(latencies) / elapsed,
        percentile(latencies, 0.5) * 1000,
        percentile(latencies, 0.99) * 1000,
    )


def run_gateway_bench(seconds: float = 5.0) -> int:
    sys.path.insert(0, str(REPO))
    from tests.peers.apollo import apollo_gateway, shop_subgraphs
    from tests.support.gateways import shardgate_gateway

    print(
        f"starting the shop subgraphs, shardgate's gateway and Apollo Gateway "
        f"({IN_FLIGHT} in flight, {seconds:g} s per operation)...",
        flush=True,
    )
    results: dict[str, dict[str, tuple[float, float, float]]] = {}
    try:
        with (
            shop_subgraphs() as urls,
            shardgate_gateway(supergraph=SUPERGRAPH, subgraph_urls=urls) as ours,
            apollo_gateway(urls) as apollo,
        ):
            gateways = {"shardgate": ours, "apollo": apollo}
            for label, query in OPERATIONS.items():
                results[label] = {
                    name: asyncio.run(_load(url, query, seconds)) for name, url in gateways.items()
                }
    except BenchError as e:
        raise SystemExit(f"shardgate bench gateway: {e}") from None
    _report(results, seconds)
    return 0


def _report(results: dict[str, dict[str, tuple[float, float, float]]], seconds: float) -> None:
    print(
        f"\nsetup: shop supergraph, 5 subgraphs in one Node process, {IN_FLIGHT} in flight, "
        f"{seconds:g} s each; Python {platform.python_version()}, {os.cpu_count()} CPUs "
        "(shared by the load generator, both gateways and the subgraphs)"
    )
    header = f"  {'operation':<16} | {'shardgate req/s':>15} | {'Apollo req/s':>12} | ratio"
    print(header + "  | p50 ms (ours / Apollo) | p99 ms (ours / Apollo)")
    print("  " + "-" * (len(header) + 48))
    summary = {}
    for label, by in results.items():
        ours, theirs = by["shardgate"], by["apollo"]
        ratio = ours[0] / theirs[0]
        print(
            f"  {label:<16} | {ours[0]:>15,.0f} | {theirs[0]:>12,.0f} | {ratio:5.2f}"
            f"  | {ours[1]:>8.2f} / {theirs[1]:<8.2f}     | {ours[2]:>8.2f} / {theirs[2]:<8.2f}"
        )
        summary[label] = {
            "shardgate_rps": round(ours[0], 1),
            "apollo_rps": round(theirs[0], 1),
            "ratio": round(ratio, 3),
            "p50_ms": [round(ours[1], 2), round(theirs[1], 2)],
            "p99_ms": [round(ours[2], 2), round(theirs[2], 2)],
        }
    print("  (ratio = shardgate / Apollo Gateway requests per second; above 1 is faster)")
    print(
        json.dumps(
            {"bench": "gateway", "in_flight": IN_FLIGHT, "seconds": seconds, "results": summary}
        )
    )
