"""Cross-request batching of point reads and vector searches.

Under load most of a key read's cost is the HTTP message to the shard, not the lookup. Reads
of one collection on one shard requested during the same event-loop turn (concurrent client
requests whose data arrived together) go out as one `/get`, and each caller gets its own
slice of the answer. A lone read waits for nothing: the batch leaves at the end of the turn.

Searches to one shard in one turn go out as one `/searches`, answered in one hop to the
shard's vector thread; a search the shard refuses fails alone, not its batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from shards.errors import BadRequest
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


_Search = tuple[dict[str, Any], "asyncio.Future[dict[str, Any]]"]


class SearchCoalescer:
    def __init__(self, call: Call) -> None:
        self._call = call
        self._pending: dict[str, list[_Search]] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self.requests = 0  # /searches calls sent, against `searches` asked
        self.searches = 0

    async def search(self, shard: str, request: dict[str, Any]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        batch = self._pending.get(shard)
        if batch is None:
            batch = self._pending[shard] = []
            loop.call_soon(self._flush, shard)
        batch.append((request, future))
        self.searches += 1
        return await future

    def _flush(self, shard: str) -> None:
        task = asyncio.ensure_future(self._send(shard, self._pending.pop(shard)))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, shard: str, batch: list[_Search]) -> None:
        self.requests += 1
        try:
            answer = await self._call(
                shard, "POST", "/searches", {"searches": [r for r, _ in batch]}
            )
        except BaseException as e:  # every caller of the batch sees the failure
            for _, future in batch:
                if not future.done():
                    future.set_exception(e)
            if not isinstance(e, Exception):
                raise
            return
        for (_, future), one in zip(batch, answer["answers"], strict=True):
            if future.done():
                continue
            if "error" in one:
                future.set_exception(BadRequest(str(one["error"]["message"])))
            else:
                future.set_result(one)

    async def close(self) -> None:
        for task in list(self._sending):
            task.cancel()
        await asyncio.gather(*self._sending, return_exceptions=True)
