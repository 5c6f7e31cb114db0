"""shardgate's federated gateway for every corpus scenario, in one process: the app that
`shardgate gateway --supergraph FILE` serves, built once per scenario and mounted at
/<scenario>/graphql (starting one process per scenario would cost more than the tests).

    SCENARIOS='{"entities": {"supergraph": "/tmp/x.graphql", "urls": {"a": "http://..."}}}' \
        python -m tests.federation.gateways PORT
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from gateway.federated_app import FederatedSettings, build_federated_app
from gateway.server import uvicorn_options


def build_app(config: dict[str, dict]) -> Starlette:
    apps = {
        name: build_federated_app(
            FederatedSettings(Path(entry["supergraph"]), subgraph_urls=entry["urls"], timeout=10)
        )
        for name, entry in config.items()
    }

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for app in apps.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok\n")

    routes = [Route("/healthz", healthz), *(Mount(f"/{n}", app) for n, app in apps.items())]
    return Starlette(routes=routes, lifespan=lifespan)


if __name__ == "__main__":
    app = build_app(json.loads(os.environ["SCENARIOS"]))
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), **uvicorn_options())
