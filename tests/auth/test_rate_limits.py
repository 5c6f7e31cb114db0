"""Rate limits with the in-memory moving window: keys, policies, cost, headers.

The moving window runs on the limiter's clock (wall time unless a test injects one), so
nothing in a test waits for a window to pass.
"""

from __future__ import annotations

import pytest

from auth.client_address import client_address, parse_networks
from auth.rate_limit_settings import RateLimitSettings
from auth.rate_limits import Caller, RateLimiter, combined
from auth.session import Session


def limiter(**section: object) -> RateLimiter:
    return RateLimiter(RateLimitSettings.from_sources(section, {}), anonymous_role="anonymous")


async def test_a_limit_refuses_with_retry_after_and_draft_headers() -> None:
    rl = limiter(default="2/hour")
    caller = Caller("subject:u1", "user")
    first = await rl.hit(caller, None)
    assert first.allowed
    assert first.headers() == {
        "ratelimit-policy": '"default";q=2;w=3600',
        "ratelimit": '"default";r=1;t=3600',
    }
    assert (await rl.hit(caller, None)).allowed
    refused = await rl.hit(caller, None)
    assert not refused.allowed
    assert refused.headers()["ratelimit"] == '"default";r=0;t=3600'
    assert 3590 <= int(refused.headers()["retry-after"]) <= 3600
    # Another subject has its own window.
    assert (await rl.hit(Caller("subject:u2", "user"), None)).allowed
    await rl.close()


async def test_role_limits_replace_the_default_and_operations_add_their_own() -> None:
    rl = limiter(default="1/hour", roles={"service": "3/hour"}, operations={"Search": "1/hour"})
    service = Caller("role:service", "service")
    for _ in range(3):
        assert (await rl.hit(service, "Other")).allowed
    assert not (await rl.hit(service, "Other")).allowed

    user = Caller("subject:u1", "user")
    searched = await rl.hit(Caller("subject:u3", "user"), "Search")
    assert searched.headers()["ratelimit-policy"] == (
        '"default";q=1;w=3600, "operation:Search";q=1;w=3600'
    )
    assert (await rl.hit(user, "Search")).allowed
    again = await rl.hit(user, "Search")
    assert not again.allowed  # both the default and the operation's limit are spent
    await rl.close()


async def test_operation_limit_alone_applies_per_caller() -> None:
    rl = limiter(operations={"Search": "1/hour"})
    assert (await rl.hit(Caller("subject:a", None), "Search")).allowed
    assert not (await rl.hit(Caller("subject:a", None), "Search")).allowed
    assert (await rl.hit(Caller("subject:b", None), "Search")).allowed
    assert (await rl.hit(Caller("subject:a", None), "Other")).headers() == {}  # no policy
    await rl.close()


async def test_cost_counts_against_the_window() -> None:
    rl = limiter(default="5/hour", cost=True)
    caller = Caller("subject:u1", None)
    assert (await rl.hit(caller, None, cost=3)).allowed
    refused = await rl.hit(caller, None, cost=3)
    assert not refused.allowed and refused.headers()["ratelimit"] == '"default";r=2;t=3600'
    assert (await rl.hit(caller, None, cost=2)).allowed
    too_big = await rl.hit(Caller("subject:u2", None), None, cost=6)  # can never fit
    assert not too_big.allowed and too_big.retry_after == 3600
    await rl.close()


def test_callers_are_keyed_by_subject_then_role_then_address() -> None:
    rl = limiter(default="1/hour")
    user = Session("u1", "user", ("user",), {"user-id": "u1"})
    assert rl.caller(user, "1.2.3.4") == Caller("subject:u1", "user")
    service = Session(None, "service", ("service",), {"allowed-roles": ["service"]})
    assert rl.caller(service, "1.2.3.4") == Caller("role:service", "service")
    anonymous = Session(None, "anonymous", ("anonymous",))
    assert rl.caller(anonymous, "1.2.3.4") == Caller("address:1.2.3.4", "anonymous")
    assert rl.caller(None, "1.2.3.4") == Caller("address:1.2.3.4", None)
    admin = Session(None, "admin", ("admin",), is_admin=True)
    assert rl.caller(admin, "1.2.3.4").exempt
    assert not limiter(default="1/hour", exempt_admin=False).caller(admin, "1.2.3.4").exempt


async def test_the_admin_is_exempt() -> None:
    rl = limiter(default="1/hour")
    admin = rl.caller(Session(None, "admin", ("admin",), is_admin=True), "1.2.3.4")
    for _ in range(3):
        decision = await rl.hit(admin, None)
        assert decision.allowed and decision.headers() == {}
    await rl.close()


