"""Keys generated per test session and a `mint` helper that signs (or forges) tokens."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from joserfc.jwk import JWKRegistry, Key, OctKey
from joserfc.jws import JWSRegistry

NOW = 1_800_000_000.0
NS = "https://shardgate.dev/claims"
SECRET = "0123456789abcdef" * 4  # 64 bytes: long enough for HS512 (RFC 7518 3.2)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": "u1",
        "iat": int(NOW) - 10,
        "exp": int(NOW) + 600,
        NS: {"default-role": "user", "allowed-roles": ["user", "editor"], "user-id": "u1"},
    }
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def sign(header: dict[str, Any], payload: dict[str, Any], key: Key) -> str:
    """Sign exactly this header, however odd: no library checks on what the test sends."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = JWSRegistry.algorithms[header["alg"]].sign(signing_input.encode(), key)
    return f"{signing_input}.{b64(signature)}"


def forge(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """A token with an arbitrary header and signature, bypassing any library checks."""
    return ".".join(
        (b64(json.dumps(header).encode()), b64(json.dumps(payload).encode()), b64(signature))
    )


def pem_public(private: Any) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def pem_private(private: Any) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass(frozen=True)
class Pair:
    private: Key  # joserfc key for signing
    public_pem: str
    public_jwk: dict[str, Any]


def _pair(private: Any) -> Pair:
    pem = pem_private(private)
    kty = (
        "RSA"
        if isinstance(private, rsa.RSAPrivateKey)
        else "EC"
        if isinstance(private, ec.EllipticCurvePrivateKey)
        else "OKP"
    )
    key = JWKRegistry.import_key(pem, kty)
    return Pair(key, pem_public(private), dict(key.as_dict(private=False)))


@dataclass(frozen=True)
class Keys:
    rsa: Pair
    rsa2: Pair
    p256: Pair
    p384: Pair
    p521: Pair
    ed25519: Pair
    ed448: Pair
    secret: Key

    def for_alg(self, alg: str) -> Pair | Key:
        if alg.startswith("HS"):
            return self.secret
        if alg[:2] in ("RS", "PS"):
            return self.rsa
        return {
            "ES256": self.p256,
            "ES384": self.p384,
            "ES512": self.p521,
            "EdDSA": self.ed25519,
            "Ed25519": self.ed25519,
            "Ed448": self.ed448,
        }[alg]


@pytest.fixture(scope="session")
def keys() -> Keys:
    return Keys(
        rsa=_pair(rsa.generate_private_key(65537, 2048)),
        rsa2=_pair(rsa.generate_private_key(65537, 2048)),
        p256=_pair(ec.generate_private_key(ec.SECP256R1())),
        p384=_pair(ec.generate_private_key(ec.SECP384R1())),
        p521=_pair(ec.generate_private_key(ec.SECP521R1())),
        ed25519=_pair(ed25519.Ed25519PrivateKey.generate()),
        ed448=_pair(ed448.Ed448PrivateKey.generate()),
        secret=OctKey.import_key(SECRET.encode()),
    )


@pytest.fixture
def now() -> float:
    return NOW


@pytest.fixture
def helpers() -> Callable[..., Any]:
    # Test modules cannot import conftest under --import-mode=importlib; hand them the helpers.
    class H:
        NOW = NOW
        NS = NS
        SECRET = SECRET
        claims = staticmethod(claims)
        sign = staticmethod(sign)
        forge = staticmethod(forge)
        b64 = staticmethod(b64)

    return H  # type: ignore[return-value]
