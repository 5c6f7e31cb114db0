"""`shardgate bench safety`: the cost of safety, as requests/s on the same queries through
shardgate's federation gateway without and with auth and limits, measured in one run.

    bare           open mode: no JWT, no rate limits, no operation limits
    safe (memory)  a JWT (HS256) verified on every request, a per-subject rate limit in the
                   in-memory moving window (high enough never to refuse), operation limits
                   (depth, aliases, root fields, fields), CSRF
    safe (redis)   the same with the rate-limit counters in a local redis-server

Two operations, each for `seconds` with IN_FLIGHT requests in flight:
    (a) gateway only   { __typename }                  the gateway's own work: the worst case
    (b) one subgraph   { me { id name email } }        a fetch from a Node subgraph

Needs Node.js 20 (the shop subgraphs) and, for the last column, redis-server.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from loadtests.measure import BenchError, GraphQLClient, percentile

REPO = Path(__file__).resolve().parent.parent
SUPERGRAPH = REPO / "tests" / "fixtures" / "supergraphs" / "shop.graphql"
IN_FLIGHT = 16
SECRET = "bench-secret-of-at-least-32-bytes!!"
OPERATIONS = {
    "gateway only": "{ __typename }",
    "one subgraph": "{ me { id name email } }",
}
SAFE = {
    "SHARDGATE_JWT_SECRET": SECRET,
    "SHARDGATE_RATE_LIMIT": "100000000/hour",
    "SHARDGATE_MAX_DEPTH": "10",
    "SHARDGATE_MAX_ALIASES": "30",
    "SHARDGATE_MAX_ROOT_FIELDS": "20",
    "SHARDGATE_MAX_HEIGHT": "200",
}


def _token() -> str:
    from joserfc import jwt
    from joserfc.jwk import OctKey

    claims = {
        "sub": "bench",
        "exp": int(time.time()) + 3600,
        "https://shardgate.dev/claims": {"default-role": "user", "allowed-roles": ["user"]},
    }
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(SECRET.encode()))


async def _load(
    url: str, query: str, seconds: float, headers: dict[str, str]
) -> tuple[float, float, float]:
    latencies: list[float] = []
    async with GraphQLClient(url, IN_FLIGHT, headers) as client:
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


def run_safety_bench(seconds: float = 5.0) -> int:
    sys.path.insert(0, str(REPO))
    from tests.peers.apollo import shop_subgraphs
    from tests.support.gateways import shardgate_gateway
    from tests.support.redis import running_redis

    with_redis = shutil.which("redis-server") is not None
    print(
        f"starting the shop subgraphs and shardgate gateways without and with safety "
        f"({IN_FLIGHT} in flight, {seconds:g} s per operation)...",
        flush=True,
    )
    bearer = {"authorization": f"Bearer {_token()}"}
    results: dict[str, dict[str, tuple[float, float, float]]] = {}
    try:
        with ExitStack() as stack:
            urls = stack.enter_context(shop_subgraphs())
            configs = {
                "bare": ({}, {}),
                "safe (memory)": (SAFE, bearer),
            }
            if with_redis:
                redis = stack.enter_context(running_redis())
                storage = {"SHARDGATE_RATE_LIMIT_STORAGE": redis.url}
                configs["safe (redis)"] = ({**SAFE, **storage}, bearer)
            gateways = {
                name: (
                    stack.enter_context(
                        shardgate_gateway(supergraph=SUPERGRAPH, subgraph_urls=urls, env=env)
                    ),
                    headers,
                )
                for name, (env, headers) in configs.items()
            }
            for label, query in OPERATIONS.items():
                results[label] = {
                    name: asyncio.run(_load(url, query, seconds, headers))
                    for name, (url, headers) in gateways.items()
                }
    except BenchError as e:
        raise SystemExit(f"shardgate bench safety: {e}") from None
    _report(results, seconds)
    return 0


def _report(results: dict[str, dict[str, tuple[float, float, float]]], seconds: float) -> None:
    print(
        f"\nsetup: shop supergraph, shardgate gateway per configuration, {IN_FLIGHT} in flight, "
        f"{seconds:g} s each; Python {platform.python_version()}, {os.cpu_count()} CPUs "
        "(shared by the load generator, the gateways and the subgraphs)"
    )
    names = list(next(iter(results.values())))
    print(
        f"  {'operation':<14} | "
        + " | ".join(f"{n + ' req/s':>19}" for n in names)
        + " | ratio (safe / bare) | p50 ms"
    )
    summary = {}
    for label, by in results.items():
        bare = by["bare"][0]
        ratios = [by[n][0] / bare for n in names[1:]]
        print(
            f"  {label:<14} | "
            + " | ".join(f"{by[n][0]:>19,.0f}" for n in names)
            + " | "
            + " / ".join(f"{r:.2f}" for r in ratios).ljust(19)
            + " | "
            + " / ".join(f"{by[n][1]:.2f}" for n in names)
        )
        summary[label] = {
            n: {
                "rps": round(by[n][0], 1),
                "p50_ms": round(by[n][1], 2),
                "p99_ms": round(by[n][2], 2),
            }
            for n in names
        } | {"ratio": {n: round(by[n][0] / bare, 3) for n in names[1:]}}
    print("  (ratio = requests per second with safety / without; 1.00 would be free)")
    print(
        json.dumps(
            {"bench": "safety", "in_flight": IN_FLIGHT, "seconds": seconds, "results": summary}
        )
    )
