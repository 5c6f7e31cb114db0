"""The read-params stage: an HTTP request becomes the GraphQL operations it asks for.

    POST application/json  {"query", "variables", "operationName", "extensions"}
    GET                    ?query=...&variables=<json>&operationName=...

Anything else is refused (`Refused`, code BAD_REQUEST) with what to send instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from gateway.errors import Refused
from gateway.responses import JSON


@dataclass(frozen=True)
class GraphQLParams:
    """One operation as the client sent it."""

    query: str
    variables: dict[str, Any] | None = None
    operation_name: str | None = None


def bad_request(message: str, status: int = 400) -> Refused:
    return Refused(message, status=status, code="BAD_REQUEST")


async def read_params(request: Request, max_body: int) -> GraphQLParams:
    if request.method == "GET":
        raw: dict[str, Any] = dict(request.query_params)
        if "variables" in raw:
            raw["variables"] = _loads(raw["variables"], "variables")
        return _params(raw)
    if request.method != "POST":
        raise bad_request("GraphQL requests are GET or POST", 405)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise bad_request(
            f"unsupported content type {content_type or '(none)'}: send application/json", 415
        )
    body = _loads(await read_body(request, max_body), "body")
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object with a 'query'")
    return _params(body)


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
