"""Loading a GraphQL endpoint with wrk: requests/s, p50/p99, and the server's CPU per request.

    load = measure("http://127.0.0.1:4000/graphql", "{ me { name } }", seconds=5)
    load.per_second, load.p50_ms, load.p99_ms, load.cpu_ms

wrk (C, one thread, CONNECTIONS keep-alive connections) POSTs the same body over and over
through graphql.lua, which checks every answer: any status but 200, any answer without "data"
or with "errors", and any socket error or timeout fails the run with BenchError, naming the
first bad answer. wrk costs the machine far less than a Python client would, so the figures
are comparable with other wrk measurements on the same hardware.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from loadtests.measure import BenchError
from loadtests.server_cpu import group_cpu_seconds, listener_group

SCRIPT = Path(__file__).with_name("graphql.lua")
CONNECTIONS = 16
THREADS = 1  # one wrk thread drives 16 connections at a few thousand requests/s with CPU to spare
TIMEOUT_S = 10  # wrk counts a request still unanswered after this as a timeout error
WARM_UP_S = 1  # unmeasured load before each measurement (Node's JIT, connection pools, caches)
MISSING = (
    "wrk, the HTTP load generator, is not installed. Run `make wrk` (Debian's wrk package, "
    "with apt-get) or install wrk from your OS's packages, then run the bench again."
)


@dataclass(frozen=True)
class Load:
    """One wrk run against one endpoint."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float | None = None  # the server's CPU (user + system) per request, if known
    upstream_cpu_ms: float | None = None  # the same for what it calls (the subgraphs)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def wrk_path() -> str:
    """wrk's path, or BenchError saying how to install it."""
    path = shutil.which("wrk")
    if path is None:
        raise BenchError(MISSING)
    return path


def run_wrk(
    url: str,
    body: bytes,
    seconds: int,
    *,
    headers: Mapping[str, str] | None = None,
    connections: int = CONNECTIONS,
) -> Load:
    """POST `body` to `url` for `seconds` (whole seconds, as wrk takes them) with
    `connections` connections; BenchError unless every answer was a 200 with data and no
    errors."""
    wrk = wrk_path()
    with tempfile.NamedTemporaryFile(prefix="shardgate-wrk-", suffix=".json") as body_file:
        body_file.write(body)
        body_file.flush()
        argv = [wrk, f"-t{THREADS}", f"-c{connections}", f"-d{seconds}s", f"--timeout={TIMEOUT_S}s"]
        for name, value in {"content-type": "application/json", **(headers or {})}.items():
            argv += ["-H", f"{name}: {value}"]
        argv += ["-s", str(SCRIPT), url, "--", body_file.name]
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                encoding="utf-8",
                errors="replace",  # the first bad answer is cut at 300 bytes, maybe mid-character
                timeout=seconds + 60,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise BenchError(f"wrk did not finish a {seconds} s run against {url}") from None
    result = _result(done.stdout)
    if done.returncode != 0 or result is None:
        said = (done.stderr or done.stdout).strip()[-1000:]
        raise BenchError(f"wrk failed against {url} (exit {done.returncode}): {said}")
    _check(url, result)
    return Load(
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6,
        p50_ms=result["p50_us"] / 1000,
        p99_ms=result["p99_us"] / 1000,
    )


def measure(
    url: str,
    query: str,
    seconds: float,
    *,
    headers: Mapping[str, str] | None = None,
    upstream: str | None = None,
    warm_up: int = WARM_UP_S,
) -> Load:
    """`query` POSTed to `url` for `seconds` (rounded to whole seconds, at least 1) after
    `warm_up` unmeasured seconds, with the CPU per request of the process group serving it
    and of the one serving `upstream` (a subgraph's URL, say)."""
    body = orjson.dumps({"query": query})
    if warm_up > 0:
        run_wrk(url, body, warm_up, headers=headers)
    groups = [_group(url), _group(upstream)]
    before = [group_cpu_seconds(g) for g in groups]
    load = run_wrk(url, body, max(1, round(seconds)), headers=headers)
    after = [group_cpu_seconds(g) for g in groups]
    server, up = (
        None if b is None or a is None else (a - b) * 1000 / load.requests
        for b, a in zip(before, after, strict=True)
    )
    return replace(load, cpu_ms=server, upstream_cpu_ms=up)


def _group(url: str | None) -> int | None:
    port = urlsplit(url).port if url is not None else None
    return listener_group(port) if port is not None else None


def _result(stdout: str) -> dict[str, Any] | None:
    """The JSON of graphql.lua's last WRK_RESULT line."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("WRK_RESULT "):
            try:
                parsed: dict[str, Any] = json.loads(line.removeprefix("WRK_RESULT "))
            except json.JSONDecodeError:
                return None  # reported with wrk's output
            return parsed
    return None


def _check(url: str, result: Mapping[str, Any]) -> None:
    requests = result["requests"]
    bad = {
        "answers with a status other than 200": result["bad_status"],
        "answers with GraphQL errors or without data": result["graphql_errors"],
        "socket errors or timeouts": result["socket_errors"],
    }
    problems = [f"{count} {what}" for what, count in bad.items() if count]
    if problems:
        first = f"; the first bad answer: {result['first_bad']}" if result["first_bad"] else ""
        raise BenchError(f"{url}: of {requests} requests, {', '.join(problems)}{first}")
    if not requests:
        raise BenchError(f"{url}: no request was answered during the run")
