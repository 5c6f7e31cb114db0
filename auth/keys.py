"""Verification keys: static keys from settings and a JWKS URL, each key with its own algorithms.

    ring = build_keyring(settings)                 # bad keys are skipped with a warning
    for key in await ring.candidates("k1", now):   # kid match; unknown kid -> rate-limited refetch
        ...

Nothing here ever fetches a URL named by a token (`jku`, `x5u`) or uses a key embedded in
one (`jwk`): the only network access is the configured JWKS URL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, Key, OctKey

from auth.errors import ConfigError
from auth.settings import HMAC_ALGORITHMS, AuthSettings, KeySpec

log = logging.getLogger("shardgate.auth")

# Which key type each algorithm needs: an HS256 token is never checked against an RSA key.
KEY_TYPE_OF: dict[str, str] = {
    **{a: "oct" for a in HMAC_ALGORITHMS},
    **{f"{f}{n}": "RSA" for f in ("RS", "PS") for n in (256, 384, 512)},
    **{f"ES{n}": "EC" for n in (256, 384, 512)},
    **{a: "OKP" for a in ("EdDSA", "Ed25519", "Ed448")},
}
MIN_REFETCH_S = 60.0  # an unknown kid triggers at most one JWKS fetch per minute
MIN_TTL_S, MAX_TTL_S = 60.0, 86400.0
MAX_JWKS_BYTES = 512 * 1024
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)


@dataclass(frozen=True)
class VerificationKey:
    kid: str | None
    key: Key
    algorithms: frozenset[str]  # from configuration, never from a token
    origin: str  # "config" or "jwks", for logs

    def __repr__(self) -> str:  # keep key material out of logs and tracebacks
        return f"VerificationKey(kid={self.kid!r}, algorithms={sorted(self.algorithms)})"


def _usable_algorithms(key: Key, algorithms: Iterable[str]) -> frozenset[str]:
    return frozenset(a for a in algorithms if KEY_TYPE_OF.get(a) == key.key_type)


def _pem_key_type(pem: bytes) -> str:
    """The JWK key type of a PEM public key, private key or certificate."""
    obj: Any
    if b"CERTIFICATE" in pem:
        obj = x509.load_pem_x509_certificate(pem).public_key()
    elif b"PRIVATE KEY" in pem:
        obj = load_pem_private_key(pem, password=None)
    else:
        obj = load_pem_public_key(pem)
    if isinstance(obj, rsa.RSAPublicKey | rsa.RSAPrivateKey):
        return "RSA"
    if isinstance(obj, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
        return "EC"
    kinds = (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey)
    if isinstance(obj, (*kinds, ed448.Ed448PublicKey, ed448.Ed448PrivateKey)):
        return "OKP"
    raise ValueError("unsupported PEM key type")


def _check_hmac_length(secret: bytes, algorithms: Iterable[str]) -> None:
    # RFC 7518 3.2: an HMAC key at least as long as the hash output (32 bytes for HS256).
    short = sorted(a for a in algorithms if a.startswith("HS") and len(secret) < int(a[2:]) // 8)
    if short:
        raise ValueError(f"shared secret of {len(secret)} bytes is too short for {short}")


def parse_key_spec(spec: KeySpec) -> VerificationKey:
    """Parse one configured key; raises ValueError/JoseError when it cannot be used."""
    kid = spec.kid
    key: Key
    if spec.kind == "secret":
        secret = spec.material.encode()
        _check_hmac_length(secret, spec.algorithms)  # before joserfc warns about it
        key = OctKey.import_key(secret)  # refuses PEM/public keys as secrets
    elif spec.kind == "pem":
        pem = spec.material.encode()
        key = JWKRegistry.import_key(pem, _pem_key_type(pem))
    else:
        data = json.loads(spec.material)
        if not isinstance(data, dict):
            raise ValueError("jwk must be a JSON object")
        key = JWKRegistry.import_key(data)
        if isinstance(key, OctKey):
            _check_hmac_length(key.raw_value, spec.algorithms)
        kid = kid or data.get("kid")
    algorithms = _usable_algorithms(key, spec.algorithms)
    if len(algorithms) != len(set(spec.algorithms)):
        raise ValueError(
            f"algorithms {sorted(set(spec.algorithms) - algorithms)} do not fit a "
            f"{key.key_type} key"
        )
    return VerificationKey(kid, key, algorithms, "config")


def load_static_keys(specs: Iterable[KeySpec]) -> tuple[VerificationKey, ...]:
    keys = []
    for i, spec in enumerate(specs):
        try:
            keys.append(parse_key_spec(spec))
        except (ValueError, TypeError, JoseError) as e:
            # One bad key must not disable the others; name it without its material.
            log.warning(
                "auth: skipping key #%d (kid=%r, %s): %s %s",
                *(i, spec.kid, spec.kind, type(e).__name__, e),
            )
    return tuple(keys)


def parse_jwks(document: Any, algorithms: Iterable[str]) -> tuple[VerificationKey, ...]:
    """Usable signing keys of a JWKS document; bad or unsuitable entries skipped with a warning."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise ValueError("JWKS document has no 'keys' list")
    allowed = frozenset(algorithms) - HMAC_ALGORITHMS  # a public set never holds HMAC keys
    keys = []
    for i, raw in enumerate(document["keys"]):
        try:
            if not isinstance(raw, dict):
                raise ValueError("entry is not an object")
            if raw.get("use", "sig") != "sig":
                continue
            if raw.get("kty") == "oct":
                raise ValueError("symmetric (oct) keys are not accepted from a JWKS")
            key = JWKRegistry.import_key(raw)
            algs = _usable_algorithms(key, allowed)
            if isinstance(raw.get("alg"), str):
                algs &= {raw["alg"]}  # the set may narrow a key's algorithm, never widen it
            if not algs:
                raise ValueError(f"no configured algorithm fits this {key.key_type} key")
            kid = raw.get("kid")
            keys.append(VerificationKey(kid if isinstance(kid, str) else None, key, algs, "jwks"))
        except (ValueError, TypeError, KeyError, JoseError) as e:
            log.warning(
                "auth: skipping JWKS key #%d (kid=%r): %s %s", i, _kid_of(raw), type(e).__name__, e
            )
    return tuple(keys)


