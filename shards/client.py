"""The cluster client: the store's driver. Routes by the ring, picks replicas, enforces
consistency, scatters and gathers. The gateway talks to shards only through this.

Writes are coordinated here (the client is the coordinator, as in Cassandra's client-side
routing): it stamps each write with a hybrid-logical-clock version, sends it to every live
replica of the key in parallel and acknowledges once the consistency level is met. Before
sending anything it checks that enough replicas are believed alive, so a write that cannot
succeed fails without touching any replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from opentelemetry.trace import SpanKind

from shards import point_reads, scatter, uniques, vector_scatter, writes
from shards.coalesce import GetCoalescer, SearchCoalescer
from shards.consistency import DEFAULT_READ, DEFAULT_WRITE, Consistency
from shards.errors import BadRequest, ShardUnavailable
from shards.hlc import HybridClock
from shards.http_pool import HttpPool, failure_reason
from shards.merge import aggregate_docs, merge_aggregates, sort_key
from shards.protocol import (
    AggregateResult,
    CollectionDescriptor,
    OrderTerm,
    StoredDoc,
    UniqueClaim,
)
from shards.ring import Ring
from shards.telemetry.tracing import Tracing, fail, in_trace
from shards.vector_scatter import SearchAnswer
from shards.writes import Write, WriteOutcome

log = logging.getLogger("shardgate.client")


@dataclass
class ShardState:
    url: str
    alive: bool = True
    error: str | None = None
    checked_at: float = 0.0


class ClusterClient:
    def __init__(
        self,
        ring: Ring,
        urls: Mapping[str, str],
        *,
        origin: str | None = None,
        timeout: float = 5.0,
        clock: HybridClock | None = None,
        health_interval: float = 1.0,
        stale_claim_ms: int = uniques.STALE_AFTER_MS,
        monotonic: Callable[[], float] = time.monotonic,
        tracing: Tracing | None = None,
    ) -> None:
        missing = set(ring.shards) - set(urls)
        if missing:
            raise ValueError(f"no URL for shards {sorted(missing)}")
        self.ring = ring
        # Unique per coordinator: it breaks ties between equal versions from two gateways and
        # makes a take-back's `expect` match only this client's own write.
        self.origin = origin or f"gw-{uuid.uuid4().hex[:12]}"
        self.states = {s: ShardState(urls[s].rstrip("/")) for s in ring.shards}
        self.clock = clock or HybridClock()
        self._timeout = timeout
        self._health_interval = health_interval
        self.stale_claim_ms = stale_claim_ms
        self._monotonic = monotonic
        # Shard calls made for a traced request get a CLIENT span and send its traceparent.
        self.tracing = tracing or Tracing.off()
        self._http: HttpPool | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._descriptors: dict[str, CollectionDescriptor] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self._gets = GetCoalescer(self.call)
        self._searches = SearchCoalescer(self.call)
        self._layout: tuple[Ring, vector_scatter.Layout] | None = None
        # Called with a shard's id when it answers again after being down (after the
        # collection replay): features that push state to shards (triggers) re-push it.
        self.on_revival: list[Callable[[str], Awaitable[None]]] = []

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._http = HttpPool()
        await self.refresh_health()
        self._health_task = asyncio.create_task(self._health_loop())

    async def close(self) -> None:
        if self._health_task:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health_task
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._gets.close()
        await self._searches.close()
        if self._http:
            await self._http.close()

    async def __aenter__(self) -> ClusterClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- health ----------------------------------------------------------------------------

    def alive(self) -> dict[str, bool]:
        return {s: st.alive for s, st in self.states.items()}

    async def refresh_health(self) -> None:
        async def check(shard: str) -> None:
            state = self.states[shard]
            was_alive = state.alive
            try:
                health = await self.call(shard, "GET", "/health", None, mark=False)
            except ShardUnavailable as e:
                state.alive, state.error = False, str(e)
            else:
                if health.get("id") != shard:  # a wrong --shard ID=URL would misroute
                    state.alive = False
                    state.error = (
                        f"{state.url} answers as shard {health.get('id')!r}, not {shard!r}"
                    )
                    state.checked_at = self._monotonic()
                    return
                # A shard that was down missed collection changes: replay them first.
                if not was_alive and self._descriptors:
                    with contextlib.suppress(ShardUnavailable, BadRequest):
                        await self.call(
                            shard,
                            "POST",
                            "/collections",
                            {"collections": list(self._descriptors.values())},
                            mark=False,
                        )
                if not was_alive:
                    for hook in self.on_revival:
                        with contextlib.suppress(ShardUnavailable, BadRequest):
                            await hook(shard)
                state.alive, state.error = True, None
            state.checked_at = self._monotonic()

        await asyncio.gather(*(check(s) for s in self.states))

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(self._health_interval)
            try:
                await self.refresh_health()
            except Exception:  # the loop must outlive any one bad round
                log.exception("health check round failed")

    # -- schema ----------------------------------------------------------------------------

    async def ensure_collections(self, descriptors: Sequence[CollectionDescriptor]) -> None:
        """Create or extend collections on every live shard; down shards get them on revival."""
        for d in descriptors:
            self._descriptors[d["name"]] = d
        live = [s for s, ok in self.alive().items() if ok]
        if not live:
            raise ShardUnavailable("no shard is reachable")
        payload = {"collections": list(descriptors)}
        await asyncio.gather(*(self.call(s, "POST", "/collections", payload) for s in live))

    # -- reads -----------------------------------------------------------------------------

    async def get(
        self,
        collection: str,
        keys: Sequence[str],
        *,
        placements: Sequence[str] | None = None,
        consistency: Consistency = DEFAULT_READ,
    ) -> dict[str, StoredDoc]:
        """Newest stored copy (tombstones included) of each key found, by key.

        `placements` are the shard-key values when they differ from the keys; without them
        (a collection sharded by another field, looked up by key) every shard is asked.
        """
        return await point_reads.get(self, collection, keys, placements, consistency)

    async def query(
        self,
        collection: str,
        *,
        where: dict[str, Any] | None = None,
        order_by: Sequence[OrderTerm] = (),
        limit: int | None = None,
        offset: int = 0,
        consistency: Consistency = DEFAULT_READ,
    ) -> list[dict[str, Any]]:
        """Live documents matching `where`, in one global order (see `shards.scatter`)."""
        window = None if limit is None else limit + offset
        request = {
            "collection": collection,
            "where": where,
            "order_by": list(order_by),
            "limit": window,
        }
        key = sort_key(order_by, self._descriptor(collection)["key"])
        need = consistency.required(self.ring.replication)
        if need > 1:
            docs = sorted(await scatter.scan_replicated(self, request, need), key=key)
            return docs[offset:window]
        streams = [res["docs"] for res in await scatter.scan_one(self, "/query", request)]
        return list(heapq.merge(*streams, key=key))[offset:window]

    async def aggregate(
        self,
        collection: str,
        *,
        where: dict[str, Any] | None = None,
        fields: Sequence[str] = (),
        consistency: Consistency = DEFAULT_READ,
    ) -> AggregateResult:
        need = consistency.required(self.ring.replication)
        if need > 1:  # aggregate what `need` replicas per range agree on
            request = {"collection": collection, "where": where}
            return aggregate_docs(await scatter.scan_replicated(self, request, need), fields)
        request = {"collection": collection, "where": where, "fields": list(fields)}
        return merge_aggregates(await scatter.scan_one(self, "/aggregate", request), fields)

    async def search(
        self,
        collection: str,
        field: str,
        vector: Sequence[float],
        *,
        k: int = 10,
        where: dict[str, Any] | None = None,
        min_score: float | None = None,
        consistency: Consistency = DEFAULT_READ,
        partial: bool = False,
        omit: Sequence[str] = (),
    ) -> SearchAnswer:
        """The k best documents matching `where`, best first (`shards.vector_scatter`)."""
        specs = self._descriptor(collection).get("vectors", [])
        spec = next((s for s in specs if s["field"] == field), None)
        if spec is None:
            raise BadRequest(f"{collection}.{field} is not a vector field")
        request = {"collection": collection, "field": field, "vector": list(vector), "k": k,
                   "where": where, "min_score": min_score, "omit": list(omit)}  # fmt: skip
        need = consistency.required(self.ring.replication)
        similarity = spec["metric"] != "L2"
        return await vector_scatter.search(self, request, k, similarity, need, partial)

    async def rebuild_vectors(
        self, collection: str, field: str | None = None
    ) -> dict[str, dict[str, int] | str]:
        """Rebuild the collection's vector indexes from SQLite on every live shard: per shard,
        vectors indexed by field, or why it could not."""
        self._descriptor(collection)
        body = {"collection": collection, "field": field}

        async def one(shard: str) -> dict[str, int] | str:
            try:
                answer = await self.call(shard, "POST", "/vectors/rebuild", body)
            except (ShardUnavailable, BadRequest) as e:
                return str(e)
            return dict(answer["rebuilt"])

        shards = [s for s, ok in self.alive().items() if ok]
        return dict(zip(shards, await asyncio.gather(*(one(s) for s in shards)), strict=True))

    # -- writes (shards.writes, shards.uniques) --------------------------------------------

    async def write(
        self,
        collection: str,
        batch: Sequence[Write],
        *,
        consistency: Consistency = DEFAULT_WRITE,
    ) -> list[WriteOutcome]:
        return await writes.write(self, collection, batch, consistency=consistency)

    async def claim_unique(
        self, claims: Sequence[UniqueClaim], *, consistency: Consistency = DEFAULT_WRITE
    ) -> None:
        await uniques.claim(self, claims, consistency)

    async def release_unique(self, claims: Sequence[UniqueClaim]) -> None:
        await uniques.release(self, claims)

    # -- status ----------------------------------------------------------------------------

    async def stats(self) -> dict[str, dict[str, Any] | None]:
        async def one(shard: str) -> dict[str, Any] | None:
            try:
                return await self.call(shard, "GET", "/stats", None)
            except ShardUnavailable:
                return None

        shards = list(self.states)
        return dict(zip(shards, await asyncio.gather(*(one(s) for s in shards)), strict=True))

    # -- internals -------------------------------------------------------------------------

    def _descriptor(self, collection: str) -> CollectionDescriptor:
        try:
            return self._descriptors[collection]
        except KeyError:
            raise BadRequest(f"unknown collection {collection!r}") from None

    def needs_scatter(self, collection: str) -> bool:
        d = self._descriptor(collection)
        return d["shard_key"] != d["key"]

    async def gather_gets(
        self, collection: str, per_shard: Mapping[str, list[str]]
    ) -> dict[str, list[StoredDoc | None] | None]:
        shards = list(per_shard)
        answers = await asyncio.gather(
            *(self._gets.get(s, collection, per_shard[s]) for s in shards),
            return_exceptions=True,
        )
        out: dict[str, list[StoredDoc | None] | None] = {}
        for shard, answer in zip(shards, answers, strict=True):
            if isinstance(answer, ShardUnavailable):
                out[shard] = None
            elif isinstance(answer, BaseException):
                raise answer
            else:
                out[shard] = answer
        return out

    def search_layout(self) -> vector_scatter.Layout:
        """Every shard's ranges, for searches; computed once per ring."""
        if self._layout is None or self._layout[0] is not self.ring:
            self._layout = (self.ring, vector_scatter.layout(self.ring))
        return self._layout[1]

    async def search_shard(self, shard: str, request: dict[str, Any]) -> dict[str, Any]:
        """One shard's `POST /search` answer, sent with the other searches of this turn."""
        return await self._searches.search(shard, request)

    def spawn(self, aw: Awaitable[Any]) -> None:
        async def run() -> None:
            with contextlib.suppress(ShardUnavailable, BadRequest):
                await aw

        task = asyncio.ensure_future(run())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def call(
        self, shard: str, method: str, path: str, payload: object, *, mark: bool = True
    ) -> Any:
        if not self.tracing.enabled or not in_trace():  # background work is not traced
            return await self._call(shard, method, path, payload, mark, None)
        attributes = {"shardgate.shard.id": shard, "shardgate.shard.operation": path[1:]}
        with self.tracing.span(f"shard {path}", SpanKind.CLIENT, attributes) as span:
            headers: dict[str, str] = {}
            self.tracing.inject(headers)
            try:
                return await self._call(shard, method, path, payload, mark, headers)
            except (ShardUnavailable, BadRequest) as e:  # their messages name no host
                fail(span, str(e))
                raise

    async def _call(
        self,
        shard: str,
        method: str,
        path: str,
        payload: object,
        mark: bool,
        headers: dict[str, str] | None,
    ) -> Any:
        assert self._http is not None, "ClusterClient.start() was not called"
        state = self.states[shard]
        data = None if payload is None else orjson.dumps(payload)
        if data is not None:
            headers = {**(headers or {}), "content-type": "application/json"}
        try:
            reply = await self._http.request(
                method,
                state.url + path,
                data,
                headers,
                within=self._timeout,
                idempotent=method == "GET" or path in _READS,
            )
            body, status = reply.body, reply.status
        except (TimeoutError, OSError) as e:
            reason = failure_reason(e)
            if mark:
                state.alive, state.error = False, reason
            raise ShardUnavailable(f"shard {shard} is unreachable ({reason})") from None
        if status == 200:
            return orjson.loads(body)
        if status == 400:
            raise BadRequest(_error_message(body))
        if status == 413:
            raise BadRequest(
                f"a request of {len(data or b'')} bytes was over shard {shard}'s body limit: "
                "send fewer or smaller documents at once"
            )
        # A shard failing requests is treated as down until its health check passes again:
        # retrying it at once would only fail again (and a scan would never finish).
        if mark:
            state.alive, state.error = False, f"HTTP {status}"
        raise ShardUnavailable(f"shard {shard} answered HTTP {status}")


# Shard calls that only read: sent again on a new connection when a kept-alive one closed
# under them before any answer. Writes are not (the shard may have applied them).
_READS = frozenset({"/get", "/query", "/aggregate", "/search", "/searches"})


def _error_message(body: bytes) -> str:
    try:
        return str(orjson.loads(body)["error"]["message"])
    except Exception:
        return "the shard refused the request"
