"""A real shardgate cluster for end-to-end tests: shard processes and a gateway process on
free loopback ports, each its own process group, always stopped.

    with running_cluster(tmp_path, shards=3, replication=2, services=EXAMPLES) as cluster:
        cluster.graphql("{ users { id } }")
        cluster.kill_shard("shard-1")          # SIGKILL, as a crash
        cluster.start_shard("shard-1")         # same port, same data
"""

from __future__ import annotations

import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.supervisor import Layout, gateway_argv, shard_argv
from tests.support.ports import free_port
from tests.support.processes import HttpReady, ManagedProcess, start_process

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
START_TIMEOUT = 60.0
VNODES = 128  # the default, as `shardgate up` uses


class GraphQLFailed(AssertionError):
    """A GraphQL response carried errors where the test expected none."""


@dataclass
class Cluster:
    data: Path
    replication: int
    shard_ports: dict[str, int]
    gateway_port: int
    services: Path | None = None
    shards: dict[str, ManagedProcess] = field(default_factory=dict)
    gateway: ManagedProcess | None = None
    env: dict[str, str] = field(default_factory=dict)  # laid over the environment of each
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30, trust_env=False))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def shard_url(self, shard_id: str) -> str:
        return f"http://127.0.0.1:{self.shard_ports[shard_id]}"

    # -- processes -------------------------------------------------------------------------

    def start_shard(self, shard_id: str) -> None:
        argv = shard_argv(shard_id, self.shard_ports[shard_id], self.data)
        proc = start_process(argv, name=shard_id, cwd=REPO, env=self.env)
        self.shards[shard_id] = proc
        HttpReady(self.shard_url(shard_id) + "/health").wait(proc, START_TIMEOUT)

    def kill_shard(self, shard_id: str, sig: signal.Signals = signal.SIGKILL) -> None:
        proc = self.shards.pop(shard_id)
        proc.popen.send_signal(sig)
        proc.popen.wait(30)
        proc.stop()

    def start_gateway(self, *, wait: bool = True) -> None:
        layout = Layout(tuple(self.shard_ports), self.replication, VNODES)
        urls = {s: self.shard_url(s) for s in self.shard_ports}
        argv = gateway_argv(self.gateway_port, urls, layout, self.services)
        self.gateway = start_process(argv, name="gateway", cwd=REPO, env=self.env)
        if wait:
            self.gateway.wait_for_http(
                self.url + "/healthz", timeout=START_TIMEOUT, accept=lambda status: status == 200
            )

    def stop(self) -> None:
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        for shard_id in list(self.shards):
            self.shards.pop(shard_id).stop()

    def close(self) -> None:
        self.stop()
        self.http.close()

    # -- requests --------------------------------------------------------------------------

    def post(
        self, query: str, variables: Mapping[str, Any] | None = None, path: str = "/graphql"
    ) -> dict[str, Any]:
        """The raw GraphQL response (errors included)."""
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = dict(variables)
        resp = self.http.post(self.url + path, json=body)
        assert resp.headers["content-type"].startswith("application/json"), resp.text
        return resp.json()

    def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, path: str = "/graphql"
    ) -> dict[str, Any]:
        """`data` of a response that must have no errors."""
        result = self.post(query, variables, path)
        if result.get("errors"):
            raise GraphQLFailed(f"{query}\n-> {result['errors']}")
        return result["data"]

    def errors(
        self, query: str, variables: Mapping[str, Any] | None = None, path: str = "/graphql"
    ) -> list[dict[str, Any]]:
        """The errors of a response that must have some."""
        result = self.post(query, variables, path)
        assert result.get("errors"), f"expected errors, got {result}"
        return result["errors"]

    def shard_get(self, shard_id: str, collection: str, keys: list[str]) -> list[Any]:
        """What one shard itself stores for these keys (bypassing the gateway)."""
        resp = self.http.post(
            self.shard_url(shard_id) + "/get", json={"collection": collection, "keys": keys}
        )
        resp.raise_for_status()
        return resp.json()["docs"]

    def health(self) -> dict[str, Any]:
        return self.http.get(self.url + "/healthz").json()

    def wait_shard_state(self, shard_id: str, alive: bool, timeout: float = 15.0) -> None:
        """Poll /healthz until the gateway sees the shard as alive or down."""
        assert self.gateway is not None
        self.gateway.wait_until(
            lambda: self.health()["shards"][shard_id]["alive"] is alive,
            f"gateway sees {shard_id} {'up' if alive else 'down'}",
            timeout,
        )


@contextmanager
def running_cluster(
    data: Path,
    *,
    shards: int = 3,
    replication: int = 2,
    services: Path | None = EXAMPLES,
    env: dict[str, str] | None = None,
) -> Iterator[Cluster]:
    ports = {f"shard-{i}": free_port() for i in range(shards)}
    cluster = Cluster(data, replication, ports, free_port(), services, env=dict(env or {}))
    try:
        for shard_id in ports:
            cluster.start_shard(shard_id)
        cluster.start_gateway()
        yield cluster
    finally:
        cluster.close()
