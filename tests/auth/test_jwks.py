"""JWKS against a real local server on 127.0.0.1: caching, rotation, bad keys, no jku/x5u."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from auth.errors import InvalidToken
from auth.keys import MIN_REFETCH_S, KeyRing, build_keyring, cache_ttl, parse_jwks
from auth.settings import AuthSettings
from auth.token_cache import TokenCache
from auth.tokens import verify


@dataclass
class Jwks:
    """What the local server publishes, and every path anyone asked it for."""

    keys: list[dict[str, Any]] = field(default_factory=list)
    cache_control: str | None = None
    hits: list[str] = field(default_factory=list)
    base: str = ""

    @property
    def fetches(self) -> int:
        return self.hits.count("/jwks")


@pytest.fixture
async def jwks() -> AsyncIterator[Jwks]:
    state = Jwks()

    async def handler(request: web.Request) -> web.Response:
        state.hits.append(request.path)
        if request.path != "/jwks":
            return web.json_response({"keys": []})
        headers = {"Cache-Control": state.cache_control} if state.cache_control else {}
        return web.Response(text=json.dumps({"keys": state.keys}), headers=headers)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    state.base = str(server.make_url(""))
    try:
        yield state
    finally:
        await server.close()


@pytest.fixture
async def ring_settings(jwks: Jwks) -> AsyncIterator[tuple[KeyRing, AuthSettings]]:
    settings = AuthSettings(
        jwks_url=f"{jwks.base}/jwks", jwks_algorithms=("RS256", "ES256"), poll_interval=300
    )
    ring = build_keyring(settings)
    try:
        yield ring, settings
    finally:
        await ring.close()


def jwk(pair: Any, kid: str, **extra: Any) -> dict[str, Any]:
    return {**pair.public_jwk, "kid": kid, **extra}


async def test_rotation_refetches_once_per_minute(keys, helpers, now, jwks, ring_settings):
    ring, settings = ring_settings
    jwks.keys = [jwk(keys.rsa, "old")]
    old = helpers.sign({"alg": "RS256", "kid": "old"}, helpers.claims(), keys.rsa.private)
    assert await verify(old, ring, settings, now)
    assert jwks.fetches == 1

    # The issuer rotates: a token with the new kid triggers exactly one refetch.
    jwks.keys = [jwk(keys.rsa, "old"), jwk(keys.rsa2, "new")]
    new = helpers.sign({"alg": "RS256", "kid": "new"}, helpers.claims(), keys.rsa2.private)
    t = now + MIN_REFETCH_S
    assert await verify(new, ring, settings, t)
    assert jwks.fetches == 2

    # A second unknown kid within the minute does not reach the server.
    ghost = helpers.sign({"alg": "RS256", "kid": "ghost"}, helpers.claims(), keys.rsa2.private)
    for dt in (0, 1, 30, MIN_REFETCH_S - 1):
        with pytest.raises(InvalidToken):
            await verify(ghost, ring, settings, t + dt)
    assert jwks.fetches == 2

    # After the minute, an unknown kid may refetch again (once).
    with pytest.raises(InvalidToken):
        await verify(ghost, ring, settings, t + MIN_REFETCH_S)
    assert jwks.fetches == 3
    assert await verify(new, ring, settings, t + MIN_REFETCH_S + 1)
    assert jwks.fetches == 3


async def test_cache_honours_max_age_then_poll_interval(keys, helpers, now, jwks, ring_settings):
    ring, settings = ring_settings
    jwks.keys = [jwk(keys.rsa, "k")]
    jwks.cache_control = "public, max-age=600"
    long_lived = helpers.claims(exp=int(now) + 3600)
    token = helpers.sign({"alg": "RS256", "kid": "k"}, long_lived, keys.rsa.private)
    for dt in (0, 100, 599):
        assert await verify(token, ring, settings, now + dt)
    assert jwks.fetches == 1
    jwks.cache_control = None
    assert await verify(token, ring, settings, now + 600)
    assert jwks.fetches == 2
    assert await verify(token, ring, settings, now + 600 + 299)
    assert jwks.fetches == 2
    assert await verify(token, ring, settings, now + 600 + 300)
    assert jwks.fetches == 3


async def test_bad_keys_in_set_are_skipped(keys, helpers, now, jwks, ring_settings, caplog):
    ring, settings = ring_settings
    jwks.keys = [
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        {"kty": "EC", "kid": "nocurve", "x": "AA", "y": "AA"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},  # symmetric keys never come from a JWKS
        "not an object",
        jwk(keys.rsa, "enc", use="enc"),
        jwk(keys.p256, "ec"),
        jwk(keys.rsa, "good"),
    ]
    token = helpers.sign({"alg": "RS256", "kid": "good"}, helpers.claims(), keys.rsa.private)
    assert await verify(token, ring, settings, now)
    assert sorted(k.kid for k in ring.jwks.keys) == ["ec", "good"]
    assert "skipping JWKS key" in caplog.text
    forged = helpers.forge({"alg": "HS256", "kid": "hmac"}, helpers.claims(), b"x")
    with pytest.raises(InvalidToken):
        await verify(forged, ring, settings, now)


async def test_jwk_alg_member_narrows_never_widens(keys, helpers, now, jwks, ring_settings):
    ring, settings = ring_settings
    jwks.keys = [jwk(keys.rsa, "k", alg="PS512")]  # PS512 is not configured
    token = helpers.sign({"alg": "RS256", "kid": "k"}, helpers.claims(), keys.rsa.private)
    with pytest.raises(InvalidToken):
        await verify(token, ring, settings, now)
    assert ring.jwks.keys == ()


@pytest.mark.parametrize("header", ["jku", "x5u"])
async def test_jku_and_x5u_are_never_fetched(keys, helpers, now, jwks, ring_settings, header):
    ring, settings = ring_settings
    jwks.keys = [jwk(keys.rsa, "k")]
    for kid in ("k", "attacker"):
        token = helpers.sign(
            {"alg": "RS256", "kid": kid, header: f"{jwks.base}/attacker"},
            helpers.claims(),
            keys.rsa2.private,
        )
        with pytest.raises(InvalidToken):
            await verify(token, ring, settings, now)
    assert "/attacker" not in jwks.hits


async def test_server_errors_keep_old_keys(keys, helpers, now, jwks, ring_settings):
    ring, settings = ring_settings
    jwks.keys = [jwk(keys.rsa, "k")]
    token = helpers.sign({"alg": "RS256", "kid": "k"}, helpers.claims(), keys.rsa.private)
    assert await verify(token, ring, settings, now)
    ring.jwks.url = "http://127.0.0.1:9/jwks"  # discard port: connection refused
    assert await verify(token, ring, settings, now + 300)
    assert await verify(token, ring, settings, now + 330)  # no retry storm, still the old keys


def test_cache_ttl() -> None:
    assert cache_ttl("max-age=120", 300) == 120
    assert cache_ttl("no-cache, max-age=5", 300) == 60  # floor: never hammer the issuer
    assert cache_ttl("max-age=99999999", 300) == 86400
    assert cache_ttl("no-store", 300) == 300
    assert cache_ttl(None, 42) == 42


def test_parse_jwks_rejects_non_sets() -> None:
    for doc in (None, [], {"keys": {}}, {"nokeys": []}):
        with pytest.raises(ValueError):
            parse_jwks(doc, ["RS256"])


async def test_rotation_drops_remembered_tokens(keys, helpers, now, jwks, ring_settings):
    ring, settings = ring_settings
    cache = TokenCache(ttl=60)
    jwks.keys = [jwk(keys.rsa, "old"), jwk(keys.rsa2, "new")]
    jwks.cache_control = "max-age=60"
    claims = helpers.claims(exp=int(now) + 3600)
    old = helpers.sign({"alg": "RS256", "kid": "old"}, claims, keys.rsa.private)
    new = helpers.sign({"alg": "RS256", "kid": "new"}, claims, keys.rsa2.private)
    for token in (old, new):
        assert await verify(token, ring, settings, now, cache)
    assert len(cache) == 2 and jwks.fetches == 1

    # The issuer drops the old key; once the set is fetched again its tokens stop at once,
    # although their cache entries had time left.
    jwks.keys = [jwk(keys.rsa2, "new")]
    assert await verify(old, ring, settings, now + 59, cache)  # the set is still fresh
    with pytest.raises(InvalidToken):
        await verify(old, ring, settings, now + 60, cache)
    assert jwks.fetches == 2
    assert await verify(new, ring, settings, now + 60, cache)

    # A refetch that finds the same keys keeps what was verified.
    generation = ring.generation
    assert await verify(new, ring, settings, now + 119.5, cache)
    assert await ring.refresh(now + 120) == generation and jwks.fetches == 3
    assert cache.get(new, generation, now + 119.9) is not None
