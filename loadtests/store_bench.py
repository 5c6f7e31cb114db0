"""`shardgate bench store`: the store's throughput next to raw SQLite, measured in one run.

    $ shardgate bench store --documents 20000 --seconds 5

Starts a real cluster on free loopback ports in a temporary directory (3 shard processes and a
gateway, replication 2, as `shardgate up` does), pushes the `bench` service and measures
through its store subgraph (`/subgraphs/bench/graphql`) with a keep-alive aiohttp client:

- batched inserts: `insertItems` with 500 documents a request, 4 requests in flight, writes at
  the default consistency (QUORUM: both replicas with replication 2);
- key reads: `item(id:)` of random existing ids, 16 requests in flight, reads at ONE.

The baselines run on the same documents in the same run: stdlib sqlite3 (WAL,
synchronous=NORMAL), every insert in one transaction, then point reads from one thread. The
processes are always stopped, also on an error or Ctrl-C; a GraphQL error aborts the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

from gateway.settings import ClusterSettings
from gateway.supervisor import Layout, Supervisor, free_port, start_cluster
from loadtests.bench_service import SDL, SERVICE, make_item
from loadtests.measure import (
    BenchError,
    GraphQLClient,
    StoreResult,
    check_count,
    insert_all,
    push_schema,
    read_for,
)
from loadtests.report import Setup, print_report
from loadtests.sqlite_baseline import sqlite_baseline
from shards.consistency import DEFAULT_READ, DEFAULT_WRITE
from shards.telemetry import TelemetrySettings

SHARDS = 3
REPLICATION = 2
WARMUP_SECONDS = 0.5  # unmeasured reads first

T = TypeVar("T")


@dataclass(frozen=True)
class Cluster:
    gateway: str  # base URL
    supervisor: Supervisor

    def cpu_seconds(self) -> dict[str, float]:
        """User+system CPU seconds used so far: the gateway, all shards, and this process."""
        used = {"gateway": 0.0, "shards": 0.0, "client": time.process_time()}
        for child in self.supervisor.children:
            kind = "gateway" if child.name == "gateway" else "shards"
            used[kind] += _process_cpu(child.proc.pid)
        return used


def run_store_bench(documents: int = 20_000, seconds: float = 5.0) -> int:
    if documents < 1:
        raise SystemExit("--documents must be at least 1")
    if seconds <= 0:
        raise SystemExit("--seconds must be more than 0")
    docs = [make_item(i) for i in range(documents)]
    try:
        with (
            tempfile.TemporaryDirectory(prefix="shardgate-bench-") as tmp,
            _interruptible(),
        ):
            print(
                f"raw SQLite: {documents:,} inserts, then point reads for {seconds:g} s...",
                flush=True,
            )
            baseline = sqlite_baseline(Path(tmp) / "baseline.db", docs, seconds)
            print(f"shardgate: starting {SHARDS} shards and a gateway in {tmp}...", flush=True)
            with running_cluster(Path(tmp) / "cluster") as cluster:
                store = _measure(cluster, docs, seconds)
    except BenchError as e:
        raise SystemExit(f"shardgate bench store: {e}") from None
    setup = Setup(documents, seconds, SHARDS, REPLICATION, str(DEFAULT_WRITE), str(DEFAULT_READ))
    print_report(setup, store, baseline)
    return 0


def _measure(cluster: Cluster, docs: list[dict[str, Any]], seconds: float) -> StoreResult:
    push_schema(f"{cluster.gateway}/admin/services/{SERVICE}", SDL)
    print(f"shardgate: {len(docs):,} inserts, then key reads for {seconds:g} s...", flush=True)
    return _run_async(_measure_http(cluster, docs, seconds))


async def _measure_http(
    cluster: Cluster, docs: list[dict[str, Any]], seconds: float
) -> StoreResult:
    ids = [d["id"] for d in docs]
    async with GraphQLClient(f"{cluster.gateway}/subgraphs/{SERVICE}/graphql") as client:
        before = cluster.cpu_seconds()
        inserts = await insert_all(client, docs)
        after_inserts = cluster.cpu_seconds()
        await check_count(client, len(docs))
        await read_for(client, ids, WARMUP_SECONDS, seed=0)  # parse/validate caches, pools
        before_reads = cluster.cpu_seconds()
        reads = await read_for(client, ids, seconds)
        after = cluster.cpu_seconds()
    # The same reads through the supergraph at /graphql: plan, in-process subgraph, shaping.
    async with GraphQLClient(f"{cluster.gateway}/graphql") as client:
        await read_for(client, ids, WARMUP_SECONDS, seed=0)
        supergraph_reads = await read_for(client, ids, seconds, seed=2)
    cpu = {"inserts": _delta(before, after_inserts), "reads": _delta(before_reads, after)}
    return StoreResult(inserts, reads, cpu, supergraph_reads)


@contextlib.contextmanager
def running_cluster(data: Path, telemetry: TelemetrySettings | None = None) -> Iterator[Cluster]:
    """3 shards and a gateway over them on free loopback ports, as `shardgate up` starts them;
    every process is stopped on leaving, whatever happens inside."""
    defaults = ClusterSettings()
    layout = Layout.load_or_create(data, SHARDS, REPLICATION, defaults.vnodes)
    sup = Supervisor()
    try:
        base = start_cluster(
            sup,
            layout,
            data=data,
            port=free_port(),
            shard_ports=[free_port() for _ in layout.shards],
            durability=defaults.durability,
            telemetry=telemetry,
        )
        yield Cluster(base, sup)
    finally:
        sup.stop()


def _run_async(coro: Coroutine[Any, Any, T]) -> T:
    loop_factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(coro)


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM unwind at once, so the cluster is stopped and the data removed.

    Ctrl-C also reaches the shards and the gateway (they share our process group): without
    raising here, asyncio would only cancel the run, and the errors of a cluster going down
    could be reported instead of the interruption."""

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _process_cpu(pid: int) -> float:
    """utime + stime of a live process from /proc (0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: round(after[k] - before[k], 2) for k in before}
