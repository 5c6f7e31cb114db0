"""`shardgate bench gateway|store --telemetry`: what tracing costs, off next to on, in one run.

The baseline is the same processes with telemetry off (`exporter = "none"`); next to it, the
same workload with every request traced (sample ratio 1) and exported over OTLP/HTTP to a
receiver on loopback that parses every export and counts its spans (tests/support/otlp.py):

    gateway   two `shardgate gateway`s over the shop subgraphs (Node, as `bench gateway`):
              the three operations of loadtests/gateway_bench.py, IN_FLIGHT in flight
    store     two clusters as `shardgate up` starts them (3 shards, replication 2): inserts,
              key reads through the store subgraph, the same reads through /graphql

Each read workload runs ROUNDS times on each, in turns (off first, then on first, ...), so a
burst of other load falls on both alike. The receiver shares the machine's CPUs: on a 2-CPU
box its parsing is part of the cost measured, which a collector on another host would not be.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from loadtests.measure import BenchError, GraphQLClient, check_count, insert_all, percentile
from shards.telemetry import TelemetrySettings

REPO = Path(__file__).resolve().parent.parent
IN_FLIGHT = 16
ROUNDS = 3
T = TypeVar("T")
Figures = tuple[float, float, float]  # requests (or documents) per second, p50 ms, p99 ms


def _settings(receiver_url: str | None, ratio: float = 1.0) -> TelemetrySettings:
    if receiver_url is None:
        return TelemetrySettings()  # off: as_env() says OTEL_TRACES_EXPORTER=none
    return TelemetrySettings(
        exporter="otlp",
        endpoint=f"{receiver_url}/v1/traces",
        service_name="bench",
        sample_ratio=ratio,
    )


@contextmanager
def _receiver() -> Iterator[Any]:
    sys.path.insert(0, str(REPO))
    from tests.support.otlp import otlp_receiver

    with otlp_receiver(count_only=True) as receiver:
        yield receiver


@dataclass
class Sample:
    """Requests answered in some seconds, and each one's latency."""

    requests: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def add(self, other: Sample) -> None:
        self.requests += other.requests
        self.seconds += other.seconds
        self.latencies += other.latencies

    def figures(self) -> Figures:
        ordered = sorted(self.latencies)
        return (
            self.requests / self.seconds,
            percentile(ordered, 0.5) * 1000,
            percentile(ordered, 0.99) * 1000,
        )


async def _sample(
    url: str, query: str, variables: Callable[[], dict[str, Any]], seconds: float
) -> Sample:
    """IN_FLIGHT loops sending `query` for `seconds` (after one unmeasured request)."""
    latencies: list[float] = []
    async with GraphQLClient(url, IN_FLIGHT) as client:
        await client.call("warm-up", query, variables())
        clock = time.perf_counter
        deadline = clock() + seconds

        async def worker() -> None:
            while clock() < deadline:
                sent = clock()
                await client.call("bench", query, variables())
                latencies.append(clock() - sent)

        start = clock()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        elapsed = clock() - start
    return Sample(len(latencies), elapsed, latencies)


def _alternate(
    urls: tuple[str, str],
    query: str,
    variables: Callable[[], dict[str, Any]],
    seconds: float,
    rounds: int,
) -> tuple[Figures, Figures]:
    """Off and on in turns, `seconds` each per round, the first one swapped every round, so a
    burst of other load on the machine falls on both alike."""
    samples = (Sample(), Sample())
    for turn in range(rounds):
        order = (0, 1) if turn % 2 == 0 else (1, 0)
        for which in order:
            samples[which].add(_run(_sample(urls[which], query, variables, seconds)))
    return samples[0].figures(), samples[1].figures()


def _run(coro: Coroutine[Any, Any, T]) -> T:
    from loadtests.store_bench import _run_async

    return _run_async(coro)


def run_gateway_telemetry_bench(seconds: float, ratio: float = 1.0, rounds: int = ROUNDS) -> int:
    from loadtests.gateway_bench import OPERATIONS, SUPERGRAPH
    from tests.peers.apollo import shop_subgraphs
    from tests.support.gateways import shardgate_gateway

    print(
        f"starting the shop subgraphs, a receiver and two shardgate gateways, telemetry off "
        f"and on ({IN_FLIGHT} in flight, {rounds} rounds of {seconds:g} s per operation and "
        "gateway)...",
        flush=True,
    )
    rows: dict[str, tuple[Figures, Figures]] = {}
    try:
        with ExitStack() as stack:
            receiver = stack.enter_context(_receiver())
            urls = stack.enter_context(shop_subgraphs())
            off, on = (
                stack.enter_context(
                    shardgate_gateway(
                        supergraph=SUPERGRAPH,
                        subgraph_urls=urls,
                        env=_settings(target, ratio).as_env(),
                    )
                )
                for target in (None, receiver.url)
            )
            for label, query in OPERATIONS.items():
                rows[label] = _alternate((off, on), query, dict, seconds, rounds)
            spans = _settled_count(receiver)
    except BenchError as e:
        raise SystemExit(f"shardgate bench gateway --telemetry: {e}") from None
    setup = f"shop supergraph, {IN_FLIGHT} in flight"
    _report("gateway", rows, spans, setup, seconds, rounds, ratio)
    return 0