def _kid_of(raw: Any) -> object:
    return raw.get("kid") if isinstance(raw, dict) else None


def cache_ttl(cache_control: str | None, poll_interval: float) -> float:
    """Seconds to keep a JWKS: its Cache-Control max-age (clamped) or the poll interval.

    >>> cache_ttl("public, max-age=3600", 300), cache_ttl(None, 300), cache_ttl("max-age=0", 300)
    (3600.0, 300, 60.0)
    """
    m = _MAX_AGE.search(cache_control or "")
    if m is None:
        return poll_interval
    return min(max(float(m.group(1)), MIN_TTL_S), MAX_TTL_S)


class JwksSource:
    """The configured JWKS URL, cached; time is passed in by the caller (`now`, seconds)."""

    def __init__(
        self,
        url: str,
        algorithms: Iterable[str],
        poll_interval: float = 300.0,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.algorithms = frozenset(algorithms)
        self.poll_interval = poll_interval
        self.keys: tuple[VerificationKey, ...] = ()
        self.fetches = 0
        self.generation = 0  # bumped whenever a fetch changes the key set
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._expires_at = float("-inf")
        self._last_fetch = float("-inf")
        self._lock = asyncio.Lock()

    async def current(self, now: float) -> tuple[VerificationKey, ...]:
        if now >= self._expires_at:
            async with self._lock:
                if now >= self._expires_at:  # another task may have refreshed meanwhile
                    await self._fetch(now)
        return self.keys

    async def refetch_for_unknown_kid(self, now: float) -> bool:
        """Refetch because a token names a kid we lack; at most once a minute. True if fetched."""
        async with self._lock:
            if now - self._last_fetch < MIN_REFETCH_S:
                return False
            await self._fetch(now)
            return True

    async def _fetch(self, now: float) -> None:
        self._last_fetch = now
        self.fetches += 1
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            # No redirects: the key set comes from the configured URL and nowhere else.
            async with self._session.get(
                self.url, allow_redirects=False, timeout=self._timeout
            ) as resp:
                if resp.status != 200:
                    raise ValueError(f"HTTP {resp.status}")
                body = await resp.content.read(MAX_JWKS_BYTES + 1)
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError(f"larger than {MAX_JWKS_BYTES} bytes")
                ttl = cache_ttl(resp.headers.get("Cache-Control"), self.poll_interval)
            keys = parse_jwks(json.loads(body), self.algorithms)
            if _identities(keys) != _identities(self.keys):
                self.generation += 1
            self.keys = keys
            self._expires_at = now + ttl
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            # Keep the keys we had; try again after the refetch interval, not on every request.
            log.warning("auth: JWKS fetch from %s failed: %s", self.url, e)
            self._expires_at = now + MIN_REFETCH_S

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None


def _identities(keys: Iterable[VerificationKey]) -> list[tuple[str | None, str, frozenset[str]]]:
    return [(k.kid, k.key.thumbprint(), k.algorithms) for k in keys]


@dataclass
class KeyRing:
    static: tuple[VerificationKey, ...] = ()
    jwks: JwksSource | None = None

    @property
    def generation(self) -> int:
        """Changes whenever the keys do (a JWKS rotation): what was verified before may not
        verify now. Static keys never change while the gateway runs."""
        return self.jwks.generation if self.jwks else 0

    async def all(self, now: float) -> tuple[VerificationKey, ...]:
        remote = await self.jwks.current(now) if self.jwks else ()
        return self.static + remote

    async def refresh(self, now: float) -> int:
        """Fetch the JWKS if its cache time is over; the generation after that."""
        if self.jwks:
            await self.jwks.current(now)
        return self.generation

    async def candidates(self, kid: str | None, now: float) -> list[VerificationKey]:
        """Keys to try: those with this kid, or every key when the token names none."""
        keys = await self.all(now)
        if kid is None:
            return list(keys)
        found = [k for k in keys if k.kid == kid]
        if not found and self.jwks and await self.jwks.refetch_for_unknown_kid(now):
            found = [k for k in await self.all(now) if k.kid == kid]
        # A configured key without a kid (e.g. SHARDGATE_JWT_SECRET) still verifies tokens
        # whose issuer stamps one; its algorithms and the signature still decide.
        return found or [k for k in self.static if k.kid is None]

    async def close(self) -> None:
        if self.jwks:
            await self.jwks.close()


def build_keyring(settings: AuthSettings, session: aiohttp.ClientSession | None = None) -> KeyRing:
    static = load_static_keys(settings.keys)
    if settings.keys and not static and settings.jwks_url is None:
        raise ConfigError("no configured auth key could be parsed", "see the warnings above")
    jwks = None
    if settings.jwks_url:
        jwks = JwksSource(
            settings.jwks_url, settings.jwks_algorithms, settings.poll_interval, session
        )
    return KeyRing(static, jwks)
