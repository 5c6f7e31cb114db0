"""GraphQL requests go straight to the endpoint; everything else through the Starlette app."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from gateway.fast_path import serve_graphql_directly, with_fast_path


async def graphql(request: Request) -> Response:
    if request.query_params.get("boom"):
        raise RuntimeError("secret text: postgres://admin:hunter2@db")
    return PlainTextResponse(f"graphql {request.method} {await request.body()!r}")


async def other(request: Request) -> Response:
    return PlainTextResponse("starlette")


def app(*, fast: bool = True) -> Starlette:
    built = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", other),
        ]
    )
    if fast:
        serve_graphql_directly(built, graphql)
    return built


async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
    transport = httpx.ASGITransport(app=with_fast_path(app()))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return await client.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_graphql_requests_reach_the_endpoint_and_others_the_app() -> None:
    assert (await call("POST", "/graphql", content=b"{}")).text == "graphql POST b'{}'"
    assert (await call("GET", "/graphql")).text == "graphql GET b''"
    assert (await call("GET", "/healthz")).text == "starlette"
    refused = await call("PUT", "/graphql")
    assert refused.status_code == 405  # as Starlette's router answers it


async def test_a_failing_endpoint_answers_500_without_its_text() -> None:
    response = await call("POST", "/graphql?boom=1", content=b"{}")
    assert response.status_code == 500
    assert response.json() == {
        "errors": [
            {"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
        ]
    }


def test_an_unmarked_app_is_served_as_it_is() -> None:
    unmarked = app(fast=False)
    assert with_fast_path(unmarked) is unmarked
