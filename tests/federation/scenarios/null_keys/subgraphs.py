"""`null` around entities: reference fields that are null, nulls inside a list of entities,
an entity whose (nullable) key field is null, and a reference no subgraph knows (its
`_entities` answer is null). orders holds the references; users and products complete them."""

from __future__ import annotations

import strawberry

from tests.federation.corpus import Subgraph

USERS = {"u1": "Ada", "u2": "Lin"}
PRODUCTS = {"p1": "Lamp", "p2": "Rug"}


@strawberry.federation.type(keys=["id"])
class User:
    id: strawberry.ID


@strawberry.federation.type(keys=["upc"])
class Product:
    upc: str | None


@strawberry.type
class Order:
    id: strawberry.ID
    buyer: User | None
    items: list[Product | None]
    gift: Product | None


ORDERS = [
    Order(
        id=strawberry.ID("o1"),
        buyer=User(id=strawberry.ID("u1")),
        items=[Product(upc="p1"), None, Product(upc=None)],
        gift=None,
    ),
    Order(id=strawberry.ID("o2"), buyer=None, items=[], gift=Product(upc=None)),
    Order(
        id=strawberry.ID("o3"),
        buyer=User(id=strawberry.ID("u9")),
        items=[Product(upc="p2"), Product(upc="p1"), Product(upc="p9")],
        gift=Product(upc="p2"),
    ),
]


@strawberry.type
class OrdersQuery:
    @strawberry.field
    def orders(self) -> list[Order]:
        return ORDERS

    @strawberry.field
    def buyers(self) -> list[User | None]:
        return [o.buyer for o in ORDERS]


@strawberry.federation.type(name="User", keys=["id"])
class FullUser:
    id: strawberry.ID
    name: str
    nickname: str | None = None

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> FullUser | None:
        return cls(id=id, name=USERS[id]) if id in USERS else None


@strawberry.federation.type(name="Product", keys=["upc"])
class FullProduct:
    upc: str | None
    name: str
    label: str | None

    @classmethod
    def resolve_reference(cls, upc: str | None) -> FullProduct | None:
        if upc is None:
            return cls(upc=None, name="(unlabelled)", label=None)
        return cls(upc=upc, name=PRODUCTS[upc], label=upc.upper()) if upc in PRODUCTS else None


SUBGRAPHS = {
    "orders": Subgraph(query=OrdersQuery, types=[User, Product]),
    "users": Subgraph(types=[FullUser]),
    "products": Subgraph(types=[FullProduct]),
}
