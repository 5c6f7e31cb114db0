"""Identical subgraph requests in flight at once are sent once; every caller gets the answer.

Many clients asking the same thing at the same moment (a home page's query, a hot entity)
make the same subgraph request: the same subgraph, query text, variables and caller identity
headers. The first caller sends it; callers arriving while it is in flight wait for its
answer instead of sending their own. Hive Gateway does this by default, Apollo Router with
`deduplicate_query`. Only queries: a mutation always runs once per request.

The answer is shared as bytes: each caller parses its own copy, because the executor merges
later fetches into the objects of the tree it builds.

A caller leaving (its client disconnected) does not fail the others: if the first caller is
cancelled, the waiting callers start over: one of them sends it, the others join.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class _FirstCallerLeft(Exception):
    pass


class InFlight(Generic[T]):
    def __init__(self) -> None:
        self._waiting: dict[Hashable, list[asyncio.Future[T]]] = {}

    async def run(self, key: Hashable, send: Callable[[], Awaitable[T]]) -> T:
        waiting = self._waiting.get(key)
        if waiting is not None:
            mine: asyncio.Future[T] = asyncio.get_running_loop().create_future()
            waiting.append(mine)  # a cancelled waiter cancels only its own future
            try:
                return await mine
            except _FirstCallerLeft:
                return await self.run(key, send)  # one of them sends it now, the rest join
        waiting = self._waiting[key] = []
        try:
            result = await send()
        except asyncio.CancelledError:
            _settle(waiting, error=_FirstCallerLeft())
            raise
        except Exception as e:
            _settle(waiting, error=e)
            raise
        finally:
            del self._waiting[key]
        _settle(waiting, result=result)
        return result

    def __len__(self) -> int:
        """Requests in flight that others could join."""
        return len(self._waiting)


def _settle(
    waiting: list[asyncio.Future[T]], *, result: T | None = None, error: Exception | None = None
) -> None:
    for future in waiting:
        if future.done():  # its caller was cancelled
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]
