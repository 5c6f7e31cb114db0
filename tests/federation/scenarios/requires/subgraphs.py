"""@requires: a plain field, a field with arguments, nested selections, fragments on an
abstract type, and a chain (a required field that itself requires another subgraph's field).

    products:  weight, size { width height }, price(currency), packaging (Box | Bag)
    shipping:  cost @requires(weight)  volume @requires(size { width height })
               duty @requires(price(currency: "USD"))
               handling @requires(packaging { ... on Box { side } ... on Bag { litres } })
    insurance: premium @requires(cost)            (cost lives in shipping: a chain)
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from tests.federation.corpus import Subgraph

ROWS = {
    "p1": {"name": "Lamp", "weight": 2, "w": 10, "h": 30, "eur": 20.0, "box": 15},
    "p2": {"name": "Rug", "weight": 5, "w": 100, "h": 1, "eur": 80.0, "bag": 40},
}
RATES = {"EUR": 1.0, "USD": 1.1}


@strawberry.federation.type(shareable=True)
class Size:
    width: int
    height: int


@strawberry.type
class Box:
    side: int


@strawberry.type
class Bag:
    litres: int


Packaging = Annotated[Box | Bag, strawberry.union("Packaging")]


@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID

    @strawberry.field
    def name(self) -> str:
        return str(ROWS[self.id]["name"])

    @strawberry.field
    def weight(self) -> int:
        return int(ROWS[self.id]["weight"])

    @strawberry.field
    def size(self) -> Size:
        return Size(width=int(ROWS[self.id]["w"]), height=int(ROWS[self.id]["h"]))

    @strawberry.field
    def price(self, currency: str = "EUR") -> float:
        return round(float(ROWS[self.id]["eur"]) * RATES[currency], 2)

    @strawberry.field
    def packaging(self) -> Packaging:  # type: ignore[valid-type]
        row = ROWS[self.id]
        return Box(side=int(row["box"])) if "box" in row else Bag(litres=int(row["bag"]))

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Product:
        return cls(id=id)


@strawberry.type
class ProductsQuery:
    @strawberry.field
    def products(self) -> list[Product]:
        return [Product(id=strawberry.ID(i)) for i in ROWS]


@strawberry.federation.type(name="Box")
class ShippedBox:
    side: int = strawberry.federation.field(external=True)


@strawberry.federation.type(name="Bag")
class ShippedBag:
    litres: int = strawberry.federation.field(external=True)


ShippedPackaging = Annotated[ShippedBox | ShippedBag, strawberry.union("Packaging")]


@strawberry.federation.type(name="Product", keys=["id"])
class ShippedProduct:
    id: strawberry.ID
    weight: int = strawberry.federation.field(external=True, default=0)
    size: Size = strawberry.federation.field(external=True, default=None)
    packaging: ShippedPackaging = strawberry.federation.field(  # type: ignore[valid-type]
        external=True, default=None
    )
    rep: strawberry.Private[dict[str, Any]] = None  # type: ignore[assignment]

    @strawberry.federation.field(external=True)
    def price(self, currency: str = "EUR") -> float:
        raise NotImplementedError  # never asked: external

    @strawberry.federation.field(requires=["weight"])
    def cost(self) -> float:
        return self.rep["weight"] * 1.5

    @strawberry.federation.field(requires=["size { width height }"])
    def volume(self) -> int:
        return self.rep["size"]["width"] * self.rep["size"]["height"]

    @strawberry.federation.field(requires=['price(currency: "USD")'])
    def duty(self) -> float:
        return round(self.rep["price"] * 0.1, 2)

    @strawberry.federation.field(
        requires=["packaging { ... on Box { side } ... on Bag { litres } }"]
    )
    def handling(self) -> str:
        packaging = self.rep["packaging"]
        if "side" in packaging:
            return f"box of {packaging['side']} cm"
        return f"bag of {packaging['litres']} l"

    @classmethod
    def resolve_reference(cls, **rep: Any) -> ShippedProduct:
        return cls(id=rep["id"], rep=rep)


@strawberry.federation.type(name="Product", keys=["id"])
class InsuredProduct:
    id: strawberry.ID
    cost: float = strawberry.federation.field(external=True, default=0.0)
    rep: strawberry.Private[dict[str, Any]] = None  # type: ignore[assignment]

    @strawberry.federation.field(requires=["cost"])
    def premium(self) -> float:
        return round(self.rep["cost"] * 0.2 + 1, 2)

    @classmethod
    def resolve_reference(cls, **rep: Any) -> InsuredProduct:
        return cls(id=rep["id"], rep=rep)


SUBGRAPHS = {
    "products": Subgraph(query=ProductsQuery, types=[Product, Box, Bag]),
    "shipping": Subgraph(types=[ShippedProduct, ShippedBox, ShippedBag, Size]),
    "insurance": Subgraph(types=[InsuredProduct]),
}

PLAN_DEVIATIONS = {
    "with-arguments": "the requirement price(currency: USD) is fetched under an internal alias "
    "beside the client's price (Apollo's planner fetches only the required one)",
}
APOLLO_DEVIATIONS = {
    "with-arguments": "Apollo Gateway answers the client's price (EUR by default) with the "
    'value of the requirement price(currency: "USD") (federation#2276); shardgate keeps both',
}
