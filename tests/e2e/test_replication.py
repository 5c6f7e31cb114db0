"""Replicas on real processes: a shard dies, reads keep being served, writes meet their
consistency level or fail whole, and a restarted shard still holds what it acknowledged."""

from __future__ import annotations

import signal

import pytest

from shards.ring import Ring
from tests.support.cluster import Cluster

pytestmark = pytest.mark.slow

FIELDS = 'role: MEMBER, createdAt: "2026-01-01"'


def ring_of(cluster: Cluster) -> Ring:
    return Ring.build(cluster.shard_ports, vnodes=128, replication=cluster.replication)


def keys_held_by(cluster: Cluster, shard_id: str, count: int, prefix: str) -> list[str]:
    ring = ring_of(cluster)
    keys = (f"{prefix}{i}" for i in range(10_000))
    return [k for k in keys if shard_id in ring.replicas_for_key(k)][:count]


def insert(cluster: Cluster, key: str, consistency: str | None = None) -> dict:
    arg = f", consistency: {consistency}" if consistency else ""
    return cluster.post(
        f'mutation {{ insertUser(object: {{id: "{key}", email: "{key}@x.io", '
        f"{FIELDS}}}{arg}) {{ id }} }}"
    )


def test_reads_survive_a_dead_shard(own_cluster: Cluster) -> None:
    c = own_cluster
    keys = [f"k{i}" for i in range(60)]
    for k in keys:
        assert "errors" not in insert(c, k)
    c.kill_shard("shard-1")
    # The first scan meets the dead shard before the gateway knows: its ranges are retried
    # on their other replicas.
    listed = c.graphql('{ users(where: {email: {_like: "k%"}}) { id } }')["users"]
    assert sorted(u["id"] for u in listed) == sorted(keys)
    for k in keys:
        assert c.graphql(f'{{ user(id: "{k}") {{ id }} }}') == {"user": {"id": k}}
    assert c.graphql("{ usersAggregate { count } }")["usersAggregate"]["count"] == len(keys)


def test_quorum_write_fails_whole_when_a_replica_is_down(own_cluster: Cluster) -> None:
    c = own_cluster
    c.kill_shard("shard-2")
    c.wait_shard_state("shard-2", alive=False)
    key = keys_held_by(c, "shard-2", 1, "q")[0]
    result = insert(c, key)  # default QUORUM = 2 of 2 replicas
    error = result["errors"][0]
    assert error["extensions"] == {"code": "CONSISTENCY_NOT_MET", "required": 2, "got": 1}
    assert "2 replica(s) required, 1 available" in error["message"]
    # Nothing was written anywhere: no partial result.
    for shard_id in ("shard-0", "shard-1"):
        assert c.shard_get(shard_id, "users.User", [key]) == [None]
    # ONE is met by the live replica.
    assert insert(c, key, "ONE") == {"data": {"insertUser": {"id": key}}}


def test_write_racing_a_crash_leaves_no_partial_result(own_cluster: Cluster) -> None:
    """The gateway still believes the shard alive: the write reaches one replica only."""
    c = own_cluster
    keys = keys_held_by(c, "shard-0", 5, "race")
    c.kill_shard("shard-0")
    failed = [k for k in keys if "errors" in insert(c, k)]
    assert failed, "QUORUM writes to a dead replica must fail"
    for k in failed:
        for shard_id in ("shard-1", "shard-2"):
            doc = c.shard_get(shard_id, "users.User", [k])[0]
            assert doc is None or doc["deleted"], f"{k} half-written on {shard_id}: {doc}"
        assert c.graphql(f'{{ user(id: "{k}") {{ id }} }}') == {"user": None}


