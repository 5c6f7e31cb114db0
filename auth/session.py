"""Who is calling: `await session_from_request(headers, cookies, keys, settings, now)`.

admin secret header (constant-time compare) -> admin (may act as X-Shardgate-Role)
open mode (nothing configured)              -> admin
Bearer token, else the configured cookie    -> role from X-Shardgate-Role or default-role
no token                                    -> anonymous role if configured, else 401
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from auth.errors import Forbidden, InvalidClaims, Unauthenticated
from auth.keys import KeyRing
from auth.settings import AuthSettings
from auth.token_cache import TokenCache
from auth.tokens import Claims, verify

ROLE_HEADER = "x-shardgate-role"
ADMIN_SECRET_HEADER = "x-shardgate-admin-secret"
VARIABLE_HEADER_PREFIX = "x-shardgate-"
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Session:
    subject: str | None  # user-id claim (or sub); None for admin and anonymous callers
    role: str
    allowed_roles: tuple[str, ...]
    variables: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)  # namespace claims
    is_admin: bool = False


async def session_from_request(
    headers: Mapping[str, str],
    cookies: Mapping[str, str] | None,
    keys: KeyRing,
    settings: AuthSettings,
    now: float,
    cache: TokenCache | None = None,
) -> Session:
    """`cache`: verified tokens to remember (auth/token_cache.py); None verifies every time."""
    h = {k.lower(): v for k, v in headers.items()}
    requested = h.get(ROLE_HEADER) or None
    if ADMIN_SECRET_HEADER in h:
        secret = settings.admin_secret
        sent = h[ADMIN_SECRET_HEADER].encode()
        if secret is None or not hmac.compare_digest(sent, secret.encode()):
            raise Unauthenticated(
                "invalid admin secret", f"check the {ADMIN_SECRET_HEADER} header value"
            )
        return _admin(settings, requested, h)
    if settings.open_mode:
        return _admin(settings, requested, h)

    token = _token(h, cookies or {}, settings)
    if token is None:
        if settings.anonymous_role is None:
            raise Unauthenticated("authentication required", "send 'Authorization: Bearer <jwt>'")
        role = settings.anonymous_role
        if requested not in (None, role):
            raise Forbidden(f"role {requested!r} is not available without a token")
        return Session(None, role, (role,))
    claims = await verify(token, keys, settings, now, cache)
    if cache is None:
        return session_from_claims(claims, settings, requested)
    session: Session | None = cache.derived(token, requested)
    if session is None:
        session = session_from_claims(claims, settings, requested)
        cache.derive(token, requested, session)
    return session


def session_from_claims(claims: Claims, settings: AuthSettings, requested: str | None) -> Session:
    ns = claims.get(settings.namespace)
    if not isinstance(ns, dict):
        raise InvalidClaims(f"token has no claims object under {settings.namespace!r}")
    allowed = ns.get("allowed-roles")
    if (
        not isinstance(allowed, list)
        or not allowed
        or not all(isinstance(r, str) and r for r in allowed)
    ):
        raise InvalidClaims("token claim 'allowed-roles' must be a non-empty list of strings")
    default = ns.get("default-role")
    if not isinstance(default, str) or default not in allowed:
        raise InvalidClaims("token claim 'default-role' must be one of 'allowed-roles'")
    role = requested or default
    if role not in allowed:
        raise Forbidden(
            f"role {role!r} is not among this token's allowed roles",
            f"choose one of {allowed} with the X-Shardgate-Role header",
        )
    subject = ns.get("user-id", claims.get("sub"))
    return Session(
        subject=str(subject) if subject is not None else None,
        role=role,
        allowed_roles=tuple(allowed),
        variables=MappingProxyType(dict(ns)),
    )


def _admin(settings: AuthSettings, requested: str | None, h: Mapping[str, str]) -> Session:
    # The admin may act as any role (to try permissions out), with session variables from
    # X-Shardgate-* headers, as Hasura's admin does; it stays flagged as admin.
    role = requested or settings.admin_role
    variables = {
        name.removeprefix(VARIABLE_HEADER_PREFIX): value
        for name, value in h.items()
        if name.startswith(VARIABLE_HEADER_PREFIX)
        and name not in (ROLE_HEADER, ADMIN_SECRET_HEADER)
    }
    subject = variables.get("user-id")
    return Session(subject, role, (role,), MappingProxyType(variables), is_admin=True)


def _token(h: Mapping[str, str], cookies: Mapping[str, str], settings: AuthSettings) -> str | None:
    auth = h.get("authorization")
    if auth is not None:
        scheme, _, value = auth.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthenticated(
                "unsupported Authorization header", "use 'Authorization: Bearer <jwt>'"
            )
        return value.strip()
    if settings.cookie_name and cookies.get(settings.cookie_name):
        return cookies[settings.cookie_name]
    return None
