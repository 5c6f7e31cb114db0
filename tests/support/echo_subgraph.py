"""An external Apollo Federation subgraph (strawberry.federation) that answers with the
X-Shardgate-* headers it received: what a microservice behind the gateway would see.

    python -m tests.support.echo_subgraph PORT
"""

from __future__ import annotations

import sys

import strawberry
import uvicorn
from strawberry.asgi import GraphQL
from strawberry.types import Info


@strawberry.federation.type(shareable=True)
class Caller:
    role: str | None
    user_id: str | None
    org_id: str | None
    headers: list[str]


@strawberry.type
class Query:
    @strawberry.field(description="Who the gateway says is calling.")
    def caller(self, info: Info) -> Caller:
        headers = info.context["request"].headers
        return Caller(
            role=headers.get("x-shardgate-role"),
            user_id=headers.get("x-shardgate-user-id"),
            org_id=headers.get("x-shardgate-org-id"),
            headers=sorted(h for h in headers if h.startswith("x-shardgate-")),
        )


schema = strawberry.federation.Schema(query=Query)

if __name__ == "__main__":
    uvicorn.run(GraphQL(schema), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
