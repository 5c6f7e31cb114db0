"""Entity fetches: `_entities` with batched, deduplicated representations.

`Product.batch` tells how many representations the `_entities` call that resolved the product
carried: five reviews of three products must send three.
"""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from tests.federation.corpus import Subgraph

NAMES = {"p1": "Lamp", "p2": "Rug", "p3": "Vase"}


@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID
    name: str

    @classmethod
    def resolve_reference(cls, info: Info, id: strawberry.ID) -> Product | None:
        seen = info.context.setdefault("representations", [0])
        seen[0] += 1
        if id not in NAMES:
            return None
        return cls(id=id, name=NAMES[id])

    @strawberry.field
    def batch(self, info: Info) -> int:
        return info.context.get("representations", [0])[0]


@strawberry.type
class CatalogQuery:
    @strawberry.field
    def top_products(self) -> list[Product]:
        return [Product(id=strawberry.ID(i), name=n) for i, n in NAMES.items()]


REVIEWS = [
    ("r1", "p1", "Bright"),
    ("r2", "p2", "Soft"),
    ("r3", "p1", "Too bright"),
    ("r4", "p3", "Fragile"),
    ("r5", "p1", "Fine"),
]


@strawberry.federation.type(name="Product", keys=["id"])
class ReviewedProduct:
    id: strawberry.ID

    @strawberry.field
    def reviews(self) -> list[Review]:
        return [review(r) for r in REVIEWS if r[1] == self.id]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> ReviewedProduct:
        return cls(id=id)


@strawberry.type
class Review:
    id: strawberry.ID
    body: str
    product: ReviewedProduct


def review(row: tuple[str, str, str]) -> Review:
    return Review(id=strawberry.ID(row[0]), body=row[2], product=ReviewedProduct(id=row[1]))


@strawberry.type
class ReviewsQuery:
    @strawberry.field
    def reviews(self) -> list[Review]:
        return [review(r) for r in REVIEWS]


SUBGRAPHS = {
    "catalog": Subgraph(query=CatalogQuery, types=[Product]),
    "reviews": Subgraph(query=ReviewsQuery, types=[ReviewedProduct]),
}

APOLLO_DEVIATIONS = {
    "deduplicated": "Apollo Gateway sends a representation once per object that needs it (five "
    "for three products); shardgate sends each distinct one once, as Apollo Router does",
}
