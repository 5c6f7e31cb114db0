"""What `bench gateway` and `bench safety` share: the shop federation's five subgraphs (one
Node process), gateways over its supergraph, and each operation measured with wrk on every
gateway in turn.

    with shop_subgraphs() as urls, shardgate(urls) as ours:
        results = measure_all({"shardgate": Target(ours)}, {"me": "{ me { id } }"}, 5, urls)
        results["me"]["shardgate"].per_second, results["me"]["shardgate"].cpu_ms

Before an operation is measured, it is sent once to every gateway: each must answer with data
and no errors, and all with the same data, or the bench stops (BenchError) saying which
gateway answered what.
"""

from __future__ import annotations

import os
import platform
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from loadtests.measure import BenchError
from loadtests.wrk import CONNECTIONS, THREADS, Load, measure, wrk_path

REPO = Path(__file__).resolve().parent.parent
SUPERGRAPH = REPO / "tests" / "fixtures" / "supergraphs" / "shop.graphql"


@dataclass(frozen=True)
class Target:
    """A gateway's GraphQL URL and the headers each request carries."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)


@contextmanager
def shop_subgraphs() -> Iterator[dict[str, str]]:
    """The shop subgraphs serving; yields subgraph name -> URL. Checks for wrk first, so a
    missing wrk fails the bench before anything starts."""
    wrk_path()
    tests_importable()
    from tests.peers.apollo import shop_subgraphs as running

    with running() as urls:
        yield urls


def shardgate(
    urls: Mapping[str, str], env: Mapping[str, str] | None = None
) -> AbstractContextManager[str]:
    """`shardgate gateway` over the shop supergraph with the subgraphs at `urls`."""
    tests_importable()
    from tests.support.gateways import shardgate_gateway

    return shardgate_gateway(supergraph=SUPERGRAPH, subgraph_urls=urls, env=env)


def tests_importable() -> None:
    """The processes are started by the tests' helpers (tests/support, tests/peers)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


@dataclass(frozen=True)
class Run:
    """operation label -> gateway name -> its Load, and how busy the machine was."""

    results: dict[str, dict[str, Load]]
    load_average: tuple[float, float]  # the 1-minute load average at the start and at the end


def measure_all(
    gateways: Mapping[str, Target],
    operations: Mapping[str, str],
    seconds: float,
    subgraphs: Mapping[str, str],
) -> Run:
    """Every operation on every gateway in turn, printing a line per measurement.
    `subgraphs` (name -> URL, all served by one process group): whose CPU is measured too."""
    upstream = next(iter(subgraphs.values()), None)
    start = os.getloadavg()[0]
    results: dict[str, dict[str, Load]] = {}
    for label, query in operations.items():
        check_answers(gateways, label, query)
        results[label] = {}
        for name, target in gateways.items():
            load = measure(target.url, query, seconds, headers=target.headers, upstream=upstream)
            results[label][name] = load
            print(f"  {label:<16} {name:<18} {load.per_second:>8,.0f} req/s", flush=True)
    return Run(results, (start, os.getloadavg()[0]))


def check_answers(gateways: Mapping[str, Target], label: str, query: str) -> None:
    """BenchError unless every gateway answers `query` with the same data and no errors."""
    first: tuple[str, Any] | None = None
    for name, target in gateways.items():
        data = _answer(name, target, label, query)
        if first is None:
            first = (name, data)
        elif data != first[1]:
            raise BenchError(
                f"{label}: {name} and {first[0]} answer with different data:\n"
                f"  {name}: {orjson.dumps(data).decode()[:500]}\n"
                f"  {first[0]}: {orjson.dumps(first[1]).decode()[:500]}"
            )


def setup_line(what: str, seconds: float, run: Run) -> str:
    return (
        f"setup: {what}; wrk, {THREADS} thread, {CONNECTIONS} connections, "
        f"{max(1, round(seconds))} s per measurement after 1 s of warm-up; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs shared by wrk, "
        "the gateways, the subgraphs and whatever else runs (load average "
        f"{run.load_average[0]:.1f} at the start, {run.load_average[1]:.1f} at the end)"
    )


def cpu_text(ms: float | None) -> str:
    return "-" if ms is None else f"{ms:.2f}"


def figures(load: Load) -> dict[str, float | None]:
    """A Load for the JSON summary line."""
    return {
        "rps": round(load.per_second, 1),
        "p50_ms": round(load.p50_ms, 2),
        "p99_ms": round(load.p99_ms, 2),
        "cpu_ms": None if load.cpu_ms is None else round(load.cpu_ms, 3),
        "subgraphs_cpu_ms": None
        if load.upstream_cpu_ms is None
        else round(load.upstream_cpu_ms, 3),
    }


def _answer(name: str, target: Target, label: str, query: str) -> Any:
    request = urllib.request.Request(
        target.url,
        orjson.dumps({"query": query}),
        {"content-type": "application/json", **target.headers},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
    try:
        with opener.open(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    except urllib.error.URLError as e:
        raise BenchError(f"{label}: {name} does not answer ({e.reason})") from None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if status != 200 or not isinstance(body, dict) or "errors" in body or "data" not in body:
        raise BenchError(f"{label}: {name} answered HTTP {status}: {raw[:500]!r}")
    return body["data"]
