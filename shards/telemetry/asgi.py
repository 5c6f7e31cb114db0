"""ASGI middleware: one SERVER span per HTTP request, continuing the caller's `traceparent`.

    Middleware(ServerSpans, tracing=tracing, route=graphql_route)

`route(path)` returns the span's route (its name is "<METHOD> <route>"), or None for paths
that are not traced. With `continued_only`, requests without a `traceparent` are not traced
either (shards: their callers are gateways, whose background work is not traced). Attributes
are the method, route, path and response status, never the host, query string or headers;
a 5xx response (or an exception) makes the span an error.
"""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shards.telemetry.tracing import Tracing, extract, fail

PROPAGATED = (b"traceparent", b"tracestate")


class ServerSpans:
    def __init__(
        self,
        app: ASGIApp,
        *,
        tracing: Tracing,
        route: Callable[[str], str | None] = lambda path: path,
        continued_only: bool = False,
    ) -> None:
        self.app = app
        self.tracing = tracing
        self.route = route
        self.continued_only = continued_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.route(scope["path"]) if scope["type"] == "http" else None
        if route is None:
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in PROPAGATED
        }
        if self.continued_only and "traceparent" not in carrier:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        attributes = {
            "http.request.method": method,
            "http.route": route,
            "url.path": scope["path"],
        }
        with self.tracing.span(
            f"{method} {route}", SpanKind.SERVER, attributes, context=extract(carrier)
        ) as span:

            async def send_with_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        fail(span, f"HTTP {status}")
                await send(message)

            await self.app(scope, receive, send_with_status)
