"""@inaccessible: hidden from the API schema and introspection, still used for planning.
`Product.code` is inaccessible but is the key labels enters with; `Product.cost` is
inaccessible and required by `margin`; the enum value `Status.RETIRED` and the type
`Audit` are inaccessible."""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry

from tests.federation.corpus import Subgraph

PRODUCTS = {"c1": ("Lamp", 20, 12), "c2": ("Rug", 80, 70)}


@strawberry.federation.enum
class Status(Enum):
    ACTIVE = "ACTIVE"
    RETIRED = strawberry.federation.enum_value("RETIRED", inaccessible=True)


@strawberry.federation.type(inaccessible=True)
class Audit:
    by: str


@strawberry.federation.type(keys=["code"])
class Product:
    code: str = strawberry.federation.field(inaccessible=True)
    name: str
    price: int
    cost: int = strawberry.federation.field(inaccessible=True)
    status: Status
    audit: Audit | None = strawberry.federation.field(inaccessible=True, default=None)

    @classmethod
    def resolve_reference(cls, code: str) -> Product:
        name, price, cost = PRODUCTS[code]
        return cls(code=code, name=name, price=price, cost=cost, status=Status.ACTIVE)


@strawberry.type
class CatalogQuery:
    @strawberry.field
    def products(self) -> list[Product]:
        return [Product.resolve_reference(code=c) for c in PRODUCTS]  # type: ignore[misc]


@strawberry.federation.type(name="Product", keys=["code"])
class LabelledProduct:
    code: str = strawberry.federation.field(inaccessible=True)
    price: int = strawberry.federation.field(external=True, default=0)
    cost: int = strawberry.federation.field(external=True, default=0)
    rep: strawberry.Private[dict[str, Any]] = None  # type: ignore[assignment]

    @strawberry.field
    def label(self) -> str:
        return f"label-{self.code}"

    @strawberry.federation.field(requires=["price cost"])
    def margin(self) -> int:
        return self.rep["price"] - self.rep["cost"]

    @classmethod
    def resolve_reference(cls, **rep: Any) -> LabelledProduct:
        return cls(code=rep["code"], rep=rep)


SUBGRAPHS = {
    "catalog": Subgraph(query=CatalogQuery, types=[Product, Audit]),
    "labels": Subgraph(types=[LabelledProduct]),
}

APOLLO_DEVIATIONS = {
    "hidden-field-asked": "the same validation error, worded by graphql-js (double quotes)",
}
