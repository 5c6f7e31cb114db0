"""The supervisor behind `shardgate up`: restarts, giving up, stopping."""

from __future__ import annotations

import sys

from gateway.supervisor import Supervisor
from shards.telemetry import TelemetrySettings


def test_a_child_that_keeps_crashing_is_given_up_on() -> None:
    now = [0.0]
    sup = Supervisor(clock=lambda: now[0])
    sup.spawn("crasher", [sys.executable, "-c", "raise SystemExit(3)"])
    assert sup.wait() == 1  # restarted MAX_RESTARTS times within the window, then stopped
    [child] = sup.children
    assert len(child.restarts) == Supervisor.MAX_RESTARTS
    assert child.proc.returncode == 3


def test_restarts_are_counted_within_a_window() -> None:
    now = [0.0]
    sup = Supervisor(clock=lambda: now[0])
    sup.spawn("crasher", [sys.executable, "-c", "raise SystemExit(3)"])
    [child] = sup.children
    child.proc.wait()
    for _ in range(Supervisor.MAX_RESTARTS * 2):  # one crash a minute is no crash loop
        now[0] += Supervisor.RESTART_WINDOW
        assert sup._restart(child)
        child.proc.wait()
    sup.stop()


def test_children_get_the_telemetry_settings_also_when_restarted() -> None:
    now = [0.0]
    sup = Supervisor(clock=lambda: now[0])
    env = TelemetrySettings.from_sources({"exporter": "otlp", "service_name": "up"}, {}).as_env()
    check = "import os; raise SystemExit(7 if os.environ['OTEL_SERVICE_NAME'] == 'up' else 1)"
    sup.spawn("child", [sys.executable, "-c", check], env)
    [child] = sup.children
    assert child.proc.wait() == 7
    assert sup._restart(child)
    assert child.proc.wait() == 7
    sup.stop()
