"""Point reads from concurrent requests share one /get per shard and collection."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shards.coalesce import GetCoalescer
from shards.errors import ShardUnavailable


class FakeShards:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, list[str]]] = []
        self.fail = fail

    async def call(self, shard: str, method: str, path: str, payload: Any) -> Any:
        assert (method, path) == ("POST", "/get")
        self.calls.append((shard, payload["keys"]))
        await asyncio.sleep(0)
        if self.fail:
            raise ShardUnavailable(f"shard {shard} is unreachable")
        return {"docs": [{"key": k, "shard": shard} for k in payload["keys"]]}


async def test_reads_in_one_turn_share_one_call_per_shard() -> None:
    shards = FakeShards()
    gets = GetCoalescer(shards.call)
    a, b, c = await asyncio.gather(
        gets.get("s1", "c", ["k1", "k2"]),
        gets.get("s1", "c", ["k2", "k3"]),
        gets.get("s2", "c", ["k9"]),
    )
    assert sorted(shards.calls) == [("s1", ["k1", "k2", "k3"]), ("s2", ["k9"])]
    assert [d["key"] for d in a] == ["k1", "k2"] and [d["key"] for d in b] == ["k2", "k3"]
    assert c == [{"key": "k9", "shard": "s2"}]
    assert (gets.requests, gets.reads) == (2, 3)


async def test_a_lone_read_and_later_turns_are_not_held_back() -> None:
    shards = FakeShards()
    gets = GetCoalescer(shards.call)
    assert await gets.get("s1", "c", ["k1"]) == [{"key": "k1", "shard": "s1"}]
    await gets.get("s1", "c", ["k2"])
    assert shards.calls == [("s1", ["k1"]), ("s1", ["k2"])]


async def test_a_failed_call_fails_every_reader_of_the_batch() -> None:
    gets = GetCoalescer(FakeShards(fail=True).call)
    results = await asyncio.gather(
        gets.get("s1", "c", ["a"]), gets.get("s1", "c", ["b"]), return_exceptions=True
    )
    assert all(isinstance(r, ShardUnavailable) for r in results)


async def test_a_cancelled_reader_does_not_break_the_others() -> None:
    gets = GetCoalescer(FakeShards().call)
    doomed = asyncio.ensure_future(gets.get("s1", "c", ["a"]))
    kept = asyncio.ensure_future(gets.get("s1", "c", ["b"]))
    await asyncio.sleep(0)
    doomed.cancel()
    assert await kept == [{"key": "b", "shard": "s1"}]
    with pytest.raises(asyncio.CancelledError):
        await doomed
