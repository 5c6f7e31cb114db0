"""Two tiny Apollo Federation 2 subgraphs, written with strawberry, for peer tests.

`users` owns `User @key(fields: "id") { id name }`; `reviews` contributes `User.reviews`.
Each serves `/graphql` as its own process:

    python -m tests.peers.federation_examples users --port 4001
"""

from __future__ import annotations

import argparse

import strawberry
import strawberry.federation
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL

USER_NAMES = {"1": "Ada", "2": "Grace"}
REVIEW_BODIES = {"1": ["Loved the engine"], "2": ["Found a bug", "Fixed it"]}

EXPECTED_USERS_WITH_REVIEWS = [
    {"id": "1", "name": "Ada", "reviews": [{"body": "Loved the engine"}]},
    {"id": "2", "name": "Grace", "reviews": [{"body": "Found a bug"}, {"body": "Fixed it"}]},
]
"""`{ users { id name reviews { body } } }` through a gateway over both subgraphs."""


# --- users subgraph -------------------------------------------------------------------------


@strawberry.federation.type(name="User", keys=["id"])
class UsersUser:
    id: strawberry.ID
    name: str

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> UsersUser:
        return cls(id=id, name=USER_NAMES[id])


@strawberry.type(name="Query")
class UsersQuery:
    @strawberry.field
    def users(self) -> list[UsersUser]:
        return [UsersUser(id=strawberry.ID(id), name=name) for id, name in USER_NAMES.items()]


# --- reviews subgraph -----------------------------------------------------------------------


@strawberry.type
class Review:
    id: strawberry.ID
    body: str


# Federation 2 needs no `extend`: the shared @key is what lets both subgraphs define User.
@strawberry.federation.type(name="User", keys=["id"])
class ReviewsUser:
    id: strawberry.ID

    @strawberry.field
    def reviews(self) -> list[Review]:
        bodies = REVIEW_BODIES.get(self.id, [])
        return [Review(id=strawberry.ID(f"{self.id}-{i}"), body=b) for i, b in enumerate(bodies)]

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> ReviewsUser:
        return cls(id=id)


# --- serving ----------------------------------------------------------------------------------


SUBGRAPHS = ("users", "reviews")


def build_schema(name: str) -> strawberry.federation.Schema:
    if name == "users":
        return strawberry.federation.Schema(query=UsersQuery)
    if name == "reviews":
        # No root fields of its own: strawberry still adds Query { _service _entities }.
        return strawberry.federation.Schema(types=[ReviewsUser])
    raise ValueError(f"unknown example subgraph {name!r}; expected one of {SUBGRAPHS}")


def build_app(name: str) -> Starlette:
    graphql = GraphQL(build_schema(name), graphql_ide=None)
    return Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"])])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("subgraph", choices=SUBGRAPHS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    uvicorn.run(build_app(args.subgraph), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
