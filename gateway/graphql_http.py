"""GraphQL over HTTP (the GraphQL-over-HTTP spec) for an executable graphql-core schema.

POST JSON and GET (queries only), `application/graphql-response+json` and `application/json`
responses, GraphiQL for browsers. Parsing and validation are cached per (schema version,
document): validation is the most expensive step of a small request (~1.2 ms with graphql-core)
and its result depends only on the schema and the text.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
)
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.http.ides import get_graphql_ide_html

from auth import AuthError
from auth.operation_limits import OperationLimits
from gateway.authentication import auth_error_response

log = logging.getLogger("shardgate.http")

Runner = Callable[
    [str, DocumentNode, "dict[str, Any] | None", "str | None", Request],
    Awaitable[ExecutionResult],
]
GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


@dataclass(frozen=True)
class Executable:
    """A schema ready to serve; `version` changes whenever the schema does."""

    schema: GraphQLSchema
    version: str
    context: Callable[[Request], Any]
    # Runs an operation itself (a federated query plan) instead of graphql-core's execute.
    run: Runner | None = None


class DocumentCache:
    """LRU of parsed and validated documents, keyed by schema version and text."""

    def __init__(self, size: int = 2048) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str], tuple[DocumentNode | None, list[GraphQLError]]]
        self._entries = OrderedDict()

    def get(
        self, executable: Executable, query: str
    ) -> tuple[DocumentNode | None, list[GraphQLError]]:
        key = (executable.version, query)
        hit = self._entries.get(key)
        if hit is not None:
            self._entries.move_to_end(key)
            return hit
        try:
            document: DocumentNode | None = parse(query)
            errors = validate(executable.schema, document)
        except GraphQLError as e:
            document, errors = None, [e]
        entry = (document if not errors else None, errors)
        self._entries[key] = entry
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return entry


class RequestError(Exception):
    """A request that is not a GraphQL request at all (HTTP 400 whatever the media type)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class GraphQLEndpoint:
    """A Starlette endpoint serving whatever `current()` returns (hot-swappable)."""

    def __init__(
        self,
        current: Callable[[Request], Executable | None],
        *,
        graphiql: bool = True,
        max_body: int = 32 << 20,
        authenticate: Callable[[Request], Awaitable[Any]] | None = None,
        limits: OperationLimits | None = None,
    ) -> None:
        self._current = current
        self._max_body = max_body
        self._authenticate = authenticate
        self._limits = limits
        self._graphiql = graphiql
        self._cache = DocumentCache()

    async def handle(self, request: Request) -> Response:
        media = _response_media_type(request.headers.get("accept", ""))
        if request.method == "GET" and self._graphiql and _wants_html(request):
            return HTMLResponse(get_graphql_ide_html())
        if self._authenticate is not None:
            try:
                await self._authenticate(request)
            except AuthError as e:
                return auth_error_response(e, media)
        executable = self._current(request)
        if executable is None:
            return _error_response(
                "the schema is not loaded yet: no service is registered",
                503,
                media,
                code="SCHEMA_NOT_READY",
            )
        try:
            params = await _read_params(request, self._max_body)
            return await self._run(request, executable, params, media)
        except RequestError as e:
            return _error_response(e.message, e.status, media, code="BAD_REQUEST")

    async def _run(
        self, request: Request, executable: Executable, params: dict[str, Any], media: str
    ) -> Response:
        query = params.get("query")
        if not isinstance(query, str) or not query.strip():
            raise RequestError("the request has no 'query' string")
        variables = params.get("variables")
        if variables is not None and not isinstance(variables, dict):
            raise RequestError("'variables' must be a JSON object")
        operation_name = params.get("operationName")
        if operation_name is not None and not isinstance(operation_name, str):
            raise RequestError("'operationName' must be a string")

        document, errors = self._cache.get(executable, query)
        if document is None:
            status = 400 if media == GRAPHQL_RESPONSE else 200
            return _json({"errors": [format_error(e, _code_of(e)) for e in errors]}, status, media)
        if request.method == "GET":
            operation = get_operation_ast(document, operation_name)
            if operation is not None and operation.operation != OperationType.QUERY:
                return _error_response(
                    f"{operation.operation.value} operations are only allowed over POST",
                    405,
                    media,
                    code="METHOD_NOT_ALLOWED",
                    headers={"allow": "POST"},
                )
        if self._limits is not None:  # counted with fragments expanded: no bypass through them
            refused = self._limits.check(document, operation_name)
            if refused:
                status = 400 if media == GRAPHQL_RESPONSE else 200
                return _json({"errors": [format_error(e) for e in refused]}, status, media)
        if executable.run is not None:
            result = await executable.run(query, document, variables, operation_name, request)
        else:
            context = executable.context(request)
            executed = execute(
                executable.schema,
                document,
                context_value=context,
                variable_values=variables,
                operation_name=operation_name,
            )
            result = executed if isinstance(executed, ExecutionResult) else await executed
            if getattr(context, "extensions", None):  # e.g. partial search answers
                result.extensions = {**(result.extensions or {}), **context.extensions}
        errors = result.errors or []
        if result.data is None and errors and all(e.path is None for e in errors):
            # Failed before execution (bad variables, unknown operation): a request error,
            # which has no "data" entry at all.
            request_errors = [format_error(e, "BAD_USER_INPUT") for e in errors]
            return _json(
                {"errors": request_errors}, 400 if media == GRAPHQL_RESPONSE else 200, media
            )
        body: dict[str, Any] = {}
        if errors:
            body["errors"] = [format_error(e) for e in errors]
        body["data"] = result.data  # null data from field errors is still a 200
        if result.extensions:
            body["extensions"] = result.extensions
        return _json(body, 200, media)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestError(f"the body is {declared} bytes, over the limit of {limit}", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(f"the body is over the limit of {limit} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _read_params(request: Request, max_body: int) -> dict[str, Any]:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query_params)
        if "variables" in params:
            params["variables"] = _loads(params["variables"], "variables")
        return params
    if request.method != "POST":
        raise RequestError("GraphQL requests are GET or POST", 405)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise RequestError(
            f"unsupported content type {content_type or '(none)'}: send application/json", 415
        )
    body = _loads(await _read_body(request, max_body), "body")
    if not isinstance(body, dict):
        raise RequestError("the body must be a JSON object with a 'query'")
    return body


def _loads(raw: str | bytes, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise RequestError(f"the {what} is not valid JSON: {e}") from None


def _code_of(error: GraphQLError) -> str:
    return (
        "GRAPHQL_PARSE_FAILED"
        if isinstance(error, GraphQLSyntaxError)
        else ("GRAPHQL_VALIDATION_FAILED")
    )


def format_error(error: GraphQLError, code: str = "GRAPHQL_VALIDATION_FAILED") -> dict[str, Any]:
    """An error as a client sees it: coded, and masked unless raised on purpose."""
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        # Anything not raised on purpose is a bug or an outage: never leak its text.
        log.error("unexpected error at %s", error.path, exc_info=original)
        masked = GraphQLError(
            "Internal server error",
            path=error.path,
            nodes=error.nodes,
            extensions={"code": "INTERNAL_SERVER_ERROR"},
        )
        return masked.formatted
    formatted = error.formatted
    if "extensions" not in formatted:  # every error a client sees carries a code
        formatted["extensions"] = {"code": code}
    return formatted


def _response_media_type(accept: str) -> str:
    if GRAPHQL_RESPONSE in accept:
        return GRAPHQL_RESPONSE
    return JSON


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "") and "query" not in request.query_params


def _json(body: object, status: int, media: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status, headers=headers, media_type=f"{media}; charset=utf-8"
    )


def _error_response(
    message: str, status: int, media: str, *, code: str, headers: dict[str, str] | None = None
) -> Response:
    return _json(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, status, media, headers
    )
