"""A real OTLP/HTTP trace receiver on loopback, for tests and benchmarks: decodes each
`ExportTraceServiceRequest` (protobuf, as the OpenTelemetry exporter sends it) with the
`opentelemetry-proto` package and keeps the spans.

    python -m tests.support.otlp          # prints "READY <port>" (it binds a free port)
    python -m tests.support.otlp --count-only   # parses, but keeps only the count (benches)

    POST /v1/traces   an export: 200 with an empty ExportTraceServiceResponse
    GET  /_spans      {"spans": [{"trace_id", "span_id", "parent_span_id", "name", "kind",
                       "attributes", "status": {"code", "message"}, "resource", "events"}]}
                      (ids in hex, "" for no parent; ?count=1: only {"count": N})
    POST /_reset      forget them

    with otlp_receiver() as receiver:          # the process, always stopped
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}
        receiver.wait_for(lambda spans: ..., "what we wait for")
"""

from __future__ import annotations

import asyncio
import gzip
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from aiohttp import web
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tests.support.processes import ManagedProcess, OutputLine, running_process

Spans = list[dict[str, Any]]
KINDS = {
    Span.SPAN_KIND_INTERNAL: "INTERNAL",
    Span.SPAN_KIND_SERVER: "SERVER",
    Span.SPAN_KIND_CLIENT: "CLIENT",
    Span.SPAN_KIND_PRODUCER: "PRODUCER",
    Span.SPAN_KIND_CONSUMER: "CONSUMER",
}
CODES = {Status.STATUS_CODE_UNSET: "UNSET", Status.STATUS_CODE_OK: "OK"}
CODES[Status.STATUS_CODE_ERROR] = "ERROR"


def _value(v: AnyValue) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return _attributes(v.kvlist_value.values)
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, kind) if kind else None


def _attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs if isinstance(kv, KeyValue)}


def decode(body: bytes) -> Spans:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope in resource_spans.scope_spans:
            for span in scope.spans:
                spans.append(
                    {
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "name": span.name,
                        "kind": KINDS.get(span.kind, "UNSPECIFIED"),
                        "attributes": _attributes(span.attributes),
                        "status": {
                            "code": CODES.get(span.status.code, "UNSET"),
                            "message": span.status.message,
                        },
                        "resource": resource,
                        "events": [
                            {"name": e.name, "attributes": _attributes(e.attributes)}
                            for e in span.events
                        ],
                        "start": span.start_time_unix_nano,
                        "end": span.end_time_unix_nano,
                    }
                )
    return spans


def count(body: bytes) -> int:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    return sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)


def build(count_only: bool = False) -> web.Application:
    spans: Spans = []
    counted = [0]

    async def export(request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        try:
            if count_only:
                counted[0] += count(body)
            else:
                spans.extend(decode(body))
        except DecodeError:
            return web.Response(status=400, text="not an ExportTraceServiceRequest")
        answer = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=answer, content_type="application/x-protobuf")

    async def listing(request: web.Request) -> web.Response:
        if request.query.get("count"):
            return web.json_response({"count": len(spans) + counted[0]})
        return web.json_response({"spans": spans})

    async def reset(request: web.Request) -> web.Response:
        spans.clear()
        counted[0] = 0
        return web.json_response({"ok": True})

    app = web.Application(client_max_size=64 << 20)
    app.router.add_post("/v1/traces", export)
    app.router.add_get("/_spans", listing)
    app.router.add_post("/_reset", reset)
    return app


async def main(count_only: bool) -> None:
    runner = web.AppRunner(build(count_only), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"READY {port}", flush=True)
    await asyncio.Event().wait()


class OtlpReceiver:
    def __init__(self, process: ManagedProcess, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"  # OTEL_EXPORTER_OTLP_ENDPOINT
        self.http = httpx.Client(timeout=10, trust_env=False)

    def spans(self) -> Spans:
        return list(self.http.get(self.url + "/_spans").json()["spans"])

    def count(self) -> int:
        return int(self.http.get(self.url + "/_spans", params={"count": 1}).json()["count"])

    def reset(self) -> None:
        self.http.post(self.url + "/_reset").raise_for_status()

    def wait_for(self, check: Callable[[Spans], Any], what: str, timeout: float = 20.0) -> Spans:
        """Poll until `check(spans)` is true; returns the spans it was true of."""
        found: list[Spans] = [[]]

        def poll() -> bool:
            found[0] = self.spans()
            return bool(check(found[0]))

        self.process.wait_until(poll, what, timeout)
        return found[0]


@contextmanager
def otlp_receiver(*, count_only: bool = False) -> Iterator[OtlpReceiver]:
    from tests.support.cluster import REPO

    with running_process(
        [sys.executable, "-m", "tests.support.otlp", *(["--count-only"] if count_only else [])],
        ready=OutputLine(r"^READY \d+$"),
        cwd=REPO,
        name="otlp-receiver",
    ) as process:
        port = int(process.wait_for_line(r"^READY (\d+)$", timeout=5).group(1))
        receiver = OtlpReceiver(process, port)
        try:
            yield receiver
        finally:
            receiver.http.close()


if __name__ == "__main__":
    asyncio.run(main(count_only="--count-only" in sys.argv[1:]))
