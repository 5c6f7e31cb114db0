"""What a shard knows of the other shards for delivery: which primaries are down long enough
to take their events over, and telling a key's other replicas that an event was delivered.

"Delivered" is sent in batches each second, kept while the peer is down. What is still lost
(the deliverer was killed with its batch in memory) is repaired by reconciliation: every few
rounds a replica asks each healthy owner about its copies pending for over `STALE_MS` and
takes up the owner's outcome. A replica that takes over before that delivers the event again:
at-least-once allows it, and the event id, which receivers deduplicate on, stays the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

import aiohttp

log = logging.getLogger("shardgate.triggers")

STALE_MS = 5000  # a replica's copy pending this long is checked with its owner
RECONCILE_EVERY = 5  # rounds


async def _nothing(_outcomes: dict[str, str]) -> None:
    return None


class Peers:
    def __init__(
        self,
        shard_id: str,
        *,
        urls: Callable[[], Mapping[str, str]],
        grace_s: Callable[[], float],
        on_change: Callable[[], None],
        stale_copies: Callable[[str], list[str]] = lambda _peer: [],
        settle: Callable[[dict[str, str]], Awaitable[None]] = _nothing,
        interval_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stale_copies = stale_copies
        self._settle = settle
        self._rounds = 0
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
        self._rounds += 1
        if self._rounds % RECONCILE_EVERY == 0:
            await asyncio.gather(*(self._reconcile(p, u) for p, u in urls.items()))

    async def _reconcile(self, peer: str, url: str) -> None:
        assert self._session is not None
        ids = self._stale_copies(peer)
        if not ids or peer in self.down_since:
            return
        try:
            async with self._session.post(url + "/events/status", json={"ids": ids}) as resp:
                if resp.status != 200:
                    return
                outcomes = (await resp.json())["status"]
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError, KeyError):
            return
        if outcomes:
            await self._settle(outcomes)

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
