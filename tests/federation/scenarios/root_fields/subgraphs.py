"""Root fields spread over three subgraphs: one fetch per subgraph, in parallel; a nullable
root field that is null or fails keeps the rest; a non-null one that fails nulls `data`."""

from __future__ import annotations

import strawberry

from tests.federation.corpus import Subgraph


@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID
    name: str


PRODUCTS = [
    Product(id=strawberry.ID("p1"), name="Lamp"),
    Product(id=strawberry.ID("p2"), name="Rug"),
]


@strawberry.type
class CatalogQuery:
    @strawberry.field
    def products(self) -> list[Product]:
        return PRODUCTS

    @strawberry.field
    def product(self, id: strawberry.ID) -> Product | None:
        return next((p for p in PRODUCTS if p.id == id), None)

    @strawberry.field
    def catalog_motd(self) -> str | None:
        raise ValueError("the catalog has no message today")


@strawberry.type
class Warehouse:
    name: str
    city: str


@strawberry.type
class StockQuery:
    @strawberry.field
    def warehouse(self) -> Warehouse:
        return Warehouse(name="North", city="Oslo")

    @strawberry.field
    def stock_level(self, sku: str = "p1") -> int:
        if sku != "p1":
            raise ValueError(f"no stock level for {sku}")
        return 7


@strawberry.type
class User:
    id: strawberry.ID
    name: str


@strawberry.type
class PeopleQuery:
    @strawberry.field
    def me(self) -> User:
        return User(id=strawberry.ID("u1"), name="Ada")

    @strawberry.field
    def nobody(self) -> User | None:
        return None


SUBGRAPHS = {
    "catalog": Subgraph(query=CatalogQuery, types=[Product]),
    "stock": Subgraph(query=StockQuery),
    "people": Subgraph(query=PeopleQuery),
}
