"""AuthSettings from the [auth] table and SHARDGATE_* variables."""

from __future__ import annotations

import pytest

from auth.errors import ConfigError
from auth.keys import build_keyring
from auth.settings import DEFAULT_NAMESPACE, AuthSettings, KeySpec

SECRET = "k" * 64


def test_environment_variables() -> None:
    s = AuthSettings.from_sources(
        None,
        {
            "SHARDGATE_JWT_SECRET": SECRET,
            "SHARDGATE_JWT_JWKS_URL": "https://id.example.com/jwks.json",
            "SHARDGATE_JWT_ALGORITHMS": "HS512, RS256,ES256",
            "SHARDGATE_JWT_AUDIENCE": "sg",
            "SHARDGATE_JWT_ISSUER": "https://id.example.com/",
            "SHARDGATE_ANONYMOUS_ROLE": "guest",
            "SHARDGATE_ADMIN_SECRET": "adm",
        },
    )
    assert s.keys == (KeySpec("secret", SECRET, ("HS512",)),)
    assert s.jwks_algorithms == ("RS256", "ES256")
    assert (s.audience, s.issuer, s.anonymous_role) == ("sg", "https://id.example.com/", "guest")
    assert s.admin_secret == "adm"
    assert s.namespace == DEFAULT_NAMESPACE
    assert not s.open_mode


def test_environment_overrides_file() -> None:
    section = {
        "issuer": "file",
        "audience": "file",
        "leeway": 10,
        "cookie": "sg",
        "keys": [{"kid": "a", "jwk": {"kty": "oct", "k": "x"}, "algorithms": ["HS256"]}],
    }
    s = AuthSettings.from_sources(section, {"SHARDGATE_JWT_ISSUER": "env"})
    assert (s.issuer, s.audience, s.leeway, s.cookie_name) == ("env", "file", 10.0, "sg")
    assert s.keys[0].kind == "jwk" and s.keys[0].kid == "a"


def test_secrets_not_in_repr() -> None:
    s = AuthSettings.from_sources(
        None, {"SHARDGATE_JWT_SECRET": SECRET, "SHARDGATE_ADMIN_SECRET": "adm1n"}
    )
    assert SECRET not in repr(s) and "adm1n" not in repr(s)
    assert SECRET not in repr(build_keyring(s))


def test_open_mode_is_loud() -> None:
    s = AuthSettings.from_sources(None, {})
    assert s.open_mode
    assert any("OPEN MODE" in line for line in s.startup_warnings())
    assert not AuthSettings(admin_secret="x").open_mode
    assert not AuthSettings(anonymous_role="guest").open_mode
    assert AuthSettings(admin_secret="x").startup_warnings() == []


@pytest.mark.parametrize("leeway", [61, 3600, -1])
def test_leeway_over_a_minute_refused(leeway: float) -> None:
    with pytest.raises(ConfigError, match="leeway"):
        AuthSettings.from_sources({"leeway": leeway}, {})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"keys": (KeySpec("secret", SECRET, ("RS256",)),)},
        {"keys": (KeySpec("pem", "x", ("none",)),)},
        {"keys": (KeySpec("pem", "x", ()),)},
        {"jwks_url": "https://x/jwks", "jwks_algorithms": ("HS256",)},
        {"jwks_url": "file:///etc/jwks", "jwks_algorithms": ("RS256",)},
        {"poll_interval": 0},
    ],
)
def test_bad_settings_refused(kwargs) -> None:
    with pytest.raises(ConfigError):
        AuthSettings(**kwargs)


def test_env_secret_needs_an_hs_algorithm() -> None:
    with pytest.raises(ConfigError, match="HS"):
        AuthSettings.from_sources(
            None, {"SHARDGATE_JWT_SECRET": SECRET, "SHARDGATE_JWT_ALGORITHMS": "RS256"}
        )


def test_key_entry_needs_exactly_one_source() -> None:
    with pytest.raises(ConfigError, match="exactly one"):
        AuthSettings.from_sources({"keys": [{"secret": SECRET, "pem": "x"}]}, {})
    with pytest.raises(ConfigError, match="exactly one"):
        AuthSettings.from_sources({"keys": [{"algorithms": ["HS256"]}]}, {})


def test_short_secret_is_skipped_and_no_usable_key_refuses_start() -> None:
    s = AuthSettings(keys=(KeySpec("secret", "short", ("HS256",)),))
    with pytest.raises(ConfigError, match="no configured auth key"):
        build_keyring(s)
    ok = AuthSettings(keys=(KeySpec("secret", "x" * 32, ("HS256",)),))
    assert len(build_keyring(ok).static) == 1
    with pytest.raises(ConfigError):
        build_keyring(AuthSettings(keys=(KeySpec("secret", "x" * 32, ("HS512",)),)))
    short_jwk = KeySpec("jwk", '{"kty": "oct", "k": "eHh4eHh4eHh4eHh4eHh4eA"}', ("HS256",))
    with pytest.raises(ConfigError):
        build_keyring(AuthSettings(keys=(short_jwk,)))


def test_eddsa_deprecation_is_announced() -> None:
    s = AuthSettings(jwks_url="https://x/jwks", jwks_algorithms=("EdDSA",))
    assert any("RFC 9864" in line for line in s.startup_warnings())
