"""@external: fields a subgraph declares but does not resolve. inventory names Product.name
and Product.price external (a key field set, a requirement); asking for them through
inventory's objects fetches them from products, their owner."""

from __future__ import annotations

from typing import Any

import strawberry

from tests.federation.corpus import Subgraph

PRODUCTS = {"p1": ("Lamp", 20), "p2": ("Rug", 80)}


@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID

    @strawberry.field
    def name(self) -> str:
        return PRODUCTS[self.id][0]

    @strawberry.field
    def price(self) -> int:
        return PRODUCTS[self.id][1]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Product:
        return cls(id=id)


@strawberry.federation.type(name="Product", keys=["id"])
class StockedProduct:
    id: strawberry.ID
    name: str = strawberry.federation.field(external=True, default="")
    price: int = strawberry.federation.field(external=True, default=0)
    rep: strawberry.Private[dict[str, Any]] = None  # type: ignore[assignment]

    @strawberry.field
    def in_stock(self) -> bool:
        return self.id == "p1"

    @strawberry.federation.field(requires=["name"])
    def label(self) -> str:
        return self.rep["name"].upper()

    @strawberry.federation.field(requires=["price"])
    def stock_value(self) -> int:
        return self.rep["price"] * (3 if self.id == "p1" else 0)

    @classmethod
    def resolve_reference(cls, **rep: Any) -> StockedProduct:
        return cls(id=rep["id"], rep=rep)


@strawberry.type
class InventoryQuery:
    @strawberry.field
    def low_stock(self) -> list[StockedProduct]:
        return [StockedProduct(id=strawberry.ID("p2"), rep={})]


SUBGRAPHS = {
    "products": Subgraph(types=[Product]),
    "inventory": Subgraph(query=InventoryQuery, types=[StockedProduct]),
}
