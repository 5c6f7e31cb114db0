"""Mutations run in order, also across subgraphs: each `push` appends to one log (shared by
both subgraphs, kept per `run`) and returns the log as it then is, so the answer shows the
order the gateway ran them in."""

from __future__ import annotations

from collections import defaultdict

import strawberry

from tests.federation.corpus import Subgraph

LOG: defaultdict[str, list[str]] = defaultdict(list)


def push(run: str, item: str) -> list[str]:
    LOG[run].append(item)
    return list(LOG[run])


@strawberry.type
class Query:
    @strawberry.field
    def log(self, run: str) -> list[str]:
        return LOG[run]


@strawberry.type
class LeftMutation:
    @strawberry.field
    def push_left(self, run: str, item: str) -> list[str]:
        return push(run, f"left:{item}")


@strawberry.type
class RightMutation:
    @strawberry.field
    def push_right(self, run: str, item: str) -> list[str]:
        return push(run, f"right:{item}")


SUBGRAPHS = {
    "left": Subgraph(query=Query, mutation=LeftMutation),
    "right": Subgraph(mutation=RightMutation),
}
