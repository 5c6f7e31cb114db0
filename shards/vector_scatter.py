"""Vector search over the ring: live shards that together hold every range are asked for
the top k of everything they hold, and the answers are merged into the global top k.

Why a shard answers for all it holds (not for one replica's share of ranges, as
`shards.scatter` scans do): its FAISS index holds all of its ranges, so restricting it to
some of them costs a mask and, for HNSW/IVF, a wider search, while its top k over all of
them is a superset of what it would return for some. Any document of the global top k is in
the top k of every shard that holds it, so the union of the answers of a cover of the ranges
holds the global top k; a document two replicas return is counted once (its newest version).
At ONE the cover is small and rotates (3 shards, replication 2: two shards a search, a
different two each time); a shard of it that is down is left out of it, and one that fails
during the search has its ranges asked of the shards not asked yet.

Consistency: a range is covered when `need` of its replicas answered (ONE: 1). A range with
fewer is
- at ONE: an error (`SHARD_UNAVAILABLE`), or, with `partial`, left out of the answer, which
  says so (`SearchAnswer.missing`);
- at QUORUM/ALL: `CONSISTENCY_NOT_MET`.
At QUORUM/ALL every hit is checked against the other answering replicas of its range: one
that did not return it is asked for its stored version, and a newer version there (a delete,
an update that moved the vector or no longer matches `where`) drops the hit. The answer then
holds only documents as the newest of `need` replicas has them, and may hold fewer than k when
replicas disagree (a dropped hit is not replaced). Searches do not repair replicas.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shards.errors import ConsistencyNotMet, ShardUnavailable
from shards.ring import Ring, TokenRange, merge_adjacent

if TYPE_CHECKING:
    from shards.client import ClusterClient

Hit = tuple[float, dict[str, Any]]


@dataclass(frozen=True)
class SearchAnswer:
    hits: list[Hit]  # best first
    missing: list[TokenRange] = field(default_factory=list)  # ranges left out (partial)
    unavailable: list[str] = field(default_factory=list)  # shards down or failed

    @property
    def coverage(self) -> float:
        """Share of the token space the answer covers (1.0 unless partial)."""
        return 1.0 - sum(r.hi - r.lo + 1 for r in self.missing) / 2**64


@dataclass(frozen=True)
class Layout:
    """What a search needs of a ring (the client keeps one per ring: computing it is ~1 ms)."""

    ranges: list[TokenRange]
    holdings: dict[str, list[tuple[int, int]]]  # shard -> every range it holds, merged
    covers: dict[str, int]  # shard -> the ranges it holds, as bits of a Python int
    turns: itertools.count[int] = field(default_factory=itertools.count)  # rotates the cover


def layout(ring: Ring) -> Layout:
    ranges = ring.ranges()
    holdings: dict[str, list[tuple[int, int]]] = {s: [] for s in ring.shards}
    covers = dict.fromkeys(ring.shards, 0)
    for i, r in enumerate(ranges):
        for s in r.replicas:
            holdings[s].append((r.lo, r.hi))
            covers[s] |= 1 << i
    merged = {s: merge_adjacent(rs) for s, rs in holdings.items()}
    return Layout(ranges, merged, covers)


def cover(plan: Layout, live: list[str]) -> list[str]:
    """Live shards that together hold every range any live shard holds, few of them, taken
    in turn (3 shards, replication 2: two of them, a different two each time)."""
    start = next(plan.turns) % len(live) if live else 0
    reachable = 0
    for s in live:
        reachable |= plan.covers[s]
    chosen, covered = [], 0
    for s in live[start:] + live[:start]:
        if plan.covers[s] & ~covered:
            chosen.append(s)
            covered |= plan.covers[s]
            if covered == reachable:
                break
    return chosen


async def search(
    client: ClusterClient,
    request: dict[str, Any],
    k: int,
    similarity: bool,
    need: int,
    partial: bool,
) -> SearchAnswer:
    """`request`: one shard's `POST /search` body but the ranges; `need`: replicas per range
    (the consistency level); `partial`: at ONE, leave out ranges with no live replica (and
    say which) instead of failing. Its `omit` fields may be missing from the documents."""
    ring = client.ring
    plan = client.search_layout()
    alive = client.alive()
    live = [s for s in ring.shards if alive[s]]
    answered: dict[str, dict[str, Any]] = {}
    failed: set[str] = set()
    # At ONE a cover of the ranges is enough (each answer is the top k of all a shard
    # holds); at QUORUM/ALL every live replica is needed. A cover shard that fails has its
    # ranges asked of the live shards not asked yet, once.
    asked = cover(plan, live) if need == 1 else live
    for _ in range(2):
        answers = await asyncio.gather(
            *(
                client.search_shard(s, {**request, "ranges": plan.holdings[s], "meta": True})
                for s in asked
            ),
            return_exceptions=True,
        )
        for shard, answer in zip(asked, answers, strict=True):
            if isinstance(answer, ShardUnavailable):
                failed.add(shard)  # `call` marked it down
            elif isinstance(answer, BaseException):
                raise answer
            else:
                answered[shard] = answer
        if need > 1 or not failed:
            break
        asked = [s for s in live if s not in answered and s not in failed]
    if not answered:  # a partial answer of nothing would only hide the outage
        raise ShardUnavailable("no shard is reachable")
    unavailable = [s for s in ring.shards if not alive[s] or s in failed]
    short = (
        []
        if need == 1 and not unavailable  # a cover of every range answered
        else [r for r in plan.ranges if sum(s in answered for s in r.replicas) < need]
    )
    if short:
        if need > 1:
            got = min(sum(s in answered for s in r.replicas) for r in short)
            raise ConsistencyNotMet("read", need, got)
        if not partial:
            r = short[0]
            raise ShardUnavailable(
                f"no live replica for token range [{r.lo}, {r.hi}] (replicas {list(r.replicas)})"
            )
    best = _newest(answered)
    if need > 1:
        await _drop_superseded(client, request["collection"], ring, answered, best, need)
    ordered = sorted(best.items(), key=lambda kv: (-kv[1][0] if similarity else kv[1][0], kv[0]))
    hits = [(score, doc) for _, (score, _, doc) in ordered[:k]]
    return SearchAnswer(hits, short, unavailable)


def _newest(answered: dict[str, dict[str, Any]]) -> dict[str, tuple[float, tuple[Any, ...], Any]]:
    """key -> (score, (version, origin, token), body): each key once, its newest version."""
    best: dict[str, tuple[float, tuple[Any, ...], Any]] = {}
    for answer in answered.values():
        for (score, key), doc, meta in zip(
            answer["hits"], answer["docs"], answer["meta"], strict=True
        ):
            found = best.get(key)
            if found is None or tuple(meta[:2]) > tuple(found[1][:2]):
                best[key] = (score, tuple(meta), doc)
    return best


async def _drop_superseded(
    client: ClusterClient,
    collection: str,
    ring: Ring,
    answered: dict[str, dict[str, Any]],
    best: dict[str, tuple[float, tuple[Any, ...], Any]],
    need: int,
) -> None:
    """Drop each hit that an answering replica of its range holds at a newer version."""
    returned: dict[str, set[str]] = {}
    for shard, answer in answered.items():
        for _, key in answer["hits"]:
            returned.setdefault(key, set()).add(shard)
    lookups: dict[str, list[str]] = {}
    for key, (_, meta, _) in best.items():
        for s in ring.preference_list(meta[2]):
            if s in answered and s not in returned[key]:
                lookups.setdefault(s, []).append(key)
    if not lookups:
        return
    stored = await client.gather_gets(collection, lookups)
    for shard, keys in lookups.items():
        docs = stored.get(shard)
        if docs is None:  # failed since it answered the search: it no longer counts
            raise ConsistencyNotMet("read", need, need - 1)
        for key, doc in zip(keys, docs, strict=True):
            if (
                key in best
                and doc is not None
                and (doc["version"], doc["origin"]) > best[key][1][:2]
            ):
                del best[key]