async def test_the_window_moves_with_the_injected_clock() -> None:
    now = [1_800_000_000.0]
    rl = RateLimiter(
        RateLimitSettings.from_sources({"default": "2/hour"}, {}), clock=lambda: now[0]
    )
    caller = Caller("subject:u1", None)
    assert (await rl.hit(caller, None)).allowed
    now[0] += 1800  # half the window has passed
    second = await rl.hit(caller, None)
    assert second.allowed and second.headers()["ratelimit"] == '"default";r=0;t=1800'
    now[0] += 1799
    refused = await rl.hit(caller, None)
    assert not refused.allowed and refused.headers()["retry-after"] == "1"
    now[0] += 2  # the first hit has left the window: room for one
    assert (await rl.hit(caller, None)).headers()["ratelimit"] == '"default";r=0;t=1799'
    await rl.close()


async def test_idle_windows_are_forgotten() -> None:
    now = [1_800_000_000.0]
    rl = RateLimiter(
        RateLimitSettings.from_sources({"default": "5/minute"}, {}), clock=lambda: now[0]
    )
    for i in range(100):
        await rl.hit(Caller(f"address:10.0.0.{i}", None), None)
    assert len(rl.windows) == 100
    now[0] += 61
    await rl.hit(Caller("address:10.0.1.1", None), None)
    assert len(rl.windows) == 1
    await rl.close()


async def test_a_batch_reports_each_policy_once() -> None:
    rl = limiter(default="3/hour")
    caller = Caller("subject:u1", None)
    decisions = [await rl.hit(caller, None) for _ in range(4)]
    merged = combined(decisions).headers()
    assert merged["ratelimit"] == '"default";r=0;t=3600' and "retry-after" in merged
    await rl.close()


def test_settings_from_the_file_and_the_environment() -> None:
    s = RateLimitSettings.from_sources(
        {"default": "100/minute", "roles": {"service": "10/second;1000/hour"}},
        {
            "SHARDGATE_RATE_LIMIT": "50/minute",
            "SHARDGATE_RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379",
            "SHARDGATE_RATE_LIMIT_FAIL": "closed",
            "SHARDGATE_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1",
            "SHARDGATE_RATE_LIMIT_COST": "1",
        },
    )
    assert [str(i) for i in s.default] == ["50 per 1 minute"]
    assert len(s.roles["service"]) == 2 and s.shared and s.fail == "closed" and s.cost
    assert len(s.trusted_proxies) == 2
    assert not RateLimitSettings.from_sources(None, {}).active
    for section, fragment in [
        ({"default": "lots"}, "not a rate limit"),
        ({"fail": "maybe"}, "'open' or 'closed'"),
        ({"storage": "memcached://x"}, "memory:// or redis://"),
        ({"trusted_proxies": ["10.0.0.0/99"]}, "not an address or CIDR"),
        ({"defualt": "1/hour"}, "unknown setting"),
        ({"roles": {"user": "0/hour"}}, "at least 1"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            RateLimitSettings.from_sources(section, {})


def test_forwarded_for_only_from_trusted_proxies() -> None:
    trusted = parse_networks(["10.0.0.0/8"])
    xff = ["203.0.113.9, 10.0.0.7"]
    assert client_address("10.0.0.5", xff, trusted) == "203.0.113.9"
    assert client_address("198.51.100.4", xff, trusted) == "198.51.100.4"  # not a proxy of ours
    assert client_address("10.0.0.5", xff, ()) == "10.0.0.5"  # no proxy configured
    # A client cannot hide behind a forged left-most entry: the walk is right to left.
    assert client_address("10.0.0.5", ["6.6.6.6, 203.0.113.9"], trusted) == "203.0.113.9"
    assert client_address("10.0.0.5", ["10.0.0.1"], trusted) == "10.0.0.1"  # all proxies
    assert client_address("10.0.0.5", [], trusted) == "10.0.0.5"
    assert client_address(None, xff, trusted) == "unknown"


def test_window_keys_are_the_limits_librarys() -> None:
    rl = limiter(default="10/2 minutes;100/hour", operations={"Search": "1/hour"})
    caller = Caller("subject:a/b", "user")
    policies = rl.policies(caller, "Search")
    assert [p.name for p in policies] == ["default/120s", "default/3600s", "operation:Search"]
    for p in policies:
        assert p.key(caller) == p.item.key_for(p.scope, caller.key)
    assert rl.policies(caller, "Other") == policies[:2]