def run_store_telemetry_bench(
    documents: int, seconds: float, ratio: float = 1.0, rounds: int = ROUNDS
) -> int:
    from loadtests.bench_service import ITEM_BY_KEY, SDL, SERVICE, make_item
    from loadtests.measure import push_schema
    from loadtests.store_bench import REPLICATION, SHARDS
    from loadtests.store_bench import running_cluster as cluster_of

    if documents < 1 or seconds <= 0:
        raise SystemExit("--documents must be at least 1 and --seconds more than 0")
    docs = [make_item(i) for i in range(documents)]
    ids = [d["id"] for d in docs]
    rng = random.Random(1)
    rows: dict[str, tuple[Figures, Figures]] = {}
    print(
        f"starting a receiver and two clusters ({SHARDS} shards, replication {REPLICATION}), "
        f"telemetry off and on; {documents:,} inserts each, then key reads...",
        flush=True,
    )

    async def inserts(base: str) -> Figures:
        async with GraphQLClient(f"{base}/subgraphs/{SERVICE}/graphql") as client:
            done = await insert_all(client, docs)
            await check_count(client, len(docs))
        return done.per_second, math.nan, math.nan

    def key() -> dict[str, Any]:
        return {"id": rng.choice(ids)}

    try:
        with tempfile.TemporaryDirectory(prefix="shardgate-bench-") as tmp, ExitStack() as stack:
            receiver = stack.enter_context(_receiver())
            bases = []
            for name, target in (("off", None), ("on", receiver.url)):
                cluster = stack.enter_context(
                    cluster_of(Path(tmp) / name, telemetry=_settings(target, ratio))
                )
                push_schema(f"{cluster.gateway}/admin/services/{SERVICE}", SDL)
                bases.append(cluster.gateway)
            first, second = (_run(inserts(base)) for base in bases)
            rows["inserts (documents/s)"] = (first, second)
            for label, path in (
                ("key reads, subgraph", f"/subgraphs/{SERVICE}/graphql"),
                ("key reads, /graphql", "/graphql"),
            ):
                urls = (bases[0] + path, bases[1] + path)
                rows[label] = _alternate(urls, ITEM_BY_KEY, key, seconds, rounds)
            spans = _settled_count(receiver)
    except BenchError as e:
        raise SystemExit(f"shardgate bench store --telemetry: {e}") from None
    setup = f"{documents:,} documents, {SHARDS} shards, replication {REPLICATION}"
    _report("store", rows, spans, f"{setup}, {IN_FLIGHT} reads in flight", seconds, rounds, ratio)
    return 0


def _settled_count(receiver: Any, quiet: float = 6.0, limit: float = 30.0) -> int:
    """Spans received once none came for `quiet` seconds: the exporters send every 5 s."""
    start = time.monotonic()
    count, changed = receiver.count(), start
    while time.monotonic() - changed < quiet and time.monotonic() - start < limit:
        time.sleep(0.2)  # a poll interval, bounded by `limit`
        now = receiver.count()
        if now != count:
            count, changed = now, time.monotonic()
    return int(count)


def _report(
    bench: str,
    rows: dict[str, tuple[Figures, Figures]],
    spans: int,
    setup: str,
    seconds: float,
    rounds: int,
    ratio: float,
) -> None:
    traced = "every request" if ratio == 1 else f"a sample of {ratio:g} of the requests"
    print(
        f"\nsetup: {setup}, {rounds} rounds of {seconds:g} s each, off and on in turns; "
        f"telemetry off (the baseline) next to on: {traced} traced, "
        f"OTLP/HTTP to a receiver on loopback; Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs shared by everything"
    )
    header = f"  {'workload':<22} | {'off /s':>8} | {'on /s':>8} | on / off | p50 ms off / on"
    print(header + " | p99 ms off / on")
    print("  " + "-" * (len(header) + 18))
    summary = {}
    for label, (off, on) in rows.items():
        share = on[0] / off[0]
        print(
            f"  {label:<22} | {off[0]:>8,.0f} | {on[0]:>8,.0f} | {share:8.3f} | "
            f"{_ms(off[1]):>6} / {_ms(on[1]):<6} | {_ms(off[2]):>6} / {_ms(on[2]):<6}"
        )
        summary[label] = {
            "off": round(off[0], 1),
            "on": round(on[0], 1),
            "ratio": round(share, 3),
            "p50_ms": [_rounded(off[1]), _rounded(on[1])],
            "p99_ms": [_rounded(off[2]), _rounded(on[2])],
        }
    print(
        f"  (on / off under 1 is the share of throughput tracing keeps; spans received: {spans:,})"
    )
    print(
        json.dumps(
            {
                "bench": f"{bench}-telemetry",
                "seconds": seconds,
                "rounds": rounds,
                "sample_ratio": ratio,
                "spans": spans,
                "results": summary,
            }
        )
    )


def _rounded(ms: float) -> float | None:
    return None if math.isnan(ms) else round(ms, 2)


def _ms(ms: float) -> str:
    return "-" if math.isnan(ms) else f"{ms:.2f}"
