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
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from shards import scatter
from shards.consistency import DEFAULT_READ, DEFAULT_WRITE, Consistency
from shards.errors import BadRequest, ConsistencyNotMet, ShardUnavailable, UniqueViolation
from shards.hlc import HybridClock
from shards.merge import aggregate_docs, keep_newest, merge_aggregates, sort_key
from shards.protocol import (
    AggregateResult,
    CollectionDescriptor,
    OrderTerm,
    StoredDoc,
    UniqueClaim,
    WriteOp,
    WriteResult,
)
from shards.ring import Ring, token_of

log = logging.getLogger("shardgate.client")


@dataclass
class ShardState:
    url: str
    alive: bool = True
    error: str | None = None
    checked_at: float = 0.0


@dataclass(frozen=True)
class Write:
    """One document change as the resolvers ask for it; the client adds token and version."""

    key: str
    placement: str  # the shard key's value (equal to key unless @collection(shardKey:))
    op: str  # "put" | "delete"
    body: dict[str, Any] | None = None


@dataclass
class WriteOutcome:
    version: int
    acks: int
    before: dict[str, Any] | None = None  # the newest live body replaced by this write
    stale: bool = False  # every replica held a newer version


@dataclass
class _Pending:
    replicas: tuple[str, ...]
    results: dict[str, WriteResult] = field(default_factory=dict)


