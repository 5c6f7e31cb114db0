"""Fetches to subgraphs over HTTP: pooled keep-alive connections, a timeout per request,
identical queries in flight sent once (gateway/in_flight.py)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Mapping
from typing import Any

import orjson

from auth.session import Session
from gateway.errors import GatewayError
from gateway.in_flight import InFlight
from shards.http_pool import HttpPool, Reply, failure_reason
from shards.telemetry.tracing import Tracing


class SubgraphFailed(GatewayError):
    """A subgraph did not answer with a GraphQL response (down, timed out, not GraphQL)."""


class HttpSubgraphs:
    def __init__(
        self,
        urls: Mapping[str, str],
        *,
        timeout: float = 30.0,
        timeouts: Mapping[str, float] | None = None,
        tracing: Tracing | None = None,
        dedupe: bool = True,
    ) -> None:
        """`timeouts` overrides `timeout` (seconds per request) for some subgraphs; with
        `tracing`, requests carry the W3C `traceparent` of the fetch's span (a query that
        joined one in flight is not sent, so its span has no subgraph side)."""
        self.urls = dict(urls)
        self._tracing = tracing or Tracing.off()
        self._timeout = timeout
        self._timeouts = dict(timeouts or {})
        self._pool = HttpPool()
        self._in_flight: InFlight[Reply] | None = InFlight() if dedupe else None

    async def fetch(
        self,
        service: str,
        query: str,
        variables: Mapping[str, Any],
        session: Session | None = None,
    ) -> Any:
        body = orjson.dumps({"query": query, "variables": dict(variables)})
        headers = _headers(session)  # a fresh dict: the trace context goes in too
        query_only = not query.startswith("mutation")
        key = (service, body, *headers.items()) if query_only else None
        self._tracing.inject(headers)

        def send() -> Awaitable[Reply]:
            return self._pool.request(
                "POST",
                self.urls[service],
                body,
                headers,
                within=self._timeouts.get(service, self._timeout),
                idempotent=query_only,
            )

        try:
            if self._in_flight is not None and key is not None:
                reply = await self._in_flight.run(key, send)
            else:
                reply = await send()
        except TimeoutError:
            raise SubgraphFailed("no answer within its timeout") from None
        except OSError as e:
            raise SubgraphFailed(f"unreachable ({failure_reason(e)})") from None
        raw, status = reply.body, reply.status
        try:
            answer = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise SubgraphFailed(f"HTTP {status} without a GraphQL response") from None
        if not isinstance(answer, dict) or ("data" not in answer and "errors" not in answer):
            raise SubgraphFailed(f"HTTP {status} without a GraphQL response")
        return answer

    async def close(self) -> None:
        await self._pool.close()


_BASE_HEADERS = {"content-type": "application/json", "accept": "application/json"}


def _headers(session: Session | None) -> dict[str, str]:
    """The verified session as X-Shardgate-* headers, for the subgraph's own authorization.

    Client headers are never forwarded, so a client cannot pass a header of these names off
    as verified: `X-Shardgate-Role`, `X-Shardgate-User-Id` and one per claim of the
    namespace (lists and objects as JSON).
    """
    headers = dict(_BASE_HEADERS)
    if session is None or session.is_admin:
        # The admin (admin secret, or open mode: anyone) is not asserted downstream: a
        # subgraph trusting these headers would otherwise grant it to whoever reached us.
        return headers
    headers["x-shardgate-role"] = session.role
    if session.subject is not None:
        headers["x-shardgate-user-id"] = session.subject
    for name, value in session.variables.items():
        if name in ("default-role", "allowed-roles") or value is None:
            continue
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        if _HEADER_NAME.fullmatch(name) and "\n" not in text and "\r" not in text:
            headers.setdefault(f"x-shardgate-{name.lower()}", text)
    return headers


_HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,64}")
