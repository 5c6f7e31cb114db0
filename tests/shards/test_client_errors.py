"""The client against shards that answer, but badly: errors must end a request, not loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from shards.client import ClusterClient
from shards.errors import BadRequest, ShardUnavailable
from shards.ring import Ring

DESCRIPTOR = {"name": "t.Doc", "key": "id", "shard_key": "id", "indexes": [], "unique": []}


def fake_shard(name: str, query_status: int, calls: list[str]) -> web.Application:
    async def health(_: web.Request) -> web.Response:
        return web.json_response({"id": name, "status": "ok"})

    async def ok(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def query(request: web.Request) -> web.Response:
        calls.append(request.path)
        if query_status != 200:
            return web.json_response({"error": {"code": "X", "message": "x"}}, status=query_status)
        return web.json_response({"docs": [{"id": "a"}]})

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_post("/collections", ok)
    app.router.add_post("/query", query)
    return app


@pytest.fixture
async def shards() -> AsyncIterator[tuple[dict[str, str], dict[str, list[str]]]]:
    calls: dict[str, list[str]] = {"good": [], "bad": []}
    runners, urls = [], {}
    for name, status in (("good", 200), ("bad", 500)):
        runner = web.AppRunner(fake_shard(name, status, calls[name]))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        urls[name] = f"http://127.0.0.1:{port}"
        runners.append(runner)
    try:
        yield urls, calls
    finally:
        for runner in runners:
            await runner.cleanup()


async def test_a_shard_answering_500_is_failed_over_not_retried_forever(shards) -> None:  # type: ignore[no-untyped-def]
    urls, calls = shards
    client = ClusterClient(Ring.build(urls, vnodes=8, replication=2), urls, health_interval=3600)
    async with client:
        await client.ensure_collections([DESCRIPTOR])  # type: ignore[list-item]
        await asyncio.wait_for(client.query("t.Doc"), 10)
        # One failed ask of the bad shard, then its ranges went to the good one: two asks.
        assert (len(calls["bad"]), len(calls["good"])) == (1, 2)
        assert not client.alive()["bad"]


async def test_without_another_replica_the_scan_fails_fast(shards) -> None:  # type: ignore[no-untyped-def]
    urls, calls = shards
    client = ClusterClient(Ring.build(urls, vnodes=8, replication=1), urls, health_interval=3600)
    async with client:
        await client.ensure_collections([DESCRIPTOR])  # type: ignore[list-item]
        with pytest.raises(ShardUnavailable):
            await asyncio.wait_for(client.query("t.Doc"), 10)
        assert len(calls["bad"]) == 1


async def test_a_request_over_the_shard_body_limit_is_a_bad_request() -> None:
    async def too_big(_: web.Request) -> web.Response:
        return web.json_response(
            {"error": {"code": "PAYLOAD_TOO_LARGE", "message": "x"}}, status=413
        )

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"id": "s", "status": "ok"})

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_post("/write", too_big)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    urls = {"s": f"http://127.0.0.1:{port}"}
    try:
        async with ClusterClient(
            Ring.build(urls, vnodes=8, replication=1), urls, health_interval=3600
        ) as client:
            with pytest.raises(BadRequest, match="body limit"):
                await client.call("s", "POST", "/write", {"writes": []})
            assert client.alive()["s"]  # a request problem, not an outage
    finally:
        await runner.cleanup()
