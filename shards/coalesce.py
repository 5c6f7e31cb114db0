"""Cross-request batching of point reads.

Under load most of a key read's cost is the HTTP message to the shard, not the lookup. Reads
of one collection on one shard requested during the same event-loop turn (concurrent client
requests whose data arrived together) go out as one `/get`, and each caller gets its own
slice of the answer. A lone read waits for nothing: the batch leaves at the end of the turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from shards.protocol import StoredDoc

Call = Callable[[str, str, str, object], Awaitable[Any]]
_Waiter = tuple[Sequence[str], "asyncio.Future[list[StoredDoc | None]]"]


class GetCoalescer:
    def __init__(self, call: Call) -> None:
        self._call = call
        self._pending: dict[tuple[str, str], list[_Waiter]] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self.requests = 0  # /get calls sent: with `reads`, shows how well reads coalesce
        self.reads = 0

    async def get(self, shard: str, collection: str, keys: Sequence[str]) -> list[StoredDoc | None]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[StoredDoc | None]] = loop.create_future()
        batch_key = (shard, collection)
        batch = self._pending.get(batch_key)
        if batch is None:
            batch = self._pending[batch_key] = []
            loop.call_soon(self._flush, batch_key)
        batch.append((keys, future))
        self.reads += 1
        return await future

    def _flush(self, batch_key: tuple[str, str]) -> None:
        batch = self._pending.pop(batch_key)
        task = asyncio.ensure_future(self._send(batch_key, batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch_key: tuple[str, str], batch: list[_Waiter]) -> None:
        shard, collection = batch_key
        keys = list(dict.fromkeys(k for ks, _ in batch for k in ks))
        self.requests += 1
        try:
            answer = await self._call(
                shard, "POST", "/get", {"collection": collection, "keys": keys}
            )
        except BaseException as e:  # every caller of the batch sees the failure
            for _, future in batch:
                if not future.done():
                    future.set_exception(e)
            if not isinstance(e, Exception):
                raise
            return
        found = dict(zip(keys, answer["docs"], strict=True))
        for ks, future in batch:
            if not future.done():
                future.set_result([found[k] for k in ks])

    async def close(self) -> None:
        for task in list(self._sending):
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)
