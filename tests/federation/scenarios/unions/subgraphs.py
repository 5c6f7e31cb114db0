"""Unions across subgraphs: search returns `Result = Book | Author`; books and authors each
complete their own member, and know the union with only that member."""

from __future__ import annotations

from typing import Annotated

import strawberry

from tests.federation.corpus import Subgraph


@strawberry.federation.type(keys=["id"])
class Book:
    id: strawberry.ID


@strawberry.federation.type(keys=["id"])
class Author:
    id: strawberry.ID


Result = Annotated[Book | Author, strawberry.union("Result")]


@strawberry.type
class SearchQuery:
    @strawberry.field
    def search(self, text: str = "") -> list[Result]:  # type: ignore[valid-type]
        return [
            Book(id=strawberry.ID("b1")),
            Author(id=strawberry.ID("a1")),
            Book(id=strawberry.ID("b2")),
        ]

    @strawberry.field
    def first(self) -> Result | None:  # type: ignore[valid-type]
        return Author(id=strawberry.ID("a1"))


TITLES = {"b1": "Dune", "b2": "Emma"}


@strawberry.federation.type(name="Book", keys=["id"])
class FullBook:
    id: strawberry.ID

    @strawberry.field
    def title(self) -> str:
        return TITLES[self.id]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> FullBook:
        return cls(id=id)


BookResult = Annotated[FullBook, strawberry.union("Result")]


@strawberry.type
class BooksQuery:
    @strawberry.field
    def book_results(self) -> list[BookResult]:  # type: ignore[valid-type]
        return [FullBook(id=strawberry.ID("b2"))]


@strawberry.federation.type(name="Author", keys=["id"])
class FullAuthor:
    id: strawberry.ID

    @strawberry.field
    def name(self) -> str:
        return "Herbert"

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> FullAuthor:
        return cls(id=id)


SUBGRAPHS = {
    "search": Subgraph(query=SearchQuery, types=[Book, Author]),
    "books": Subgraph(query=BooksQuery, types=[FullBook]),
    "authors": Subgraph(types=[FullAuthor]),
}
