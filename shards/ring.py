"""The consistent-hash ring, as a value: virtual-node tokens -> shard -> preference list.

Hash: the first 8 bytes of BLAKE2b over the UTF-8 key, read as a signed big-endian int64
(stdlib, stable across processes and Python versions, unlike `hash()`). A vnode at token `t`
owns the tokens in `(previous vnode's token, t]`; the first vnode also owns the wrap-around
past the last one. A key's preference list is the R distinct shards met walking clockwise
from its token: the first is the primary, the rest are replicas.

    >>> ring = Ring.build(["a", "b", "c"], vnodes=64, replication=2)
    >>> ring.preference_list(ring.token_of("user-1"))
    ('b', 'c')
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

MIN_TOKEN = -(2**63)
MAX_TOKEN = 2**63 - 1


def token_of(key: str) -> int:
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class TokenRange:
    """Inclusive token interval `[lo, hi]` and the shards that hold it, primary first."""

    lo: int
    hi: int
    replicas: tuple[str, ...]


@dataclass(frozen=True)
class Ring:
    shards: tuple[str, ...]
    replication: int
    vnodes: int
    tokens: tuple[int, ...]  # sorted vnode tokens
    preference: tuple[tuple[str, ...], ...]  # preference list per vnode, aligned with tokens
    epoch: int = 1

    @classmethod
    def build(
        cls, shards: Iterable[str], *, vnodes: int = 64, replication: int = 2, epoch: int = 1
    ) -> Ring:
        ids = tuple(sorted(set(shards)))
        if not ids:
            raise ValueError("a ring needs at least one shard")
        if vnodes < 1:
            raise ValueError("vnodes must be at least 1")
        if not 1 <= replication <= len(ids):
            raise ValueError(
                f"replication factor {replication} needs between 1 and {len(ids)} shards"
            )
        points = sorted((token_of(f"{shard}#{i}"), shard) for shard in ids for i in range(vnodes))
        tokens = tuple(t for t, _ in points)
        owners = [s for _, s in points]
        preference = tuple(_walk(owners, i, replication) for i in range(len(owners)))
        return cls(ids, replication, vnodes, tokens, preference, epoch)

    token_of = staticmethod(token_of)

    def preference_list(self, token: int) -> tuple[str, ...]:
        return self.preference[self._vnode_index(token)]

    def replicas_for_key(self, key: str) -> tuple[str, ...]:
        return self.preference_list(token_of(key))

    def ranges(self) -> list[TokenRange]:
        """Every vnode's range, the wrap-around split in two so that lo <= hi always holds."""
        out: list[TokenRange] = []
        for i, token in enumerate(self.tokens):
            replicas = self.preference[i]
            if i == 0:
                if self.tokens[-1] < MAX_TOKEN:
                    out.append(TokenRange(self.tokens[-1] + 1, MAX_TOKEN, replicas))
                out.append(TokenRange(MIN_TOKEN, token, replicas))
            else:
                out.append(TokenRange(self.tokens[i - 1] + 1, token, replicas))
        return out

    def ownership(self) -> dict[str, float]:
        """Share of the token space each shard holds as primary (sums to 1)."""
        share = dict.fromkeys(self.shards, 0)
        for r in self.ranges():
            share[r.replicas[0]] += r.hi - r.lo + 1
        return {s: n / 2**64 for s, n in share.items()}

    def scatter_plan(
        self, alive: Mapping[str, bool], within: Sequence[tuple[int, int]] | None = None
    ) -> dict[str, list[tuple[int, int]]]:
        """One live replica per range, primaries preferred: the shards a full scan asks.

        `within` limits the plan to the ranges inside those intervals (a retry of the ranges
        a failed shard was asked for). Raises LookupError naming a range with no live replica.
        """
        plan: dict[str, list[tuple[int, int]]] = {}
        for r in self.ranges():
            if within is not None and not any(lo <= r.lo <= hi for lo, hi in within):
                continue
            shard = next((s for s in r.replicas if alive.get(s, False)), None)
            if shard is None:
                raise LookupError(r)
            plan.setdefault(shard, []).append((r.lo, r.hi))
        return {s: merge_adjacent(rs) for s, rs in plan.items()}

    def _vnode_index(self, token: int) -> int:
        i = bisect.bisect_left(self.tokens, token)
        return 0 if i == len(self.tokens) else i


def _walk(owners: list[str], start: int, replication: int) -> tuple[str, ...]:
    found: list[str] = []
    n = len(owners)
    for step in range(n):
        shard = owners[(start + step) % n]
        if shard not in found:
            found.append(shard)
            if len(found) == replication:
                break
    return tuple(found)


def merge_adjacent(ranges: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Token ranges sorted, with touching or overlapping ones joined."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged
