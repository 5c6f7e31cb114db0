"""Token verification: `await verify(token, keys, settings, now) -> claims`.

Order matters: the header is inspected only to pick keys (kid) and to refuse what no
configured key allows (alg); the algorithm must be in the chosen key's own list, so a token
can never choose HS256 against an RSA public key, nor `none`. Claims are read only after
a signature verifies.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError, UnsupportedAlgorithmError
from joserfc.jws import JWSAlgModel, JWSRegistry

from auth.errors import InvalidClaims, InvalidToken
from auth.keys import KeyRing
from auth.settings import SUPPORTED_ALGORITHMS, AuthSettings
from auth.token_cache import TokenCache

Claims = dict[str, Any]

MAX_TOKEN_BYTES = 16 * 1024
MAX_HEADER_BYTES = 2048
# kids are identifiers, not paths or queries: short and from a conservative alphabet.
KID_PATTERN = re.compile(r"[A-Za-z0-9._:+=-]{1,128}")
_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class _ConfiguredRegistry(JWSRegistry):
    """Exactly the algorithms configured for one key.

    joserfc warns on deprecated algorithms (EdDSA since RFC 9864); here the operator chose
    them explicitly, so the choice is logged once at start rather than warned per request.
    """

    def get_alg(self, name: str) -> JWSAlgModel:
        if not self.allowed or name not in self.allowed or name not in self.algorithms:
            raise UnsupportedAlgorithmError(f"Algorithm of '{name}' is not allowed")
        return self.algorithms[name]


def _b64decode(segment: str) -> bytes:
    """Strict base64url: no padding, no stray characters, no non-zero trailing bits.

    Lenient decoders map several strings to the same bytes; refusing all but the canonical
    one means a token that verifies is exactly the token that was signed.
    """
    if not _B64URL.fullmatch(segment) or len(segment) % 4 == 1:
        raise ValueError("not base64url")
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode() != segment:
        raise ValueError("not canonical base64url")
    return data


def read_header(token: str) -> dict[str, Any]:
    """The unverified JOSE header, structurally checked; used only to choose keys."""
    if not isinstance(token, str) or not token:
        raise InvalidToken("empty token", "send 'Authorization: Bearer <jwt>'")
    if len(token) > MAX_TOKEN_BYTES:
        raise InvalidToken(f"token longer than {MAX_TOKEN_BYTES} bytes")
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken(
            "token is not a compact JWS (three dot-separated parts)",
            "encrypted or unsigned tokens are not accepted",
        )
    if len(parts[0]) > MAX_HEADER_BYTES:
        raise InvalidToken("token header too large")
    try:
        _b64decode(parts[1])
        _b64decode(parts[2])
    except (ValueError, binascii.Error):
        raise InvalidToken("token is not canonical base64url") from None
    try:
        header = json.loads(_b64decode(parts[0]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidToken("token header is not base64url-encoded JSON") from None
    if not isinstance(header, dict):
        raise InvalidToken("token header is not a JSON object")
    return header


def _check_header(header: dict[str, Any]) -> tuple[str, str | None]:
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none" or alg not in SUPPORTED_ALGORITHMS:
        raise InvalidToken("token algorithm is not accepted", "sign with a configured algorithm")
    if "crit" in header:
        raise InvalidToken("token has critical header extensions, which are not supported")
    kid = header.get("kid")
    if kid is not None and not (isinstance(kid, str) and KID_PATTERN.fullmatch(kid)):
        raise InvalidToken("token 'kid' is malformed", "use up to 128 of [A-Za-z0-9._:+=-]")
    return alg, kid


async def verify(
    token: str,
    keys: KeyRing,
    settings: AuthSettings,
    now: float,
    cache: TokenCache | None = None,
) -> Claims:
    """Verified claims of `token`, or InvalidToken / InvalidClaims; with a `cache`, a token
    that verified is only checked for its times (and iss/aud) again."""
    if cache is None:
        return await _verify(token, keys, settings, now)
    generation = await keys.refresh(now)  # a rotation due now drops the cache first
    claims = cache.get(token, generation, now)
    if claims is not None:
        check_claims(claims, settings, now)
        return claims
    claims = await _verify(token, keys, settings, now)
    if keys.generation == generation:  # not when the keys changed while it was checked
        cache.put(token, generation, claims, now)
    return claims


async def _verify(token: str, keys: KeyRing, settings: AuthSettings, now: float) -> Claims:
    header = read_header(token)
    alg, kid = _check_header(header)
    candidates = [k for k in await keys.candidates(kid, now) if alg in k.algorithms]
    if not candidates:
        raise InvalidToken(
            f"no configured key accepts algorithm {alg}" + (" for this kid" if kid else ""),
            "check the token issuer's signing key and [auth] algorithms",
        )
    payload: bytes | None = None
    for key in candidates:
        registry = _ConfiguredRegistry(algorithms=[alg], strict_check_header=False)
        try:
            payload = jws.deserialize_compact(token, key.key, registry=registry).payload
            break
        except (JoseError, ValueError, TypeError):
            continue
    if payload is None:
        raise InvalidToken("token signature is invalid")
    try:
        claims = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise InvalidToken("token payload is not JSON") from None
    if not isinstance(claims, dict):
        raise InvalidToken("token payload is not a JSON object")
    check_claims(claims, settings, now)
    return claims


def _number(claims: Claims, name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    try:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError
        number = float(value)
        if not math.isfinite(number):  # Python's json accepts NaN/Infinity; never-expiring
            raise ValueError
    except (ValueError, OverflowError):
        raise InvalidClaims(f"token claim '{name}' is not a NumericDate") from None
    return number


def check_claims(claims: Claims, settings: AuthSettings, now: float) -> None:
    """exp required (no leeway); nbf/iat with the configured leeway; iss/aud when configured."""
    exp = _number(claims, "exp")
    if exp is None:
        raise InvalidClaims("token has no 'exp' claim", "issue tokens that expire")
    if now >= exp:
        raise InvalidClaims("token has expired", "obtain a new token")
    nbf = _number(claims, "nbf")
    if nbf is not None and nbf > now + settings.leeway:
        raise InvalidClaims("token is not valid yet ('nbf' is in the future)")
    iat = _number(claims, "iat")
    if iat is not None and iat > now + settings.leeway:
        raise InvalidClaims("token was issued in the future ('iat')", "check the issuer's clock")
    if settings.issuer is not None and claims.get("iss") != settings.issuer:
        raise InvalidClaims("token issuer ('iss') is not the configured issuer")
    if settings.audience is not None:
        aud = claims.get("aud")
        auds = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if settings.audience not in auds:
            raise InvalidClaims("token audience ('aud') does not include this gateway")
