"""Federation 1 subgraphs (no @link), the classic way, beside one Federation 2 subgraph.

    accounts   (Fed1)  type User @key(id) { id name username }          Query.me, Query.version
    products   (Fed1)  type Product @key(upc) { upc name price: Money weight }
                       Query.topProducts, Query.version (a root field of two subgraphs)
    inventory  (Fed1)  extend type Product @key(upc) { upc @external  weight @external
                       price @external  name @external (unused: removed)  inStock
                       shippingEstimate @requires("price { amount } weight") }
                       Money (a value type of two subgraphs: shareable)
    reviews    (Fed1)  extend type User @key(id) { id @external username @external reviews }
                       type Product @extends @key(upc) { upc @external name reviews }
                       (Product.name resolved here too: shareable, no fetch to products)
                       Review.author @provides("username")
    sellers    (Fed2)  Product.seller; User { id name @shareable }

Composition upgrades the Fed1 subgraphs as @apollo/composition does; the answers and plans
are Apollo's.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.schema_directive import Location

from tests.federation.corpus import Fed1Subgraph, Subgraph

USERS = {"u1": ("Ada Lovelace", "ada"), "u2": ("Alan Turing", "alan")}
PRODUCTS = {  # upc: name, price, weight
    "p1": ("Table", 899, 100),
    "p2": ("Couch", 1299, 1000),
    "p3": ("Chair", 54, 50),
}
REVIEWS = {  # id: author, product, body
    "r1": ("u1", "p1", "Love it!"),
    "r2": ("u1", "p2", "Too expensive."),
    "r3": ("u2", "p3", "Could be better."),
    "r4": ("u2", "p1", "Prefer something else."),
}
SELLERS = {"p1": "u2", "p2": "u1", "p3": "u2"}


@strawberry.schema_directive(locations=[Location.OBJECT], name="extends", print_definition=False)
class Extends:
    """Federation 1's `@extends`: the type is an extension of another subgraph's."""


# accounts


@strawberry.federation.type(keys=["id"])
class User:
    id: strawberry.ID
    name: str
    username: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> User:
        name, username = USERS[id]
        return cls(id=id, name=name, username=username)


@strawberry.type
class AccountsQuery:
    @strawberry.field
    def me(self) -> User:
        return User.resolve_reference(id=strawberry.ID("u1"))  # type: ignore[misc]

    @strawberry.field
    def version(self) -> str:
        return "fed1"


# products


@strawberry.type
class Money:
    amount: int
    currency: str


@strawberry.federation.type(keys=["upc"])
class Product:
    upc: str

    @strawberry.field
    def name(self) -> str:
        return PRODUCTS[self.upc][0]

    @strawberry.field
    def price(self) -> Money:
        return Money(amount=PRODUCTS[self.upc][1], currency="USD")

    @strawberry.field
    def weight(self) -> int:
        return PRODUCTS[self.upc][2]

    @classmethod
    def resolve_reference(cls, upc: str) -> Product:
        return cls(upc=upc)


@strawberry.type
class ProductsQuery:
    @strawberry.field
    def top_products(self, first: int = 5) -> list[Product]:
        return [Product(upc=upc) for upc in list(PRODUCTS)[:first]]

    @strawberry.field
    def version(self) -> str:
        return "fed1"


# inventory


@strawberry.federation.type(name="Product", keys=["upc"], extend=True)
class StockedProduct:
    upc: str = strawberry.federation.field(external=True)
    weight: int = strawberry.federation.field(external=True, default=0)
    price: Money = strawberry.federation.field(external=True, default=None)
    name: str = strawberry.federation.field(external=True, default="")
    rep: strawberry.Private[dict[str, Any]] = None  # type: ignore[assignment]

    @strawberry.field
    def in_stock(self) -> bool:
        return self.upc != "p2"

    @strawberry.federation.field(requires=["price { amount } weight"])
    def shipping_estimate(self) -> int:
        # free for expensive items, otherwise by weight
        return 0 if self.rep["price"]["amount"] > 1000 else self.rep["weight"] // 2

    @classmethod
    def resolve_reference(cls, **rep: Any) -> StockedProduct:
        return cls(upc=rep["upc"], rep=rep)


# reviews


@strawberry.federation.type(name="User", keys=["id"], extend=True)
class Author:
    id: strawberry.ID = strawberry.federation.field(external=True)
    username: str = strawberry.federation.field(external=True, default="")

    @strawberry.field
    def reviews(self) -> list[Review]:
        return [review(r) for r, (author, _, _) in REVIEWS.items() if author == self.id]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Author:
        return cls(id=id)


@strawberry.federation.type(name="Product", keys=["upc"], directives=[Extends()])
class ReviewedProduct:
    upc: str = strawberry.federation.field(external=True)

    @strawberry.field
    def name(self) -> str:
        return PRODUCTS[self.upc][0]

    @strawberry.field
    def reviews(self) -> list[Review]:
        return [review(r) for r, (_, upc, _) in REVIEWS.items() if upc == self.upc]

    @classmethod
    def resolve_reference(cls, upc: str) -> ReviewedProduct:
        return cls(upc=upc)


@strawberry.federation.type(keys=["id"])
class Review:
    id: strawberry.ID
    body: str
    author: Author = strawberry.federation.field(provides=["username"])
    product: ReviewedProduct

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Review:
        return review(id)


def review(id: str) -> Review:
    author, upc, body = REVIEWS[id]
    return Review(
        id=strawberry.ID(id),
        body=body,
        author=Author(id=strawberry.ID(author), username=USERS[author][1]),
        product=ReviewedProduct(upc=upc),
    )


@strawberry.type
class ReviewsQuery:
    @strawberry.field
    def latest_reviews(self) -> list[Review]:
        return [review(r) for r in sorted(REVIEWS, reverse=True)[:2]]


# sellers (Federation 2)


@strawberry.federation.type(name="User", keys=["id"])
class Seller:
    id: strawberry.ID
    name: str = strawberry.federation.field(shareable=True)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Seller:
        return cls(id=id, name=USERS[id][0])


@strawberry.federation.type(name="Product", keys=["upc"])
class SoldProduct:
    upc: str

    @strawberry.field
    def seller(self) -> Seller:
        return Seller.resolve_reference(id=strawberry.ID(SELLERS[self.upc]))  # type: ignore[misc]

    @classmethod
    def resolve_reference(cls, upc: str) -> SoldProduct:
        return cls(upc=upc)


SUBGRAPHS = {
    "accounts": Fed1Subgraph(query=AccountsQuery, types=[User]),
    "products": Fed1Subgraph(query=ProductsQuery, types=[Product, Money]),
    "inventory": Fed1Subgraph(types=[StockedProduct, Money]),
    "reviews": Fed1Subgraph(query=ReviewsQuery, types=[Author, ReviewedProduct, Review]),
    "sellers": Subgraph(types=[SoldProduct, Seller]),
}
