"""What the GraphQL endpoint serves: a schema, its version, and how to run an operation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, ExecutionResult, GraphQLSchema
from starlette.requests import Request

from auth.session import Session

Runner = Callable[
    [str, DocumentNode, "dict[str, Any] | None", "str | None", Request],
    Awaitable[ExecutionResult],
]


@dataclass(frozen=True)
class Executable:
    """A schema ready to serve; `version` changes whenever the schema does."""

    schema: GraphQLSchema
    version: str
    context: Callable[[Session | None], Any]  # the caller's context value for resolvers
    # Runs an operation itself (a federated query plan) instead of graphql-core's execute.
    run: Runner | None = None
