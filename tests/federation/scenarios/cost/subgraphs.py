"""Choosing between subgraphs that can both resolve a field (@shareable): the plan with the
fewest fetches, as Apollo's planner does, not the first subgraph that can.

catalog lists products (name, and `details { weight }`); alpha and beta both resolve
`rating` and `specs`, beta alone `reviewCount`, `specs { size }` and `details { size }`.
Taking `rating` from alpha (the first) when `reviewCount` is asked too costs a fetch more
than taking both from beta; `specs { size }` and `details { size }` can only come from beta
(Specs and Details have no key: nothing can complete them elsewhere).
"""

from __future__ import annotations

import strawberry

from tests.federation.corpus import Subgraph

PRODUCTS = {"p1": ("Lamp", 2, "S", 4, 10), "p2": ("Rug", 9, "XL", 5, 3)}


@strawberry.federation.type(shareable=True, name="Details")
class CatalogDetails:
    weight: int


@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID
    name: str
    details: CatalogDetails = strawberry.federation.field(shareable=True)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Product:
        name, weight = PRODUCTS[id][0], PRODUCTS[id][1]
        return cls(id=id, name=name, details=CatalogDetails(weight=weight))


@strawberry.type
class CatalogQuery:
    @strawberry.field
    def products(self) -> list[Product]:
        return [Product.resolve_reference(id=strawberry.ID(p)) for p in PRODUCTS]  # type: ignore[misc]


@strawberry.federation.type(shareable=True, name="Specs")
class AlphaSpecs:
    weight: int


@strawberry.federation.type(name="Product", keys=["id"])
class AlphaProduct:
    id: strawberry.ID
    rating: int = strawberry.federation.field(shareable=True)
    specs: AlphaSpecs = strawberry.federation.field(shareable=True)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> AlphaProduct:
        _, weight, _, rating, _ = PRODUCTS[id]
        return cls(id=id, rating=rating, specs=AlphaSpecs(weight=weight))


@strawberry.federation.type(shareable=True)
class Specs:
    weight: int
    size: str


@strawberry.federation.type(shareable=True)
class Details:
    weight: int
    size: str


@strawberry.federation.type(name="Product", keys=["id"])
class BetaProduct:
    id: strawberry.ID
    rating: int = strawberry.federation.field(shareable=True)
    review_count: int
    specs: Specs = strawberry.federation.field(shareable=True)
    details: Details = strawberry.federation.field(shareable=True)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> BetaProduct:
        _, weight, size, rating, count = PRODUCTS[id]
        return cls(
            id=id,
            rating=rating,
            review_count=count,
            specs=Specs(weight=weight, size=size),
            details=Details(weight=weight, size=size),
        )


SUBGRAPHS = {
    "alpha": Subgraph(types=[AlphaProduct, AlphaSpecs]),
    "beta": Subgraph(types=[BetaProduct, Specs, Details]),
    "catalog": Subgraph(query=CatalogQuery, types=[Product, CatalogDetails]),
}
