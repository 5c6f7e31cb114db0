"""@interfaceObject: media owns the interface `Media` (Book, Film); ratings sees only an
object type `Media` standing for it, adds `stars`, `summary` (@requires the title) and a
root field returning media it cannot type: the gateway asks media for their `__typename`."""

from __future__ import annotations

from typing import Any

import strawberry

from tests.federation.corpus import Subgraph

MEDIA = {"b1": ("Book", "Dune"), "f1": ("Film", "Alien")}
STARS = {"b1": 5, "f1": 4}


@strawberry.federation.interface(keys=["id"])
class Media:
    id: strawberry.ID
    title: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Media:
        return make(id)


@strawberry.federation.type(keys=["id"])
class Book(Media):
    pages: int


@strawberry.federation.type(keys=["id"])
class Film(Media):
    minutes: int


def make(id: str) -> Media:
    kind, title = MEDIA[id]
    if kind == "Book":
        return Book(id=strawberry.ID(id), title=title, pages=412)
    return Film(id=strawberry.ID(id), title=title, minutes=117)


@strawberry.type
class MediaQuery:
    @strawberry.field
    def media(self) -> list[Media]:
        return [make(i) for i in MEDIA]


@strawberry.federation.interface_object(name="Media", keys=["id"])
class RatedMedia:
    id: strawberry.ID
    title: str = strawberry.federation.field(external=True, default="")
    rep: strawberry.Private[dict[str, Any]] = None  # type: ignore[assignment]

    @strawberry.field
    def stars(self) -> int:
        return STARS[self.id]

    @strawberry.federation.field(requires=["title"])
    def summary(self) -> str:
        return f"{self.rep['title']}: {STARS[self.id]} stars"

    @classmethod
    def resolve_reference(cls, **rep: Any) -> RatedMedia:
        return cls(id=rep["id"], rep=rep)


@strawberry.type
class RatingsQuery:
    @strawberry.field
    def top_rated(self) -> list[RatedMedia]:
        return [
            RatedMedia(id=strawberry.ID("b1"), rep={}),
            RatedMedia(id=strawberry.ID("f1"), rep={}),
        ]


SUBGRAPHS = {
    "media": Subgraph(query=MediaQuery, types=[Book, Film]),
    "ratings": Subgraph(query=RatingsQuery, types=[RatedMedia]),
}
