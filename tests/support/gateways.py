"""`shardgate gateway` as a process, for tests and benchmarks: always stopped on leaving.

with shardgate_gateway(supergraph=path, subgraph_urls=urls) as url: ...   # a file
with shardgate_gateway(compose_from=urls) as url: ...                     # composes itself
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.cluster import REPO
from tests.support.ports import free_port
from tests.support.processes import HttpReady, running_process


@contextmanager
def shardgate_gateway(
    *,
    supergraph: Path | None = None,
    subgraph_urls: Mapping[str, str] | None = None,
    compose_from: Mapping[str, str] | None = None,
    extra: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Yields the gateway's GraphQL URL once its /healthz answers; `extra`: more flags,
    `env`: variables laid over the environment (SHARDGATE_RATE_LIMIT=...)."""
    port = free_port()
    argv = [sys.executable, "-m", "gateway", "gateway", "--port", str(port)]
    if supergraph is not None:
        argv += ["--supergraph", str(supergraph)]
    for name, url in (subgraph_urls or {}).items():
        argv += ["--subgraph-url", f"{name}={url}"]
    for name, url in (compose_from or {}).items():
        argv += ["--subgraph", f"{name}={url}"]
    argv += list(extra)
    with running_process(
        argv,
        name="shardgate-gateway",
        cwd=REPO,
        env=env,
        ready=HttpReady(f"http://127.0.0.1:{port}/healthz"),
    ):
        yield f"http://127.0.0.1:{port}/graphql"
