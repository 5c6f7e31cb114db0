"""Same-named fields whose types differ between the types of one fetch (federation#1257).

In media, `Song.duration` is `Int!` and `Film.duration` `Int`; in ratings, `Song.stars` is
`Int!` and `Film.stars` `Int`. The supergraph has `Int` for all four (extra relaxes the
Song fields), so a client may ask `... on Song { duration } ... on Film { duration }`; but
the subgraph would refuse those two in one selection (they cannot merge). The fetch asks for
one of them under an internal alias (`duration__alias_0: duration`), and the answer is
renamed back before it is merged.
"""

from __future__ import annotations

import strawberry

from tests.federation.corpus import Subgraph

SONGS = {"s1": ("Blue", 180, 5), "s2": ("Red", 240, 3)}
FILMS = {"f1": ("Heat", 170, 4), "f2": ("Lost", None, None)}


@strawberry.federation.interface
class Media:
    id: strawberry.ID
    title: str


@strawberry.federation.type(keys=["id"])
class Song(Media):
    duration: int = strawberry.federation.field(shareable=True)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Song:
        return cls(id=id, title=SONGS[id][0], duration=SONGS[id][1])


@strawberry.federation.type(keys=["id"])
class Film(Media):
    duration: int | None = strawberry.federation.field(shareable=True)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Film:
        return cls(id=id, title=FILMS[id][0], duration=FILMS[id][1])


@strawberry.type
class MediaQuery:
    @strawberry.field
    def media(self) -> list[Media]:
        songs = [Song.resolve_reference(id=strawberry.ID(i)) for i in SONGS]  # type: ignore[misc]
        films = [Film.resolve_reference(id=strawberry.ID(i)) for i in FILMS]  # type: ignore[misc]
        return [songs[0], films[0], songs[1], films[1]]


@strawberry.federation.type(name="Song", keys=["id"])
class RatedSong:
    id: strawberry.ID
    stars: int = strawberry.federation.field(shareable=True)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> RatedSong:
        return cls(id=id, stars=SONGS[id][2])


@strawberry.federation.type(name="Film", keys=["id"])
class RatedFilm:
    id: strawberry.ID
    stars: int | None

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> RatedFilm:
        return cls(id=id, stars=FILMS[id][2])


@strawberry.federation.type(name="Song", keys=["id"])
class ExtraSong:
    id: strawberry.ID
    duration: int | None = strawberry.federation.field(shareable=True)
    stars: int | None = strawberry.federation.field(shareable=True)

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> ExtraSong:
        return cls(id=id, duration=SONGS[id][1], stars=SONGS[id][2])


SUBGRAPHS = {
    "media": Subgraph(query=MediaQuery, types=[Song, Film]),
    "ratings": Subgraph(types=[RatedSong, RatedFilm]),
    "extra": Subgraph(types=[ExtraSong]),
}
