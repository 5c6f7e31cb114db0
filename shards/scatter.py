"""Scatter-gather over the ring: reads that ask many shards and merge their answers.

- `scan_one`: one live replica per ring range (consistency ONE). A replica that fails has its
  ranges asked again of the next live replica.
- `scan_replicated`: `need` replicas per range (QUORUM/ALL). Every matching document of every
  asked replica comes back with its version; the newest version of each key wins. A key one
  replica returned and another did not is looked up on the other: if that replica holds a newer
  version (a delete, or a change that no longer matches the filter), the key is dropped; if it
  holds an older one, it is repaired in the background.
- `get_anywhere`: keys of a collection sharded by another field, looked up on every shard.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shards.consistency import Consistency
from shards.errors import ConsistencyNotMet, ShardUnavailable
from shards.merge import keep_newest
from shards.protocol import StoredDoc, WriteOp

if TYPE_CHECKING:
    from shards.client import ClusterClient

Ranges = list[tuple[int, int]]


async def scan_one(client: ClusterClient, path: str, request: dict[str, Any]) -> list[Any]:
    results: list[Any] = []
    pending: Ranges | None = None  # None: every range
    failed: set[str] = set()
    while True:
        plan = _plan(client, pending)
        if failed & plan.keys():  # only possible if a failed shard was revived meanwhile
            raise ShardUnavailable(f"shards {sorted(failed & plan.keys())} failed this scan")
        shards = list(plan)
        answers = await asyncio.gather(
            *(client.call(s, "POST", path, {**request, "ranges": plan[s]}) for s in shards),
            return_exceptions=True,
        )
        pending = []
        for shard, answer in zip(shards, answers, strict=True):
            if isinstance(answer, ShardUnavailable):
                pending.extend(plan[shard])  # `call` marked it down: the next plan skips it
                failed.add(shard)
            elif isinstance(answer, BaseException):
                raise answer
            else:
                results.append(answer)
        if not pending:
            return results


async def scan_replicated(
    client: ClusterClient, request: dict[str, Any], need: int
) -> list[dict[str, Any]]:
    """Live documents matching the request's filter, as `need` replicas per range agree."""
    alive = client.alive()
    ring = client.ring
    per_shard: dict[str, Ranges] = {}
    for r in ring.ranges():
        live = [s for s in r.replicas if alive[s]]
        if len(live) < need:
            raise ConsistencyNotMet("read", need, len(live))
        for s in live[:need]:
            per_shard.setdefault(s, []).append((r.lo, r.hi))
    shards = list(per_shard)
    # No limit: a key missing from one replica's answer must mean it does not match there.
    asked = {**request, "limit": None, "meta": True}
    answers = await asyncio.gather(
        *(client.call(s, "POST", "/query", {**asked, "ranges": per_shard[s]}) for s in shards),
        return_exceptions=True,
    )
    best: dict[str, tuple[int, str, int, dict[str, Any]]] = {}  # key -> version, origin, token
    returned: dict[str, dict[str, tuple[int, str]]] = {}  # key -> shard -> version it returned
    for shard, answer in zip(shards, answers, strict=True):
        if isinstance(answer, ShardUnavailable):
            raise ConsistencyNotMet("read", need, need - 1)
        if isinstance(answer, BaseException):
            raise answer
        for body, (key, version, origin, token) in zip(answer["docs"], answer["meta"], strict=True):
            returned.setdefault(key, {})[shard] = (version, origin)
            if key not in best or (version, origin) > best[key][:2]:
                best[key] = (version, origin, token, body)
    missing: dict[str, list[str]] = {}
    for key, (_, _, token, _) in best.items():
        for s in [s for s in ring.preference_list(token) if alive[s]][:need]:
            if s not in returned[key]:
                missing.setdefault(s, []).append(key)
    collection = request["collection"]
    stored = await client.gather_gets(collection, missing)
    newer: dict[str, StoredDoc] = {}  # keys a replica holds at a version newer than returned
    stale: dict[str, set[str]] = {}  # key -> replicas to bring up to date
    for shard, keys in missing.items():
        docs = stored.get(shard)
        if docs is None:
            raise ConsistencyNotMet("read", need, need - 1)
        for key, doc in zip(keys, docs, strict=True):
            if doc is not None and (doc["version"], doc["origin"]) > best[key][:2]:
                keep_newest(newer, key, doc)  # deleted there, or changed to no longer match
            else:
                stale.setdefault(key, set()).add(shard)
    for key, by_shard in returned.items():
        latest = (
            best[key][:2] if key not in newer else (newer[key]["version"], newer[key]["origin"])
        )
        stale.setdefault(key, set()).update(s for s, v in by_shard.items() if v < latest)
    _repair(client, collection, stale, best, newer)
    for key in newer:
        del best[key]
    for version, *_ in best.values():
        client.clock.observe(version)
    return [entry[3] for entry in best.values()]


def _repair(
    client: ClusterClient,
    collection: str,
    stale: dict[str, set[str]],
    best: dict[str, tuple[int, str, int, dict[str, Any]]],
    newer: dict[str, StoredDoc],
) -> None:
    """Bring stale replicas to the newest state seen, in the background."""
    per_shard: dict[str, list[WriteOp]] = {}
    for key, shards in stale.items():
        version, origin, token, body = best[key]
        op: WriteOp = WriteOp(
            collection=collection,
            key=key,
            token=token,
            op="put",
            body=body,
            version=version,
            origin=origin,
        )
        if key in newer:
            n = newer[key]
            op = WriteOp(
                collection=collection,
                key=key,
                token=token,
                op="delete" if n["deleted"] else "put",
                body=n["body"],
                version=n["version"],
                origin=n["origin"],
            )
        for shard in shards:
            per_shard.setdefault(shard, []).append(op)
    for shard, ops in per_shard.items():
        client.spawn(client.call(shard, "POST", "/write", {"writes": ops}))


async def get_anywhere(
    client: ClusterClient, collection: str, keys: Sequence[str], consistency: Consistency
) -> dict[str, StoredDoc]:
    # Without the shard key a key can be anywhere: every live shard answers for what it
    # holds; each range must still have enough live replicas for the consistency level.
    need = consistency.required(client.ring.replication)
    alive = client.alive()
    for r in client.ring.ranges():
        got = sum(alive[s] for s in r.replicas)
        if got < need:
            raise ConsistencyNotMet("read", need, got)
    asked = {s: list(keys) for s, ok in alive.items() if ok}
    answers = await client.gather_gets(collection, asked)
    answered = {s for s, docs in answers.items() if docs is not None}
    for r in client.ring.ranges():  # a shard failing mid-read must not go unnoticed
        got = sum(s in answered for s in r.replicas)
        if got < need:
            raise ConsistencyNotMet("read", need, got)
    newest: dict[str, StoredDoc] = {}
    for docs in answers.values():
        for key, doc in zip(keys, docs or [], strict=False):
            keep_newest(newest, key, doc)
    return newest


def _plan(client: ClusterClient, within: Sequence[tuple[int, int]] | None) -> dict[str, Ranges]:
    try:
        return client.ring.scatter_plan(client.alive(), within)
    except LookupError as e:
        r = e.args[0]
        raise ShardUnavailable(
            f"no live replica for token range [{r.lo}, {r.hi}] (replicas {list(r.replicas)})"
        ) from None
