"""The ring as a value: placement, preference lists, ownership and scatter plans."""

from __future__ import annotations

import itertools

import pytest

from shards.ring import MAX_TOKEN, MIN_TOKEN, Ring, token_of

SHARDS = ["shard-0", "shard-1", "shard-2"]


def test_token_is_stable_across_processes() -> None:
    # BLAKE2b, not hash(): the same key must land on the same shard in every process.
    import hashlib

    expected = int.from_bytes(
        hashlib.blake2b(b"user-1", digest_size=8).digest(), "big", signed=True
    )
    assert token_of("user-1") == expected
    assert MIN_TOKEN <= token_of("") <= MAX_TOKEN


def test_preference_lists_have_r_distinct_shards_primary_first() -> None:
    ring = Ring.build(SHARDS, vnodes=64, replication=2)
    for i in range(500):
        replicas = ring.replicas_for_key(f"k{i}")
        assert len(replicas) == len(set(replicas)) == 2
    assert Ring.build(SHARDS, vnodes=8, replication=3).replicas_for_key("x") in {
        tuple(p)
        for p in [
            ("shard-0", "shard-1", "shard-2"),
            ("shard-0", "shard-2", "shard-1"),
            ("shard-1", "shard-0", "shard-2"),
            ("shard-1", "shard-2", "shard-0"),
            ("shard-2", "shard-0", "shard-1"),
            ("shard-2", "shard-1", "shard-0"),
        ]
    }


def test_ranges_tile_the_whole_token_space() -> None:
    ring = Ring.build(SHARDS, vnodes=16, replication=2)
    ranges = sorted(ring.ranges(), key=lambda r: r.lo)
    assert ranges[0].lo == MIN_TOKEN and ranges[-1].hi == MAX_TOKEN
    for a, b in itertools.pairwise(ranges):
        assert b.lo == a.hi + 1
    # A key's preference list is the one of the range holding its token.
    for i in range(200):
        t = token_of(f"k{i}")
        [r] = [r for r in ranges if r.lo <= t <= r.hi]
        assert r.replicas == ring.preference_list(t)


def test_ownership_is_balanced_with_enough_vnodes() -> None:
    share = Ring.build(SHARDS, vnodes=256, replication=2).ownership()
    assert sum(share.values()) == pytest.approx(1.0)
    assert max(share.values()) - min(share.values()) < 0.08


def test_scatter_plan_covers_each_range_once_with_live_replicas() -> None:
    ring = Ring.build(SHARDS, vnodes=32, replication=2)
    for alive in ({s: True for s in SHARDS}, {"shard-0": True, "shard-1": False, "shard-2": True}):
        plan = ring.scatter_plan(alive)
        assert all(alive[s] for s in plan)
        covered = sum(hi - lo + 1 for rs in plan.values() for lo, hi in rs)
        assert covered == 2**64
    with pytest.raises(LookupError):
        ring.scatter_plan({"shard-0": True, "shard-1": False, "shard-2": False})


def test_bad_layouts_are_refused() -> None:
    with pytest.raises(ValueError, match="replication factor 3"):
        Ring.build(["a", "b"], replication=3)
    with pytest.raises(ValueError, match="at least one shard"):
        Ring.build([])
