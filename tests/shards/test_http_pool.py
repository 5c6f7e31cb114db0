"""The keep-alive HTTP client of the hot path, against real HTTP servers on loopback: a small
asyncio server whose answers each test scripts (chunked, closing, silent...), and uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from shards.http_pool import IDLE_SECONDS, HttpError, HttpPool

Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]  # -> keep the connection


def ok(body: bytes, *, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body)


class Server:
    """Reads one request at a time (head + Content-Length body); `answer` writes the reply."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/graphql"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                if not await self.answer(request, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client left, or the test ended with the connection open
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def serving(answer: Answer) -> AsyncIterator[Server]:
    server = Server(answer)
    server.server = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    try:
        yield server
    finally:
        server.server.close()
        await server.server.wait_closed()


async def echo(request: bytes, writer: asyncio.StreamWriter) -> bool:
    writer.write(ok(request.partition(b"\r\n\r\n")[2]))
    await writer.drain()
    return True


async def test_posts_and_reuses_one_connection() -> None:
    pool = HttpPool()
    async with serving(echo) as server:
        for i in range(5):
            reply = await pool.request("POST", server.url, b'{"n":%d}' % i, {"x-a": "1"})
            assert (reply.status, reply.body) == (200, b'{"n":%d}' % i)
        assert server.connections == 1
        head = server.requests[0].partition(b"\r\n\r\n")[0].decode()
        assert head.startswith("POST /graphql HTTP/1.1\r\n")
        assert "x-a: 1" in head and "content-length: 7" in head and "host: 127.0.0.1:" in head
    await pool.close()


async def test_concurrent_requests_open_as_many_connections_and_keep_them() -> None:
    pool = HttpPool()
    async with serving(echo) as server:
        bodies = [b"%d" % i for i in range(8)]
        replies = await asyncio.gather(*(pool.request("POST", server.url, b) for b in bodies))
        assert [r.body for r in replies] == bodies
        await asyncio.gather(*(pool.request("POST", server.url, b) for b in bodies))
        assert server.connections == 8
    await pool.close()


async def test_chunked_and_eof_delimited_bodies() -> None:
    async def chunked(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        return True

    async def until_eof(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nall of it")
        await writer.drain()
        return False  # closes: the body ends there

    pool = HttpPool()
    async with serving(chunked) as server:
        assert (await pool.request("POST", server.url, b"x")).body == b"hello world"
        assert (await pool.request("POST", server.url, b"x")).body == b"hello world"
        assert server.connections == 1
    async with serving(until_eof) as server:
        assert (await pool.request("GET", server.url)).body == b"all of it"
        assert (await pool.request("GET", server.url)).body == b"all of it"
        assert server.connections == 2  # not kept: it ended with the body
    await pool.close()


async def test_connection_close_answers_are_not_reused() -> None:
    async def closing(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(ok(b"{}", extra=b"connection: close\r\n"))
        await writer.drain()
        return False

    pool = HttpPool()
    async with serving(closing) as server:
        for _ in range(3):
            assert (await pool.request("POST", server.url, b"{}")).status == 200
        assert server.connections == 3
    await pool.close()


async def test_an_idle_connection_the_server_closed_is_not_used() -> None:
    async def once(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(ok(b"{}"))
        await writer.drain()
        return False  # closes after answering, without saying so

    pool = HttpPool()
    async with serving(once) as server:
        assert (await pool.request("POST", server.url, b"{}")).status == 200
        idle = pool._idle[("127.0.0.1", int(server.url.split(":")[2].split("/")[0]), False)]
        await wait_for(lambda: idle[0].closed)
        assert (await pool.request("POST", server.url, b"{}")).status == 200
        assert server.connections == 2
    await pool.close()


async def test_a_stale_connection_is_retried_only_when_idempotent() -> None:
    """The server drops the connection on reading the second request, before answering: the
    classic keep-alive race. A query is sent again; a mutation is not (it may have run)."""
    answered: list[int] = []

    async def drop_second(request: bytes, writer: asyncio.StreamWriter) -> bool:
        if len(answered) % 2 == 1:
            answered.append(0)
            writer.transport.abort()
            return False
        answered.append(1)
        writer.write(ok(b"{}"))
        await writer.drain()
        return True

    pool = HttpPool()
    async with serving(drop_second) as server:
        await pool.request("POST", server.url, b"{}")
        reply = await pool.request("POST", server.url, b"{}", idempotent=True)
        assert reply.status == 200 and server.connections == 2
        with pytest.raises(HttpError, match="closed before an answer"):
            await pool.request("POST", server.url, b"{}", idempotent=False)
    await pool.close()


async def test_timeout_covers_a_silent_server_and_the_connection_is_dropped() -> None:
    async def silent(request: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.Event().wait()
        return False

    pool = HttpPool()
    async with serving(silent) as server:
        with pytest.raises(TimeoutError):
            await pool.request("POST", server.url, b"{}", within=0.2)
        assert not any(pool._idle.values()) and not pool._busy
    await pool.close()


async def test_refused_malformed_and_oversized_answers() -> None:
    async def garbage(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"SMTP ready\r\n\r\n")
        return True

    async def big(request: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(ok(b"x" * 2048))
        return True

    pool = HttpPool(max_body=1024)
    async with serving(garbage) as server:
        with pytest.raises(HttpError, match="malformed HTTP answer"):
            await pool.request("POST", server.url, b"{}")
    async with serving(big) as server:
        with pytest.raises(HttpError, match="an answer over 1024 bytes"):
            await pool.request("POST", server.url, b"{}")
        url = server.url
    with pytest.raises(OSError):  # nothing listens there any more
        await pool.request("POST", url, b"{}")
    with pytest.raises(ValueError, match="not an http"):
        await pool.request("POST", "ftp://127.0.0.1/x")
    with pytest.raises(ValueError, match="line break"):
        await pool.request("POST", url, b"{}", {"x-a": "1\r\nx-b: 2"})
    await pool.close()


async def test_cancelled_requests_do_not_leave_a_half_read_connection() -> None:
    release = asyncio.Event()

    async def slow(request: bytes, writer: asyncio.StreamWriter) -> bool:
        if b"slow" in request:
            await release.wait()
        writer.write(ok(request.partition(b"\r\n\r\n")[2]))
        await writer.drain()
        return True

    pool = HttpPool()
    async with serving(slow) as server:
        task = asyncio.create_task(pool.request("POST", server.url, b"slow"))
        await wait_for(lambda: len(server.requests) == 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        assert (await pool.request("POST", server.url, b"next")).body == b"next"
        assert server.connections == 2
    await pool.close()


def test_idle_connections_are_dropped_before_peers_drop_them() -> None:
    assert IDLE_SECONDS < 5  # uvicorn's and Node's keep-alive timeout


async def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)
