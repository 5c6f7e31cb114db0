"""@shareable: fields several subgraphs resolve. `Query.products` and `Product.name` live in
both catalog and pricing; pricing alone has `price`, catalog alone `color`. A plan for
`products { name price }` should ask pricing only (no extra fetch), `products { name color }`
catalog only."""

from __future__ import annotations

import strawberry

from tests.federation.corpus import Subgraph

PRODUCTS = {"p1": ("Lamp", "red", 20), "p2": ("Rug", "blue", 80)}


@strawberry.federation.type(shareable=True)
class Money:
    amount: int
    currency: str


@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID
    name: str = strawberry.federation.field(shareable=True)
    color: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Product:
        return cls(id=id, name=PRODUCTS[id][0], color=PRODUCTS[id][1])


@strawberry.type
class CatalogQuery:
    @strawberry.federation.field(shareable=True)
    def products(self) -> list[Product]:
        return [Product.resolve_reference(id=strawberry.ID(p)) for p in PRODUCTS]  # type: ignore[misc]


@strawberry.federation.type(name="Product", keys=["id"])
class PricedProduct:
    id: strawberry.ID
    name: str = strawberry.federation.field(shareable=True)
    price: Money

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> PricedProduct:
        return cls(id=id, name=PRODUCTS[id][0], price=Money(amount=PRODUCTS[id][2], currency="EUR"))


@strawberry.type
class PricingQuery:
    @strawberry.federation.field(shareable=True)
    def products(self) -> list[PricedProduct]:
        return [PricedProduct.resolve_reference(id=strawberry.ID(p)) for p in PRODUCTS]  # type: ignore[misc]


SUBGRAPHS = {
    "catalog": Subgraph(query=CatalogQuery, types=[Product]),
    "pricing": Subgraph(query=PricingQuery, types=[PricedProduct, Money]),
}
