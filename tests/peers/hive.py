"""Hive Gateway as a peer, run from the pinned npm project in hive/ (installed on first use).

with shop_subgraphs() as urls, hive_gateway(SUPERGRAPH, urls) as url:
    httpx.post(url, json={"query": "{ me { name } }"})

It serves a supergraph file, with each subgraph's URL replaced by the one given.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.peers.apollo import _PEER_ENV, ApolloPeerError, _require_tool, ensure_installed
from tests.support.ports import LOOPBACK, free_port
from tests.support.processes import HttpReady, running_process

PEER_DIR = Path(__file__).parent / "hive"

_GRAPH = re.compile(r'@join__graph\(name: "([^"]+)", url: "[^"]*"\)')


def with_urls(supergraph_sdl: str, urls: Mapping[str, str]) -> str:
    """The supergraph with each `@join__graph(name:, url:)` pointing at urls[name].

    with_urls('A @join__graph(name: "a", url: "")', {"a": "http://h/g"})
        == 'A @join__graph(name: "a", url: "http://h/g")'
    """
    missing = set(urls)

    def repoint(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in urls:
            raise ApolloPeerError(f"no URL given for subgraph {name!r} of the supergraph")
        missing.discard(name)
        return f'@join__graph(name: "{name}", url: "{urls[name]}")'

    sdl = _GRAPH.sub(repoint, supergraph_sdl)
    if missing:
        raise ApolloPeerError(f"the supergraph has no subgraph named {sorted(missing)}")
    return sdl


@contextmanager
def hive_gateway(
    supergraph: Path, urls: Mapping[str, str], *, dedupe: bool = True, timeout: float = 60.0
) -> Iterator[str]:
    """Run Hive Gateway (one process) over `supergraph` with the subgraphs at `urls` (name ->
    URL); yields its GraphQL URL once /readiness answers 200. `dedupe=False` turns off its
    merging of identical in-flight subgraph requests. Always stopped on exit."""
    peer_dir = ensure_installed(PEER_DIR)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="shardgate-hive-") as tmp:
        served = Path(tmp) / "supergraph.graphql"
        served.write_text(with_urls(supergraph.read_text(), urls))
        argv = [
            _require_tool("node"),
            str(peer_dir / "node_modules" / "@graphql-hive" / "gateway" / "dist" / "bin.js"),
            "supergraph",
            str(served),
            "--config-path",
            str(peer_dir / "gateway.config.mjs"),
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--fork",
            "1",
        ]
        with running_process(
            argv,
            name="hive-gateway",
            env={**_PEER_ENV, "HIVE_DEDUPE": "1" if dedupe else "0"},
            cwd=peer_dir,
            ready=HttpReady(f"http://{LOOPBACK}:{port}/readiness", accept=lambda s: s == 200),
            timeout=timeout,
        ):
            yield f"http://{LOOPBACK}:{port}/graphql"
