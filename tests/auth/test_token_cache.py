"""Verified tokens are remembered, yet expiry, claims checks and failures stay exact."""

from __future__ import annotations

import pytest

from auth.errors import ConfigError, Forbidden, InvalidClaims, InvalidToken
from auth.keys import KeyRing, build_keyring
from auth.session import session_from_request
from auth.settings import AuthSettings, KeySpec
from auth.token_cache import TokenCache
from auth.tokens import verify


def setup(keys, **kw) -> tuple[KeyRing, AuthSettings]:
    spec = KeySpec("secret", keys.secret.raw_value.decode(), ("HS256",), "k1")
    settings = AuthSettings(keys=(spec,), **kw)
    return build_keyring(settings), settings


def hs256(helpers, keys, **claims) -> str:
    return helpers.sign({"alg": "HS256", "kid": "k1"}, helpers.claims(**claims), keys.secret)


async def test_a_cached_token_still_expires_to_the_second(keys, helpers, now) -> None:
    ring, settings = setup(keys)
    cache = TokenCache(ttl=60)
    token = hs256(helpers, keys, exp=int(now) + 10)
    assert (await verify(token, ring, settings, now, cache))["sub"] == "u1"
    assert len(cache) == 1
    assert await verify(token, ring, settings, now + 9.999, cache)
    with pytest.raises(InvalidClaims, match="expired"):
        await verify(token, ring, settings, now + 10, cache)


async def test_entries_live_at_most_the_ttl(keys, helpers, now) -> None:
    ring, settings = setup(keys)
    cache = TokenCache(ttl=60)
    token = hs256(helpers, keys)
    claims = await verify(token, ring, settings, now, cache)
    assert cache.get(token, ring.generation, now + 59) is claims
    assert cache.get(token, ring.generation, now + 60) is None  # verified again from here
    assert await verify(token, ring, settings, now + 60, cache)
    assert cache.get(token, ring.generation, now + 61) is not None


async def test_failures_are_never_remembered(keys, helpers, now) -> None:
    ring, settings = setup(keys, audience="shardgate")
    cache = TokenCache()
    wrong_audience = hs256(helpers, keys, aud="elsewhere")
    not_yet = hs256(helpers, keys, nbf=int(now) + 120, aud="shardgate")
    for token in (wrong_audience, not_yet, wrong_audience[:-2] + "AA"):
        for _ in range(2):
            with pytest.raises((InvalidClaims, InvalidToken)):
                await verify(token, ring, settings, now, cache)
    assert len(cache) == 0
    # nbf in the future when first seen, valid later: verified then, and only then remembered.
    assert await verify(not_yet, ring, settings, now + 120 - settings.leeway, cache)
    assert len(cache) == 1


async def test_a_cached_token_is_checked_against_the_settings_in_use(keys, helpers, now) -> None:
    ring, settings = setup(keys)
    cache = TokenCache()
    token = hs256(helpers, keys, aud="elsewhere")
    assert await verify(token, ring, settings, now, cache)
    strict = AuthSettings(keys=settings.keys, audience="shardgate")
    with pytest.raises(InvalidClaims, match="audience"):
        await verify(token, ring, strict, now, cache)


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    cache = TokenCache(size=2, ttl=60)
    cache.put("a", 0, {"sub": "a"}, 0)
    cache.put("b", 0, {"sub": "b"}, 0)
    assert cache.get("a", 0, 1)  # "a" used: "b" is now the oldest
    cache.put("c", 0, {"sub": "c"}, 1)
    assert cache.get("b", 0, 2) is None and cache.get("a", 0, 2) and cache.get("c", 0, 2)
    assert cache.get("a", 1, 2) is None and len(cache) == 0  # a new key generation drops all


def test_cache_settings_from_the_auth_section() -> None:
    s = AuthSettings.from_sources({"token_cache_ttl": 30, "token_cache_size": 500}, {})
    assert (s.token_cache_ttl, s.token_cache_size) == (30, 500)
    assert AuthSettings().token_cache_ttl == 60 and AuthSettings().token_cache_size == 10_000
    with pytest.raises(ConfigError, match="token_cache_ttl"):
        AuthSettings.from_sources({"token_cache_ttl": 3600}, {})
    with pytest.raises(ConfigError, match="token_cache_size must be a number"):
        AuthSettings.from_sources({"token_cache_size": "many"}, {})


async def test_sessions_of_a_remembered_token_per_role(keys, helpers, now) -> None:
    ring, settings = setup(keys)
    cache = TokenCache(ttl=60)
    token = hs256(helpers, keys, exp=int(now) + 30)
    headers = {"Authorization": f"Bearer {token}"}
    first = await session_from_request(headers, None, ring, settings, now, cache)
    assert await session_from_request(headers, None, ring, settings, now + 1, cache) is first
    editor = {**headers, "X-Shardgate-Role": "editor"}
    as_editor = await session_from_request(editor, None, ring, settings, now + 1, cache)
    assert (first.role, as_editor.role) == ("user", "editor")
    with pytest.raises(Forbidden):  # a role the token does not allow, every time
        await session_from_request(
            {**headers, "X-Shardgate-Role": "admin"}, None, ring, settings, now + 2, cache
        )
    with pytest.raises(InvalidClaims, match="expired"):
        await session_from_request(headers, None, ring, settings, now + 30, cache)
