"""GraphQL over HTTP (the GraphQL-over-HTTP spec) for an executable graphql-core schema.

POST JSON and GET (queries only), `application/graphql-response+json` and `application/json`
responses, GraphiQL for browsers. The request path itself is `gateway/pipeline.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from auth.operation_limits import OperationLimits
from auth.rate_limits import RateLimiter
from gateway.csrf import CsrfSettings
from gateway.documents import DocumentCache
from gateway.executable import Executable, Runner
from gateway.pipeline import Pipeline
from gateway.responses import format_error, wants_graphiql

__all__ = ["DocumentCache", "Executable", "GraphQLEndpoint", "Runner", "format_error"]


class GraphQLEndpoint:
    """A Starlette endpoint serving whatever `current()` returns (hot-swappable)."""

    def __init__(
        self,
        current: Callable[[Request], Executable | None],
        *,
        graphiql: bool = True,
        max_body: int = 32 << 20,
        authenticate: Callable[[Request], Awaitable[Any]] | None = None,
        limits: OperationLimits | None = None,
        rate_limits: RateLimiter | None = None,
        csrf: CsrfSettings | None = None,
        cache: DocumentCache | None = None,  # a traced one when telemetry is on
    ) -> None:
        self.graphiql = graphiql
        self.pipeline = Pipeline(
            current,
            max_body=max_body,
            authenticate=authenticate,
            limits=limits,
            rate_limits=rate_limits,
            csrf=csrf,
            documents=cache,
        )

    async def handle(self, request: Request) -> Response:
        if self.graphiql and wants_graphiql(request):
            return HTMLResponse(get_graphql_ide_html())
        return await self.pipeline.handle(request)
