"""@provides: on an object field, nested, and on an interface (`... on` in the field set).

reviews provides the author's name and address { city } under `Review.author`, and the
title of a book under `Review.item` (an interface): asked there, they cost no other fetch.
"""

from __future__ import annotations

import strawberry

from tests.federation.corpus import Subgraph

USERS = {"u1": ("Ada", "Oslo", "ada@example.com"), "u2": ("Lin", "Lima", "lin@example.com")}


@strawberry.federation.type(shareable=True)
class Address:
    city: str


@strawberry.federation.type(keys=["id"])
class User:
    id: strawberry.ID
    name: str = strawberry.federation.field(shareable=True)
    address: Address = strawberry.federation.field(shareable=True)
    email: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> User:
        name, city, email = USERS[id]
        return cls(id=id, name=name, address=Address(city=city), email=email)


@strawberry.federation.interface
class Item:
    id: strawberry.ID


@strawberry.federation.type(keys=["id"])
class Book(Item):
    title: str = strawberry.federation.field(shareable=True)
    isbn: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Book:
        return cls(id=id, title="Dune", isbn="978-0441013593")


@strawberry.type
class UsersQuery:
    @strawberry.field
    def users(self) -> list[User]:
        return [User.resolve_reference(id=strawberry.ID(u)) for u in USERS]  # type: ignore[misc]


@strawberry.federation.type(name="User", keys=["id"])
class Author:
    id: strawberry.ID
    name: str = strawberry.federation.field(external=True)
    address: Address = strawberry.federation.field(external=True)


@strawberry.federation.interface(name="Item")
class ReviewedItem:
    id: strawberry.ID


@strawberry.federation.type(name="Book", keys=["id"])
class ReviewedBook(ReviewedItem):
    title: str = strawberry.federation.field(external=True)


@strawberry.type
class Review:
    body: str
    author: Author = strawberry.federation.field(provides=["name address { city }"])
    plain_author: Author
    item: ReviewedItem = strawberry.federation.field(provides=["... on Book { title }"])


def author(uid: str) -> Author:
    # What it provides is what it knows at the time of writing (a stale "Ada L.")
    return Author(id=strawberry.ID(uid), name=f"{USERS[uid][0]} L.", address=Address(city="Bergen"))


@strawberry.type
class ReviewsQuery:
    @strawberry.field
    def reviews(self) -> list[Review]:
        book = ReviewedBook(id=strawberry.ID("b1"), title="Dune (provided)")
        return [
            Review(body="Great", author=author("u1"), plain_author=author("u1"), item=book),
            Review(body="Meh", author=author("u2"), plain_author=author("u2"), item=book),
        ]


SUBGRAPHS = {
    "users": Subgraph(query=UsersQuery, types=[User, Book]),
    "reviews": Subgraph(query=ReviewsQuery, types=[Author, ReviewedBook]),
}
