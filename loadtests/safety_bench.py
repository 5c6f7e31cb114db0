"""`shardgate bench safety`: the cost of safety, as requests/s on the same queries through
shardgate's federation gateway without and with auth and limits, measured in one run.

    bare           open mode: no JWT, no rate limits, no operation limits
    safe (memory)  a JWT (HS256) verified on every request, a per-subject rate limit in the
                   in-memory moving window (high enough never to refuse), operation limits
                   (depth, aliases, root fields, fields), CSRF
    safe (redis)   the same with the rate-limit counters in a local redis-server

Two operations, each loaded by wrk (16 connections) on each gateway in turn:
    (a) gateway only   { __typename }                  the gateway's own work: the worst case
    (b) one subgraph   { me { id name email } }        a fetch from a Node subgraph

Needs wrk, Node.js 20 (the shop subgraphs) and, for the last column, redis-server.
"""

from __future__ import annotations

import json
import shutil
import time
from contextlib import ExitStack

from loadtests.gateway_load import (
    Run,
    Target,
    cpu_text,
    figures,
    measure_all,
    setup_line,
    shardgate,
    shop_subgraphs,
    tests_importable,
)
from loadtests.measure import BenchError
from loadtests.wrk import CONNECTIONS

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


def run_safety_bench(seconds: float = 5.0) -> int:
    tests_importable()
    from tests.support.redis import running_redis

    with_redis = shutil.which("redis-server") is not None
    print(
        f"starting the shop subgraphs and shardgate gateways without and with safety "
        f"(wrk, {CONNECTIONS} connections, {max(1, round(seconds))} s per operation)...",
        flush=True,
    )
    bearer = {"authorization": f"Bearer {_token()}"}
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
                name: Target(stack.enter_context(shardgate(urls, env)), headers)
                for name, (env, headers) in configs.items()
            }
            run = measure_all(gateways, OPERATIONS, seconds, urls)
    except BenchError as e:
        raise SystemExit(f"shardgate bench safety: {e}") from None
    _report(run, seconds)
    return 0


def _report(run: Run, seconds: float) -> None:
    print()
    print(setup_line("shop supergraph, a shardgate gateway per configuration", seconds, run))
    names = list(next(iter(run.results.values())))
    print(
        f"  {'operation':<14} | "
        + " | ".join(f"{n + ' req/s':>19}" for n in names)
        + " | ratio (safe / bare) | p50 ms | CPU ms/req"
    )
    summary = {}
    for label, by in run.results.items():
        bare = by["bare"].per_second
        ratios = [by[n].per_second / bare for n in names[1:]]
        print(
            f"  {label:<14} | "
            + " | ".join(f"{by[n].per_second:>19,.0f}" for n in names)
            + " | "
            + " / ".join(f"{r:.2f}" for r in ratios).ljust(19)
            + " | "
            + " / ".join(f"{by[n].p50_ms:.2f}" for n in names)
            + " | "
            + " / ".join(cpu_text(by[n].cpu_ms) for n in names)
        )
        summary[label] = {n: figures(by[n]) for n in names} | {
            "ratio": {n: round(by[n].per_second / bare, 3) for n in names[1:]}
        }
    print("  (ratio = requests per second with safety / without; 1.00 would be free)")
    print(
        json.dumps(
            {
                "bench": "safety",
                "load": "wrk",
                "connections": CONNECTIONS,
                "seconds": max(1, round(seconds)),
                "load_average": [round(x, 2) for x in run.load_average],
                "results": summary,
            }
        )
    )
