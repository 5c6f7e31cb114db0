"""Every corpus scenario's subgraphs in one process, each at /<scenario>/<subgraph>/graphql.

    python -m tests.federation.serve PORT

Subgraphs a scenario lists in DOWN answer every request with HTTP 503, as a subgraph that is
unavailable does. GET /healthz answers 200 once everything is mounted.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL

from tests.federation.corpus import scenarios


async def unavailable(_: Request) -> Response:
    return PlainTextResponse("subgraph unavailable\n", status_code=503)


async def healthz(_: Request) -> Response:
    return PlainTextResponse("ok\n")


def build_app() -> Starlette:
    routes = [Route("/healthz", healthz)]
    for scenario in scenarios():
        for name, schema in scenario.subgraphs.items():
            path = f"/{scenario.name}/{name}/graphql"
            if name in scenario.down:
                routes.append(Route(path, unavailable, methods=["GET", "POST"]))
            else:
                routes.append(Route(path, GraphQL(schema, graphql_ide=None)))
    return Starlette(routes=routes)


def subgraph_urls(base: str, scenario: str) -> dict[str, str]:
    """Where the serving process answers for each subgraph of `scenario`."""
    found = next(s for s in scenarios() if s.name == scenario)
    return {name: f"{base}/{scenario}/{name}/graphql" for name in found.subgraphs}


if __name__ == "__main__":
    uvicorn.run(build_app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
