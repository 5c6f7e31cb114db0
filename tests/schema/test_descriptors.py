"""The collection descriptors the gateway sends shards: vector fields and their index settings,
from `@vector` first, then `[vectors]` in shardgate.toml."""

from __future__ import annotations

from schema.parser import parse_service
from schema.store import descriptor
from shards.vector_spec import IndexDefaults

SDL = """
type Doc @collection @key(fields: "id") {
  id: ID!
  plain: [Float!] @vector(dimensions: 4)
  tuned: [Float!] @vector(dimensions: 4, metric: L2, index: HNSW, efSearch: 200)
  exact: [Float!] @vector(dimensions: 4, index: FLAT)
  lists: [Float!] @vector(dimensions: 4, index: IVF, nlist: 64)
}
"""


def test_directive_first_then_configured_defaults() -> None:
    doc = parse_service("docs", SDL).collections[0]
    assert descriptor("docs", doc)["vectors"] == [
        {"field": "plain", "dimensions": 4, "metric": "COSINE", "index": "FLAT"},
        {"field": "tuned", "dimensions": 4, "metric": "L2", "index": "HNSW",
         "m": 32, "ef_construction": 64, "ef_search": 200},
        {"field": "exact", "dimensions": 4, "metric": "COSINE", "index": "FLAT"},
        {"field": "lists", "dimensions": 4, "metric": "COSINE", "index": "IVF",
         "nlist": 64, "nprobe": 32},
    ]  # fmt: skip
    configured = descriptor("docs", doc, IndexDefaults(index="HNSW", m=16))["vectors"]
    assert [(v["field"], v["index"], v.get("m")) for v in configured] == [
        ("plain", "HNSW", 16),
        ("tuned", "HNSW", 16),
        ("exact", "FLAT", None),
        ("lists", "IVF", None),
    ]
    small = descriptor("docs", doc, IndexDefaults(index="IVF", nlist=16))["vectors"]
    assert [(v["index"], v.get("nlist"), v.get("nprobe")) for v in small] == [
        ("IVF", 16, 16),  # nprobe 32 > nlist: every list
        ("HNSW", None, None),
        ("FLAT", None, None),
        ("IVF", 64, 32),
    ]


def test_collections_without_vectors_keep_their_descriptor() -> None:
    model = parse_service("n", 'type Note @collection @key(fields: "id") { id: ID! }')
    assert "vectors" not in descriptor("n", model.collections[0])
