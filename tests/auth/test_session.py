"""session_from_request: token sources, role selection, anonymous, admin secret, open mode."""

from __future__ import annotations

from typing import Any

import pytest

from auth.errors import Forbidden, InvalidClaims, InvalidToken, Unauthenticated
from auth.keys import KeyRing, build_keyring
from auth.session import session_from_request
from auth.settings import AuthSettings, KeySpec


@pytest.fixture
def secured(helpers) -> tuple[KeyRing, AuthSettings]:
    settings = AuthSettings(
        keys=(KeySpec("secret", helpers.SECRET, ("HS256",)),), admin_secret="adm1n-secret"
    )
    return build_keyring(settings), settings


def bearer(helpers, keys, **claims: Any) -> dict[str, str]:
    token = helpers.sign({"alg": "HS256"}, helpers.claims(**claims), keys.secret)
    return {"Authorization": f"Bearer {token}"}


async def test_default_role_from_token(keys, helpers, now, secured) -> None:
    ring, settings = secured
    s = await session_from_request(bearer(helpers, keys), None, ring, settings, now)
    assert (s.subject, s.role, s.allowed_roles, s.is_admin) == (
        "u1",
        "user",
        ("user", "editor"),
        False,
    )
    assert s.variables["user-id"] == "u1"
    with pytest.raises(TypeError):
        s.variables["user-id"] = "u2"  # type: ignore[index]


async def test_role_header_picks_an_allowed_role(keys, helpers, now, secured) -> None:
    ring, settings = secured
    headers = {**bearer(helpers, keys), "X-Shardgate-Role": "editor"}
    assert (await session_from_request(headers, None, ring, settings, now)).role == "editor"


@pytest.mark.parametrize("role", ["admin", "Editor", "anonymous", "user "])
async def test_role_outside_allowed_roles_is_forbidden(keys, helpers, now, secured, role) -> None:
    ring, settings = secured
    headers = {**bearer(helpers, keys), "x-shardgate-role": role}
    with pytest.raises(Forbidden) as e:
        await session_from_request(headers, None, ring, settings, now)
    assert (e.value.code, e.value.status) == ("FORBIDDEN", 403)


@pytest.mark.parametrize(
    "ns",
    [
        None,
        "user",
        {"allowed-roles": ["user"]},
        {"default-role": "admin", "allowed-roles": ["user"]},
        {"default-role": "user", "allowed-roles": []},
        {"default-role": "user", "allowed-roles": "user"},
        {"default-role": "user", "allowed-roles": ["user", 1]},
    ],
)
async def test_malformed_namespace_claims(keys, helpers, now, secured, ns) -> None:
    ring, settings = secured
    payload = helpers.claims()
    payload[helpers.NS] = ns
    payload = {k: v for k, v in payload.items() if v is not None}
    token = helpers.sign({"alg": "HS256"}, payload, keys.secret)
    with pytest.raises(InvalidClaims):
        await session_from_request({"authorization": f"Bearer {token}"}, None, ring, settings, now)


async def test_custom_namespace(keys, helpers, now) -> None:
    settings = AuthSettings(keys=(KeySpec("secret", helpers.SECRET, ("HS256",)),), namespace="x")
    payload = helpers.claims(x={"default-role": "r", "allowed-roles": ["r"], "org": "o7"})
    token = helpers.sign({"alg": "HS256"}, payload, keys.secret)
    s = await session_from_request(
        {"Authorization": f"Bearer {token}"}, None, build_keyring(settings), settings, now
    )
    assert (s.role, s.subject, s.variables["org"]) == ("r", "u1", "o7")


async def test_no_token_without_anonymous_role_is_401(now, secured) -> None:
    ring, settings = secured
    with pytest.raises(Unauthenticated) as e:
        await session_from_request({}, {}, ring, settings, now)
    assert (e.value.code, e.value.status) == ("UNAUTHENTICATED", 401)


async def test_anonymous_role(helpers, now) -> None:
    settings = AuthSettings(
        keys=(KeySpec("secret", helpers.SECRET, ("HS256",)),), anonymous_role="guest"
    )
    ring = build_keyring(settings)
    s = await session_from_request({}, None, ring, settings, now)
    assert (s.role, s.subject, s.is_admin) == ("guest", None, False)
    with pytest.raises(Forbidden):
        await session_from_request({"X-Shardgate-Role": "user"}, None, ring, settings, now)


async def test_bad_token_is_not_downgraded_to_anonymous(keys, helpers, now) -> None:
    settings = AuthSettings(
        keys=(KeySpec("secret", helpers.SECRET, ("HS256",)),), anonymous_role="guest"
    )
    with pytest.raises(InvalidToken):
        await session_from_request(
            {"Authorization": "Bearer a.b.c"}, None, build_keyring(settings), settings, now
        )


@pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc"])
async def test_unsupported_authorization_header(now, secured, value: str) -> None:
    ring, settings = secured
    with pytest.raises(Unauthenticated, match="Authorization"):
        await session_from_request({"Authorization": value}, None, ring, settings, now)


async def test_cookie_token_only_when_configured(keys, helpers, now) -> None:
    token = helpers.sign({"alg": "HS256"}, helpers.claims(), keys.secret)
    key = KeySpec("secret", helpers.SECRET, ("HS256",))
    with_cookie = AuthSettings(keys=(key,), cookie_name="sg")
    s = await session_from_request({}, {"sg": token}, build_keyring(with_cookie), with_cookie, now)
    assert s.role == "user"
    without = AuthSettings(keys=(key,))
    with pytest.raises(Unauthenticated):
        await session_from_request({}, {"sg": token}, build_keyring(without), without, now)


async def test_admin_secret(now, secured) -> None:
    ring, settings = secured
    s = await session_from_request(
        {"X-Shardgate-Admin-Secret": "adm1n-secret"}, None, ring, settings, now
    )
    assert (s.role, s.is_admin) == ("admin", True)
    s = await session_from_request(
        {"x-shardgate-admin-secret": "adm1n-secret", "X-Shardgate-Role": "user"},
        None,
        ring,
        settings,
        now,
    )
    assert (s.role, s.is_admin) == ("user", True)


@pytest.mark.parametrize("sent", ["", "adm1n-secre", "adm1n-secret ", "ADM1N-SECRET", "x" * 999])
async def test_wrong_admin_secret_is_401(keys, helpers, now, secured, sent: str) -> None:
    ring, settings = secured
    headers = {**bearer(helpers, keys), "X-Shardgate-Admin-Secret": sent}  # no fallback to JWT
    with pytest.raises(Unauthenticated) as e:
        await session_from_request(headers, None, ring, settings, now)
    assert "adm1n" not in str(e.value)


async def test_admin_header_without_configured_secret_is_401(keys, helpers, now) -> None:
    settings = AuthSettings(keys=(KeySpec("secret", helpers.SECRET, ("HS256",)),))
    with pytest.raises(Unauthenticated):
        await session_from_request(
            {"X-Shardgate-Admin-Secret": ""}, None, build_keyring(settings), settings, now
        )


async def test_open_mode_everyone_is_admin(now) -> None:
    settings = AuthSettings()
    assert settings.open_mode
    s = await session_from_request({}, None, build_keyring(settings), settings, now)
    assert (s.role, s.is_admin) == ("admin", True)
    s = await session_from_request(
        {"Authorization": "Bearer garbage"}, None, build_keyring(settings), settings, now
    )
    assert s.is_admin
