"""Errors of the gateway.

    GatewayError
    ├── SupergraphError   a supergraph that cannot be served (not valid, not a supergraph,
    │                     or linking a feature shardgate does not implement)
    ├── PlanningError     an operation that cannot be planned over the supergraph
    └── Refused           a GraphQL request stopped before anything ran: an HTTP status, an
                          `extensions.code` (BAD_REQUEST, CSRF_ERROR, RATE_LIMITED, ...) and
                          response headers (Retry-After, Allow, WWW-Authenticate)

Each says what is wrong and, where there is one, how to fix it (`suggestion`).
"""

from __future__ import annotations

from collections.abc import Mapping


class GatewayError(Exception):
    def __init__(self, message: str, *, suggestion: str | None = None) -> None:
        self.message = message
        self.suggestion = suggestion
        super().__init__(message + (f". Fix: {suggestion}" if suggestion else ""))


class SupergraphError(GatewayError):
    """The supergraph cannot be loaded; nothing is served from it."""


class PlanningError(GatewayError):
    """The operation cannot be planned over this supergraph."""


class Refused(GatewayError):
    """A request the gateway will not run; the message is safe to send to the client."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = dict(headers or {})
