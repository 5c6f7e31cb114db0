"""Which shards a search asks: a cover of the ring's ranges, small, rotating, and still a
cover when shards are down (shards.vector_scatter)."""

from __future__ import annotations

import pytest

from shards.ring import Ring
from shards.vector_scatter import cover, layout


def covers_every_range(ring: Ring, shards: list[str], live: list[str]) -> bool:
    return all(
        any(s in shards for s in r.replicas)
        for r in ring.ranges()
        if any(s in live for s in r.replicas)
    )


def test_three_shards_replication_two_asks_two_in_turn() -> None:
    ring = Ring.build(["a", "b", "c"], vnodes=64, replication=2)
    plan = layout(ring)
    chosen = [cover(plan, ["a", "b", "c"]) for _ in range(6)]
    assert all(len(c) == 2 and covers_every_range(ring, c, ["a", "b", "c"]) for c in chosen)
    assert {tuple(sorted(c)) for c in chosen} == {("a", "b"), ("b", "c"), ("a", "c")}


@pytest.mark.parametrize(("shards", "replication"), [(5, 2), (6, 3), (4, 1)])
def test_a_cover_holds_every_range_of_the_live_shards(shards: int, replication: int) -> None:
    names = [f"s{i}" for i in range(shards)]
    ring = Ring.build(names, vnodes=32, replication=replication)
    plan = layout(ring)
    for live in (names, names[1:], names[::2]):
        for _ in range(len(live)):
            chosen = cover(plan, live)
            assert set(chosen) <= set(live)
            assert covers_every_range(ring, chosen, live)
    assert len(cover(plan, names)) < shards or replication == 1
