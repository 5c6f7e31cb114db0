"""The `bench` service both load tests use: its SDL, its documents and its operations.

Kept free of asyncio/aiohttp imports so that locust (gevent) can import it too.

    >>> make_item(7)
    {'id': 'item-0000007', 'name': 'item 7', 'score': 433, 'tags': ['t7', 'bench']}
"""

from __future__ import annotations

from typing import Any

SERVICE = "bench"

SDL = """\
"A benchmark document."
type Item @collection @key(fields: "id") {
  id: ID!
  name: String!
  score: Int! @index
  tags: [String!]
}
"""

SCORES = 1000  # scores are 0..999, so `score > N` selects a predictable share

INSERT_ITEMS = """\
mutation InsertItems($objects: [ItemInput!]!) {
  insertItems(objects: $objects) { id }
}"""

INSERT_ITEM = """\
mutation InsertItem($object: ItemInput!) {
  insertItem(object: $object) { id }
}"""

ITEM_BY_KEY = """\
query Item($id: ID!) {
  item(id: $id) { id name score }
}"""

ITEMS_ABOVE = """\
query ItemsAbove($min: Int!) {
  items(where: {score: {_gt: $min}}, limit: 10) { id score }
}"""

COUNT_ITEMS = "query CountItems { itemsAggregate { count } }"


def item_id(i: int, prefix: str = "item") -> str:
    return f"{prefix}-{i:07d}"


def make_item(i: int, prefix: str = "item") -> dict[str, Any]:
    """Document number `i`: deterministic, about 80 bytes of JSON."""
    return {
        "id": item_id(i, prefix),
        "name": f"{prefix} {i}",
        "score": (i * 7919) % SCORES,
        "tags": [f"t{i % 10}", SERVICE],
    }
