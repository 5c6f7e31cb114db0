"""What a GraphQL client gets back: media types, coded errors, masking.

    application/graphql-response+json   request errors are HTTP 4xx (the GraphQL-over-HTTP spec)
    application/json                    request errors are HTTP 200, for legacy clients

Every error carries `extensions.code`. An exception nobody raised on purpose (a bug, an outage)
is logged and reaches the client as "Internal server error": never its text, which could hold
SQL, paths, hosts or tokens.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import orjson
from graphql import GraphQLError, GraphQLSyntaxError
from starlette.requests import Request
from starlette.responses import Response

log = logging.getLogger("shardgate.http")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")


def response_media_type(request: Request) -> str:
    return GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in request.headers.get("accept", "") else JSON


def wants_graphiql(request: Request) -> bool:
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and "query" not in request.query_params
    )


def request_error_status(media: str) -> int:
    """A request error (nothing ran): 400 for graphql-response+json, 200 for plain JSON."""
    return 400 if media == GRAPHQL_RESPONSE else 200


def json_response(
    body: object, status: int, media: str, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body),
        status,
        headers=dict(headers or {}),
        media_type=f"{media}; charset=utf-8",
    )


def error_entry(message: str, code: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": code}}


def parse_error_code(error: GraphQLError) -> str:
    return (
        "GRAPHQL_PARSE_FAILED"
        if isinstance(error, GraphQLSyntaxError)
        else ("GRAPHQL_VALIDATION_FAILED")
    )


def format_error(
    error: GraphQLError, code: str = "GRAPHQL_VALIDATION_FAILED", *, hide_suggestions: bool = False
) -> dict[str, Any]:
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
    if hide_suggestions:  # e.g. "Did you mean 'secretField'?" would name hidden fields
        formatted["message"] = _SUGGESTION.sub("", formatted["message"])
    return formatted
