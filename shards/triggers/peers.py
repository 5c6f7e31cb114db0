"""What a shard knows of the other shards for delivery: which primaries are down long enough
to take their events over, and telling a key's other replicas that an event was delivered.

Both are best effort. A replica that misses "delivered" (it was down, or the message was lost)
delivers the event again if it ever takes over: at-least-once allows that, and the event id,
which receivers deduplicate on, stays the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping

import aiohttp

log = logging.getLogger("shardgate.triggers")


class Peers:
    def __init__(
        self,
        shard_id: str,
        *,
        urls: Callable[[], Mapping[str, str]],
        grace_s: Callable[[], float],
        on_change: Callable[[], None],
        interval_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shard_id = shard_id
        self._urls = urls
        self._grace_s = grace_s
        self._on_change = on_change
        self._interval_s = interval_s
        self._monotonic = monotonic
        self.down_since: dict[str, float] = {}
        self._taken: frozenset[str] = frozenset()
        self._delivered: dict[str, set[str]] = {}  # peer -> event ids to tell it about
        self._session: aiohttp.ClientSession | None = None

    def owners(self) -> frozenset[str]:
        """Whose events this shard delivers: its own and those of primaries taken over."""
        return frozenset({self.shard_id, *self._taken})

    def observe(self, peer: str, healthy: bool) -> None:
        """Record one health check result (tests drive this with an injected clock)."""
        if healthy:
            self.down_since.pop(peer, None)
        else:
            self.down_since.setdefault(peer, self._monotonic())
        self._update()

    def _update(self) -> None:
        now, grace = self._monotonic(), self._grace_s()
        taken = frozenset(p for p, since in self.down_since.items() if now - since >= grace)
        if taken != self._taken:
            if taken - self._taken:
                log.warning("taking over trigger delivery for %s", sorted(taken - self._taken))
            self._taken = taken
            self._on_change()

    def delivered(self, event_id: str, replicas: tuple[str, ...]) -> None:
        for peer in replicas:
            if peer != self.shard_id:
                self._delivered.setdefault(peer, set()).add(event_id)

    async def run(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=2.0), trust_env=False
        )
        try:
            while True:
                await asyncio.sleep(self._interval_s)
                with contextlib.suppress(Exception):
                    await self.round()
        finally:
            await self._session.close()

    async def round(self) -> None:
        urls = {p: u for p, u in self._urls().items() if p != self.shard_id}
        await asyncio.gather(*(self._check(p, u) for p, u in urls.items()))
        self._update()
        await asyncio.gather(*(self._notify(p, u) for p, u in urls.items()))

    async def _check(self, peer: str, url: str) -> None:
        assert self._session is not None
        try:
            async with self._session.get(url + "/health") as resp:
                ok = resp.status == 200 and (await resp.json()).get("id") == peer
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
            ok = False
        self.observe(peer, ok)

    async def _notify(self, peer: str, url: str) -> None:
        assert self._session is not None
        ids = self._delivered.pop(peer, None)
        if not ids or peer in self.down_since:
            if ids:
                self._delivered.setdefault(peer, set()).update(ids)  # keep for its return
            return
        try:
            async with self._session.post(
                url + "/events/delivered", json={"ids": sorted(ids)}
            ) as resp:
                if resp.status != 200:
                    raise aiohttp.ClientError(f"HTTP {resp.status}")
        except (aiohttp.ClientError, TimeoutError, OSError):
            self._delivered.setdefault(peer, set()).update(ids)
