"""[telemetry] and the OTEL_* variables: defaults, precedence, mistakes named."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import load_settings
from shards.telemetry import TelemetrySettings


def test_off_by_default(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "none.toml", env={}).gateway.telemetry
    assert settings == TelemetrySettings()
    assert not settings.enabled
    assert settings.endpoint == "http://localhost:4318/v1/traces"


def test_the_file_then_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "shardgate.toml"
    path.write_text(
        "[telemetry]\n"
        'exporter = "otlp"\n'
        'endpoint = "http://collector:4318/"\n'
        'service_name = "edge"\n'
        "sample_ratio = 0.25\n"
        "include_document = true\n"
    )
    from_file = load_settings(path, env={}).gateway.telemetry
    assert from_file == TelemetrySettings(
        exporter="otlp",
        endpoint="http://collector:4318/v1/traces",
        service_name="edge",
        sample_ratio=0.25,
        include_document=True,
    )
    env = {
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example.com:4318",
        "OTEL_SERVICE_NAME": "gw-7",
        "OTEL_TRACES_SAMPLER": "traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.5",
    }
    from_env = load_settings(path, env=env).gateway.telemetry
    assert from_env.exporter == "console"
    assert from_env.endpoint == "https://otel.example.com:4318/v1/traces"
    assert from_env.service_name == "gw-7"
    assert (from_env.sampler, from_env.sample_ratio) == ("traceidratio", 0.5)
    assert from_env.include_document  # only the file has it


@pytest.mark.parametrize(
    ("env", "exporter", "endpoint"),
    [
        # An endpoint alone means: export there.
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, "otlp", "http://c:4318/v1/traces"),
        # The signal's own variable is the full URL, used as it is.
        (
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/custom"},
            "otlp",
            "http://c:4318/custom",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"},
            "none",
            "http://c:4318/v1/traces",
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"},
            "none",
            "http://c:4318/v1/traces",
        ),
    ],
)
def test_standard_variables(env: dict[str, str], exporter: str, endpoint: str) -> None:
    settings = TelemetrySettings.from_sources(None, env)
    assert (settings.exporter, settings.endpoint) == (exporter, endpoint)


def test_the_processes_up_starts_get_the_same_settings() -> None:
    settings = TelemetrySettings.from_sources(
        {"exporter": "otlp", "endpoint": "http://c:4318", "sample_ratio": 0.1}, {}
    )
    assert TelemetrySettings.from_sources(None, settings.as_env()) == settings
    off = TelemetrySettings()
    assert TelemetrySettings.from_sources(None, off.as_env()) == off


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('exporter = "jaeger"', "exporter = 'jaeger': use one of none, console, otlp"),
        ('endpoint = "collector:4318"', "endpoint must be an http:// or https:// URL"),
        ("sample_ratio = 2", "sample_ratio = 2 should be a number from 0 to 1"),
        ('include_document = "yes"', "include_document = 'yes' should be true or false"),
        ("headers = 1", "unknown setting(s) ['headers']"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "shardgate.toml"
    path.write_text(f"[telemetry]\n{text}\n")
    with pytest.raises(SystemExit) as e:
        load_settings(path, env={})
    assert f"{path}: [telemetry]: {message}" in str(e.value)


def test_bad_variables_are_named() -> None:
    with pytest.raises(ValueError, match="OTEL_TRACES_SAMPLER = 'sometimes'"):
        TelemetrySettings.from_sources(None, {"OTEL_TRACES_SAMPLER": "sometimes"})
    with pytest.raises(ValueError, match="OTEL_EXPORTER_OTLP_ENDPOINT must be an http"):
        TelemetrySettings.from_sources(None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "c:4318"})
