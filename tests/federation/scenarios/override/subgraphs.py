"""@override: modern took `Product.price` and `Query.products` over from legacy, which is
down (every request to it fails). What was overridden is served by modern alone; a field
only legacy resolves fails with a path, and the rest of the answer stays."""

from __future__ import annotations

import strawberry

from tests.federation.corpus import Subgraph

PRODUCTS = {"p1": ("Lamp", 25), "p2": ("Rug", 90)}


@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID
    name: str = strawberry.federation.field(shareable=True)
    price: int = strawberry.federation.field(override="legacy")

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Product:
        return cls(id=id, name=PRODUCTS[id][0], price=PRODUCTS[id][1])


@strawberry.type
class ModernQuery:
    @strawberry.federation.field(override="legacy")
    def products(self) -> list[Product]:
        return [Product.resolve_reference(id=strawberry.ID(p)) for p in PRODUCTS]  # type: ignore[misc]


@strawberry.federation.type(name="Product", keys=["id"])
class LegacyProduct:
    id: strawberry.ID
    name: str = strawberry.federation.field(shareable=True)
    price: int
    barcode: str | None


@strawberry.type
class LegacyQuery:
    @strawberry.field
    def products(self) -> list[LegacyProduct]:
        raise NotImplementedError  # legacy is down

    @strawberry.field
    def legacy_status(self) -> str | None:
        raise NotImplementedError


SUBGRAPHS = {
    "modern": Subgraph(query=ModernQuery, types=[Product]),
    "legacy": Subgraph(query=LegacyQuery, types=[LegacyProduct]),
}
DOWN = {"legacy"}

APOLLO_DEVIATIONS = {
    "field-of-the-down-subgraph": "Apollo Gateway's error for the failed fetch has no path; "
    "shardgate's names every object it was for (as Apollo Router does), and not the subgraph's "
    "address",
    "root-field-of-the-down-subgraph": "Apollo Gateway's error has no path; shardgate's names "
    "the root field the fetch served",
}
