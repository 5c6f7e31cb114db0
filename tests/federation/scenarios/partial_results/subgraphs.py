"""Partial results: a failing entity or field yields an error with its path, the rest of the
data stays, and nulls propagate to the nearest nullable parent as the GraphQL spec says."""

from __future__ import annotations

import strawberry

from tests.federation.corpus import Subgraph


@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID


@strawberry.type
class Order:
    id: strawberry.ID
    products: list[Product]
    maybe_products: list[Product | None]


def ids(*names: str) -> list[Product]:
    return [Product(id=strawberry.ID(n)) for n in names]


@strawberry.type
class OrdersQuery:
    @strawberry.field
    def order(self) -> Order | None:
        return Order(
            id=strawberry.ID("o1"), products=ids("p1", "bad"), maybe_products=ids("p1", "bad")
        )

    @strawberry.field
    def orders(self) -> list[Order]:
        return [
            Order(id=strawberry.ID("o1"), products=ids("p1"), maybe_products=[]),
            Order(id=strawberry.ID("o2"), products=ids("p2", "gone"), maybe_products=[]),
        ]


NAMES = {"p1": "Lamp", "p2": "Rug"}


@strawberry.federation.type(name="Product", keys=["id"])
class CatalogProduct:
    id: strawberry.ID

    @strawberry.field
    def name(self) -> str:
        if self.id == "bad":
            raise ValueError("this product cannot be read")
        return NAMES[self.id]

    @strawberry.field
    def price(self) -> int | None:
        if self.id == "p2":
            raise ValueError("no price for p2")
        return 10

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> CatalogProduct | None:
        return None if id == "gone" else cls(id=id)


SUBGRAPHS = {
    "orders": Subgraph(query=OrdersQuery, types=[Product]),
    "catalog": Subgraph(types=[CatalogProduct]),
}
