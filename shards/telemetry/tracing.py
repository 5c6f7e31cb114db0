"""A process's tracing: spans exported in batches, or nothing at all.

    tracing = Tracing.start(settings, service="shardgate")   # Tracing.off() when exporter=none
    with tracing.span("graphql.plan", attributes={"shardgate.cache.hit": False}) as span:
        ...                                    # span is INVALID_SPAN when tracing is off
    tracing.inject(headers)                    # W3C traceparent of the current span
    tracing.shutdown()                         # flushes what is still queued

Off costs a shared `nullcontext` per span and nothing else: no provider, no middleware, no
headers. Exceptions never put their text or stack into a span: a span an exception leaves
gets ERROR with the exception's type name, unless the code set a safe message before.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
    SpanProcessor,
)
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shards.telemetry.settings import TelemetrySettings

log = logging.getLogger("shardgate.telemetry")

Attributes = Mapping[str, str | bool | int | float]
_OFF = contextlib.nullcontext(INVALID_SPAN)  # reusable: entering it does nothing
_PROPAGATOR = TraceContextTextMapPropagator()
FLUSH_MILLIS = 3000  # at shutdown; a collector that is down must not hold the process


class Tracing:
    def __init__(self, provider: TracerProvider | None, *, include_document: bool = False):
        self.provider = provider
        self.enabled = provider is not None
        self.include_document = include_document
        self._tracer = provider.get_tracer("shardgate") if provider is not None else None

    @classmethod
    def off(cls) -> Tracing:
        return cls(None)

    @classmethod
    def start(
        cls,
        settings: TelemetrySettings,
        *,
        service: str | None = None,
        attributes: Attributes | None = None,
    ) -> Tracing:
        """A provider exporting to what `settings` says; `service` overrides its name."""
        if not settings.enabled:
            return cls.off()
        exporter: SpanExporter
        if settings.exporter == "console":
            exporter = ConsoleSpanExporter()
        else:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter(endpoint=settings.endpoint)
        return cls.with_processor(
            BatchSpanProcessor(exporter),
            settings,
            service=service,
            attributes=attributes,
        )

    @classmethod
    def with_processor(
        cls,
        processor: SpanProcessor,
        settings: TelemetrySettings | None = None,
        *,
        service: str | None = None,
        attributes: Attributes | None = None,
    ) -> Tracing:
        """Tracing into any span processor (tests use a SimpleSpanProcessor over memory)."""
        settings = settings or TelemetrySettings(exporter="console")
        resource = Resource.create(
            {"service.name": service or settings.service_name, **(attributes or {})}
        )
        provider = TracerProvider(resource=resource, sampler=sampler(settings))
        provider.add_span_processor(processor)
        return cls(provider, include_document=settings.include_document)

    def span(
        self,
        name: str,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes | None = None,
        context: Context | None = None,
    ) -> contextlib.AbstractContextManager[Span]:
        """A child of the current span (or of `context`), current inside the block."""
        if self._tracer is None:
            return _OFF
        return self._span(name, kind, attributes, context)

    @contextlib.contextmanager
    def _span(
        self, name: str, kind: SpanKind, attributes: Attributes | None, context: Context | None
    ) -> Iterator[Span]:
        assert self._tracer is not None
        with self._tracer.start_as_current_span(
            name,
            context=context,
            kind=kind,
            attributes=attributes,
            record_exception=False,  # an exception's text and stack stay out of spans
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except Exception as e:
                fail(span, type(e).__name__)
                raise

    def inject(self, headers: MutableMapping[str, str]) -> None:
        """Adds `traceparent` (and `tracestate`) of the current span, when tracing."""
        if self._tracer is not None:
            _PROPAGATOR.inject(headers)

    def shutdown(self) -> None:
        """Export what is queued (for at most FLUSH_MILLIS), then stop the export thread."""
        if self.provider is not None:
            self.provider.force_flush(FLUSH_MILLIS)
            self.provider.shutdown()


def extract(headers: Mapping[str, str]) -> Context:
    """The remote parent a request's `traceparent` names (an empty context without one)."""
    return _PROPAGATOR.extract(headers)


def fail(span: Span, description: str) -> None:
    """ERROR status with a safe description; the first one set on a span stays."""
    if not span.is_recording():
        return
    status = getattr(span, "status", None)
    if status is None or status.status_code is StatusCode.UNSET:
        span.set_status(Status(StatusCode.ERROR, description[:300]))


def sampler(settings: TelemetrySettings) -> Sampler:
    ratio = TraceIdRatioBased(settings.sample_ratio)
    return {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "traceidratio": ratio,
        "parentbased_always_on": ParentBased(ALWAYS_ON),
        "parentbased_always_off": ParentBased(ALWAYS_OFF),
        "parentbased_traceidratio": ParentBased(ratio),
    }[settings.sampler]


def current_span() -> Span:
    return trace.get_current_span()


def in_trace() -> bool:
    """Whether the code runs inside a span (a request's), not in background work."""
    return trace.get_current_span().get_span_context().is_valid


def set_attributes(span: Span, values: Mapping[str, Any]) -> None:
    span.set_attributes({k: v for k, v in values.items() if v is not None})
