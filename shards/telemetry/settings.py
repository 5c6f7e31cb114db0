"""Tracing settings: `[telemetry]` of shardgate.toml, then the standard OTEL_* variables.

[telemetry]
exporter = "otlp"                     # "none" (default: no tracing at all), "console", "otlp"
endpoint = "http://127.0.0.1:4318"    # OTLP/HTTP: a base URL (/v1/traces is added) or the
                                      # full traces URL
service_name = "shardgate"            # shards report as "<service_name>-shard"
sample_ratio = 1.0                    # of new traces; a caller's sampled flag is followed
include_document = false              # graphql.document on the request span (never variables)

The environment wins over the file:

    OTEL_TRACES_EXPORTER                 otlp | console | none
    OTEL_SDK_DISABLED=true               the same as exporter = "none"
    OTEL_EXPORTER_OTLP_ENDPOINT          a base URL; /v1/traces is added (set alone, it also
                                         turns the OTLP exporter on)
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT   the traces URL, used as it is
    OTEL_SERVICE_NAME
    OTEL_TRACES_SAMPLER(_ARG)            always_on, always_off, traceidratio,
                                         parentbased_always_on, parentbased_always_off,
                                         parentbased_traceidratio (the default) and its ratio

The exporter itself also reads OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, _COMPRESSION and the
certificate variables; the batch processor OTEL_BSP_SCHEDULE_DELAY and friends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EXPORTERS = ("none", "console", "otlp")
SAMPLERS = (
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)
DEFAULT_ENDPOINT = "http://localhost:4318"  # the OTLP/HTTP default port
TRACES_PATH = "/v1/traces"
BASE_VAR = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACES_VAR = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
KEYS = ("exporter", "endpoint", "service_name", "sample_ratio", "include_document")


@dataclass(frozen=True)
class TelemetrySettings:
    exporter: str = "none"
    endpoint: str = DEFAULT_ENDPOINT + TRACES_PATH  # the full OTLP/HTTP traces URL
    service_name: str = "shardgate"
    sampler: str = "parentbased_traceidratio"
    sample_ratio: float = 1.0
    include_document: bool = False

    @property
    def enabled(self) -> bool:
        return self.exporter != "none"

    @classmethod
    def from_sources(
        cls, section: Mapping[str, Any] | None, env: Mapping[str, str]
    ) -> TelemetrySettings:
        """Raises ValueError naming the setting (or variable) that is wrong."""
        raw = dict(section or {})
        unknown = set(raw) - set(KEYS)
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; known: {sorted(KEYS)}")
        exporter = _choice(raw.get("exporter"), "exporter", EXPORTERS)
        endpoint = _text(raw.get("endpoint"), "endpoint")
        if endpoint is not None:
            _url(endpoint, "endpoint")
        service_name = _text(raw.get("service_name"), "service_name")
        ratio = _ratio(raw.get("sample_ratio"), "sample_ratio")
        document = raw.get("include_document", False)
        if not isinstance(document, bool):
            raise ValueError(f"include_document = {document!r} should be true or false")

        traces_url = None
        if env.get(TRACES_VAR):
            traces_url = _url(env[TRACES_VAR], TRACES_VAR)
        elif env.get(BASE_VAR):
            traces_url = _url(env[BASE_VAR], BASE_VAR).rstrip("/") + TRACES_PATH
        if env.get("OTEL_TRACES_EXPORTER"):
            name = "OTEL_TRACES_EXPORTER"
            exporter = _choice(env[name].strip(), name, EXPORTERS)
        elif exporter is None and traces_url is not None:
            exporter = "otlp"  # an endpoint given alone means: send there
        if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            exporter = "none"
        if traces_url is None:
            base = (endpoint or DEFAULT_ENDPOINT).rstrip("/")
            traces_url = base if base.endswith(TRACES_PATH) else base + TRACES_PATH
        service_name = env.get("OTEL_SERVICE_NAME") or service_name or cls.service_name
        sampler = cls.sampler
        if env.get("OTEL_TRACES_SAMPLER"):
            name = "OTEL_TRACES_SAMPLER"
            sampler = _choice(env[name].strip(), name, SAMPLERS) or cls.sampler
        if env.get("OTEL_TRACES_SAMPLER_ARG") and sampler.endswith("traceidratio"):
            ratio = _ratio(env["OTEL_TRACES_SAMPLER_ARG"], "OTEL_TRACES_SAMPLER_ARG")
        return cls(
            exporter=exporter or "none",
            endpoint=traces_url,
            service_name=service_name,
            sampler=sampler,
            sample_ratio=cls.sample_ratio if ratio is None else ratio,
            include_document=document,
        )

    def as_env(self) -> dict[str, str]:
        """These settings as the standard variables, for the processes `shardgate up` starts."""
        return {
            "OTEL_TRACES_EXPORTER": self.exporter,
            TRACES_VAR: self.endpoint,
            "OTEL_SERVICE_NAME": self.service_name,
            "OTEL_TRACES_SAMPLER": self.sampler,
            "OTEL_TRACES_SAMPLER_ARG": repr(self.sample_ratio),
        }


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if value not in allowed:
        raise ValueError(f"{name} = {value!r}: use one of {', '.join(allowed)}")
    return str(value)


def _text(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} = {value!r} should be a non-empty string")
    return value.strip()


def _url(value: str, name: str) -> str:
    if not value.startswith(("http://", "https://")):
        # The value is not repeated: an endpoint URL may carry credentials.
        raise ValueError(f"{name} must be an http:// or https:// URL")
    return value


def _ratio(value: Any, name: str) -> float | None:
    if value is None:
        return None
    try:
        ratio = float(value)
    except (TypeError, ValueError):
        ratio = -1.0
    if isinstance(value, bool) or not 0.0 <= ratio <= 1.0:
        raise ValueError(f"{name} = {value!r} should be a number from 0 to 1")
    return ratio
