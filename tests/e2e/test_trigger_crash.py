"""Triggers through failures on real processes: the owning shard SIGKILLed under writes and
restarted delivers every acknowledged write's event, in version order per document; a shard
that stays down has its events delivered by a replica after the grace period."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shards.ring import Ring
from tests.e2e.test_triggers import ENV, Receiver, add_trigger, insert, of, receiver
from tests.support.cluster import Cluster, running_cluster

pytestmark = pytest.mark.slow
__all__ = ["receiver"]  # the module-scoped receiver process fixture, shared


def primary_keys(cluster: Cluster, shard: str, count: int, prefix: str) -> list[str]:
    ring = Ring.build(cluster.shard_ports, vnodes=128, replication=cluster.replication)
    keys = (f"{prefix}{i}" for i in range(10_000))
    return [k for k in keys if ring.replicas_for_key(k)[0] == shard][:count]


@pytest.fixture
def crash_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """Replicas wait 60 s before taking over: the restarted owner itself must deliver."""
    yield from cluster_with_grace(tmp_path, 60.0)


@pytest.fixture
def takeover_cluster(tmp_path: Path) -> Iterator[Cluster]:
    yield from cluster_with_grace(tmp_path, 1.0)


def cluster_with_grace(tmp_path: Path, grace_s: float) -> Iterator[Cluster]:
    settings = tmp_path / "shardgate.toml"
    settings.write_text(f"[triggers]\ngrace_s = {grace_s}\n")
    env = {**ENV, "SHARDGATE_CONFIG": str(settings)}
    with running_cluster(tmp_path / "data", env=env) as c:
        yield c


def test_sigkill_of_the_owner_under_writes_loses_no_acknowledged_event(
    crash_cluster: Cluster, receiver: Receiver
) -> None:
    c, rx = crash_cluster, receiver
    rx.reset()
    add_trigger(c, rx, "crash")
    rx.behave(path="/crash", status=204, delay_s=0.05)  # a backlog builds up
    keys = primary_keys(c, "shard-1", 6, "k")
    for k in keys:
        assert "errors" not in insert(c, k, "v0")
    acked: dict[str, list[str]] = {k: ["v0"] for k in keys}
    stop = threading.Event()

    def writer() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            for k in keys:
                value = f"v{n}"
                result = c.post(
                    f'mutation {{ updateUser(id: "{k}", set: {{name: "{value}"}}) {{ id }} }}'
                )
                if not result.get("errors"):
                    acked[k].append(value)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        c.gateway.wait_until(lambda: sum(map(len, acked.values())) > 60, "writes under way", 30)

        def backlog() -> bool:  # committed, not yet delivered: what the kill must not lose
            state = c.http.post(c.shard_url("shard-1") + "/triggers/state", json={}).json()
            return state["triggers"]["crash"]["events"].get("pending", 0) > 3

        c.gateway.wait_until(backlog, "events pending on the owner", 30)
        c.kill_shard("shard-1", signal.SIGKILL)
        c.start_shard("shard-1")
        c.wait_shard_state("shard-1", alive=True)
        before = sum(map(len, acked.values()))
        c.gateway.wait_until(
            lambda: sum(map(len, acked.values())) > before + 30, "writes after restart", 30
        )
    finally:
        stop.set()
        thread.join()
    rx.behave(path="/crash", status=204)

    def names(ds: list[dict[str, Any]]) -> dict[str, set[str]]:
        got: dict[str, set[str]] = {k: set() for k in keys}
        for d in of(ds, "crash"):
            new = d["body"]["event"]["data"]["new"]
            got[new["id"]].add(new["name"])
        return got

    deliveries = rx.wait_for(
        lambda ds: all(set(acked[k]) <= names(ds)[k] for k in keys),
        "every acknowledged write's event",
        60,
    )
    assert all(d["verified"] for d in of(deliveries, "crash"))
    for k in keys:
        versions = [
            d["body"]["version"]
            for d in of(deliveries, "crash")
            if d["body"]["event"]["data"]["new"]["id"] == k
        ]
        assert versions == sorted(versions), f"{k}: delivered out of version order"

    def copies_pending() -> int:
        return sum(
            len(
                c.http.post(
                    c.shard_url(s) + "/events/list", json={"trigger": "crash", "status": "pending"}
                ).json()["events"]
            )
            for s in c.shard_ports
        )

    # "Delivered" batches the owner held in memory died with it: reconciliation with the
    # restarted owner settles the replicas' copies, so none is sent again on a takeover.
    c.gateway.wait_until(lambda: copies_pending() == 0, "no copy left pending", 40)


def test_a_replica_delivers_when_the_owner_stays_down(
    takeover_cluster: Cluster, receiver: Receiver
) -> None:
    c, rx = takeover_cluster, receiver
    rx.reset()
    add_trigger(c, rx, "takeover")
    rx.behave(path="/takeover", status=503)  # the owner cannot deliver yet
    [key] = primary_keys(c, "shard-1", 1, "t")
    assert "errors" not in insert(c, key, "x")
    rx.wait_for(lambda ds: len(of(ds, "takeover")) >= 1, "the owner's first attempt")
    c.kill_shard("shard-1", signal.SIGKILL)
    rx.behave(path="/takeover", status=204)
    got = rx.wait_for(
        lambda ds: any(d["answered"] == 204 for d in of(ds, "takeover")),
        "delivery by the replica",
        30,
    )
    assert len({d["id"] for d in of(got, "takeover")}) == 1  # the same event id throughout
    ring = Ring.build(c.shard_ports, vnodes=128, replication=c.replication)
    replica = ring.replicas_for_key(key)[1]
    shown = c.http.get(f"{c.url}/admin/events/{of(got, 'takeover')[0]['id']}").json()
    assert any(a["shard"] == replica and a["code"] == 204 for a in shown["attempts"])
