"""The request path of the GraphQL endpoint, in order; each stage lives in its own module.

    read params      gateway/http_params.py    HTTP request -> GraphQLParams (or Refused)
    authenticate     gateway/authentication.py -> request.state.session (401 / 403)
    serving          `current(request)`         the schema for this caller
    parse, validate  gateway/documents.py       cached per (schema version, text)
    method           GET runs queries only      (405 for mutations)
    operation limits auth/operation_limits.py   depth, aliases, root fields
    execute          gateway/execution.py       graphql-core, or the federated plan
    respond          gateway/responses.py       coded errors, masking, media types

A stage refuses by raising `Refused` (status, code, headers); the pipeline turns that into
the response. Cross-cutting concerns (telemetry, ...) wrap a stage method.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from graphql import DocumentNode, OperationType, get_operation_ast
from starlette.requests import Request
from starlette.responses import Response

from auth import AuthError
from auth.operation_limits import OperationLimits
from gateway.documents import DocumentCache
from gateway.errors import Refused
from gateway.executable import Executable
from gateway.execution import Outcome, execute_operation, request_errors, shape
from gateway.http_params import GraphQLParams, read_params
from gateway.responses import (
    error_entry,
    format_error,
    json_response,
    parse_error_code,
    request_error_status,
    response_media_type,
)


class Pipeline:
    def __init__(
        self,
        current: Callable[[Request], Executable | None],
        *,
        max_body: int = 32 << 20,
        authenticate: Callable[[Request], Awaitable[Any]] | None = None,
        limits: OperationLimits | None = None,
    ) -> None:
        self.current = current
        self.max_body = max_body
        self.authenticate = authenticate
        self.limits = limits or OperationLimits()
        self.documents = DocumentCache()

    async def handle(self, request: Request) -> Response:
        media = response_media_type(request)
        try:
            params = await read_params(request, self.max_body)
            await self.authenticated(request)
            executable = self.serving(request)
            outcome = await self.operation(request, executable, params)
        except Refused as e:
            return json_response(
                {"errors": [error_entry(e.message, e.code)]}, e.status, media, e.headers
            )
        return json_response(
            outcome.body, 200 if outcome.ran else request_error_status(media), media
        )

    async def authenticated(self, request: Request) -> None:
        if self.authenticate is None:
            return
        try:
            await self.authenticate(request)
        except AuthError as e:
            headers = {"www-authenticate": "Bearer"} if e.status == 401 else None
            raise Refused(e.message, status=e.status, code=e.code, headers=headers) from None

    def serving(self, request: Request) -> Executable:
        executable = self.current(request)
        if executable is None:
            raise Refused(
                "the schema is not loaded yet: no service is registered",
                status=503,
                code="SCHEMA_NOT_READY",
            )
        return executable

    async def operation(
        self, request: Request, executable: Executable, params: GraphQLParams
    ) -> Outcome:
        document, errors = self.documents.get(executable, params.query)
        if document is None:
            return request_errors([format_error(e, parse_error_code(e)) for e in errors])
        check_method(request, document, params)
        refused = self.limits.check(document, params.operation_name)
        if refused:  # counted with fragments expanded: no bypass through them
            return request_errors([format_error(e) for e in refused])
        return shape(await execute_operation(executable, document, params, request))


def check_method(request: Request, document: DocumentNode, params: GraphQLParams) -> None:
    """GET runs queries only: a mutation must never run from a link or an <img>."""
    if request.method != "GET":
        return
    operation = get_operation_ast(document, params.operation_name)
    if operation is not None and operation.operation != OperationType.QUERY:
        raise Refused(
            f"{operation.operation.value} operations are only allowed over POST",
            status=405,
            code="METHOD_NOT_ALLOWED",
            headers={"allow": "POST"},
        )
