"""Tracing of the GraphQL pipeline: wrappers around its stages (telemetry/ does the rest).

    POST /graphql                       SERVER  graphql.operation.name/.type, http status
    ├── authenticate                            ERROR with the 401/403 message
    ├── graphql.validate                        parse + validate; shardgate.cache.hit
    ├── graphql.plan                            federation only; shardgate.cache.hit
    └── graphql.execute                         ERROR with the first (masked) error
        └── subgraph <name>             CLIENT  subgraph.name, never its URL
            └── shard /<operation>      CLIENT  shardgate.shard.id, shardgate.shard.operation

Variables never go into a span; the document only with `include_document`. Every wrapper
here is applied only when tracing is on, so off costs nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    execute,
    get_operation_ast,
)
from opentelemetry.trace import Span
from starlette.requests import Request

from auth import AuthError
from gateway.documents import DocumentCache, Parsed
from gateway.executable import Executable
from gateway.execution import with_context_extensions
from shards.telemetry.asgi import ServerSpans
from shards.telemetry.tracing import Tracing, current_span, fail

T = TypeVar("T")


def graphql_route(path: str) -> str | None:
    """The GraphQL endpoints get a server span; /healthz and /admin do not."""
    if path == "/graphql":
        return path
    if path.startswith("/subgraphs/") and path.endswith("/graphql"):
        return "/subgraphs/{service}/graphql"
    return None


def server_middleware(tracing: Tracing) -> list[Any]:
    """The Starlette middleware list entry for request spans (none when tracing is off)."""
    from starlette.middleware import Middleware

    if not tracing.enabled:
        return []
    return [Middleware(ServerSpans, tracing=tracing, route=graphql_route)]


def traced_authenticate(
    tracing: Tracing, authenticate: Callable[[Request], Awaitable[T]]
) -> Callable[[Request], Awaitable[T]]:
    if not tracing.enabled:
        return authenticate

    async def traced(request: Request) -> T:
        with tracing.span("authenticate") as span:
            try:
                return await authenticate(request)
            except AuthError as e:  # its message is the one the client gets: safe
                fail(span, f"{e.code}: {e.message}")
                raise

    return traced


class TracedDocumentCache(DocumentCache):
    """Parse and validation traced: the operation named on the request span, validation in a
    `graphql.validate` span marked cache hit or miss."""

    def __init__(self, tracing: Tracing, size: int = 2048, max_tokens: int | None = None) -> None:
        super().__init__(size, max_tokens)
        self.tracing = tracing

    def parse(self, query: str) -> Parsed:
        server = current_span()
        if query in self._parsed.entries:  # a hit costs nothing worth a span
            parsed = super().parse(query)
        else:
            with self.tracing.span("graphql.parse") as span:
                parsed = super().parse(query)
                if parsed.errors:  # the error may quote the document: the code only
                    fail(
                        span,
                        str(
                            (parsed.errors[0].extensions or {}).get("code", "GRAPHQL_PARSE_FAILED")
                        ),
                    )
        if self.tracing.include_document:
            server.set_attribute("graphql.document", query)
        if parsed.document is not None:
            describe_operation(server, get_operation_ast(parsed.document))
        return parsed

    def validate(
        self, executable: Executable, query: str, document: DocumentNode, *, introspection: bool
    ) -> list[GraphQLError]:
        hit = (executable.version, introspection, query) in self._validated.entries
        with self.tracing.span("graphql.validate", attributes={"shardgate.cache.hit": hit}) as span:
            errors = super().validate(executable, query, document, introspection=introspection)
            if errors:
                fail(span, f"GRAPHQL_VALIDATION_FAILED: {errors[0].message}")
        return errors


def describe_operation(span: Span, operation: OperationDefinitionNode | None) -> None:
    if operation is None:
        return
    span.set_attribute("graphql.operation.type", operation.operation.value)
    if operation.name is not None:
        span.set_attribute("graphql.operation.name", operation.name.value)


def record_errors(span: Span, errors: list[GraphQLError] | None) -> None:
    """ERROR status with the first error as the client sees it (internal ones masked)."""
    if errors:
        span.set_attribute("graphql.error.count", len(errors))
        fail(span, masked_message(errors[0]))


def masked_message(error: GraphQLError) -> str:
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        return "Internal server error"
    return error.message


def traced_executable(executable: Executable, tracing: Tracing) -> Executable:
    """An executable whose run names the operation on the request span and, unless it runs
    a plan (which traces its own stages), executes in a `graphql.execute` span."""
    if not tracing.enabled:
        return executable
    inner = executable.run

    async def run(
        query: str,
        document: DocumentNode,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        request: Request,
    ) -> ExecutionResult:
        describe_operation(current_span(), get_operation_ast(document, operation_name))
        if inner is not None:
            return await inner(query, document, variables, operation_name, request)
        with tracing.span("graphql.execute") as span:
            context = executable.context(getattr(request.state, "session", None))
            executed = execute(
                executable.schema,
                document,
                context_value=context,
                variable_values=variables,
                operation_name=operation_name,
            )
            result = executed if isinstance(executed, ExecutionResult) else await executed
            record_errors(span, result.errors)
        return with_context_extensions(result, context)

    return replace(executable, run=run)
