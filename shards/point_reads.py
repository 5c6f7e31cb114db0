"""Reads by key: route each key to its replicas, meet the consistency level, repair.

ONE asks one live replica per key, chosen by the key's token so that keys spread over the
replicas and each key keeps hitting the same warm copy. QUORUM/ALL ask `need` live replicas;
the newest (version, origin) wins and replicas that answered with an older copy are repaired
in the background. When a replica fails, the key is asked again of its other live replicas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from shards import scatter
from shards.consistency import Consistency
from shards.errors import ConsistencyNotMet
from shards.merge import keep_newest
from shards.protocol import StoredDoc, WriteOp
from shards.ring import token_of

if TYPE_CHECKING:
    from shards.client import ClusterClient


async def get(
    client: ClusterClient,
    collection: str,
    keys: Sequence[str],
    placements: Sequence[str] | None,
    consistency: Consistency,
) -> dict[str, StoredDoc]:
    if not keys:
        return {}
    if placements is None and client.needs_scatter(collection):
        return await scatter.get_anywhere(client, collection, keys, consistency)
    need = consistency.required(client.ring.replication)
    alive = client.alive()
    tokens = {k: token_of(p) for k, p in zip(keys, placements or keys, strict=True)}
    routes: dict[str, list[str]] = {}  # key -> its live replicas, not yet asked
    per_shard: dict[str, list[str]] = {}
    for key, token in tokens.items():
        live = [s for s in client.ring.preference_list(token) if alive[s]]
        if len(live) < need:
            raise ConsistencyNotMet("read", need, len(live))
        if need == 1:
            live.insert(0, live.pop(token % len(live)))
        for s in live[:need]:
            per_shard.setdefault(s, []).append(key)
        routes[key] = live[need:]
    newest: dict[str, StoredDoc] = {}
    answered = dict.fromkeys(tokens, 0)
    answers = await client.gather_gets(collection, per_shard)
    retry: dict[str, list[str]] = {}
    for shard, asked in per_shard.items():
        docs = answers[shard]
        for i, key in enumerate(asked):
            if docs is None:  # failed: ask one more of the key's live replicas
                if routes[key]:
                    retry.setdefault(routes[key].pop(0), []).append(key)
                continue
            answered[key] += 1
            keep_newest(newest, key, docs[i])
    if retry:
        for shard, docs in (await client.gather_gets(collection, retry)).items():
            for key, doc in zip(retry[shard], docs or [], strict=False):
                answered[key] += 1
                keep_newest(newest, key, doc)
    short = [n for n in answered.values() if n < need]
    if short:
        raise ConsistencyNotMet("read", need, min(short))
    if need > 1:
        _repair(client, collection, per_shard, answers, newest, tokens)
    for doc in newest.values():
        client.clock.observe(doc["version"])
    return newest


def _repair(
    client: ClusterClient,
    collection: str,
    per_shard: Mapping[str, list[str]],
    answers: Mapping[str, list[StoredDoc | None] | None],
    newest: Mapping[str, StoredDoc],
    tokens: Mapping[str, int],
) -> None:
    """Write the newest copy back to replicas that answered with an older one (or none)."""
    repairs: dict[str, list[WriteOp]] = {}
    for shard, asked in per_shard.items():
        docs = answers.get(shard)
        if docs is None:
            continue
        for key, doc in zip(asked, docs, strict=True):
            best = newest.get(key)
            if best is None or (
                doc is not None
                and (doc["version"], doc["origin"]) >= (best["version"], best["origin"])
            ):
                continue
            repairs.setdefault(shard, []).append(
                WriteOp(
                    collection=collection,
                    key=key,
                    token=tokens[key],
                    op="delete" if best["deleted"] else "put",
                    body=best["body"],
                    version=best["version"],
                    origin=best["origin"],
                )
            )
    for shard, ops in repairs.items():
        client.spawn(client.call(shard, "POST", "/write", {"writes": ops}))
