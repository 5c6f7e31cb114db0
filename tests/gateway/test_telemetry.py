"""The GraphQL pipeline's spans, in process with spans in memory: stages, caches, operation
names, masked errors; no variables, and the document only when configured."""

from __future__ import annotations

from typing import Any

import httpx
from graphql import build_schema
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from auth import Session, Unauthenticated
from gateway.graphql_http import Executable, GraphQLEndpoint
from gateway.telemetry import (
    TracedDocumentCache,
    server_middleware,
    traced_authenticate,
    traced_executable,
)
from shards.telemetry import TelemetrySettings, Tracing

SCHEMA = build_schema("type Query { hello(name: String): String  boom: String }")


def _boom(*_: Any) -> str:
    raise RuntimeError("SELECT password FROM users")  # an internal detail


SCHEMA.query_type.fields["hello"].resolve = lambda _o, _i, name="world": f"hello {name}"  # type: ignore[union-attr]
SCHEMA.query_type.fields["boom"].resolve = _boom  # type: ignore[union-attr]


async def authenticate(request: Request) -> Session:
    if request.headers.get("authorization") == "Bearer wrong":
        raise Unauthenticated("the token's signature does not verify")
    return Session("u1", "user", ("user",))


def client(include_document: bool = False) -> tuple[httpx.AsyncClient, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    settings = TelemetrySettings(exporter="console", include_document=include_document)
    tracing = Tracing.with_processor(SimpleSpanProcessor(exporter), settings)
    executable = traced_executable(Executable(SCHEMA, "v1", lambda _r: None), tracing)
    endpoint = GraphQLEndpoint(
        lambda _request: executable,
        authenticate=traced_authenticate(tracing, authenticate),
        cache=TracedDocumentCache(tracing),
    )
    app = Starlette(
        routes=[Route("/graphql", endpoint.handle, methods=["GET", "POST"])],
        middleware=server_middleware(tracing),
    )
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://test"), exporter


def by_name(spans: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    return {s.name: s for s in spans}


async def test_stages_are_children_of_the_request_span() -> None:
    http, exporter = client()
    async with http:
        body = {"query": "query Hi($n: String) { hello(name: $n) }", "variables": {"n": "Ann"}}
        assert (await http.post("/graphql", json=body)).json() == {"data": {"hello": "hello Ann"}}
        first = by_name(exporter.get_finished_spans())
        exporter.clear()
        await http.post("/graphql", json=body)
        again = by_name(exporter.get_finished_spans())
    server = first["POST /graphql"]
    assert server.attributes is not None
    assert server.attributes["graphql.operation.name"] == "Hi"
    assert server.attributes["graphql.operation.type"] == "query"
    assert server.attributes["http.response.status_code"] == 200
    assert "graphql.document" not in server.attributes
    assert set(first) == {
        "POST /graphql",
        "authenticate",
        "graphql.parse",
        "graphql.validate",
        "graphql.execute",
    }
    assert "graphql.parse" not in again  # a cached parse is not worth a span
    for name in ("authenticate", "graphql.validate", "graphql.execute"):
        assert first[name].parent is not None
        assert first[name].parent.span_id == server.context.span_id
    assert first["graphql.validate"].attributes == {"shardgate.cache.hit": False}
    assert again["graphql.validate"].attributes == {"shardgate.cache.hit": True}
    spans = (*first.values(), *again.values())
    assert all("Ann" not in str(s.attributes) for s in spans)  # variables never


async def test_the_document_only_when_configured() -> None:
    http, exporter = client(include_document=True)
    async with http:
        await http.post("/graphql", json={"query": "{ hello }"})
    server = by_name(exporter.get_finished_spans())["POST /graphql"]
    assert server.attributes is not None
    assert server.attributes["graphql.document"] == "{ hello }"
    assert server.attributes["graphql.operation.type"] == "query"
    assert "graphql.operation.name" not in server.attributes  # an anonymous operation


async def test_errors_are_span_statuses_with_the_masked_message() -> None:
    http, exporter = client()
    async with http:
        await http.post("/graphql", json={"query": "{ boom }"})
        await http.post("/graphql", json={"query": "{ nope }"})
        await http.post("/graphql", json={"query": '{ hello(name: "secret'})
        refused = await http.post(
            "/graphql", json={"query": "{ hello }"}, headers={"authorization": "Bearer wrong"}
        )
    assert refused.status_code == 401
    failed = [
        (s.name, s.status.description)
        for s in exporter.get_finished_spans()
        if s.status.status_code is StatusCode.ERROR
    ]
    assert failed == [
        ("graphql.execute", "Internal server error"),  # not the resolver's SQL
        (
            "graphql.validate",
            "GRAPHQL_VALIDATION_FAILED: Cannot query field 'nope' on type 'Query'.",
        ),
        ("graphql.parse", "GRAPHQL_PARSE_FAILED"),  # a syntax error may quote the document
        ("authenticate", "UNAUTHENTICATED: the token's signature does not verify"),
    ]
    statuses = [
        s.attributes["http.response.status_code"]
        for s in exporter.get_finished_spans()
        if s.name == "POST /graphql" and s.attributes is not None
    ]
    assert statuses == [200, 200, 200, 401]


def test_off_changes_nothing() -> None:
    off = Tracing.off()
    executable = Executable(SCHEMA, "v1", lambda _r: None)
    assert traced_executable(executable, off) is executable
    assert traced_authenticate(off, authenticate) is authenticate
    assert server_middleware(off) == []
