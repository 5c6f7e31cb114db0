"""`shardgate bench gateway`: shardgate's federation gateway next to Apollo Gateway and Hive
Gateway, in one run.

All serve the shop supergraph (tests/fixtures/supergraphs/shop.graphql) over the same five
subgraphs, which run in one Node process (@apollo/subgraph, in-memory data). Three
operations, each loaded by wrk (16 connections) on each gateway in turn:

    (a) one subgraph       { me { id name email } }
    (b) entity join        { me { name reviews { body } } }               accounts -> reviews
    (c) @requires chain    { topProducts { ... on Furniture { shippingEstimate } } }
                                                                   products -> shipping(weight)

shardgate and Hive Gateway run twice: as they come (merging identical in-flight subgraph
requests) and with that merging off. Needs wrk, and Node.js 20 with npm (the peers are
installed on first use); if Hive Gateway cannot be installed or started, the bench says
why and goes on without it.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import ExitStack
from pathlib import Path

from loadtests.gateway_load import (
    SUPERGRAPH,
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

OPERATIONS = {
    "one subgraph": "{ me { id name email } }",
    "entity join": "{ me { name reviews { body } } }",
    "@requires chain": "{ topProducts { ... on Furniture { shippingEstimate } } }",
}
PEERS = {  # key in the JSON summary -> name printed
    "shardgate_no_dedupe": "shardgate (no dedupe)",
    "apollo": "Apollo Gateway",
    "hive": "Hive Gateway",
    "hive_no_dedupe": "Hive (no dedupe)",
}


def run_gateway_bench(seconds: float = 5.0, workers: int = 1) -> int:
    """`workers` > 1: shardgate with that many worker processes is measured too."""
    tests_importable()
    from tests.peers.apollo import ApolloPeerError, apollo_gateway
    from tests.peers.hive import hive_gateway
    from tests.support.processes import ProcessError

    print(
        f"starting the shop subgraphs, shardgate's gateway, Apollo Gateway and Hive Gateway "
        f"(wrk, {CONNECTIONS} connections, {max(1, round(seconds))} s per operation)...",
        flush=True,
    )
    hive_missing: str | None = None
    try:
        with ExitStack() as stack:
            urls = stack.enter_context(shop_subgraphs())
            gateways = {"shardgate": Target(stack.enter_context(shardgate(urls)))}
            # The same without merging identical subgraph requests in flight: beside Hive's
            # own two ways, since merging is most of the gap on this identical-query load.
            settings = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "no-dedupe.toml"
            settings.write_text("[gateway]\ndedupe_subgraph_requests = false\n")
            served = stack.enter_context(shardgate(urls, env={"SHARDGATE_CONFIG": str(settings)}))
            gateways["shardgate_no_dedupe"] = Target(served)
            if workers > 1:
                PEERS["shardgate_workers"] = f"shardgate, {workers} workers"
                served = stack.enter_context(shardgate(urls, workers=workers))
                gateways["shardgate_workers"] = Target(served)
            gateways["apollo"] = Target(stack.enter_context(apollo_gateway(urls)))
            try:
                for key, dedupe in (("hive", True), ("hive_no_dedupe", False)):
                    hive = stack.enter_context(hive_gateway(SUPERGRAPH, urls, dedupe=dedupe))
                    gateways[key] = Target(hive)
            except (ApolloPeerError, ProcessError) as e:
                hive_missing = _why(str(e))
                print(f"Hive Gateway is left out, it could not be started:\n{str(e)[-3000:]}")
                gateways = {k: v for k, v in gateways.items() if not k.startswith("hive")}
            run = measure_all(gateways, OPERATIONS, seconds, urls)
    except BenchError as e:
        raise SystemExit(f"shardgate bench gateway: {e}") from None
    _report(run, seconds, hive_missing)
    return 0


def _report(run: Run, seconds: float, hive_missing: str | None) -> None:
    print()
    print(setup_line("shop supergraph, 5 subgraphs in one Node process", seconds, run))
    summary: dict[str, dict[str, object]] = {}
    width = max(len(name) for name in ("shardgate", *PEERS.values()))
    for label, by in run.results.items():
        ours = by["shardgate"]
        print(f"\n  {label}: {OPERATIONS[label]}")
        print(
            f"    {'gateway':<{width}} | {'req/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} "
            f"| {'CPU ms/req':>10} | {'subgraphs':>9} | shardgate / it"
        )
        for key, load in by.items():
            name = "shardgate" if key == "shardgate" else PEERS[key]
            ratio = "" if key == "shardgate" else f"{ours.per_second / load.per_second:.2f}"
            print(
                f"    {name:<{width}} | {load.per_second:>7,.0f} | {load.p50_ms:>7.2f} "
                f"| {load.p99_ms:>7.2f} | {cpu_text(load.cpu_ms):>10} "
                f"| {cpu_text(load.upstream_cpu_ms):>9} | {ratio:>14}"
            )
        summary[label] = {key: figures(load) for key, load in by.items()} | {
            "ratio": {
                key: round(ours.per_second / load.per_second, 3)
                for key, load in by.items()
                if key != "shardgate"
            }
        }
    print(
        "\n  (shardgate / it: shardgate's requests per second over that gateway's, above 1 is "
        "faster; CPU ms/req: the gateway process's CPU time per request, subgraphs: the "
        "subgraphs' process's)"
    )
    if hive_missing is not None:
        print(f"  Hive Gateway was left out: {hive_missing}")
    print(
        json.dumps(
            {
                "bench": "gateway",
                "load": "wrk",
                "connections": CONNECTIONS,
                "seconds": max(1, round(seconds)),
                "load_average": [round(x, 2) for x in run.load_average],
                "results": summary,
                **({"hive_missing": hive_missing} if hive_missing else {}),
            }
        )
    )


def _why(error: str) -> str:
    """The lines of a failed start that say why: the first, and npm's about a missing version.

    _why("`npm ci` failed\\nnpm error notarget No matching version found for a@^1.2")
        == "`npm ci` failed; npm error notarget No matching version found for a@^1.2"
    """
    lines = [line.strip() for line in error.strip().splitlines() if line.strip()]
    npm = [line for line in lines[1:] if "No matching version" in line or "E404" in line]
    return "; ".join(lines[:1] + npm[:3])
