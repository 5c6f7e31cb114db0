"""The moving window in memory and in a real redis-server: the same answers, step by step,
and the same Redis layout as the `limits` library's own moving window (the reference)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from limits import parse
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

from auth.rate_limit_settings import RateLimitSettings
from auth.rate_limits import Caller, RateLimiter
from auth.rate_windows import MemoryWindows, RedisWindows, Window
from tests.support.redis import Redis, running_redis

pytestmark = pytest.mark.slow


async def scripts_run(client: Any) -> int:
    stats = await client.info("commandstats")
    return sum(stats.get(f"cmdstat_{c}", {}).get("calls", 0) for c in ("eval", "evalsha"))


@pytest.fixture(scope="module")
def redis() -> Iterator[Redis]:
    with running_redis() as server:
        yield server


# (seconds since start, cost): two windows, the second (an operation's) narrower.
STEPS = [(0, 1), (1, 2), (2, 1), (3, 1), (4, 5), (30, 1), (59, 1), (60, 1), (61, 2), (62, 9)]


async def test_memory_and_redis_agree_step_by_step(redis: Redis) -> None:
    start = time.time()
    windows = [Window("LIMITER/p/a/5/1/minute", 5, 60), Window("LIMITER/o/a/3/1/minute", 3, 60)]
    memory, shared = MemoryWindows(), RedisWindows(redis.url, timeout=2.0)
    refused = 0
    try:
        for offset, cost in STEPS:
            now = start + offset
            expected = await memory.hit(windows, cost, now)
            got = await shared.hit(windows, cost, now)
            assert [(a, u, round(o, 3)) for a, u, o in got] == [
                (a, u, round(o, 3)) for a, u, o in expected
            ], f"at +{offset}s, cost {cost}"
            refused += sum(not a for a, _, _ in got)
        assert refused >= 3  # the steps do run into both limits
    finally:
        await shared.close()


async def test_one_round_trip_per_request_whatever_the_policies(redis: Redis) -> None:
    settings = RateLimitSettings.from_sources(
        {"default": "10/second;100/hour", "operations": {"Search": "2/hour"}, "storage": redis.url},
        {},
    )
    limiter = RateLimiter(settings)
    client = limiter.windows.client  # type: ignore[union-attr]
    caller = Caller("subject:rt", "user")
    await limiter.hit(caller, "Search")  # loads the script

    before = await scripts_run(client)
    decision = await limiter.hit(caller, "Search")
    assert decision.allowed and len(decision.states) == 3
    assert await scripts_run(client) - before == 1  # `limits` took two calls per policy: 6
    await limiter.close()


async def test_concurrent_requests_share_round_trips_and_never_overshoot(redis: Redis) -> None:
    settings = RateLimitSettings.from_sources({"default": "50/hour", "storage": redis.url}, {})
    limiter = RateLimiter(settings)
    client = limiter.windows.client  # type: ignore[union-attr]
    caller = Caller("subject:crowd", "user")
    await limiter.hit(caller, "warm-up")
    before = await scripts_run(client)
    decisions = await asyncio.gather(*(limiter.hit(caller, None) for _ in range(80)))
    assert sum(d.allowed for d in decisions) == 49  # 50, less the warm-up
    remaining = sorted(d.states[0].remaining for d in decisions if d.allowed)
    assert remaining == list(range(49))  # each request saw the window as it left it
    assert await scripts_run(client) - before < 20  # not one round trip per request
    await limiter.close()


async def test_counts_are_shared_with_the_limits_library(redis: Redis) -> None:
    """A gateway counting with `limits` (older shardgate) and one with the script see one
    window: same keys, same list of hit times."""
    item = parse("4/hour")
    reference = MovingWindowRateLimiter(
        RedisStorage(f"async+{redis.url}", implementation="redispy", key_prefix="shardgate")
    )
    assert await reference.hit(item, "default", "subject:mixed")
    limiter = RateLimiter(RateLimitSettings.from_sources({"default": "4/hour"}, {}))
    limiter.windows = RedisWindows(redis.url, timeout=2.0)
    caller = Caller("subject:mixed", "user")
    for remaining in (2, 1):
        decision = await limiter.hit(caller, None)
        assert decision.allowed and decision.states[0].remaining == remaining
    stats = await reference.get_window_stats(item, "default", "subject:mixed")
    assert stats.remaining == 1
    assert await reference.hit(item, "default", "subject:mixed")
    assert not (await limiter.hit(caller, None)).allowed
    await limiter.close()
    await reference.storage.bridge.storage.aclose()  # type: ignore[attr-defined]
