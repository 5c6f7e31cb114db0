"""Cluster-wide `@unique`: each (collection, field, value) is a claim held on the ring's
replicas for that value, naming the document key that owns it.

A claim needs as many of its replicas as the write's consistency level (at ONE, two writers
cut off from each other could both win: the price of writing at ONE). On a conflict every
claim of the call is released and UniqueViolation names the value and its owner.

Claims heal themselves. A release can miss a replica that is down, and a gateway can die
between claiming and writing; either leaves a claim whose owner does not hold the value. When
a claim conflicts with an owner older than `stale_claim_ms` (30 s) and whose document does not
(or no longer) hold the value, the claim is taken over, atomically on each replica (only from
that owner). The age guard keeps a concurrent insert still in flight from being robbed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from shards.consistency import Consistency
from shards.errors import ConsistencyNotMet, ShardUnavailable, UniqueViolation
from shards.protocol import ClaimResult, UniqueClaim

if TYPE_CHECKING:
    from shards.client import ClusterClient

STALE_AFTER_MS = 30_000  # the default of ClusterClient(stale_claim_ms=...)


def canonical(value: Any) -> str:
    """The claimed form of a value: canonical JSON, so 1 and 1.0 or key order never differ."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


async def claim(
    client: ClusterClient, claims: Sequence[UniqueClaim], consistency: Consistency
) -> None:
    if not claims:
        return
    need = consistency.required(client.ring.replication)
    pending = list(claims)
    for attempt in range(2):
        oks, conflicts = await _claim_round(client, pending, need)
        if not conflicts:
            break
        stale = await _stale_owners(client, conflicts, consistency) if attempt == 0 else {}
        unhealed = [(c, owner) for c, owner, _ in conflicts if id(c) not in stale]
        if unhealed:
            await release(client, claims)
            c, owner = unhealed[0]
            raise UniqueViolation(c["collection"], c["field"], c["value"], owner)
        pending = [
            UniqueClaim(**{**c, "replace": stale[id(c)]}) if id(c) in stale else c for c in pending
        ]
    short = [oks.get(id(c), 0) for c in pending if oks.get(id(c), 0) < need]
    if short:
        await release(client, claims)
        raise ConsistencyNotMet("unique check", need, min(short))


async def release(client: ClusterClient, claims: Sequence[UniqueClaim]) -> None:
    """Drop claims where this key owns them. Best effort: a replica that is down keeps its
    claim, which heals on the next conflicting claim (see the module doc)."""
    per_shard: dict[str, list[UniqueClaim]] = {}
    for c in claims:
        for s in client.ring.replicas_for_key(_ring_key(c)):
            per_shard.setdefault(s, []).append(
                UniqueClaim(
                    collection=c["collection"], field=c["field"], value=c["value"], key=c["key"]
                )
            )
    await asyncio.gather(
        *(
            client.call(s, "POST", "/unique/release", {"claims": cs})
            for s, cs in per_shard.items()
            if client.states[s].alive
        ),
        return_exceptions=True,
    )


async def _claim_round(
    client: ClusterClient, claims: Sequence[UniqueClaim], need: int
) -> tuple[dict[int, int], list[tuple[UniqueClaim, str | None, int]]]:
    """Per claim: how many replicas granted it, and the conflicts (claim, owner, age ms)."""
    alive = client.alive()
    per_shard: dict[str, list[UniqueClaim]] = {}
    for c in claims:
        live = [s for s in client.ring.replicas_for_key(_ring_key(c)) if alive[s]]
        if len(live) < need:
            raise ConsistencyNotMet("unique check", need, len(live))
        for s in live:
            per_shard.setdefault(s, []).append(c)
    shards = list(per_shard)
    answers = await asyncio.gather(
        *(client.call(s, "POST", "/unique/claim", {"claims": per_shard[s]}) for s in shards),
        return_exceptions=True,
    )
    oks: dict[int, int] = {}
    conflicts: dict[int, tuple[UniqueClaim, str | None, int]] = {}
    for shard, answer in zip(shards, answers, strict=True):
        if isinstance(answer, ShardUnavailable):
            continue
        if isinstance(answer, BaseException):
            raise answer
        results: list[ClaimResult] = answer["results"]
        for c, res in zip(per_shard[shard], results, strict=True):
            if res["ok"]:
                oks[id(c)] = oks.get(id(c), 0) + 1
            else:
                age = res.get("age_ms") or 0
                known = conflicts.get(id(c))
                # Heal only if every replica's claim is old enough: take the youngest.
                if known is None or age < known[2]:
                    conflicts[id(c)] = (c, res["owner"], age)
    return oks, list(conflicts.values())


async def _stale_owners(
    client: ClusterClient,
    conflicts: Sequence[tuple[UniqueClaim, str | None, int]],
    consistency: Consistency,
) -> dict[int, str]:
    """Claims (by id) whose old owner does not hold the value: claim id -> that owner."""
    stale: dict[int, str] = {}
    for c, owner, age in conflicts:
        if owner is None or age < client.stale_claim_ms:
            continue
        docs = await client.get(c["collection"], [owner], consistency=consistency)
        doc = docs.get(owner)
        body = None if doc is None or doc["deleted"] else doc["body"]
        if body is None or canonical(body.get(c["field"])) != c["value"]:
            stale[id(c)] = owner
    return stale


def _ring_key(c: UniqueClaim) -> str:
    return f"unique\x00{c['collection']}\x00{c['field']}\x00{c['value']}"