class ClusterClient:
    def __init__(
        self,
        ring: Ring,
        urls: Mapping[str, str],
        *,
        origin: str = "gateway",
        timeout: float = 5.0,
        clock: HybridClock | None = None,
        health_interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        missing = set(ring.shards) - set(urls)
        if missing:
            raise ValueError(f"no URL for shards {sorted(missing)}")
        self.ring = ring
        self.origin = origin
        self.states = {s: ShardState(urls[s].rstrip("/")) for s in ring.shards}
        self.clock = clock or HybridClock()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._health_interval = health_interval
        self._monotonic = monotonic
        self._session: aiohttp.ClientSession | None = None
        self._health_task: asyncio.Task[None] | None = None
        self._descriptors: dict[str, CollectionDescriptor] = {}
        self._background: set[asyncio.Task[Any]] = set()

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=128, keepalive_timeout=60)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, json_serialize=_dumps_str
        )
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
        if self._session:
            await self._session.close()

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
                await self.call(shard, "GET", "/health", None, mark=False)
            except ShardUnavailable as e:
                state.alive, state.error = False, str(e)
            else:
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
        if not keys:
            return {}
        if placements is None and self._needs_scatter(collection):
            return await scatter.get_anywhere(self, collection, keys, consistency)
        tokens = [token_of(p) for p in (placements or keys)]
        need = consistency.required(self.ring.replication)
        alive = self.alive()
        per_shard: dict[str, list[str]] = {}
        routes: dict[str, tuple[str, ...]] = {}
        for key, token in zip(keys, tokens, strict=True):
            replicas = self.ring.preference_list(token)
            live = [s for s in replicas if alive[s]]
            if len(live) < need:
                raise ConsistencyNotMet("read", need, len(live))
            routes[key] = tuple(live)
            # ONE spreads keys across replicas; QUORUM/ALL ask the first `need` live ones.
            chosen = [live[token % len(live)]] if need == 1 else live[:need]
            for s in chosen:
                per_shard.setdefault(s, []).append(key)
        answers = await self.gather_gets(collection, per_shard)
        newest: dict[str, StoredDoc] = {}
        answered: dict[str, int] = dict.fromkeys(keys, 0)
        retry: dict[str, list[str]] = {}
        for shard, asked in per_shard.items():
            docs = answers.get(shard)
            if docs is None:
                if need == 1:  # fall back to the key's next live replica
                    for key in asked:
                        other = next((s for s in routes[key] if s != shard and alive[s]), None)
                        if other:
                            retry.setdefault(other, []).append(key)
                continue
            for key, doc in zip(asked, docs, strict=True):
                answered[key] += 1
                keep_newest(newest, key, doc)
        if retry:
            for shard, docs in (await self.gather_gets(collection, retry)).items():
                if docs is not None:
                    for key, doc in zip(retry[shard], docs, strict=True):
                        answered[key] += 1
                        keep_newest(newest, key, doc)
        short = [k for k, n in answered.items() if n < need]
        if short:
            raise ConsistencyNotMet("read", need, min(answered[k] for k in short))
        if need > 1:
            self._read_repair(collection, per_shard, answers, newest, tokens, keys)
        for doc in newest.values():
            self.clock.observe(doc["version"])
        return newest

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

    # -- writes ----------------------------------------------------------------------------

    async def write(
        self,
        collection: str,
        writes: Sequence[Write],
        *,
        consistency: Consistency = DEFAULT_WRITE,
    ) -> list[WriteOutcome]:
        """Apply the writes on every live replica; one request per shard for the batch.

        All or nothing: if any write misses its consistency level (a replica died after the
        liveness check), every write of the batch that some replica applied is taken back.
        """
        need = consistency.required(self.ring.replication)
        alive = self.alive()
        ops: list[WriteOp] = []
        pending: list[_Pending] = []
        per_shard: dict[str, list[WriteOp]] = {}
        per_shard_index: dict[str, list[int]] = {}
        versions: list[int] = []
        for w in writes:
            token = token_of(w.placement)
            replicas = tuple(s for s in self.ring.preference_list(token) if alive[s])
            if len(replicas) < need:
                raise ConsistencyNotMet("write", need, len(replicas))
            version = self.clock.tick()
            versions.append(version)
            op = WriteOp(
                collection=collection,
                key=w.key,
                token=token,
                op=w.op,  # type: ignore[typeddict-item]
                body=w.body,
                version=version,
                origin=self.origin,
            )
            ops.append(op)
            pending.append(_Pending(replicas))
            for s in replicas:
                per_shard.setdefault(s, []).append(op)
                per_shard_index.setdefault(s, []).append(len(pending) - 1)
        shards = list(per_shard)
        answers = await asyncio.gather(
            *(self.call(s, "POST", "/write", {"writes": per_shard[s]}) for s in shards),
            return_exceptions=True,
        )
        failure: BaseException | None = None
        for shard, answer in zip(shards, answers, strict=True):
            if isinstance(answer, ShardUnavailable):
                continue
            if isinstance(answer, BaseException):
                failure = failure or answer
                continue
            for i, result in zip(per_shard_index[shard], answer["results"], strict=True):
                pending[i].results[shard] = result
        short = [len(p.results) for p in pending if len(p.results) < need]
        if failure is not None or short:
            await self._take_back(ops, pending)
            if failure is not None:
                raise failure
            raise ConsistencyNotMet("write", need, min(short))
        outcomes = []
        for p, version in zip(pending, versions, strict=True):
            acks = len(p.results)
            befores = [r["before"] for r in p.results.values() if r["before"] is not None]
            outcomes.append(
                WriteOutcome(
                    version=version,
                    acks=acks,
                    before=befores[0] if befores else None,
                    stale=not any(r["applied"] for r in p.results.values()),
                )
            )
        return outcomes

    async def _take_back(self, ops: Sequence[WriteOp], pending: Sequence[_Pending]) -> None:
        """Restore what each replica held before, at a new version, but only where our write
        is still the stored one: a later writer's change is never undone."""
        per_shard: dict[str, list[WriteOp]] = {}
        for op, p in zip(ops, pending, strict=True):
            for shard, result in p.results.items():
                if not result["applied"]:
                    continue
                before = result["before"]
                per_shard.setdefault(shard, []).append(
                    WriteOp(
                        collection=op["collection"],
                        key=op["key"],
                        token=op["token"],
                        op="put" if before is not None else "delete",
                        body=before,
                        version=self.clock.tick(),
                        origin=self.origin,
                        expect=(op["version"], op["origin"]),
                    )
                )
        answers = await asyncio.gather(
            *(self.call(s, "POST", "/write", {"writes": w}) for s, w in per_shard.items()),
            return_exceptions=True,
        )
        for shard, answer in zip(per_shard, answers, strict=True):
            if isinstance(answer, BaseException):
                log.error("could not take back a failed write on %s: %s", shard, answer)

    async def claim_unique(
        self, claims: Sequence[UniqueClaim], *, consistency: Consistency = DEFAULT_WRITE
    ) -> None:
        """Claim unique values cluster-wide: each value lives on the ring like a key.

        A value needs as many of its replicas as the write's consistency level (at ONE, two
        writers cut off from each other could both win: the price of writing at ONE). On any
        conflict everything claimed by this call is released and UniqueViolation names the
        value and its owner.
        """
        if not claims:
            return
        need = consistency.required(self.ring.replication)
        alive = self.alive()
        per_shard: dict[str, list[UniqueClaim]] = {}
        for c in claims:
            live = [s for s in self.ring.replicas_for_key(_unique_key(c)) if alive[s]]
            if len(live) < need:
                raise ConsistencyNotMet("unique check", need, len(live))
            for s in live:
                per_shard.setdefault(s, []).append(c)
        shards = list(per_shard)
        answers = await asyncio.gather(
            *(self.call(s, "POST", "/unique/claim", {"claims": per_shard[s]}) for s in shards),
            return_exceptions=True,
        )
        oks: dict[int, int] = {}
        conflict: tuple[UniqueClaim, str | None] | None = None
        for shard, answer in zip(shards, answers, strict=True):
            if isinstance(answer, BaseException):
                if not isinstance(answer, ShardUnavailable):
                    raise answer
                continue
            for c, res in zip(per_shard[shard], answer["results"], strict=True):
                if res["ok"]:
                    oks[id(c)] = oks.get(id(c), 0) + 1
                elif conflict is None:
                    conflict = (c, res["owner"])
        if conflict is not None:
            await self.release_unique(claims)
            c, owner = conflict
            raise UniqueViolation(c["collection"], c["field"], c["value"], owner)
        short = [c for c in claims if oks.get(id(c), 0) < need]
        if short:
            await self.release_unique(claims)
            raise ConsistencyNotMet("unique check", need, min(oks.get(id(c), 0) for c in short))

    async def release_unique(self, claims: Sequence[UniqueClaim]) -> None:
        per_shard: dict[str, list[UniqueClaim]] = {}
        for c in claims:
            for s in self.ring.replicas_for_key(_unique_key(c)):
                per_shard.setdefault(s, []).append(c)
        await asyncio.gather(
            *(
                self.call(s, "POST", "/unique/release", {"claims": cs})
                for s, cs in per_shard.items()
                if self.states[s].alive
            ),
            return_exceptions=True,
        )

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

    def _needs_scatter(self, collection: str) -> bool:
        d = self._descriptor(collection)
        return d["shard_key"] != d["key"]

    async def gather_gets(
        self, collection: str, per_shard: Mapping[str, list[str]]
    ) -> dict[str, list[StoredDoc | None] | None]:
        shards = list(per_shard)
        answers = await asyncio.gather(
            *(
                self.call(s, "POST", "/get", {"collection": collection, "keys": per_shard[s]})
                for s in shards
            ),
            return_exceptions=True,
        )
        out: dict[str, list[StoredDoc | None] | None] = {}
        for shard, answer in zip(shards, answers, strict=True):
            if isinstance(answer, ShardUnavailable):
                out[shard] = None
            elif isinstance(answer, BaseException):
                raise answer
            else:
                out[shard] = answer["docs"]
        return out

    def _read_repair(
        self,
        collection: str,
        per_shard: Mapping[str, list[str]],
        answers: Mapping[str, list[StoredDoc | None] | None],
        newest: Mapping[str, StoredDoc],
        tokens: Sequence[int],
        keys: Sequence[str],
    ) -> None:
        token_by_key = dict(zip(keys, tokens, strict=True))
        repairs: dict[str, list[WriteOp]] = {}
        for shard, asked in per_shard.items():
            docs = answers.get(shard)
            if docs is None:
                continue
            for key, doc in zip(asked, docs, strict=True):
                best = newest.get(key)
                if best is None or (doc and _version(doc) >= _version(best)):
                    continue
                repairs.setdefault(shard, []).append(
                    WriteOp(
                        collection=collection,
                        key=key,
                        token=token_by_key[key],
                        op="delete" if best["deleted"] else "put",
                        body=best["body"],
                        version=best["version"],
                        origin=best["origin"],
                    )
                )
        for shard, ops in repairs.items():
            self.spawn(self.call(shard, "POST", "/write", {"writes": ops}))

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
        assert self._session is not None, "ClusterClient.start() was not called"
        state = self.states[shard]
        data = None if payload is None else orjson.dumps(payload)
        try:
            async with self._session.request(
                method,
                state.url + path,
                data=data,
                headers={"content-type": "application/json"} if data is not None else None,
            ) as resp:
                body = await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as e:
            if mark:
                state.alive, state.error = False, type(e).__name__
            raise ShardUnavailable(f"shard {shard} is unreachable ({type(e).__name__})") from None
        if status == 400:
            raise BadRequest(_error_message(body))
        if status >= 500 or status != 200:
            raise ShardUnavailable(f"shard {shard} answered HTTP {status}")
        return orjson.loads(body)


def _dumps_str(obj: object) -> str:
    return orjson.dumps(obj).decode()


def _error_message(body: bytes) -> str:
    try:
        return str(orjson.loads(body)["error"]["message"])
    except Exception:
        return "the shard refused the request"


def _version(doc: StoredDoc) -> tuple[int, str]:
    return doc["version"], doc["origin"]


def _unique_key(c: UniqueClaim) -> str:
    return f"unique\x00{c['collection']}\x00{c['field']}\x00{c['value']}"


def live_bodies(docs: Mapping[str, StoredDoc], keys: Iterable[str]) -> list[dict[str, Any] | None]:
    """Bodies aligned with keys; None for missing and deleted documents."""
    out: list[dict[str, Any] | None] = []
    for k in keys:
        d = docs.get(k)
        out.append(None if d is None or d["deleted"] else d["body"])
    return out
