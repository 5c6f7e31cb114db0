"""A real redis-server for tests, on a free loopback port, nothing persisted, always stopped.

with running_redis() as redis:
    redis.url                 # "redis://127.0.0.1:PORT"
    redis.stop()              # Redis gone (as an outage); start() brings it back, empty
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from tests.support.ports import free_port
from tests.support.processes import ManagedProcess, OutputLine, start_process


@dataclass
class Redis:
    port: int = field(default_factory=free_port)
    process: ManagedProcess | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        self.process = start_process(argv, name="redis-server")
        OutputLine("Ready to accept connections").wait(self.process, 30.0)

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


@contextmanager
def running_redis() -> Iterator[Redis]:
    if shutil.which("redis-server") is None:  # `make test` installs it
        pytest.fail(
            "redis-server is not installed: run `make test` or apt-get install redis-server"
        )
    redis = Redis()
    try:
        redis.start()
        yield redis
    finally:
        redis.stop()
