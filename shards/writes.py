"""Writes: the cluster client as coordinator.

Each write is stamped once with a hybrid-logical-clock version and sent to every live replica
of its key in parallel; it is acknowledged when the consistency level is met. A write that
cannot meet it fails before touching any replica when too few are believed alive, and is taken
back everywhere when a replica fails mid-write (all or nothing for the whole batch).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shards.consistency import DEFAULT_WRITE, Consistency
from shards.errors import ConsistencyNotMet, DocumentExists, ShardUnavailable
from shards.protocol import WriteOp, WriteResult
from shards.ring import token_of

if TYPE_CHECKING:
    from shards.client import ClusterClient

log = logging.getLogger("shardgate.writes")


@dataclass(frozen=True)
class Write:
    """One document change as the resolvers ask for it; the client adds token and version."""

    key: str
    placement: str  # the shard key's value (equal to key unless @collection(shardKey:))
    op: str  # "put" | "delete"
    body: dict[str, Any] | None = None
    if_absent: bool = False  # an insert: refused where a live document has the key


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


async def write(
    client: ClusterClient,
    collection: str,
    writes: Sequence[Write],
    *,
    consistency: Consistency = DEFAULT_WRITE,
) -> list[WriteOutcome]:
    """Apply the writes on every live replica; one request per shard for the batch.

    All or nothing: if any write misses its consistency level (a replica died after the
    liveness check), every write of the batch that some replica applied is taken back.
    """
    need = consistency.required(client.ring.replication)
    alive = client.alive()
    ops: list[WriteOp] = []
    pending: list[_Pending] = []
    per_shard: dict[str, list[WriteOp]] = {}
    per_shard_index: dict[str, list[int]] = {}
    versions: list[int] = []
    for w in writes:
        token = token_of(w.placement)
        replicas = tuple(s for s in client.ring.preference_list(token) if alive[s])
        if len(replicas) < need:
            raise ConsistencyNotMet("write", need, len(replicas))
        version = client.clock.tick()
        versions.append(version)
        op = WriteOp(
            collection=collection,
            key=w.key,
            token=token,
            op=w.op,  # type: ignore[typeddict-item]
            body=w.body,
            version=version,
            origin=client.origin,
        )
        if w.if_absent:
            op["if_absent"] = True
        ops.append(op)
        pending.append(_Pending(replicas))
        for s in replicas:
            per_shard.setdefault(s, []).append(op)
            per_shard_index.setdefault(s, []).append(len(pending) - 1)
    shards = list(per_shard)
    answers = await asyncio.gather(
        *(client.call(s, "POST", "/write", {"writes": per_shard[s]}) for s in shards),
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
    # An insert that met a live document on any replica conflicts, whatever the others did.
    taken = {
        op["key"]: r["before"]
        for op, p in zip(ops, pending, strict=True)
        if op.get("if_absent")
        for r in p.results.values()
        if not r["applied"] and r["before"] is not None
    }
    if failure is not None or short or taken:
        await take_back(client, ops, pending)
        if failure is not None:
            raise failure
        if taken:
            raise DocumentExists(collection, taken)
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


async def take_back(
    client: ClusterClient, ops: Sequence[WriteOp], pending: Sequence[_Pending]
) -> None:
    """Restore exactly what each replica held before (body, version and origin), but only
    where our write is still the stored one: a later writer's change is never undone. Its old
    version, not a new one: a stale replica's old copy must not beat newer writes elsewhere."""
    per_shard: dict[str, list[WriteOp]] = {}
    for op, p in zip(ops, pending, strict=True):
        for shard, result in p.results.items():
            if not result["applied"]:
                continue
            before = result["before"]
            version, origin = result.get("before_version") or (0, "")  # never seen: v0 tombstone
            per_shard.setdefault(shard, []).append(
                WriteOp(
                    collection=op["collection"],
                    key=op["key"],
                    token=op["token"],
                    op="put" if before is not None else "delete",
                    body=before,
                    version=version,
                    origin=origin,
                    expect=(op["version"], op["origin"]),
                )
            )
    answers = await asyncio.gather(
        *(client.call(s, "POST", "/write", {"writes": w}) for s, w in per_shard.items()),
        return_exceptions=True,
    )
    for shard, answer in zip(per_shard, answers, strict=True):
        if isinstance(answer, BaseException):
            log.error("could not take back a failed write on %s: %s", shard, answer)
