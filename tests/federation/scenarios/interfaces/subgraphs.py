"""Interfaces across subgraphs: `Item` (Book, Movie) is whole in catalog and reduced to `id`
in reviews, whose `recommended` returns items that catalog must complete type by type. The
fragments, typename, aliases, variables and skip_include scenarios run over these subgraphs.
"""

from __future__ import annotations

import strawberry

from tests.federation.corpus import Subgraph

BOOKS = {"b1": ("Dune", "Herbert"), "b2": ("Emma", "Austen")}
MOVIES = {"m1": ("Alien", 1979)}
REVIEWS = {
    "b1": [(5, "Epic"), (4, "Long")],
    "b2": [(3, "Witty")],
    "m1": [(5, "Scary"), (2, "Dark"), (4, "Classic")],
}
COPIES = {"b1": 3, "b2": 0}


@strawberry.federation.interface
class Item:
    id: strawberry.ID
    title: str


@strawberry.federation.type(keys=["id"])
class Book(Item):
    author: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Book:
        return cls(id=id, title=BOOKS[id][0], author=BOOKS[id][1])


@strawberry.federation.type(keys=["id"])
class Movie(Item):
    year: int

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Movie:
        return cls(id=id, title=MOVIES[id][0], year=MOVIES[id][1])


def catalog_item(id: str) -> Item:
    if id in BOOKS:
        return Book.resolve_reference(id=strawberry.ID(id))  # type: ignore[misc]
    return Movie.resolve_reference(id=strawberry.ID(id))  # type: ignore[misc]


@strawberry.type
class CatalogQuery:
    @strawberry.field
    def items(self, first: int = 10) -> list[Item]:
        return [catalog_item(i) for i in [*BOOKS, *MOVIES][:first]]

    @strawberry.field
    def item(self, id: strawberry.ID) -> Item | None:
        return catalog_item(id) if id in BOOKS or id in MOVIES else None


@strawberry.type
class Review:
    stars: int
    text: str


def reviews_of(id: str, first: int | None) -> list[Review]:
    return [Review(stars=s, text=t) for s, t in REVIEWS[id][:first]]


@strawberry.federation.interface(name="Item")
class ReviewedItem:
    id: strawberry.ID


@strawberry.federation.type(name="Book", keys=["id"])
class ReviewedBook(ReviewedItem):
    @strawberry.field
    def reviews(self, first: int | None = None) -> list[Review]:
        return reviews_of(self.id, first)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> ReviewedBook:
        return cls(id=id)


@strawberry.federation.type(name="Movie", keys=["id"])
class ReviewedMovie(ReviewedItem):
    @strawberry.field
    def reviews(self, first: int | None = None) -> list[Review]:
        return reviews_of(self.id, first)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> ReviewedMovie:
        return cls(id=id)


@strawberry.type
class ReviewsQuery:
    @strawberry.field
    def recommended(self) -> list[ReviewedItem]:
        return [ReviewedMovie(id=strawberry.ID("m1")), ReviewedBook(id=strawberry.ID("b2"))]


@strawberry.federation.type(name="Book", keys=["id"])
class StockedBook:
    id: strawberry.ID

    @strawberry.field
    def copies(self) -> int:
        return COPIES[self.id]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> StockedBook:
        return cls(id=id)


SUBGRAPHS = {
    "catalog": Subgraph(query=CatalogQuery, types=[Book, Movie]),
    "reviews": Subgraph(query=ReviewsQuery, types=[ReviewedBook, ReviewedMovie]),
    "stock": Subgraph(types=[StockedBook]),
}
