"""The execute stage: run one validated operation (graphql-core's execute, or the executable's
own runner: a federated query plan) and shape what the client gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, ExecutionResult, execute
from starlette.requests import Request

from gateway.executable import Executable
from gateway.http_params import GraphQLParams
from gateway.responses import format_error


@dataclass(frozen=True)
class Outcome:
    """One operation's response body; `ran` is False for a request error (no "data")."""

    body: dict[str, Any]
    ran: bool = True
    status: int | None = None  # set when refused (a batch entry over its rate limit: 429)


async def execute_operation(
    executable: Executable, document: DocumentNode, params: GraphQLParams, request: Request
) -> ExecutionResult:
    if executable.run is not None:
        return await executable.run(
            params.query, document, params.variables, params.operation_name, request
        )
    context = executable.context(getattr(request.state, "session", None))
    executed = execute(
        executable.schema,
        document,
        context_value=context,
        variable_values=params.variables,
        operation_name=params.operation_name,
    )
    result = executed if isinstance(executed, ExecutionResult) else await executed
    return with_context_extensions(result, context)


def with_context_extensions(result: ExecutionResult, context: Any) -> ExecutionResult:
    """What the resolvers asked the response to say (`context.extensions`: partial search
    answers) in the result's `extensions`."""
    extensions = getattr(context, "extensions", None)
    if extensions:
        result.extensions = {**(result.extensions or {}), **extensions}
    return result


def shape(result: ExecutionResult, *, hide_suggestions: bool = False) -> Outcome:
    errors = result.errors or []
    if result.data is None and errors and all(e.path is None for e in errors):
        # Failed before execution (bad variables, unknown operation): a request error,
        # which has no "data" entry at all.
        return request_errors(
            [format_error(e, "BAD_USER_INPUT", hide_suggestions=hide_suggestions) for e in errors]
        )
    body: dict[str, Any] = {}
    if errors:
        body["errors"] = [format_error(e, hide_suggestions=hide_suggestions) for e in errors]
    body["data"] = result.data  # null data from field errors is still a 2xx
    if result.extensions:
        body["extensions"] = result.extensions
    return Outcome(body)


def request_errors(errors: list[dict[str, Any]]) -> Outcome:
    return Outcome({"errors": errors}, ran=False)
