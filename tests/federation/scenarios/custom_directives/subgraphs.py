"""`@composeDirective`: a custom `@cache` directive both subgraphs link and compose (catalog
v1.0, reviews v1.1 with one more argument: its definition is the supergraph's), applied to
types and fields; one application the subgraphs share. Clients never see the directive."""

from __future__ import annotations

import strawberry
from strawberry.schema_directive import Location

from tests.federation.corpus import Subgraph

NAMES = {"p1": "Lamp", "p2": "Rug"}
REVIEWS = {"p1": ["Bright", "Warm"], "p2": []}


@strawberry.federation.schema_directive(
    locations=[Location.FIELD_DEFINITION, Location.OBJECT],
    name="cache",
    compose=True,
    import_url="https://myspecs.dev/cache/v1.0",
)
class Cache:
    max_age: int


@strawberry.federation.schema_directive(
    locations=[Location.FIELD_DEFINITION, Location.OBJECT],
    name="cache",
    compose=True,
    import_url="https://myspecs.dev/cache/v1.1",
)
class CacheV11:
    max_age: int
    scope: str | None = None


@strawberry.federation.type(keys=["id"], directives=[Cache(max_age=60)])
class Product:
    id: strawberry.ID

    @strawberry.field(directives=[Cache(max_age=5)])
    def name(self) -> str:
        return NAMES[self.id]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Product:
        return cls(id=id)


@strawberry.type
class CatalogQuery:
    @strawberry.field(directives=[Cache(max_age=1)])
    def products(self) -> list[Product]:
        return [Product(id=strawberry.ID(p)) for p in NAMES]


@strawberry.federation.type(name="Product", keys=["id"], directives=[CacheV11(max_age=60)])
class ReviewedProduct:
    id: strawberry.ID

    @strawberry.field(directives=[CacheV11(max_age=30, scope="PUBLIC")])
    def reviews(self) -> list[str]:
        return REVIEWS[self.id]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> ReviewedProduct:
        return cls(id=id)


SUBGRAPHS = {
    "catalog": Subgraph(query=CatalogQuery, types=[Product]),
    "reviews": Subgraph(types=[ReviewedProduct]),
}
