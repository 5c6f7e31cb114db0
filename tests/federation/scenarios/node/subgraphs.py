"""The `Node` / `node(id:)` pattern: the nodes subgraph has the `Node` interface, the
`node(id:)` and `nodes(ids:)` root fields and every implementation reduced to its key;
users and products add the implementations' own fields, so a `node` answer is completed
type by type from the subgraph that owns each fragment's fields. An unknown id is null."""

from __future__ import annotations

import strawberry

from tests.federation.corpus import Subgraph

USERS = {"u1": ("Ada", "ada@example.com"), "u2": ("Lin", None)}
PRODUCTS = {"p1": ("Lamp", 25)}


@strawberry.federation.interface
class Node:
    id: strawberry.ID


@strawberry.federation.type(keys=["id"])
class User(Node):
    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> User:
        return cls(id=id)


@strawberry.federation.type(keys=["id"])
class Product(Node):
    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Product:
        return cls(id=id)


def find(id: str) -> Node | None:
    if id in USERS:
        return User(id=strawberry.ID(id))
    if id in PRODUCTS:
        return Product(id=strawberry.ID(id))
    return None


@strawberry.type
class NodesQuery:
    @strawberry.field
    def node(self, id: strawberry.ID) -> Node | None:
        return find(id)

    @strawberry.field
    def nodes(self, ids: list[strawberry.ID]) -> list[Node | None]:
        return [find(i) for i in ids]


@strawberry.federation.type(name="User", keys=["id"])
class FullUser:
    id: strawberry.ID
    name: str
    email: str | None

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> FullUser:
        return cls(id=id, name=USERS[id][0], email=USERS[id][1])


@strawberry.federation.type(name="Product", keys=["id"])
class FullProduct:
    id: strawberry.ID
    title: str
    price: int

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> FullProduct:
        return cls(id=id, title=PRODUCTS[id][0], price=PRODUCTS[id][1])


SUBGRAPHS = {
    "nodes": Subgraph(query=NodesQuery, types=[User, Product]),
    "users": Subgraph(types=[FullUser]),
    "products": Subgraph(types=[FullProduct]),
}
