"""Progressive `@override(from:, label:)`: modern is taking fields over from legacy, both up,
each answering with its own values so the answer shows who served a field. `price` is at
`percent(100)`, `weight` at `percent(0)`, `stock` behind the custom label `beta`.

Composition keeps both subgraphs' joins with `overrideLabel` (join v0.4), as Apollo does.
Apollo Gateway evaluates no label (percentages are the Router's): every labelled field is
still served by legacy, even at `percent(100)`. shardgate does the same, so a label can be
composed and served without changing any answer until the plain `@override` replaces it."""

from __future__ import annotations

import strawberry
from strawberry.federation.schema_directives import Override

from tests.federation.corpus import Subgraph

PRODUCTS = {"p1": "Lamp", "p2": "Rug"}


@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID
    name: str = strawberry.federation.field(shareable=True)

    @strawberry.federation.field(override=Override(override_from="legacy", label="percent(100)"))
    def price(self) -> int:
        return 200

    @strawberry.federation.field(override=Override(override_from="legacy", label="percent(0)"))
    def weight(self) -> int:
        return 20

    @strawberry.federation.field(override=Override(override_from="legacy", label="beta"))
    def stock(self) -> int:
        return 2

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Product:
        return cls(id=id, name=PRODUCTS[id])


@strawberry.type
class ModernQuery:
    @strawberry.federation.field(override=Override(override_from="legacy", label="percent(100)"))
    def products(self) -> list[Product]:
        return [Product.resolve_reference(id=strawberry.ID(p)) for p in PRODUCTS]  # type: ignore[misc]


@strawberry.federation.type(name="Product", keys=["id"])
class LegacyProduct:
    id: strawberry.ID
    name: str = strawberry.federation.field(shareable=True)
    price: int = 100
    weight: int = 10
    stock: int = 1

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> LegacyProduct:
        return cls(id=id, name=PRODUCTS[id])


@strawberry.type
class LegacyQuery:
    @strawberry.field
    def products(self) -> list[LegacyProduct]:
        return [LegacyProduct.resolve_reference(id=strawberry.ID(p)) for p in PRODUCTS]  # type: ignore[misc]

    @strawberry.field
    def product(self, id: strawberry.ID) -> LegacyProduct | None:
        return LegacyProduct.resolve_reference(id=id) if id in PRODUCTS else None  # type: ignore[misc]


SUBGRAPHS = {
    "modern": Subgraph(query=ModernQuery, types=[Product]),
    "legacy": Subgraph(query=LegacyQuery, types=[LegacyProduct]),
}
