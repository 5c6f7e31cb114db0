"""The cluster client against real shard processes, when a shard dies under it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from schema.store import descriptor
from shards.client import ClusterClient
from shards.consistency import Consistency
from shards.errors import ConsistencyNotMet, UniqueViolation
from shards.ring import Ring
from shards.writes import Write
from tests.support.cluster import Cluster
from tests.support.ports import free_port

pytestmark = pytest.mark.slow

COLLECTION = "t.Doc"
DESCRIPTOR = {"name": COLLECTION, "key": "id", "shard_key": "id", "indexes": [], "unique": []}


@pytest.fixture
def shards(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path, 2, {f"shard-{i}": free_port() for i in range(3)}, free_port())
    try:
        for shard_id in cluster.shard_ports:
            cluster.start_shard(shard_id)
        yield cluster
    finally:
        cluster.close()


def client_for(cluster: Cluster) -> ClusterClient:
    ring = Ring.build(cluster.shard_ports, vnodes=32, replication=2)
    urls = {s: cluster.shard_url(s) for s in cluster.shard_ports}
    # A long health interval: the client must not learn of the crash before the write.
    return ClusterClient(ring, urls, health_interval=3600)


def key_on(ring: Ring, shard: str, prefix: str) -> str:
    return next(
        k for k in (f"{prefix}{i}" for i in range(1000)) if shard in ring.replicas_for_key(k)
    )


async def test_a_write_that_misses_quorum_is_taken_back_everywhere(shards: Cluster) -> None:
    async with client_for(shards) as client:
        await client.ensure_collections([DESCRIPTOR])  # type: ignore[list-item]
        key = key_on(client.ring, "shard-1", "k")
        updated = key_on(client.ring, "shard-1", "u")
        await client.write(COLLECTION, [Write(updated, updated, "put", {"id": updated, "v": 1})])
        shards.kill_shard("shard-1")
        assert client.alive()["shard-1"]  # it does not know yet
        with pytest.raises(ConsistencyNotMet) as failed:
            await client.write(
                COLLECTION,
                [
                    Write(key, key, "put", {"id": key}),
                    Write(updated, updated, "put", {"id": updated, "v": 2}),
                ],
            )
        assert (failed.value.required, failed.value.got) == (2, 1)
        survivor = next(s for s in client.ring.replicas_for_key(key) if s != "shard-1")
        assert shards.shard_get(survivor, COLLECTION, [key])[0]["deleted"] is True
        survivor = next(s for s in client.ring.replicas_for_key(updated) if s != "shard-1")
        assert shards.shard_get(survivor, COLLECTION, [updated])[0]["body"] == {
            "id": updated,
            "v": 1,
        }
        docs = await client.get(COLLECTION, [key, updated], consistency=Consistency.ONE)
        assert docs[key]["deleted"] and docs[updated]["body"]["v"] == 1


async def test_scans_fail_over_to_replicas_of_an_unnoticed_dead_shard(shards: Cluster) -> None:
    async with client_for(shards) as client:
        await client.ensure_collections([DESCRIPTOR])  # type: ignore[list-item]
        keys = [f"s{i}" for i in range(100)]
        await client.write(
            COLLECTION, [Write(k, k, "put", {"id": k, "n": i}) for i, k in enumerate(keys)]
        )
        shards.kill_shard("shard-0")
        docs = await client.query(
            COLLECTION, order_by=[{"field": "n", "direction": "DESC", "nulls": "FIRST"}], limit=100
        )
        assert [d["id"] for d in docs] == keys[::-1]
        total = await client.aggregate(COLLECTION, fields=["n"])
        assert total["count"] == 100 and total["fields"]["n"]["sum"] == sum(range(100))
        assert not client.alive()["shard-0"]


def test_descriptor_of_example_collection_indexes_unique_fields() -> None:
    from schema.parser import parse_service

    users = parse_service(
        "users", (Path(__file__).parents[2] / "examples/users.graphql").read_text()
    )
    d = descriptor("users", users.collection("User"))
    assert d["unique"] == ["email"] and "email" in d["indexes"]


async def test_quorum_read_asks_the_third_replica_when_one_fails(shards: Cluster) -> None:
    ring = Ring.build(shards.shard_ports, vnodes=32, replication=3)
    urls = {s: shards.shard_url(s) for s in shards.shard_ports}
    async with ClusterClient(ring, urls, health_interval=3600) as client:
        await client.ensure_collections([DESCRIPTOR])  # type: ignore[list-item]
        keys = [f"r{i}" for i in range(20)]
        await client.write(
            COLLECTION, [Write(k, k, "put", {"id": k}) for k in keys], consistency=Consistency.ALL
        )
        shards.kill_shard("shard-0")  # unknown to the client: first asked for some keys
        docs = await client.get(COLLECTION, keys, consistency=Consistency.QUORUM)
        assert sorted(docs) == sorted(keys)
        with pytest.raises(ConsistencyNotMet):
            await client.get(COLLECTION, keys, consistency=Consistency.ALL)


async def test_a_stale_unique_claim_heals_a_live_one_holds(shards: Cluster) -> None:
    ring = Ring.build(shards.shard_ports, vnodes=32, replication=2)
    urls = {s: shards.shard_url(s) for s in shards.shard_ports}
    unique = {**DESCRIPTOR, "unique": ["email"]}
    async with ClusterClient(ring, urls, health_interval=3600, stale_claim_ms=0) as client:
        await client.ensure_collections([unique])  # type: ignore[list-item]
        # A claim left behind by a writer that never wrote its document ("ghost").
        ghost = {"collection": COLLECTION, "field": "email", "value": '"g@x.io"', "key": "ghost"}
        for shard in shards.shard_ports:
            shards.http.post(shards.shard_url(shard) + "/unique/claim", json={"claims": [ghost]})
        await client.claim_unique([{**ghost, "key": "k1"}])  # healed: taken over
        # A live owner keeps its value.
        await client.write(COLLECTION, [Write("k1", "k1", "put", {"id": "k1", "email": "g@x.io"})])
        with pytest.raises(UniqueViolation) as taken:
            await client.claim_unique([{**ghost, "key": "k2"}])
        assert taken.value.owner == "k1"
