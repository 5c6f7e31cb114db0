"""Every gateway must route with the same ring, or documents are looked for in the wrong place.

The first gateway records the ring's layout (shard ids, replication, vnodes) in the store;
every later one compares its own and refuses to serve on a mismatch. (Each shard's id is
checked separately, on every health check: see `ClusterClient.refresh_health`.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shards.consistency import Consistency
from shards.errors import ShardError
from shards.protocol import CollectionDescriptor
from shards.writes import Write

if TYPE_CHECKING:
    from shards.client import ClusterClient

CLUSTER_COLLECTION = "_shardgate.Cluster"
DESCRIPTOR = CollectionDescriptor(
    name=CLUSTER_COLLECTION, key="name", shard_key="name", indexes=[], unique=[]
)


class RingMismatch(ShardError):
    """This gateway's ring differs from the one the cluster was started with."""


async def check_ring(client: ClusterClient) -> None:
    ring = client.ring
    mine = {
        "name": "ring",
        "shards": list(ring.shards),
        "replication": ring.replication,
        "vnodes": ring.vnodes,
    }
    await client.ensure_collections([DESCRIPTOR])
    # Asked of every live shard, not where this gateway's ring would put it: a gateway with
    # the wrong ring would look in the wrong place. Any one live copy is enough to compare.
    live = {s: ["ring"] for s, ok in client.alive().items() if ok}
    answers = await client.gather_gets(CLUSTER_COLLECTION, live)
    copies = [d for docs in answers.values() for d in docs or () if d and not d["deleted"]]
    stored = max(copies, key=lambda d: (d["version"], d["origin"]), default=None)
    if stored is None:
        await client.write(
            CLUSTER_COLLECTION, [Write("ring", "ring", "put", mine)], consistency=Consistency.ONE
        )
        return
    theirs = stored["body"]
    assert theirs is not None
    if theirs != mine:
        raise RingMismatch(
            f"this gateway's ring ({len(mine['shards'])} shards {mine['shards']}, replication "
            f"{mine['replication']}, {mine['vnodes']} vnodes) differs from the cluster's "
            f"({len(theirs['shards'])} shards {theirs['shards']}, replication "
            f"{theirs['replication']}, {theirs['vnodes']} vnodes): start it with the same "
            "--shard ids, --replication and --vnodes as the others"
        )
