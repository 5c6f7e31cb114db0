"""The request path of the GraphQL endpoint, in order; each stage lives in its own module.

    csrf             gateway/csrf.py            only requests a browser would have preflighted
    read params      gateway/http_params.py     HTTP request -> one operation, or a batch
    authenticate     gateway/authentication.py  -> request.state.session (401 / 403)
    serving          `current(request)`         the schema for this caller
    per operation:
      parse          gateway/documents.py       cached by text; token cap (MAX_TOKENS_LIMIT);
                                                the operation selected and measured once
      rate limit     auth/rate_limits.py        per caller and operation name (429)
      validate       gateway/documents.py       cached; introspection per role
      method         GET runs queries only      (405 for mutations)
      limits         auth/operation_limits.py   depth, aliases, root fields, fields
      execute        gateway/execution.py       graphql-core, or the federated plan
    respond          gateway/responses.py       coded errors, masking, RateLimit headers

Rate limiting follows parsing because per-operation limits and cost mode need the document;
parsing is cached and token-capped, and a document that does not parse still counts.
A stage refuses by raising `Refused` (status, code, headers); cross-cutting concerns
(telemetry, ...) wrap a stage method.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphql import DocumentNode, OperationType, get_operation_ast
from starlette.requests import Request
from starlette.responses import Response

from auth import AuthError, Session
from auth.client_address import client_address
from auth.operation_limits import OperationLimits
from auth.rate_limits import Caller, Decision, RateLimiter, RateLimitUnavailable, combined
from gateway.csrf import CsrfSettings, check_csrf
from gateway.documents import DocumentCache, Selected
from gateway.errors import Refused
from gateway.executable import Executable
from gateway.execution import Outcome, execute_operation, request_errors, shape
from gateway.http_params import Batch, GraphQLParams, read_params
from gateway.responses import (
    error_entry,
    format_error,
    json_response,
    parse_error_code,
    request_error_status,
    response_media_type,
)


@dataclass(frozen=True)
class Visitor:
    """Who is calling, as the per-operation stages need it."""

    caller: Caller | None  # None: no rate limits configured
    introspection: bool


class Pipeline:
    def __init__(
        self,
        current: Callable[[Request], Executable | None],
        *,
        max_body: int = 32 << 20,
        authenticate: Callable[[Request], Awaitable[Any]] | None = None,
        limits: OperationLimits | None = None,
        rate_limits: RateLimiter | None = None,
        csrf: CsrfSettings | None = None,
        documents: DocumentCache | None = None,
    ) -> None:
        self.current = current
        self.max_body = max_body
        self.authenticate = authenticate
        self.limits = limits or OperationLimits()
        self.rate_limits = rate_limits if rate_limits is not None and rate_limits.active else None
        self.csrf = csrf or CsrfSettings()
        self.documents = documents or DocumentCache(max_tokens=self.limits.max_tokens)

    async def handle(self, request: Request) -> Response:
        media = response_media_type(request)
        decisions: list[Decision] = []  # what the rate limits said, for the headers
        try:
            check_csrf(request, self.csrf)
            batch = await read_params(request, self.max_body, self.limits)
            session = await self.authenticated(request)
            executable = self.serving(request)
            visitor = self.visitor(request, session)
            outcomes = [
                await self.entry(request, executable, visitor, params, batch, decisions)
                for params in batch.operations
            ]
        except Refused as e:
            headers = {**combined(decisions).headers(), **e.headers} if decisions else e.headers
            body = {"errors": [error_entry(e.message, e.code)]}
            return json_response(body, e.status, media, headers)
        headers = combined(decisions).headers() if decisions else None
        if batch.batched:
            statuses = {o.status for o in outcomes}
            status = statuses.pop() if len(statuses) == 1 and None not in statuses else 200
            return json_response([o.body for o in outcomes], status, media, headers)
        [outcome] = outcomes
        status = 200 if outcome.ran else request_error_status(media)
        return json_response(outcome.body, status, media, headers)

    async def authenticated(self, request: Request) -> Session | None:
        if self.authenticate is None:
            return None
        try:
            session: Session = await self.authenticate(request)
        except AuthError as e:
            headers = {"www-authenticate": "Bearer"} if e.status == 401 else None
            raise Refused(e.message, status=e.status, code=e.code, headers=headers) from None
        return session

    def serving(self, request: Request) -> Executable:
        executable = self.current(request)
        if executable is None:
            raise Refused(
                "the schema is not loaded yet: no service is registered",
                status=503,
                code="SCHEMA_NOT_READY",
            )
        return executable

    def visitor(self, request: Request, session: Session | None) -> Visitor:
        caller = None
        if self.rate_limits is not None:
            peer = request.client.host if request.client else None
            trusted = self.rate_limits.settings.trusted_proxies
            forwarded = request.headers.getlist("x-forwarded-for") if trusted else ()
            address = client_address(peer, forwarded, trusted)
            caller = self.rate_limits.caller(session, address)
        introspection = (
            self.limits.may_introspect(session.role, session.is_admin)
            if session is not None
            else self.limits.introspection_roles is None
        )
        return Visitor(caller, introspection)

    async def entry(
        self,
        request: Request,
        executable: Executable,
        visitor: Visitor,
        params: GraphQLParams,
        batch: Batch,
        decisions: list[Decision],
    ) -> Outcome:
        """One operation; in a batch, a refusal is that entry's answer, not the request's."""
        try:
            return await self.operation(request, executable, visitor, params, decisions)
        except Refused as e:
            if not batch.batched:
                raise
            return Outcome({"errors": [error_entry(e.message, e.code)]}, ran=False, status=e.status)

    async def operation(
        self,
        request: Request,
        executable: Executable,
        visitor: Visitor,
        params: GraphQLParams,
        decisions: list[Decision],
    ) -> Outcome:
        parsed = self.documents.parse(params.query)
        selected = self.documents.select(params.query, parsed, params.operation_name)
        await self.rate_limited(visitor, params, selected, decisions)
        if parsed.document is None:
            return request_errors([format_error(e, parse_error_code(e)) for e in parsed.errors])
        document, hide = parsed.document, not visitor.introspection
        errors = self.documents.validate(
            executable, params.query, document, introspection=visitor.introspection
        )
        if errors:
            return request_errors([format_error(e, hide_suggestions=hide) for e in errors])
        check_method(request, document, params)
        refused = self.limits.refusals(selected.measures)  # measured once per document
        if refused:  # counted with fragments expanded: no bypass through them
            return request_errors([format_error(e) for e in refused])
        result = await execute_operation(executable, document, params, request)
        return shape(result, hide_suggestions=hide)

    async def rate_limited(
        self, visitor: Visitor, params: GraphQLParams, selected: Selected, decisions: list[Decision]
    ) -> None:
        if self.rate_limits is None or visitor.caller is None:
            return
        name, cost = selected.name or params.operation_name, 1
        if self.rate_limits.settings.cost and selected.measures is not None:
            cost = selected.measures.cost
        try:
            decision = await self.rate_limits.hit(visitor.caller, name, cost)
        except RateLimitUnavailable:
            raise Refused(
                "rate limits cannot be checked right now (their shared store is unreachable); "
                "retry later",
                status=503,
                code="RATE_LIMIT_UNAVAILABLE",
            ) from None
        decisions.append(decision)
        if not decision.allowed:
            raise Refused(
                f"too many requests: retry in {decision.retry_after} s",
                status=429,
                code="RATE_LIMITED",
                headers=decision.headers(),
            )


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
