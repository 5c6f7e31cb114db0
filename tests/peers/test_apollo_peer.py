"""The Apollo peer harness works: real subgraph processes, a real Apollo Gateway over them, and
Apollo composition of their SDL."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.peers.apollo import CompositionFailed, apollo_gateway, compose
from tests.peers.federation_examples import EXPECTED_USERS_WITH_REVIEWS, SUBGRAPHS
from tests.support.ports import LOOPBACK, free_port
from tests.support.processes import (
    HttpReady,
    ProcessError,
    running_process,
    still_running,
    track_processes,
)

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def every_process_stopped() -> Iterator[None]:
    """Fails the module if any process it started outlives it, subgraphs included.

    Module-scoped so that it is torn down after the module-scoped subgraphs.
    """
    with track_processes() as started:
        yield
    leftovers = still_running(started)
    for process in leftovers:
        process.stop(grace=1.0)  # don't leak into other modules either
    assert not leftovers, f"processes left running: {leftovers}"


@pytest.fixture(autouse=True)
def _check_processes(every_process_stopped: None) -> Iterator[None]:
    """Processes a single test starts must be gone when it ends."""
    with track_processes() as started:
        yield
    assert not still_running(started), f"processes left running: {still_running(started)}"


@pytest.fixture(scope="module")
def subgraph_urls(every_process_stopped: None) -> Iterator[dict[str, str]]:
    """Both example subgraphs, each a uvicorn process; shared by the module to keep runs light."""
    urls: dict[str, str] = {}
    with ExitStack() as stack:  # stops the ones already started if a later one fails
        for name in SUBGRAPHS:
            port = free_port()
            url = f"http://{LOOPBACK}:{port}/graphql"
            command = [sys.executable, "-m", "tests.peers.federation_examples", name]
            stack.enter_context(
                running_process(
                    [*command, "--port", str(port)],
                    name=f"subgraph-{name}",
                    cwd=REPO_ROOT,
                    ready=HttpReady(url),
                )
            )
            urls[name] = url
        yield urls


def _post(url: str, query: str) -> dict[str, object]:
    with httpx.Client(trust_env=False, timeout=30.0) as client:
        response = client.post(url, json={"query": query})
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body


def test_gateway_answers_query_across_subgraphs(subgraph_urls: dict[str, str]) -> None:
    with apollo_gateway(subgraph_urls) as url:
        body = _post(url, "{ users { id name reviews { body } } }")
    assert body == {"data": {"users": EXPECTED_USERS_WITH_REVIEWS}}


def test_compose_builds_supergraph_from_subgraph_sdl(subgraph_urls: dict[str, str]) -> None:
    sdls = {}
    for name, url in subgraph_urls.items():
        body = _post(url, "{ _service { sdl } }")
        sdls[name] = body["data"]["_service"]["sdl"]  # type: ignore[index]

    supergraph = compose(sdls, urls=subgraph_urls)

    assert "enum join__Graph" in supergraph
    for name, url in subgraph_urls.items():
        assert f'@join__graph(name: "{name}", url: "{url}")' in supergraph
    assert "reviews: [Review!]! @join__field(graph: REVIEWS)" in supergraph


def test_compose_reports_error_codes() -> None:
    link = 'url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"]'
    header = f"extend schema @link({link})"
    sdls = {
        "a": f'{header}\ntype User @key(fields: "id") {{ id: ID! }}\ntype Query {{ me: User }}',
        "b": f'{header}\ntype User @key(fields: "id") {{ id: Int! }}',
    }
    with pytest.raises(CompositionFailed) as failure:
        compose(sdls)
    assert failure.value.codes == ["FIELD_TYPE_MISMATCH"]


def test_gateway_start_failure_shows_its_stderr() -> None:
    unreachable = f"http://{LOOPBACK}:{free_port()}/graphql"  # nothing listens there
    with pytest.raises(ProcessError) as failure, apollo_gateway({"users": unreachable}):
        pytest.fail("the gateway cannot have started without its subgraph")
    message = str(failure.value)
    assert "exited before" in message
    assert "ECONNREFUSED" in message or "Couldn't load service definitions" in message
