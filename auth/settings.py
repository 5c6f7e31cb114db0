"""Identity settings: the `[auth]` section of shardgate.toml, then SHARDGATE_* variables.

[auth]
issuer = "https://id.example.com/"
audience = "shardgate"
leeway = 30                          # seconds for nbf/iat, at most 60
namespace = "https://shardgate.dev/claims"
anonymous_role = "anonymous"         # callers without a token; unset -> 401
cookie = "sg_token"                  # also read the token from this cookie
jwks_url = "https://id.example.com/.well-known/jwks.json"
jwks_algorithms = ["RS256"]
poll_interval = 300                  # JWKS refresh when it sends no Cache-Control max-age
token_cache_ttl = 60                 # seconds a verified token is not verified again; 0: off
token_cache_size = 10000             # tokens remembered (least recently used dropped)
[[auth.keys]]                        # exactly one of secret / pem / jwk per key
kid = "k1"
secret = "..."                       # or pem = "-----BEGIN PUBLIC KEY-----..." or jwk = {...}
algorithms = ["HS256"]

The environment wins over the file: SHARDGATE_JWT_SECRET, SHARDGATE_JWT_JWKS_URL,
SHARDGATE_JWT_ALGORITHMS (comma-separated), SHARDGATE_JWT_AUDIENCE, SHARDGATE_JWT_ISSUER,
SHARDGATE_ANONYMOUS_ROLE, SHARDGATE_ADMIN_SECRET.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from auth.errors import ConfigError

HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset(
    {
        *(f"{f}{n}" for f in ("RS", "PS", "ES") for n in (256, 384, 512)),
        "EdDSA",  # RFC 8037; RFC 9864 prefers the fully specified Ed25519 / Ed448
        "Ed25519",
        "Ed448",
    }
)
SUPPORTED_ALGORITHMS = HMAC_ALGORITHMS | ASYMMETRIC_ALGORITHMS
DEFAULT_NAMESPACE = "https://shardgate.dev/claims"
MAX_LEEWAY = 60.0
MAX_TOKEN_CACHE_TTL = 300.0

KeyKind = Literal["secret", "pem", "jwk"]


@dataclass(frozen=True)
class KeySpec:
    """One configured verification key, still unparsed (keys.py parses it)."""

    kind: KeyKind
    material: str = field(repr=False)  # never printed: it may be a shared secret
    algorithms: tuple[str, ...]
    kid: str | None = None


@dataclass(frozen=True)
class AuthSettings:
    keys: tuple[KeySpec, ...] = ()
    jwks_url: str | None = None
    jwks_algorithms: tuple[str, ...] = ("RS256",)
    audience: str | None = None
    issuer: str | None = None
    leeway: float = 30.0
    namespace: str = DEFAULT_NAMESPACE
    anonymous_role: str | None = None
    admin_secret: str | None = field(default=None, repr=False)
    admin_role: str = "admin"
    cookie_name: str | None = None
    poll_interval: float = 300.0
    token_cache_ttl: float = 60.0
    token_cache_size: int = 10_000

    def __post_init__(self) -> None:
        if not 0 <= self.leeway <= MAX_LEEWAY:
            raise ConfigError(
                f"auth leeway {self.leeway} s is out of range",
                f"use 0 to {MAX_LEEWAY:g} seconds",
            )
        if self.poll_interval <= 0:
            raise ConfigError("auth poll_interval must be positive")
        if not 0 <= self.token_cache_ttl <= MAX_TOKEN_CACHE_TTL:
            raise ConfigError(
                f"auth token_cache_ttl {self.token_cache_ttl} s is out of range",
                f"use 0 (no cache) to {MAX_TOKEN_CACHE_TTL:g} seconds",
            )
        if self.token_cache_size < 0:
            raise ConfigError("auth token_cache_size must be 0 (no cache) or more")
        for spec in self.keys:
            _check_algorithms(spec.algorithms, f"key {spec.kid or spec.kind!r}")
            if spec.kind == "secret" and not set(spec.algorithms) <= HMAC_ALGORITHMS:
                raise ConfigError(
                    "a shared secret can only verify HS256/HS384/HS512",
                    "configure RS*/PS*/ES*/EdDSA keys as pem or jwk",
                )
        if self.jwks_url is not None:
            _check_algorithms(self.jwks_algorithms, "jwks_algorithms")
            if set(self.jwks_algorithms) & HMAC_ALGORITHMS:
                # A published key set is public: an HMAC key in it would let anyone sign.
                raise ConfigError("jwks_algorithms cannot include HS* algorithms")
            if not self.jwks_url.startswith(("https://", "http://")):
                raise ConfigError("jwks_url must be an http(s) URL")

    @property
    def jwt_configured(self) -> bool:
        return bool(self.keys) or self.jwks_url is not None

    @property
    def open_mode(self) -> bool:
        """Nothing configured: every caller is admin (development only; logged loudly)."""
        return not (self.jwt_configured or self.admin_secret or self.anonymous_role)

    def startup_warnings(self) -> list[str]:
        """What the gateway must log loudly when it starts with these settings."""
        out = []
        if self.open_mode:
            out.append(
                "auth: OPEN MODE - no JWT keys, JWKS URL, admin secret or anonymous role is "
                "configured, so EVERY caller is admin. Set SHARDGATE_JWT_SECRET or "
                "SHARDGATE_JWT_JWKS_URL and SHARDGATE_ADMIN_SECRET before exposing this gateway."
            )
        algs = {a for k in self.keys for a in k.algorithms}
        if self.jwks_url:
            algs |= set(self.jwks_algorithms)
        if "EdDSA" in algs:
            out.append("auth: algorithm EdDSA is deprecated by RFC 9864; prefer Ed25519/Ed448")
        return out

    @classmethod
    def from_sources(
        cls, section: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> AuthSettings:
        """Build from the `[auth]` table, then let SHARDGATE_* variables override it."""
        s = dict(section or {})
        env = {k: v for k, v in (environ or {}).items() if v != ""}
        keys = [_key_spec(k) for k in s.get("keys", ())]
        env_algs = (
            _split(env["SHARDGATE_JWT_ALGORITHMS"]) if "SHARDGATE_JWT_ALGORITHMS" in env else None
        )
        if "SHARDGATE_JWT_SECRET" in env:
            hs = tuple(a for a in (env_algs or ("HS256",)) if a in HMAC_ALGORITHMS)
            if not hs:
                raise ConfigError(
                    "SHARDGATE_JWT_SECRET is set but SHARDGATE_JWT_ALGORITHMS has no HS* algorithm",
                    "add HS256 (or HS384/HS512) to SHARDGATE_JWT_ALGORITHMS",
                )
            keys.append(KeySpec("secret", env["SHARDGATE_JWT_SECRET"], hs))
        jwks_algs = tuple(s.get("jwks_algorithms", ("RS256",)))
        if env_algs is not None:
            jwks_algs = tuple(a for a in env_algs if a not in HMAC_ALGORITHMS) or jwks_algs
        return cls(
            keys=tuple(keys),
            jwks_url=env.get("SHARDGATE_JWT_JWKS_URL", s.get("jwks_url")),
            jwks_algorithms=jwks_algs,
            audience=env.get("SHARDGATE_JWT_AUDIENCE", s.get("audience")),
            issuer=env.get("SHARDGATE_JWT_ISSUER", s.get("issuer")),
            leeway=float(s.get("leeway", 30.0)),
            namespace=str(s.get("namespace", DEFAULT_NAMESPACE)),
            anonymous_role=env.get("SHARDGATE_ANONYMOUS_ROLE", s.get("anonymous_role")),
            admin_secret=env.get("SHARDGATE_ADMIN_SECRET", s.get("admin_secret")),
            admin_role=str(s.get("admin_role", "admin")),
            cookie_name=s.get("cookie"),
            poll_interval=float(s.get("poll_interval", 300.0)),
            token_cache_ttl=_number(s, "token_cache_ttl", 60.0),
            token_cache_size=int(_number(s, "token_cache_size", 10_000)),
        )


def _number(section: Mapping[str, Any], name: str, default: float) -> float:
    value = section.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"auth {name} must be a number, got {value!r}")
    return float(value)


def _split(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in value.split(",") if p.strip())


def _check_algorithms(algorithms: Iterable[str], where: str) -> None:
    algs = tuple(algorithms)
    if not algs:
        raise ConfigError(f"{where}: no algorithms configured", "list e.g. ['RS256']")
    unknown = sorted(set(algs) - SUPPORTED_ALGORITHMS)
    if unknown:
        raise ConfigError(
            f"{where}: unsupported algorithm(s) {unknown}",
            f"choose from {sorted(SUPPORTED_ALGORITHMS)}",
        )


def _key_spec(raw: Mapping[str, Any]) -> KeySpec:
    kinds = [k for k in ("secret", "pem", "jwk") if k in raw]
    if len(kinds) != 1:
        raise ConfigError(
            "each [[auth.keys]] entry needs exactly one of secret, pem, jwk",
            f"got {kinds or 'none'}",
        )
    kind: KeyKind = kinds[0]  # type: ignore[assignment]
    material = raw[kind]
    if kind == "jwk" and isinstance(material, Mapping):
        material = json.dumps(dict(material))
    default_algs = ("HS256",) if kind == "secret" else ()
    return KeySpec(
        kind=kind,
        material=str(material),
        algorithms=tuple(raw.get("algorithms", default_algs)),
        kid=raw.get("kid"),
    )
