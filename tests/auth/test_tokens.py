"""verify(): happy paths for every algorithm family and the issue's security suite."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from auth.errors import InvalidClaims, InvalidToken
from auth.keys import KeyRing, build_keyring
from auth.settings import SUPPORTED_ALGORITHMS, AuthSettings, KeySpec
from auth.tokens import verify

ALL_ALGS = sorted(SUPPORTED_ALGORITHMS)


def spec_for(keys: Any, alg: str, form: str = "pem", kid: str | None = "k1") -> KeySpec:
    """A configured key for `alg`: the shared secret, or the public key as PEM or JWK."""
    if alg.startswith("HS"):
        return KeySpec("secret", keys.secret.raw_value.decode(), (alg,), kid)
    pair = keys.for_alg(alg)
    if form == "pem":
        return KeySpec("pem", pair.public_pem, (alg,), kid)
    return KeySpec("jwk", json.dumps(pair.public_jwk), (alg,), kid)


def private_for(keys: Any, alg: str) -> Any:
    key = keys.for_alg(alg)
    return key if alg.startswith("HS") else key.private


def setup(*specs: KeySpec, **kw: Any) -> tuple[KeyRing, AuthSettings]:
    settings = AuthSettings(keys=specs, **kw)
    return build_keyring(settings), settings


# --- happy paths -------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["pem", "jwk"])
@pytest.mark.parametrize("alg", ALL_ALGS)
async def test_each_algorithm_verifies(keys, helpers, now, alg: str, form: str) -> None:
    ring, settings = setup(spec_for(keys, alg, form))
    token = helpers.sign({"alg": alg, "kid": "k1"}, helpers.claims(), private_for(keys, alg))
    claims = await verify(token, ring, settings, now)
    assert claims["sub"] == "u1"


async def test_token_without_kid_tries_every_key(keys, helpers, now) -> None:
    ring, settings = setup(spec_for(keys, "ES256", kid="a"), spec_for(keys, "RS256", kid="b"))
    token = helpers.sign({"alg": "RS256"}, helpers.claims(), keys.rsa.private)
    assert (await verify(token, ring, settings, now))["sub"] == "u1"


async def test_kidless_secret_accepts_token_with_kid(keys, helpers, now) -> None:
    ring, settings = setup(spec_for(keys, "HS256", kid=None))
    token = helpers.sign({"alg": "HS256", "kid": "idp-1"}, helpers.claims(), keys.secret)
    assert (await verify(token, ring, settings, now))["sub"] == "u1"


async def test_iss_and_aud_accepted_when_matching(keys, helpers, now) -> None:
    ring, settings = setup(spec_for(keys, "RS256"), issuer="https://id/", audience="sg")
    for aud in ("sg", ["other", "sg"]):
        token = helpers.sign(
            {"alg": "RS256", "kid": "k1"},
            helpers.claims(iss="https://id/", aud=aud),
            keys.rsa.private,
        )
        assert (await verify(token, ring, settings, now))["aud"] == aud


async def test_bad_key_does_not_disable_others(keys, helpers, now, caplog) -> None:
    bad = KeySpec("pem", "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----", ("RS256",))
    ring, settings = setup(bad, KeySpec("jwk", "{not json", ("ES256",)), spec_for(keys, "RS256"))
    token = helpers.sign({"alg": "RS256", "kid": "k1"}, helpers.claims(), keys.rsa.private)
    assert (await verify(token, ring, settings, now))["sub"] == "u1"
    assert len(ring.static) == 1
    assert "nope" not in caplog.text  # key material stays out of logs


# --- algorithm confusion -----------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", [b"", b"x"])
async def test_alg_none_refused(keys, helpers, now, alg: str, signature: bytes) -> None:
    ring, settings = setup(spec_for(keys, "HS256"), spec_for(keys, "RS256", kid="k2"))
    for header in ({"alg": alg}, {"alg": alg, "kid": "k1"}, {"alg": alg, "kid": "k2"}):
        token = helpers.forge(header, helpers.claims(), signature)
        with pytest.raises(InvalidToken, match="algorithm"):
            await verify(token, ring, settings, now)


def _hs256(header: dict[str, Any], payload: dict[str, Any], secret: bytes, b64: Any) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


@pytest.mark.parametrize("form", ["pem", "jwk"])
async def test_hs256_signed_with_rsa_public_key_refused(keys, helpers, now, form: str) -> None:
    ring, settings = setup(spec_for(keys, "RS256", form))
    public_forms = [
        keys.rsa.public_pem.encode(),
        keys.rsa.public_pem.strip().encode(),
        json.dumps(keys.rsa.public_jwk).encode(),
        json.dumps(keys.rsa.public_jwk, separators=(",", ":")).encode(),
        base64.urlsafe_b64decode(keys.rsa.public_jwk["n"] + "=="),
    ]
    for secret in public_forms:
        for header in ({"alg": "HS256", "kid": "k1"}, {"alg": "HS256"}):
            token = _hs256(header, helpers.claims(), secret, helpers.b64)
            with pytest.raises(InvalidToken):
                await verify(token, ring, settings, now)


async def test_rsa_pem_cannot_be_configured_as_hmac_secret(keys, helpers, now) -> None:
    # Even if an operator pastes the public key as a secret, it is never used as one.
    spec = KeySpec("secret", keys.rsa.public_pem, ("HS256",), "k1")
    settings = AuthSettings(keys=(spec, spec_for(keys, "ES256", kid="k2")))
    ring = build_keyring(settings)
    assert [k.kid for k in ring.static] == ["k2"]
    token = _hs256(
        {"alg": "HS256", "kid": "k1"}, helpers.claims(), spec.material.encode(), helpers.b64
    )
    with pytest.raises(InvalidToken):
        await verify(token, ring, settings, now)


@pytest.mark.parametrize(
    ("configured", "used"),
    [
        ("RS256", "RS512"),
        ("RS256", "PS256"),
        ("HS256", "HS512"),
        ("ES256", "ES384"),
        ("Ed25519", "EdDSA"),
    ],
)
async def test_unconfigured_algorithm_refused(keys, helpers, now, configured, used) -> None:
    # The library supports `used` and the key could verify it; configuration says no.
    ring, settings = setup(spec_for(keys, configured))
    token = helpers.sign({"alg": used, "kid": "k1"}, helpers.claims(), private_for(keys, used))
    with pytest.raises(InvalidToken, match="no configured key accepts algorithm"):
        await verify(token, ring, settings, now)


async def test_algorithm_is_per_key(keys, helpers, now) -> None:
    # k1 allows RS256 and k2 allows PS256; a PS256 token naming k1 must fail.
    rsa_pss = KeySpec("pem", keys.rsa.public_pem, ("PS256",), "k2")
    ring, settings = setup(spec_for(keys, "RS256"), rsa_pss)
    token = helpers.sign({"alg": "PS256", "kid": "k1"}, helpers.claims(), keys.rsa.private)
    with pytest.raises(InvalidToken):
        await verify(token, ring, settings, now)
    token = helpers.sign({"alg": "PS256", "kid": "k2"}, helpers.claims(), keys.rsa.private)
    assert await verify(token, ring, settings, now)


@pytest.mark.parametrize("alg", ["RS1", "HS1", "ES256K", "A128KW", "dir", "", 7, None])
async def test_unknown_or_malformed_alg_refused(keys, helpers, now, alg: Any) -> None:
    ring, settings = setup(spec_for(keys, "HS256"))
    token = helpers.forge({"alg": alg, "kid": "k1"}, helpers.claims(), b"sig")
    with pytest.raises(InvalidToken, match="algorithm"):
        await verify(token, ring, settings, now)


async def test_wrong_key_same_algorithm_refused(keys, helpers, now) -> None:
    ring, settings = setup(spec_for(keys, "RS256"))
    token = helpers.sign({"alg": "RS256", "kid": "k1"}, helpers.claims(), keys.rsa2.private)
    with pytest.raises(InvalidToken, match="signature"):
        await verify(token, ring, settings, now)


async def test_crit_header_refused(keys, helpers, now) -> None:
    ring, settings = setup(spec_for(keys, "HS256"))
    token = helpers.sign(
        {"alg": "HS256", "kid": "k1", "crit": ["b64"], "b64": False}, helpers.claims(), keys.secret
    )
    with pytest.raises(InvalidToken, match="critical"):
        await verify(token, ring, settings, now)


# --- kid -----------------------------------------------------------------------------------

BAD_KIDS = [
    "../../../../etc/passwd",
    "/dev/null",
    "..\\..\\windows\\win.ini",
    "k1' OR '1'='1",
    "k1; DROP TABLE keys;--",
    "https://evil.example/jwks.json",
    "file:///etc/passwd",
    "k1\x00",
    "k1\n",
    "k 1",
    "",
    "a" * 129,
    "a" * 100_000,
    ["k1"],
    {"kid": "k1"},
    1,
]


@pytest.mark.parametrize("kid", BAD_KIDS, ids=lambda k: repr(k)[:30])
async def test_odd_kid_refused_before_any_lookup(keys, helpers, now, kid: Any) -> None:
    ring, settings = setup(spec_for(keys, "HS256"))
    looked_up = []

    async def spy(kid: Any, now: float) -> Any:
        looked_up.append(kid)
        return []

    ring.candidates = spy  # type: ignore[method-assign]
    token = helpers.sign({"alg": "HS256", "kid": kid}, helpers.claims(), keys.secret)
    with pytest.raises(InvalidToken):
        await verify(token, ring, settings, now)
    assert looked_up == []


async def test_unknown_kid_refused(keys, helpers, now) -> None:
    ring, settings = setup(spec_for(keys, "RS256"))
    token = helpers.sign({"alg": "RS256", "kid": "other"}, helpers.claims(), keys.rsa.private)
    with pytest.raises(InvalidToken, match="no configured key"):
        await verify(token, ring, settings, now)


# --- headers that point at keys are ignored -------------------------------------------------


async def test_embedded_jwk_header_ignored(keys, helpers, now) -> None:
    # The attacker signs with their own key and embeds it; only configured keys count.
    ring, settings = setup(spec_for(keys, "RS256"))
    for kid in ("k1", None):
        header = {"alg": "RS256", "jwk": keys.rsa2.public_jwk}
        if kid:
            header["kid"] = kid
        token = helpers.sign(header, helpers.claims(), keys.rsa2.private)
        with pytest.raises(InvalidToken):
            await verify(token, ring, settings, now)


# --- claims --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"exp": None}, "no 'exp'"),
        ({"exp": "9999999999"}, "NumericDate"),
        ({"exp": True}, "NumericDate"),
        ({"exp": float("inf")}, "NumericDate"),
        ({"exp": float("nan")}, "NumericDate"),
        ({"exp": 10**400}, "NumericDate"),
        ({"exp": 1_800_000_000 - 1}, "expired"),
        ({"exp": 1_800_000_000}, "expired"),
        ({"nbf": 1_800_000_000 + 31}, "not valid yet"),
        ({"iat": 1_800_000_000 + 31}, "issued in the future"),
        ({"iss": "https://evil/"}, "issuer"),
        ({"iss": None}, "issuer"),
        ({"aud": "other"}, "audience"),
        ({"aud": ["other", "x"]}, "audience"),
        ({"aud": None}, "audience"),
        ({"aud": {"sg": 1}}, "audience"),
    ],
)
async def test_bad_claims_refused(keys, helpers, now, overrides, message) -> None:
    ring, settings = setup(spec_for(keys, "HS256"), issuer="https://id/", audience="sg")
    payload = helpers.claims(iss="https://id/", aud="sg")
    payload.update(overrides)
    payload = {k: v for k, v in payload.items() if v is not None}
    token = helpers.sign({"alg": "HS256", "kid": "k1"}, payload, keys.secret)
    with pytest.raises(InvalidClaims, match=message):
        await verify(token, ring, settings, now)


async def test_leeway_applies_to_nbf_and_iat_only(keys, helpers, now) -> None:
    ring, settings = setup(spec_for(keys, "HS256"), leeway=30)
    ok = helpers.claims(nbf=int(now) + 30, iat=int(now) + 30)
    token = helpers.sign({"alg": "HS256", "kid": "k1"}, ok, keys.secret)
    assert await verify(token, ring, settings, now)
    ring, settings = setup(spec_for(keys, "HS256"), leeway=0)
    with pytest.raises(InvalidClaims):
        await verify(token, ring, settings, now)


@pytest.mark.parametrize("payload", [b"[]", b"null", b"not json", b"\xff\xfe"])
async def test_non_object_payload_refused(keys, helpers, now, payload: bytes) -> None:
    from joserfc import jws

    ring, settings = setup(spec_for(keys, "HS256"))
    token = jws.serialize_compact({"alg": "HS256", "kid": "k1"}, payload, keys.secret)
    with pytest.raises(InvalidToken, match="payload"):
        await verify(token, ring, settings, now)


@pytest.mark.parametrize(
    "token",
    ["", "a", "a.b", "a.b.c.d", "a.b.c.d.e", "!!!.e30.x", "e30.e30.", "W10.e30.x", "x" * 20_000],
)
async def test_malformed_tokens_refused(keys, now, token: str) -> None:
    ring, settings = setup(spec_for(keys, "HS256"))
    with pytest.raises(InvalidToken):
        await verify(token, ring, settings, now)
