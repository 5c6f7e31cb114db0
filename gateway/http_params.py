"""The read-params stage: an HTTP request becomes the GraphQL operations it asks for.

    POST application/json  {"query", "variables", "operationName", "extensions"}
                           or, with batching on, a JSON array of them (at most max_batch)
    GET                    ?query=...&variables=<json>&operationName=...

Anything else is refused (`Refused`, code BAD_REQUEST) with what to send instead; a batch
when batching is off gets BATCHING_NOT_ENABLED (400), one too large BATCH_LIMIT_EXCEEDED (422),
as from Apollo Router.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from auth.operation_limits import OperationLimits
from gateway.errors import Refused
from gateway.responses import JSON


@dataclass(frozen=True)
class GraphQLParams:
    """One operation as the client sent it."""

    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None


@dataclass(frozen=True)
class Batch:
    """What one HTTP request asks for: one operation, or (batched) a list of them."""

    operations: tuple[GraphQLParams, ...]
    batched: bool = False


def bad_request(message: str, status: int = 400) -> Refused:
    return Refused(message, status=status, code="BAD_REQUEST")


async def read_params(request: Request, max_body: int, limits: OperationLimits) -> Batch:
    if request.method == "GET":
        raw: dict[str, Any] = dict(request.query_params)
        if "variables" in raw:
            raw["variables"] = _loads(raw["variables"], "variables")
        return Batch((_params(raw),))
    if request.method != "POST":
        raise bad_request("GraphQL requests are GET or POST", 405)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise bad_request(
            f"unsupported content type {content_type or '(none)'}: send application/json", 415
        )
    body = _loads(await read_body(request, max_body), "body")
    if isinstance(body, list):
        return Batch(_batch(body, limits), batched=True)
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object with a 'query'")
    return Batch((_params(body),))


def _batch(entries: list[Any], limits: OperationLimits) -> tuple[GraphQLParams, ...]:
    if not limits.batching:
        raise Refused(
            "batched requests (a JSON array) are not enabled on this gateway; send one "
            "operation per request, or set [limits] batching = true",
            status=400,
            code="BATCHING_NOT_ENABLED",
        )
    if len(entries) > limits.max_batch:
        raise Refused(
            f"the batch has {len(entries)} operations, over the limit of {limits.max_batch}",
            status=422,
            code="BATCH_LIMIT_EXCEEDED",
        )
    if not entries or not all(isinstance(e, dict) for e in entries):
        raise bad_request("a batch must be a non-empty JSON array of request objects")
    return tuple(_params(e) for e in entries)


def _params(raw: dict[str, Any]) -> GraphQLParams:
    query = raw.get("query")
    if not isinstance(query, str) or not query.strip():
        raise bad_request("the request has no 'query' string")
    variables = raw.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise bad_request("'variables' must be a JSON object")
    operation_name = raw.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise bad_request("'operationName' must be a string")
    return GraphQLParams(query, variables, operation_name)


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise bad_request(f"the body is {declared} bytes, over the limit of {limit}", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise bad_request(f"the body is over the limit of {limit} bytes", 413)
        chunks.append(chunk)
    return b"".join(chunks)


def _loads(raw: str | bytes, what: str) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise bad_request(f"the {what} is not valid JSON: {e}") from None
