"""`shardgate gateway` on SIGTERM: requests in flight finish, then the process exits."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from tests.support.cluster import REPO
from tests.support.ports import free_port
from tests.support.processes import HttpReady, running_process

pytestmark = pytest.mark.slow

SDL = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n'
    "type Query { slow: String }\n"
)


ARRIVED = threading.Event()  # set when the slow query has reached the subgraph


@pytest.fixture
def slow_subgraph() -> Iterator[str]:
    """A subgraph that answers `slow` after a second (and its SDL at once), on loopback."""
    port = free_port()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    ARRIVED.clear()

    async def graphql(request: web.Request) -> web.Response:
        body = await request.json()
        if "_service" in body["query"]:
            return web.json_response({"data": {"_service": {"sdl": SDL}}})
        ARRIVED.set()
        await asyncio.sleep(1.0)  # the request the gateway must finish after SIGTERM
        return web.json_response({"data": {"slow": "done"}})

    async def serve() -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/graphql", graphql)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    def run() -> None:
        asyncio.set_event_loop(loop)
        runner = loop.run_until_complete(serve())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield f"http://127.0.0.1:{port}/graphql"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_sigterm_finishes_requests_in_flight_then_exits(slow_subgraph: str, tmp_path: Path) -> None:
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gateway",
        "gateway",
        "--port",
        str(port),
        "--subgraph",
        f"slow={slow_subgraph}",
    ]
    with running_process(
        argv,
        name="shardgate-gateway",
        cwd=REPO,
        ready=HttpReady(f"http://127.0.0.1:{port}/healthz"),
    ) as gateway:
        answers: list[httpx.Response] = []
        asking = threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    f"http://127.0.0.1:{port}/graphql",
                    json={"query": "{ slow }"},
                    timeout=30,
                    trust_env=False,
                )
            )
        )
        asking.start()
        assert ARRIVED.wait(15), "the request never reached the subgraph"
        gateway.popen.send_signal(signal.SIGTERM)  # while the subgraph is still answering
        asking.join(30)
        assert answers and answers[0].json() == {"data": {"slow": "done"}}
        gateway.popen.wait(15)  # and then it is gone, promptly
        assert gateway.returncode is not None


def test_a_subgraph_over_its_own_timeout_fails_alone(slow_subgraph: str) -> None:
    from tests.peers.apollo import shop_subgraphs
    from tests.support.gateways import shardgate_gateway

    with (
        shop_subgraphs() as shop,
        shardgate_gateway(
            compose_from={"slow": slow_subgraph, "accounts": shop["accounts"]},
            extra=["--subgraph-timeout", "slow=0.2"],
        ) as url,
    ):
        answer = httpx.post(
            url, json={"query": "{ slow me { name } }"}, timeout=30, trust_env=False
        ).json()
    assert answer["data"] == {"slow": None, "me": {"name": "Ada"}}
    [error] = answer["errors"]
    assert error["path"] == ["slow"] and error["extensions"]["code"] == "SUBGRAPH_FETCH_FAILED"
    assert "no answer within its timeout" in error["message"]
