"""Identical subgraph queries in flight at once are sent once (HttpSubgraphs + InFlight),
against a real HTTP subgraph on loopback that holds its answers until the test releases them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import orjson
import pytest

from auth.session import Session
from gateway.subgraph_client import HttpSubgraphs, SubgraphFailed


class HeldSubgraph:
    """Answers `{"data": {"n": <request number>}}` once `release` is set; counts requests."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.bodies: list[bytes] = []
        self.fail = False
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/graphql"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                self.bodies.append(await reader.readexactly(length))
                number = len(self.bodies)
                await self.release.wait()
                body = b"oops" if self.fail else orjson.dumps({"data": {"n": number}})
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def held_subgraph(dedupe: bool = True) -> AsyncIterator[tuple[HeldSubgraph, HttpSubgraphs]]:
    subgraph = HeldSubgraph()
    subgraph.server = await asyncio.start_server(subgraph.handle, "127.0.0.1", 0)
    client = HttpSubgraphs({"s": subgraph.url}, dedupe=dedupe)
    try:
        yield subgraph, client
    finally:
        await client.close()
        subgraph.server.close()
        await subgraph.server.wait_closed()


async def fetch_all(
    subgraph: HeldSubgraph, calls: list[Callable[[], object]], requests: int
) -> list[object]:
    """Starts every call, waits until the subgraph holds `requests` of them, releases it."""
    tasks = [asyncio.ensure_future(call()) for call in calls]  # type: ignore[arg-type]
    await wait_for(lambda: len(subgraph.bodies) >= requests)
    subgraph.release.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


async def test_identical_queries_in_flight_are_sent_once_and_answered_separately() -> None:
    async with held_subgraph() as (subgraph, client):
        calls = [lambda: client.fetch("s", "{ n }", {"id": 1}) for _ in range(10)]
        answers = await fetch_all(subgraph, calls, 1)
        assert answers == [{"data": {"n": 1}}] * 10
        assert len(subgraph.bodies) == 1
        first, second = answers[0], answers[1]
        assert isinstance(first, dict) and first is not second  # each caller's own tree
        # Once answered, the same query is sent again: nothing is cached.
        assert await client.fetch("s", "{ n }", {"id": 1}) == {"data": {"n": 2}}


async def test_different_variables_sessions_and_mutations_are_not_merged() -> None:
    alice = Session(subject="alice", role="user", allowed_roles=("user",))
    bob = Session(subject="bob", role="user", allowed_roles=("user",))
    async with held_subgraph() as (subgraph, client):
        calls = [
            lambda: client.fetch("s", "{ n }", {"id": 1}),
            lambda: client.fetch("s", "{ n }", {"id": 2}),
            lambda: client.fetch("s", "{ n }", {"id": 1}, alice),
            lambda: client.fetch("s", "{ n }", {"id": 1}, bob),
            lambda: client.fetch("s", "mutation { n }", {}),
            lambda: client.fetch("s", "mutation { n }", {}),
        ]
        answers = await fetch_all(subgraph, calls, 6)
        assert sorted(a["data"]["n"] for a in answers) == [1, 2, 3, 4, 5, 6]  # type: ignore[index]


async def test_dedupe_can_be_turned_off() -> None:
    async with held_subgraph(dedupe=False) as (subgraph, client):
        calls = [lambda: client.fetch("s", "{ n }", {}) for _ in range(4)]
        answers = await fetch_all(subgraph, calls, 4)
        assert len(subgraph.bodies) == 4 and len(answers) == 4


async def test_a_failure_reaches_every_caller_that_joined() -> None:
    async with held_subgraph() as (subgraph, client):
        subgraph.fail = True
        calls = [lambda: client.fetch("s", "{ n }", {}) for _ in range(3)]
        answers = await fetch_all(subgraph, calls, 1)
        assert len(subgraph.bodies) == 1
        assert all(isinstance(a, SubgraphFailed) for a in answers)
        assert "without a GraphQL response" in str(answers[0])


async def test_the_first_caller_leaving_does_not_fail_the_others() -> None:
    async with held_subgraph() as (subgraph, client):
        first = asyncio.ensure_future(client.fetch("s", "{ n }", {}))
        await wait_for(lambda: len(subgraph.bodies) == 1)
        others = [asyncio.ensure_future(client.fetch("s", "{ n }", {})) for _ in range(3)]
        await asyncio.sleep(0)  # one loop turn: each runs up to joining the request in flight
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        # The waiting callers send it again themselves: one of them leads, the rest join.
        await wait_for(lambda: len(subgraph.bodies) >= 2)
        subgraph.release.set()
        answers = await asyncio.gather(*others)
        assert all("n" in a["data"] for a in answers)
        assert len(subgraph.bodies) == 2


async def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)
