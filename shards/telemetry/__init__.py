"""Tracing with OpenTelemetry, shared by the gateway and the shards (docs/operations.md#telemetry).

settings.py  [telemetry] and the OTEL_* variables
tracing.py   the tracer provider, spans, W3C trace context propagation
asgi.py      the SERVER span of each HTTP request
"""

from shards.telemetry.settings import TelemetrySettings
from shards.telemetry.tracing import Tracing

__all__ = ["TelemetrySettings", "Tracing"]
