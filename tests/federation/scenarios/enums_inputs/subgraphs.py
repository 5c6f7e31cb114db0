"""Enums and input objects that differ between subgraphs, composed by the Federation 2 rules:
`Tag` is an output enum (the supergraph has the union of its values, each joined to the
subgraphs that define it); `Sort` and `ProductFilter` are input types (the supergraph has
the values and fields that every subgraph has: the intersection). A value or field that
only one subgraph knows is not in the API schema, so an operation using it is invalid."""

from __future__ import annotations

from enum import Enum

import strawberry

from tests.federation.corpus import Subgraph

PRODUCTS = {"p1": ("Lamp", 25, ["NEW"]), "p2": ("Rug", 90, ["SALE", "NEW"]), "p3": ("Mug", 8, [])}
DEALS = [("p2", 20, ["SALE", "CLEARANCE"]), ("p3", 50, ["CLEARANCE"]), ("p1", 5, [])]


@strawberry.enum
class Tag(Enum):
    NEW = "NEW"
    SALE = "SALE"


@strawberry.enum
class Sort(Enum):
    PRICE = "PRICE"
    NAME = "NAME"


@strawberry.input
class ProductFilter:
    min_price: int | None = None
    name_prefix: str | None = None


@strawberry.federation.type(keys=["id"])
class Product:
    id: strawberry.ID
    name: str
    price: int
    tags: list[Tag]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Product:
        name, price, tags = PRODUCTS[id]
        return cls(id=id, name=name, price=price, tags=[Tag(t) for t in tags])


@strawberry.type
class CatalogQuery:
    @strawberry.field
    def products(
        self, filter: ProductFilter | None = None, sort: Sort = Sort.PRICE
    ) -> list[Product]:
        found = [Product.resolve_reference(id=strawberry.ID(p)) for p in PRODUCTS]  # type: ignore[misc]
        if filter and filter.min_price is not None:
            found = [p for p in found if p.price >= filter.min_price]
        if filter and filter.name_prefix is not None:
            found = [p for p in found if p.name.startswith(filter.name_prefix)]
        key = (lambda p: p.price) if sort is Sort.PRICE else (lambda p: p.name)
        return sorted(found, key=key)


@strawberry.enum(name="Tag")
class DealTag(Enum):
    SALE = "SALE"
    CLEARANCE = "CLEARANCE"


@strawberry.enum(name="Sort")
class DealSort(Enum):
    PRICE = "PRICE"
    DISCOUNT = "DISCOUNT"


@strawberry.input(name="ProductFilter")
class DealFilter:
    min_price: int | None = None
    in_stock: bool | None = None


@strawberry.federation.type(name="Product", keys=["id"])
class DealProduct:
    id: strawberry.ID


@strawberry.type
class Deal:
    product: DealProduct
    discount: int
    tags: list[DealTag]


@strawberry.type
class DealsQuery:
    @strawberry.field
    def deals(
        self, filter: DealFilter | None = None, sort: DealSort = DealSort.PRICE
    ) -> list[Deal]:
        found = [
            Deal(product=DealProduct(id=strawberry.ID(p)), discount=d, tags=[DealTag(t) for t in t])
            for p, d, t in DEALS
        ]
        if filter and filter.min_price is not None:
            found = [d for d in found if PRODUCTS[d.product.id][1] >= filter.min_price]
        if sort is DealSort.PRICE:
            return sorted(found, key=lambda d: PRODUCTS[d.product.id][1])
        return sorted(found, key=lambda d: -d.discount)


SUBGRAPHS = {
    "catalog": Subgraph(query=CatalogQuery, types=[Product]),
    "deals": Subgraph(query=DealsQuery, types=[DealProduct]),
}

_WORDING = "invalid over the API schema in both gateways; the message is graphql-core's wording"
APOLLO_DEVIATIONS = {
    "default-and-name": _WORDING,
    "value-of-one-subgraph": _WORDING,
    "field-of-one-subgraph": _WORDING,
}
