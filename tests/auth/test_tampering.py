"""Fuzz: 600 tampered tokens, none accepted, nothing but AuthError raised."""

from __future__ import annotations

import asyncio
import base64
import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth.errors import AuthError
from auth.keys import build_keyring
from auth.settings import AuthSettings, KeySpec
from auth.token_cache import TokenCache
from auth.tokens import verify

ALGS = ["HS256", "RS256", "PS256", "ES256", "EdDSA"]
PER_ALG = 120  # 5 algorithms x 120 = 600 tampered tokens


def _d(seg: str) -> bytes:
    return base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4))


def _e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def tamper(token: str, rng: random.Random, other: str) -> str:
    """One random tampering of a valid token (a different string every time)."""
    h, p, s = token.split(".")
    kind = rng.randrange(9)
    if kind == 0:  # flip one bit in the decoded header, payload or signature
        i = rng.randrange(3)
        raw = bytearray(_d((h, p, s)[i]))
        raw[rng.randrange(len(raw))] ^= 1 << rng.randrange(8)
        parts = [h, p, s]
        parts[i] = _e(bytes(raw))
        return ".".join(parts)
    if kind == 1:  # change one base64 character
        i = rng.randrange(len(token))
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.="
        return token[:i] + rng.choice(alphabet.replace(token[i], "")) + token[i + 1 :]
    if kind == 2:  # swap or borrow segments
        oh, op, os_ = other.split(".")
        return rng.choice([f"{p}.{h}.{s}", f"{h}.{p}.{os_}", f"{oh}.{p}.{s}", f"{h}.{op}.{s}"])
    if kind == 3:  # escalate privileges in the payload, keep the signature
        claims = json.loads(_d(p))
        ns = claims["https://shardgate.dev/claims"]
        ns["allowed-roles"] = [*ns["allowed-roles"], "admin"]
        ns["default-role"] = "admin"
        claims["exp"] += rng.randrange(1, 10**6)
        return f"{h}.{_e(json.dumps(claims).encode())}.{s}"
    if kind == 4:  # rewrite the header's alg or kid, keep the signature
        header = json.loads(_d(h))
        if rng.random() < 0.5:
            header["alg"] = rng.choice(["none", "HS256", "HS512", "RS256", "ES256", "PS256"])
        else:
            header["kid"] = rng.choice(["k2", "k1 ", "../k1", "K1", "k"])
        if json.dumps(header).encode() == _d(h):
            header["typ"] = "JOSE"
        return f"{_e(json.dumps(header).encode())}.{p}.{s}"
    if kind == 5:  # re-encode the same claims differently (whitespace, key order)
        claims = json.loads(_d(p))
        text = json.dumps(dict(reversed(list(claims.items()))), indent=rng.choice([None, 1]))
        if text.encode() == _d(p):
            text += " "
        return f"{h}.{_e(text.encode())}.{s}"
    if kind == 6:  # truncate or extend the signature
        raw = _d(s)
        cut = rng.randrange(len(raw))
        return f"{h}.{p}.{_e(raw[:cut] if rng.random() < 0.5 else raw + raw[: cut + 1])}"
    if kind == 7:  # padding, whitespace and separators
        return rng.choice(
            [
                token + "=",
                token + " ",
                " " + token,
                token + ".",
                h + ".." + s,
                f"{h}.{p}",
                token.replace(".", "..", 1),
                token + "\n",
            ]
        )
    # non-canonical base64: set unused trailing bits of the last signature character
    last = s[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    idx = alphabet.index(last)
    mask = {2: 0b1111, 3: 0b11}.get(len(s) % 4, 0)
    if mask == 0:
        return f"{h}.{p}.{s}A"  # no spare bits: add an illegal extra character
    return f"{h}.{p}.{s[:-1]}{alphabet[(idx & ~mask) | (rng.randrange(1, mask + 1))]}"


def _spec(keys: Any, alg: str, kid: str) -> KeySpec:
    if alg.startswith("HS"):
        return KeySpec("secret", keys.secret.raw_value.decode(), (alg,), kid)
    return KeySpec("pem", keys.for_alg(alg).public_pem, (alg,), kid)


@pytest.mark.parametrize("alg", ALGS)
async def test_tampered_tokens_are_all_refused(keys, helpers, now, alg: str) -> None:
    settings = AuthSettings(keys=(_spec(keys, alg, "k1"), _spec(keys, "RS256", "k2")))
    ring = build_keyring(settings)
    signer = keys.secret if alg.startswith("HS") else keys.for_alg(alg).private
    good = helpers.sign({"alg": alg, "kid": "k1"}, helpers.claims(), signer)
    other = helpers.sign({"alg": "RS256", "kid": "k2"}, helpers.claims(sub="u2"), keys.rsa.private)
    cache = TokenCache()  # the good token is remembered: no tampered one may hit it
    assert await verify(good, ring, settings, now, cache)
    rng = random.Random(f"shardgate-{alg}")  # reproducible: same 120 tokens every run
    seen = set()
    while len(seen) < PER_ALG:
        bad = tamper(good, rng, other)
        if bad == good or bad in seen:
            continue
        seen.add(bad)
        with pytest.raises(AuthError):
            await verify(bad, ring, settings, now, cache)
    assert len(cache) == 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    header=st.dictionaries(
        st.sampled_from(["alg", "kid", "typ", "jku", "jwk", "crit", "x5u", "b64"]),
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.text(max_size=20),
            st.lists(st.text(max_size=5), max_size=3),
        ),
    ),
    payload=st.binary(max_size=64),
    signature=st.binary(max_size=64),
    junk=st.text(max_size=40),
)
def test_arbitrary_input_raises_only_auth_error(keys, header, payload, signature, junk) -> None:
    settings_ = AuthSettings(keys=(_spec(keys, "HS256", "k1"), _spec(keys, "ES256", "k2")))
    ring = build_keyring(settings_)
    for token in (f"{_e(json.dumps(header).encode())}.{_e(payload)}.{_e(signature)}", junk):
        with pytest.raises(AuthError):
            asyncio.run(verify(token, ring, settings_, 1_800_000_000.0))
