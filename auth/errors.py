"""Errors of the identity layer.

    AuthError                      code, HTTP status, message safe for clients
    ├── ConfigError                bad [auth] settings; raised at start, never per request
    ├── Unauthenticated            401 UNAUTHENTICATED: no usable identity
    │   ├── InvalidToken           malformed, bad signature, unknown key, refused algorithm
    │   └── InvalidClaims          exp / nbf / iat / iss / aud / namespace claims
    └── Forbidden                  403 FORBIDDEN: identity known, requested role not allowed

Messages say what is wrong and how to fix it; they never contain the token, a key, a
secret or a claim value the caller did not send in the clear.
"""

from __future__ import annotations

from typing import Literal

Code = Literal["UNAUTHENTICATED", "FORBIDDEN", "INTERNAL"]


class AuthError(Exception):
    code: Code = "UNAUTHENTICATED"
    status: int = 401

    def __init__(self, message: str, suggestion: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.suggestion = suggestion

    def __str__(self) -> str:
        return f"{self.message} ({self.suggestion})" if self.suggestion else self.message


class ConfigError(AuthError):
    """The [auth] section or SHARDGATE_* variables are wrong; the gateway must not start."""

    code: Code = "INTERNAL"
    status = 500


class Unauthenticated(AuthError):
    code: Code = "UNAUTHENTICATED"
    status = 401


class InvalidToken(Unauthenticated):
    pass


class InvalidClaims(Unauthenticated):
    pass


class Forbidden(AuthError):
    code: Code = "FORBIDDEN"
    status = 403
