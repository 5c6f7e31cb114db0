"""Identity: JWT verification (joserfc), keys, sessions.

    settings = AuthSettings.from_sources(toml.get("auth"), os.environ)
    for line in settings.startup_warnings():        # e.g. OPEN MODE: every caller is admin
        log.warning(line)
    ring = build_keyring(settings)                  # static keys + JWKS; bad keys skipped
    session = await session_from_request(request.headers, request.cookies, ring, settings,
                                         now=time.time())
    session.role, session.subject, session.variables["user-id"]
    ...
    await ring.close()

A token carries its roles under the namespace claim (default https://shardgate.dev/claims):

    {"sub": "u1", "exp": 1767225600, "iss": "...", "aud": "shardgate",
     "https://shardgate.dev/claims": {"default-role": "user", "allowed-roles": ["user", "editor"],
                                      "user-id": "u1", "org-id": "o7"}}

Failures raise `AuthError` subclasses with `.code` (UNAUTHENTICATED / FORBIDDEN) and `.status`
(401 / 403); their messages are safe to return to the caller.
"""

from auth.errors import (
    AuthError,
    ConfigError,
    Forbidden,
    InvalidClaims,
    InvalidToken,
    Unauthenticated,
)
from auth.keys import JwksSource, KeyRing, VerificationKey, build_keyring
from auth.session import Session, session_from_request
from auth.settings import AuthSettings, KeySpec
from auth.tokens import verify

__all__ = [
    "AuthError",
    "AuthSettings",
    "ConfigError",
    "Forbidden",
    "InvalidClaims",
    "InvalidToken",
    "JwksSource",
    "KeyRing",
    "KeySpec",
    "Session",
    "Unauthenticated",
    "VerificationKey",
    "build_keyring",
    "session_from_request",
    "verify",
]
