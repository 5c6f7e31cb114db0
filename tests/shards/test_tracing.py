"""Spans in memory: the server span middleware, propagation, sampling, and tracing off."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from shards.telemetry import TelemetrySettings, Tracing
from shards.telemetry.asgi import ServerSpans

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"


def memory(settings: TelemetrySettings | None = None) -> tuple[Tracing, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    return Tracing.with_processor(SimpleSpanProcessor(exporter), settings), exporter


def app(tracing: Tracing, *, continued_only: bool = False) -> Starlette:
    async def ok(request: Request) -> Response:
        headers: dict[str, str] = {}
        with tracing.span("work"):
            tracing.inject(headers)  # what a call made from here would send
        return PlainTextResponse(headers.get("traceparent", ""))

    async def broken(request: Request) -> Response:
        raise RuntimeError("SELECT secret FROM t WHERE host = 'db.internal'")

    async def unavailable(request: Request) -> Response:
        return PlainTextResponse("down", 503)

    return Starlette(
        routes=[Route("/ok", ok), Route("/broken", broken), Route("/down", unavailable)],
        middleware=[
            Middleware(
                ServerSpans,
                tracing=tracing,
                route=lambda path: None if path == "/health" else path,
                continued_only=continued_only,
            )
        ],
    )


@pytest.fixture
async def traced() -> AsyncIterator[tuple[httpx.AsyncClient, InMemorySpanExporter]]:
    tracing, exporter = memory()
    transport = httpx.ASGITransport(app=app(tracing), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client, exporter


async def test_a_server_span_continues_the_callers_trace(
    traced: tuple[httpx.AsyncClient, InMemorySpanExporter],
) -> None:
    client, exporter = traced
    resp = await client.get("/ok?token=abc", headers={"traceparent": f"00-{TRACE_ID}-{PARENT}-01"})
    work, server = exporter.get_finished_spans()
    assert server.name == "GET /ok" and server.kind is SpanKind.SERVER
    assert format(server.context.trace_id, "032x") == TRACE_ID
    assert format(server.parent.span_id, "016x") == PARENT
    assert work.parent.span_id == server.context.span_id
    assert dict(server.attributes) == {
        "http.request.method": "GET",
        "http.route": "/ok",
        "url.path": "/ok",  # no host, no query string
        "http.response.status_code": 200,
    }
    # The traceparent sent onwards names the span it was sent from.
    assert resp.text == f"00-{TRACE_ID}-{work.context.span_id:016x}-01"


async def test_failures_are_errors_without_their_text(
    traced: tuple[httpx.AsyncClient, InMemorySpanExporter],
) -> None:
    client, exporter = traced
    assert (await client.get("/broken")).status_code == 500
    assert (await client.get("/down")).status_code == 503
    broken, down = exporter.get_finished_spans()
    assert broken.status.status_code is StatusCode.ERROR
    assert broken.status.description == "RuntimeError"  # the message names SQL and a host
    assert not broken.events  # no exception event, no stack
    assert down.status.status_code is StatusCode.ERROR
    assert down.status.description == "HTTP 503"


async def test_shards_trace_only_continued_requests() -> None:
    tracing, exporter = memory()
    transport = httpx.ASGITransport(app=app(tracing, continued_only=True))
    async with httpx.AsyncClient(transport=transport, base_url="http://shard") as client:
        await client.get("/ok")  # a gateway's background call: no traceparent
        await client.get("/ok", headers={"traceparent": f"00-{TRACE_ID}-{PARENT}-01"})
    servers = [s for s in exporter.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert [s.name for s in servers] == ["GET /ok"]
    assert format(servers[0].context.trace_id, "032x") == TRACE_ID


async def test_the_callers_sampling_decision_is_followed() -> None:
    tracing, exporter = memory(TelemetrySettings(exporter="console", sample_ratio=0.0))
    transport = httpx.ASGITransport(app=app(tracing))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.get("/ok")  # a new trace: sampled out at ratio 0
        assert exporter.get_finished_spans() == ()
        await client.get("/ok", headers={"traceparent": f"00-{TRACE_ID}-{PARENT}-01"})
        assert len(exporter.get_finished_spans()) == 2
        exporter.clear()
        unsampled = await client.get("/ok", headers={"traceparent": f"00-{TRACE_ID}-{PARENT}-00"})
    assert exporter.get_finished_spans() == ()
    assert unsampled.text.endswith("-00")  # the decision travels on


def test_off_is_nothing_at_all() -> None:
    off = Tracing.start(TelemetrySettings())
    assert not off.enabled and off.provider is None
    assert off.span("a") is off.span("b")  # one shared no-op context
    with off.span("a") as span:
        assert not span.is_recording()
    headers: dict[str, str] = {}
    off.inject(headers)
    assert headers == {}
    off.shutdown()
