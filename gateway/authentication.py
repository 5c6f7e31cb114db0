"""The authenticate stage: each request becomes a `Session` (auth/), or an HTTP error.

    GraphQL endpoints  401 UNAUTHENTICATED (with WWW-Authenticate: Bearer) or 403 FORBIDDEN,
                       as a GraphQL error body; the session lands in `request.state.session`
    /admin/...         the admin role only (admin secret header, or open mode)
    /healthz, GraphiQL open: load balancers and browsers need them before any token

With no auth settings at all the gateway runs open (every caller is admin) and says so at
start, loudly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from auth import AuthError, AuthSettings, KeyRing, Session, build_keyring, session_from_request
from auth.token_cache import TokenCache

log = logging.getLogger("shardgate.auth")


class Authenticator:
    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self._ring: KeyRing | None = None
        self.tokens = TokenCache(settings.token_cache_size, settings.token_cache_ttl)

    async def start(self) -> None:
        for line in self.settings.startup_warnings():
            log.warning("%s", line)
        self._ring = build_keyring(self.settings)

    async def close(self) -> None:
        if self._ring is not None:
            await self._ring.close()

    async def session(self, request: Request) -> Session:
        """The caller's session; raises AuthError (401/403) with a message safe to return."""
        assert self._ring is not None, "Authenticator.start() was not called"
        cookies = request.cookies if self.settings.cookie_name else None  # parsed on demand
        found = await session_from_request(
            request.headers, cookies, self._ring, self.settings, time.time(), self.tokens
        )
        request.state.session = found
        return found


async def is_admin(authenticator: Authenticator, request: Request) -> bool:
    """Whether this request comes from the admin (for details only operators should see)."""
    try:
        return (await authenticator.session(request)).is_admin
    except AuthError:
        return False


def auth_error_response(error: AuthError, media_type: str = "application/json") -> Response:
    body = {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}
    headers = {"www-authenticate": "Bearer"} if error.status == 401 else None
    return Response(
        orjson.dumps(body), error.status, headers=headers, media_type=f"{media_type}; charset=utf-8"
    )


class AdminOnly:
    """ASGI middleware: every path under /admin needs the admin role."""

    def __init__(self, app: ASGIApp, authenticator: Callable[[], Authenticator]) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/admin"):
            request = Request(scope, receive)
            try:
                session = await self.authenticator().session(request)
                if not session.is_admin:
                    raise _not_admin(session)
            except AuthError as e:
                await auth_error_response(e)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _not_admin(session: Session) -> AuthError:
    from auth import Forbidden

    return Forbidden(
        f"the admin API needs the admin role, not {session.role!r}",
        "send the X-Shardgate-Admin-Secret header",
    )


Authenticate = Callable[[Request], Awaitable[Session]]
