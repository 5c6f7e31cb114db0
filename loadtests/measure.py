"""Measuring a store subgraph over HTTP: batched inserts and key reads, with aiohttp.

One keep-alive session, bodies encoded and decoded with orjson. Any GraphQL error, HTTP error
or unexpected answer raises `BenchError`, which says which operation failed and how.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
import orjson

from loadtests.bench_service import COUNT_ITEMS, INSERT_ITEMS, ITEM_BY_KEY

BATCH = 500
INSERT_IN_FLIGHT = 4
READ_IN_FLIGHT = 16
TIMEOUT = aiohttp.ClientTimeout(total=120)  # a batch of 500 on a loaded 2-core box


class BenchError(Exception):
    """The benchmark cannot go on: the message says what failed."""


@dataclass(frozen=True)
class Inserts:
    documents: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.documents / self.seconds


@dataclass(frozen=True)
class Reads:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class StoreResult:
    inserts: Inserts
    reads: Reads
    cpu: dict[str, dict[str, float]]  # phase -> "gateway" | "shards" | "client" -> CPU seconds
    supergraph_reads: Reads | None = None  # the same reads through /graphql (federated)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence: percentile([1, 2, 3, 4], 0.5) == 2."""
    if not sorted_values:
        return math.nan
    rank = math.ceil(round(q * len(sorted_values), 9))
    return sorted_values[min(max(rank, 1), len(sorted_values)) - 1]


def push_schema(url: str, sdl: str) -> None:
    """POST a service's SDL to the gateway's admin endpoint; BenchError unless applied."""
    request = urllib.request.Request(url, sdl.encode(), {"content-type": "text/plain"})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            report = orjson.loads(resp.read())
    except urllib.error.HTTPError as e:
        detail = e.read()[:500].decode(errors="replace")
        raise BenchError(f"pushing the schema to {url} failed: HTTP {e.code} {detail}") from None
    except urllib.error.URLError as e:
        raise BenchError(f"cannot reach {url}: {e.reason}") from None
    if not report.get("applied"):
        raise BenchError(f"the bench schema was not applied: {report}")


class GraphQLClient:
    """POSTs operations to one GraphQL endpoint; `data` back, or BenchError."""

    def __init__(
        self,
        url: str,
        connections: int = READ_IN_FLIGHT,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self._connections = connections
        self._headers = {"content-type": "application/json", **(headers or {})}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> GraphQLClient:
        connector = aiohttp.TCPConnector(limit=self._connections)
        self._session = aiohttp.ClientSession(connector=connector, timeout=TIMEOUT)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def call(self, operation: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        assert self._session is not None, "use GraphQLClient in `async with`"
        payload = orjson.dumps({"query": query, "variables": variables})
        try:
            async with self._session.post(self.url, data=payload, headers=self._headers) as resp:
                status, raw = resp.status, await resp.read()
        except (aiohttp.ClientError, TimeoutError) as e:
            raise BenchError(f"{operation}: {self.url} did not answer ({e!r})") from None
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise BenchError(f"{operation}: HTTP {status}, not JSON: {raw[:300]!r}") from None
        errors = body.get("errors") if isinstance(body, dict) else None
        if errors:
            first = errors[0]
            code = first.get("extensions", {}).get("code", "no code")
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            raise BenchError(f"{operation} failed: {first.get('message')} [{code}]{more}")
        if status != 200 or not isinstance(body.get("data"), dict):
            raise BenchError(f"{operation}: HTTP {status} without data: {raw[:300]!r}")
        data: dict[str, Any] = body["data"]
        return data


async def insert_all(client: GraphQLClient, docs: Sequence[dict[str, Any]]) -> Inserts:
    """`insertItems` in batches of BATCH, INSERT_IN_FLIGHT at a time, until all are stored."""
    batches = iter([docs[i : i + BATCH] for i in range(0, len(docs), BATCH)])

    async def worker() -> None:
        for batch in batches:  # one shared iterator: each batch goes to one worker
            data = await client.call("insertItems", INSERT_ITEMS, {"objects": list(batch)})
            got = data["insertItems"]
            if len(got) != len(batch) or got[0]["id"] != batch[0]["id"]:
                raise BenchError(f"insertItems returned {len(got)} documents for {len(batch)}")

    start = time.perf_counter()
    await _concurrently(INSERT_IN_FLIGHT, worker)
    return Inserts(len(docs), time.perf_counter() - start)


async def check_count(client: GraphQLClient, expected: int) -> None:
    data = await client.call("itemsAggregate", COUNT_ITEMS, {})
    count = data["itemsAggregate"]["count"]
    if count != expected:
        raise BenchError(f"itemsAggregate counts {count} documents, {expected} were inserted")


async def read_for(
    client: GraphQLClient, ids: Sequence[str], seconds: float, seed: int = 1
) -> Reads:
    """`item(id:)` of random ids from READ_IN_FLIGHT concurrent loops for `seconds`."""
    rng = random.Random(seed)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        clock = time.perf_counter
        while clock() < deadline:
            key = rng.choice(ids)
            sent = clock()
            data = await client.call("item", ITEM_BY_KEY, {"id": key})
            latencies.append(clock() - sent)
            item = data["item"]
            if item is None or item["id"] != key:
                raise BenchError(f"item(id: {key!r}) returned {item!r}")

    start = time.perf_counter()
    await _concurrently(READ_IN_FLIGHT, worker)
    elapsed = time.perf_counter() - start
    latencies.sort()
    return Reads(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
    )


async def _concurrently(copies: int, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `copies` of `work` at once; the first BenchError cancels the others and is raised."""
    try:
        async with asyncio.TaskGroup() as tasks:
            for _ in range(copies):
                tasks.create_task(work())
    except* BenchError as group:
        raise group.exceptions[0] from None
