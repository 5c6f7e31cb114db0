"""Errors of the gateway.

    GatewayError
    └── SupergraphError   a supergraph that cannot be served (not valid, not a supergraph,
                          or linking a feature shardgate does not implement)

Each says what is wrong and, where there is one, how to fix it (`suggestion`).
"""

from __future__ import annotations


class GatewayError(Exception):
    def __init__(self, message: str, *, suggestion: str | None = None) -> None:
        self.message = message
        self.suggestion = suggestion
        super().__init__(message + (f". Fix: {suggestion}" if suggestion else ""))


class SupergraphError(GatewayError):
    """The supergraph cannot be loaded; nothing is served from it."""
