"""Signing (checked by the Standard Webhooks reference verifier), SSRF checks, backoff,
definitions and the replica takeover rule, each on its own."""

from __future__ import annotations

import ipaddress
import time

import pytest
from standardwebhooks.webhooks import Webhook

from shards.errors import BadRequest
from shards.triggers import signing
from shards.triggers.backoff import backoff_ms, retry_after_ms
from shards.triggers.definitions import RetryPolicy, TriggerDef
from shards.triggers.peers import Peers
from shards.triggers.ssrf import UnsafeTarget, check_url, is_forbidden, parse_address

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_signatures_verify_with_the_standard_webhooks_library() -> None:
    body = b'{"id":"e1","event":{"op":"INSERT"}}'
    now = int(time.time())
    headers = signing.headers(SECRET, "e1", now, body)
    assert Webhook(SECRET).verify(body, headers) == {"id": "e1", "event": {"op": "INSERT"}}
    tampered = body.replace(b"INSERT", b"DELETE")
    with pytest.raises(Exception, match="signature"):
        Webhook(SECRET).verify(tampered, headers)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",  # 127.0.0.1 as one number
        "0x7f.1",
        "017700000001",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",
        "0.0.0.0",
        "[::1]",
        "[::]",
        "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6
        "[::ffff:a9fe:a9fe]",
        "[fd00:ec2::254]",
        "[fe80::1]",
        "[fc00::1]",
        "localhost",
        "api.localhost",
    ],
)
def test_internal_targets_are_refused(host: str) -> None:
    with pytest.raises(UnsafeTarget):
        check_url(f"http://{host}:8080/hook", allow_private=False)
    check_url(f"http://{host}:8080/hook", allow_private=True)  # development setting


def test_public_targets_pass() -> None:
    check_url("https://hooks.example.com/x", allow_private=False)
    check_url("http://93.184.215.14/x", allow_private=False)
    assert not is_forbidden(ipaddress.ip_address("2606:4700::1111"))
    assert parse_address("0x7f.1") == ipaddress.ip_address("127.0.0.1")


def test_backoff_doubles_with_jitter_in_the_upper_half() -> None:
    policy = RetryPolicy(interval_s=0.5)
    assert [backoff_ms(policy, n, lambda: 1.0) for n in range(4)] == [500, 1000, 2000, 4000]
    assert backoff_ms(policy, 2, lambda: 0.0) == 1000
    assert backoff_ms(policy, 99, lambda: 1.0) == 3600_000


def test_retry_after_seconds_or_http_date() -> None:
    assert retry_after_ms("3", 0) == 3000
    assert retry_after_ms("Thu, 01 Jan 1970 00:00:10 GMT", 4000) == 6000
    assert retry_after_ms("soon", 0) is None


def test_definitions_are_checked_and_listings_carry_no_secret() -> None:
    raw = {
        "name": "t",
        "collection": "users.User",
        "ops": ["INSERT"],
        "url": "https://h.example.com",
        "secret": SECRET,
        "headers": {"authorization": "Bearer s3cr3t"},
    }
    t = TriggerDef.parse(raw)
    assert SECRET not in str(t.redacted()) and "s3cr3t" not in str(t.redacted())
    assert TriggerDef.parse(t.as_dict()) == t
    for bad in ({"ops": ["UPSERT"]}, {"secret": "whsec_short"}, {"url": "ftp://x"}):
        with pytest.raises(BadRequest):
            TriggerDef.parse({**raw, **bad})


def test_a_replica_takes_over_only_after_the_grace_period() -> None:
    now = [100.0]
    changed: list[frozenset[str]] = []
    peers = Peers(
        "b",
        urls=lambda: {"a": "http://a", "b": "http://b"},
        grace_s=lambda: 30.0,
        on_change=lambda: changed.append(peers.owners()),
        monotonic=lambda: now[0],
    )
    peers.observe("a", healthy=False)
    assert peers.owners() == {"b"}
    now[0] = 129.9
    peers.observe("a", healthy=False)
    assert peers.owners() == {"b"}
    now[0] = 130.0
    peers.observe("a", healthy=False)
    assert peers.owners() == {"a", "b"}
    peers.observe("a", healthy=True)  # the primary is back: it delivers its own again
    assert peers.owners() == {"b"}
    assert changed == [frozenset({"a", "b"}), frozenset({"b"})]


def test_a_shard_refuses_private_targets_unless_allowed() -> None:
    from shards.triggers.config import TriggerConfig

    raw = {
        "triggers": [
            {"name": "t", "collection": "a.B", "ops": ["INSERT"], "url": "http://10.0.0.1/x"}
        ],
        "ring": {"shards": ["s"], "replication": 1, "vnodes": 1},
    }
    with pytest.raises(BadRequest, match="SHARDGATE_TRIGGERS_ALLOW_PRIVATE"):
        TriggerConfig.parse(raw)
    TriggerConfig.parse(raw, allow_private_env=True)
    TriggerConfig.parse({**raw, "options": {"allow_private": True}})


async def test_connect_time_check_pins_only_allowed_addresses() -> None:
    """A name passes the definition-time check; its resolved address is checked on connect."""
    from aiohttp import web

    from shards.triggers.http import WebhookClient
    from shards.triggers.ssrf import PinnedResolver

    hits: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        hits.append(request.path)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/x", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        with pytest.raises(UnsafeTarget):
            await PinnedResolver(allow_private=False).resolve("localhost", port)
        failures = []
        # Refused by our resolver, or (odd numeric forms) by yarl before any connection.
        for host in ("localhost", "2130706433", "127.1", "[::ffff:127.0.0.1]"):
            refused = WebhookClient(allow_private=False)
            try:
                await refused.send(f"http://{host}:{port}/x", b"{}", {}, 2.0)
            except Exception as e:
                failures.append(e)
            finally:
                await refused.close()
        assert len(failures) == 4 and hits == []
        allowed = WebhookClient(allow_private=True)
        try:
            response = await allowed.send(f"http://localhost:{port}/x", b"{}", {}, 2.0)
        finally:
            await allowed.close()
        assert response.status == 204 and hits == ["/x"]
    finally:
        await runner.cleanup()


def test_event_ids_are_the_standard_uuid5() -> None:
    import uuid

    from shards.triggers.outbox import NAMESPACE, event_id

    for args in (("t", "users.User", "u1", 1), ("x", "a.B", "ключ", 2**62)):
        name = "\x00".join(map(str, args))
        assert event_id(*args) == str(uuid.uuid5(NAMESPACE, name))
