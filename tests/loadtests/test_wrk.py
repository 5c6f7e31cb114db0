"""loadtests/wrk.py: wrk's figures are read back, and every bad answer fails the run loudly.

The gateway serves the shop supergraph with no subgraph running: `{ __typename }` is answered
by the gateway alone, so no Node process is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests.gateway_load import SUPERGRAPH, Target, check_answers
from loadtests.measure import BenchError
from loadtests.wrk import measure, run_wrk
from tests.support.gateways import shardgate_gateway


@pytest.fixture(scope="module")
def gateway() -> Iterator[str]:
    with shardgate_gateway(supergraph=SUPERGRAPH) as url:
        yield url


@pytest.mark.slow
def test_a_run_gives_requests_latencies_and_the_servers_cpu(gateway: str) -> None:
    load = measure(gateway, "{ __typename }", seconds=1, upstream=gateway, warm_up=0)

    assert load.requests > 10
    assert 0.9 < load.seconds < 2
    assert 0 < load.p50_ms <= load.p99_ms
    assert load.cpu_ms is not None and load.cpu_ms > 0
    assert load.upstream_cpu_ms is not None and load.upstream_cpu_ms > 0  # here the same process
    assert load.per_second == load.requests / load.seconds


@pytest.mark.slow
def test_graphql_errors_fail_the_run_with_the_first_bad_answer(gateway: str) -> None:
    with pytest.raises(BenchError) as failed:
        run_wrk(gateway, b'{"query": "{ nope }"}', 1)

    message = str(failed.value)
    assert "answers with GraphQL errors or without data" in message
    assert "the first bad answer: HTTP" in message
    assert "nope" in message


@pytest.mark.slow
def test_other_statuses_fail_the_run(gateway: str) -> None:
    with pytest.raises(BenchError, match=r"answers with a status other than 200.*HTTP 404"):
        run_wrk(gateway.replace("/graphql", "/nothing-here"), b'{"query": "{ __typename }"}', 1)


@pytest.mark.slow
def test_a_gateway_answering_with_errors_stops_the_bench_before_loading(gateway: str) -> None:
    check_answers({"ours": Target(gateway)}, "typename", "{ __typename }")

    with pytest.raises(BenchError, match=r"ghost: ours answered HTTP 200: .*ghost"):
        check_answers({"ours": Target(gateway)}, "ghost", "{ ghost }")


def test_without_wrk_the_bench_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(BenchError, match=r"wrk.* is not installed\. Run `make wrk`"):
        run_wrk("http://127.0.0.1:1/graphql", b"{}", 1)
