"""Moving windows: every policy of one request counted, and its state read, in one step.

    windows = MemoryWindows()                      # or RedisWindows("redis://127.0.0.1:6379")
    [(acquired, used, oldest), ...] = await windows.hit(
        [Window("LIMITER/default/subject:u1/100/1/minute", limit=100, expiry=60), ...],
        cost=1, now=time.time(),
    )

A window holds the times of its hits; a hit of `cost` is acquired when the window has room
for it (fewer than `limit - cost + 1` hits in the last `expiry` seconds). The windows are
tried in order; once one refuses, the later ones are not counted (a refused request uses
nothing) but still report their state: `used` hits in the window, the `oldest` of them (the
window has room again at `oldest + expiry`; `now` when empty).

This is the moving window of the `limits` library, with its Redis layout (a list per window,
newest time first, trimmed to the limit, under the same keys), so gateways of either kind can
share a Redis. Differences: in Redis all the windows of a request take one round trip (one
script; `limits` needs two per window, the hit and then the state for the headers), and the
requests that arrive while a call is out share the next one; in memory a window is a deque
trimmed as it goes, with no background task.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

KEY_PREFIX = "shardgate"

Result = tuple[bool, int, float]  # acquired, hits in the window after it, the oldest hit's time


@dataclass(frozen=True)
class Window:
    key: str
    limit: int
    expiry: int  # seconds


class StorageUnreachable(Exception):
    """The shared store did not answer; `cause` is the client's error, for the log."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


class _Log:
    """One window in memory: (time, cost) of each hit, oldest first, and their sum."""

    __slots__ = ("expiry", "hits", "used")

    def __init__(self, expiry: int) -> None:
        self.expiry = expiry
        self.hits: deque[tuple[float, int]] = deque()
        self.used = 0

    def trim(self, now: float) -> None:
        start = now - self.expiry  # a hit at exactly `start` is still in the window
        hits = self.hits
        while hits and hits[0][0] < start:
            self.used -= hits.popleft()[1]


class MemoryWindows:
    """Windows of one gateway process; idle ones are dropped as later hits come by."""

    def __init__(self) -> None:
        self._logs: OrderedDict[str, _Log] = OrderedDict()  # least recently hit first

    def __len__(self) -> int:
        return len(self._logs)

    async def hit(self, windows: Sequence[Window], cost: int, now: float) -> list[Result]:
        out, allowed = [], True
        for w in windows:
            log = self._logs.get(w.key)
            if log is None:
                log = self._logs[w.key] = _Log(w.expiry)
            else:
                self._logs.move_to_end(w.key)
                log.trim(now)
            acquired = allowed and log.used + cost <= w.limit
            if acquired:
                log.hits.append((now, cost))
                log.used += cost
            allowed = acquired
            out.append((acquired, log.used, log.hits[0][0] if log.hits else now))
        self._forget_idle(now)
        return out

    def _forget_idle(self, now: float) -> None:
        logs = self._logs
        while logs:
            log = next(iter(logs.values()))
            if log.hits and log.hits[-1][0] >= now - log.expiry:
                return
            logs.popitem(last=False)

    async def close(self) -> None:
        self._logs.clear()


# Several requests' hits at once, in order. KEYS: the windows of every request, one after
# the other. ARGV: the number of requests, then per request its time, its cost, its number
# of windows and each window's limit and expiry. Returns per window: acquired (1/0), hits in
# the window and the oldest hit's time (a string: Lua numbers become integers on the way out).
HIT_SCRIPT = """
local out, a, k = {}, 2, 0
for _ = 1, tonumber(ARGV[1]) do
    local stamp, cost, count = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
    local now = tonumber(stamp)
    a = a + 3
    local allowed = true
    for _ = 1, count do
        k = k + 1
        local key = KEYS[k]
        local limit, expiry = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
        a = a + 2
        local start = now - expiry
        local acquired = false
        if allowed and cost <= limit then
            local entry = redis.call('lindex', key, limit - cost)
            if not (entry and tonumber(entry) >= start) then
                acquired = true
                local entries = {}
                for j = 1, cost do
                    entries[j] = stamp
                end
                for j = 1, #entries, 5000 do
                    redis.call('lpush', key, unpack(entries, j, math.min(j + 4999, #entries)))
                end
                redis.call('ltrim', key, 0, limit - 1)
                redis.call('expire', key, expiry)
            end
        end
        allowed = acquired
        -- the oldest hit still in the window: the list is newest first, so binary search
        local low, high, found = 0, math.min(redis.call('llen', key), limit) - 1, nil
        while low <= high do
            local mid = math.floor((low + high) / 2)
            local value = tonumber(redis.call('lindex', key, mid))
            if value and value >= start then
                found = mid
                low = mid + 1
            else
                high = mid - 1
            end
        end
        out[#out + 1] = acquired and 1 or 0
        if found then
            out[#out + 1] = found + 1
            out[#out + 1] = redis.call('lindex', key, found)
        else
            out[#out + 1] = 0
            out[#out + 1] = stamp
        end
    end
end
return out
"""
MAX_BATCH = 64  # requests per script call


@dataclass
class _Pending:
    windows: Sequence[Window]
    cost: int
    now: float
    answer: asyncio.Future[list[Result]]


class RedisWindows:
    """Windows shared by every gateway counting in one Redis.

    Requests arriving while a call is out wait and go together in the next one (in order, as
    one script: atomic), so under load a round trip carries many requests' hits."""

    def __init__(self, url: str, timeout: float) -> None:
        from redis import asyncio as aioredis  # optional: shardgate[redis]
        from redis.exceptions import RedisError

        self._errors: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)
        self.client: Any = aioredis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._script = self.client.register_script(HIT_SCRIPT)
        self._pending: list[_Pending] = []
        self._sender: asyncio.Task[None] | None = None

    async def hit(self, windows: Sequence[Window], cost: int, now: float) -> list[Result]:
        answer: asyncio.Future[list[Result]] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(windows, cost, now, answer))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send())
        return await answer

    async def _send(self) -> None:
        try:
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                await self._call(batch)
        finally:
            self._sender = None

    async def _call(self, batch: list[_Pending]) -> None:
        keys: list[str] = []
        args: list[Any] = [len(batch)]
        for p in batch:
            keys += [f"{KEY_PREFIX}:{w.key}" for w in p.windows]
            args += [repr(p.now), p.cost, len(p.windows)]
            for w in p.windows:
                args += [w.limit, w.expiry]
        try:
            raw = await self._script(keys, args)
        except asyncio.CancelledError:  # closing: nobody waits forever
            for p in (*batch, *self._pending):
                p.answer.cancel()
            raise
        except Exception as e:
            failure = StorageUnreachable(e) if isinstance(e, self._errors) else e
            for p in batch:
                if not p.answer.done():
                    p.answer.set_exception(failure)
            return
        i = 0
        for p in batch:
            n = 3 * len(p.windows)
            triples = range(i, i + n, 3)
            results = [(bool(raw[j]), int(raw[j + 1]), float(raw[j + 2])) for j in triples]
            i += n
            if not p.answer.done():  # its request may have been cancelled meanwhile
                p.answer.set_result(results)

    async def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
        await self.client.aclose()