def test_acknowledged_writes_survive_sigkill_and_restart(own_cluster: Cluster) -> None:
    c = own_cluster
    keys = keys_held_by(c, "shard-1", 40, "d")
    for k in keys:
        assert "errors" not in insert(c, k)
    c.kill_shard("shard-1", signal.SIGKILL)
    c.start_shard("shard-1")
    docs = c.shard_get("shard-1", "users.User", keys)
    assert all(d is not None and d["body"]["id"] == k for k, d in zip(keys, docs, strict=True))
    c.wait_shard_state("shard-1", alive=True)
    c.kill_shard("shard-0")  # now shard-1 must serve its copies
    for k in keys:
        assert c.graphql(f'{{ user(id: "{k}", consistency: ONE) {{ id }} }}')["user"] == {"id": k}


def test_quorum_read_repairs_a_stale_replica(own_cluster: Cluster) -> None:
    c = own_cluster
    key = keys_held_by(c, "shard-2", 1, "rr")[0]
    replicas = ring_of(c).replicas_for_key(key)
    other = next(s for s in replicas if s != "shard-2")
    c.kill_shard("shard-2")
    c.wait_shard_state("shard-2", alive=False)
    assert "errors" not in insert(c, key, "ONE")  # shard-2 misses this write
    c.start_shard("shard-2")
    c.wait_shard_state("shard-2", alive=True)
    assert c.shard_get("shard-2", "users.User", [key]) == [None]
    data = c.graphql(f'{{ user(id: "{key}", consistency: ALL) {{ id }} }}')
    assert data == {"user": {"id": key}}
    assert c.shard_get(other, "users.User", [key])[0]["body"]["id"] == key
    c.gateway.wait_until(
        lambda: c.shard_get("shard-2", "users.User", [key])[0] is not None,
        "read repair reached shard-2",
        10,
    )


def test_list_at_all_sees_through_a_stale_replica(own_cluster: Cluster) -> None:
    c = own_cluster
    gone = keys_held_by(c, "shard-2", 3, "gone")
    fresh = keys_held_by(c, "shard-2", 3, "fresh")
    for k in gone:
        assert "errors" not in insert(c, k)
    c.kill_shard("shard-2")
    c.wait_shard_state("shard-2", alive=False)
    for k in fresh:  # shard-2 misses these inserts...
        assert "errors" not in insert(c, k, "ONE")
    for k in gone:  # ...and these deletes
        c.graphql(f'mutation {{ deleteUser(id: "{k}", consistency: ONE) {{ id }} }}')
    c.start_shard("shard-2")
    c.wait_shard_state("shard-2", alive=True)
    query = '{ users(where: {email: {_like: "%@x.io"}}, consistency: ALL) { id } }'
    assert sorted(u["id"] for u in c.graphql(query)["users"]) == sorted(fresh)
    aggregate = "{ usersAggregate(consistency: QUORUM) { count } }"
    assert c.graphql(aggregate)["usersAggregate"]["count"] == len(fresh)
    # The read repaired shard-2: it now holds the inserts it missed.
    c.gateway.wait_until(
        lambda: all(d is not None for d in c.shard_get("shard-2", "users.User", fresh)),
        "read repair of the missed inserts",
        10,
    )


def test_list_at_all_repairs_replicas_that_returned_an_old_copy(own_cluster: Cluster) -> None:
    c = own_cluster
    key = keys_held_by(c, "shard-2", 1, "old")[0]
    assert "errors" not in insert(c, key)
    c.kill_shard("shard-2")
    c.wait_shard_state("shard-2", alive=False)
    c.graphql(
        f'mutation {{ updateUser(id: "{key}", set: {{name: "New"}}, consistency: ONE) {{ id }} }}'
    )
    c.start_shard("shard-2")
    c.wait_shard_state("shard-2", alive=True)
    assert c.shard_get("shard-2", "users.User", [key])[0]["body"].get("name") is None
    data = c.graphql(f'{{ users(where: {{id: {{_eq: "{key}"}}}}, consistency: ALL) {{ name }} }}')
    assert data == {"users": [{"name": "New"}]}
    c.gateway.wait_until(
        lambda: c.shard_get("shard-2", "users.User", [key])[0]["body"].get("name") == "New",
        "read repair of the replica that returned the old copy",
        10,
    )
