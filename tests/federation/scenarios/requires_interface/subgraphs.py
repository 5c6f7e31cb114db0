"""A `@requires` chain through an interface and `@interfaceObject`s: media owns the interface
`Media` (Book, Film) and its `price`; pricing (an @interfaceObject) computes `tax`, which
requires `price`; shipping (another @interfaceObject) computes `total`, which requires `tax`
and `price`, and has a root field of media it cannot type; blurbs completes the
implementation `Book` with `blurb`, which requires `title` and `total`: four fetches, each
needing what the one before fetched."""

from __future__ import annotations

from typing import Any

import strawberry

from tests.federation.corpus import Subgraph

MEDIA = {"b1": ("Book", "Dune", 20), "f1": ("Film", "Alien", 10), "b2": ("Book", "Emma", 5)}


@strawberry.federation.interface(keys=["id"])
class Media:
    id: strawberry.ID
    title: str
    price: int

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Media:
        return make(id)


@strawberry.federation.type(keys=["id"])
class Book(Media):
    pages: int


@strawberry.federation.type(keys=["id"])
class Film(Media):
    minutes: int


def make(id: str) -> Media:
    kind, title, price = MEDIA[id]
    if kind == "Book":
        return Book(id=strawberry.ID(id), title=title, price=price, pages=412)
    return Film(id=strawberry.ID(id), title=title, price=price, minutes=117)


@strawberry.type
class MediaQuery:
    @strawberry.field
    def media(self) -> list[Media]:
        return [make(i) for i in MEDIA]


@strawberry.federation.interface_object(name="Media", keys=["id"])
class PricedMedia:
    id: strawberry.ID
    price: int = strawberry.federation.field(external=True, default=0)

    @strawberry.federation.field(requires=["price"])
    def tax(self) -> int:
        return self.price // 5

    @classmethod
    def resolve_reference(cls, **rep: Any) -> PricedMedia:
        return cls(id=rep["id"], price=rep["price"])


@strawberry.federation.interface_object(name="Media", keys=["id"])
class ShippedMedia:
    id: strawberry.ID
    price: int = strawberry.federation.field(external=True, default=0)
    tax: int = strawberry.federation.field(external=True, default=0)

    @strawberry.federation.field(requires=["price", "tax"])
    def total(self) -> int:
        return self.price + self.tax + 3

    @classmethod
    def resolve_reference(cls, **rep: Any) -> ShippedMedia:
        return cls(id=rep["id"], price=rep["price"], tax=rep["tax"])


@strawberry.type
class ShippingQuery:
    @strawberry.field
    def shipped(self) -> list[ShippedMedia]:
        return [ShippedMedia(id=strawberry.ID("f1")), ShippedMedia(id=strawberry.ID("b2"))]


@strawberry.federation.type(name="Book", keys=["id"])
class BlurbedBook:
    id: strawberry.ID
    title: str = strawberry.federation.field(external=True, default="")
    total: int = strawberry.federation.field(external=True, default=0)

    @strawberry.federation.field(requires=["title", "total"])
    def blurb(self) -> str:
        return f"{self.title} for {self.total}"

    @classmethod
    def resolve_reference(cls, **rep: Any) -> BlurbedBook:
        return cls(id=rep["id"], title=rep["title"], total=rep["total"])


SUBGRAPHS = {
    "media": Subgraph(query=MediaQuery, types=[Book, Film]),
    "pricing": Subgraph(types=[PricedMedia]),
    "shipping": Subgraph(query=ShippingQuery, types=[ShippedMedia]),
    "blurbs": Subgraph(types=[BlurbedBook]),
}

_APOLLO_BUG = (
    "Apollo's planner (2.14) cannot plan a @requires chain across two @interfaceObjects "
    '("Cannot add selection of field Media.__typename ... potentially an interface object '
    'type at runtime"); the answer here is computed by hand: total = price + price // 5 + 3'
)
APOLLO_DEVIATIONS = {
    "chain-through-interface-objects": _APOLLO_BUG,
    "chain-into-implementation": _APOLLO_BUG,
    "from-interface-object-root": _APOLLO_BUG,
}
PLAN_DEVIATIONS = APOLLO_DEVIATIONS
