"""The outbox hook and the delivery worker in one process, with a fake receiver and an
injected clock: the transaction boundary, retries, backoff, dead events, per-document order,
Retry-After, 410 and pause."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from shards.protocol import CollectionDescriptor, WriteOp
from shards.ring import token_of
from shards.storage import ShardStorage
from shards.triggers.config import TriggerConfig
from shards.triggers.delivery import Deliverer, Response
from shards.triggers.outbox import OutboxHook, create_schema, event_id

USERS = CollectionDescriptor(name="users.User", key="id", shard_key="id", indexes=[], unique=[])
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def config(**trigger: Any) -> TriggerConfig:
    t = {
        "name": "t",
        "collection": "users.User",
        "ops": ["INSERT", "UPDATE", "DELETE"],
        "url": "https://hooks.example.com/t",
        "secret": SECRET,
        "retry": {"max_retries": 2, "interval_s": 1.0, "timeout_s": 1.0},
        **trigger,
    }
    ring = {"shards": ["s"], "replication": 1, "vnodes": 4}
    return TriggerConfig.parse({"triggers": [t], "ring": ring})


@dataclass
class FakeReceiver:
    answers: list[Response] = field(default_factory=list)  # then 200s
    sent: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, url: str, body: bytes, headers: dict[str, str], limit: float) -> Any:
        self.sent.append({"url": url, "body": orjson.loads(body), "headers": headers})
        return self.answers.pop(0) if self.answers else Response(200)


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


@dataclass
class Shard:
    storage: ShardStorage
    hook: OutboxHook
    deliverer: Deliverer
    receiver: FakeReceiver
    clock: Clock
    reader: sqlite3.Connection
    version: int = 0

    async def put(self, key: str, body: dict[str, Any] | None) -> int:
        self.version += 1
        op = WriteOp(
            collection="users.User",
            key=key,
            token=token_of(key),
            op="put" if body is not None else "delete",
            body=body,
            version=self.version,
            origin="gw",
        )
        await self.storage.write([op])
        return self.version

    def events(self) -> list[tuple[Any, ...]]:
        return self.reader.execute(
            "SELECT key, version, op, status, tries, next_ms FROM trigger_events ORDER BY seq"
        ).fetchall()

    async def step(self) -> int | None:
        due = self.deliverer.scan()
        await self.deliverer.settle()
        return due


@pytest.fixture
async def shard(tmp_path: Path) -> AsyncIterator[Shard]:
    storage = await ShardStorage.open(tmp_path / "store.db")
    await storage.ensure_collections([USERS])
    await storage.execute(create_schema)
    hook = OutboxHook()
    hook.set_config(config())
    storage.add_transaction_hook(hook)
    reader = sqlite3.connect(tmp_path / "store.db", isolation_level=None)
    receiver, clock = FakeReceiver(), Clock()
    deliverer = Deliverer(
        "s",
        storage,
        reader,
        receiver.send,
        triggers=lambda: {t.name: t for t in hook.config.triggers},
        owners=lambda: {"s"},
        concurrency=lambda: 8,
        now_ms=clock,
        rand=lambda: 1.0,
    )
    try:
        yield Shard(storage, hook, deliverer, receiver, clock, reader)
    finally:
        await deliverer.close()
        reader.close()
        await storage.close()


async def test_outbox_row_commits_with_the_change_under_a_deterministic_id(shard: Shard) -> None:
    v = await shard.put("u1", {"id": "u1", "name": "Ann"})
    [row] = shard.reader.execute("SELECT id, owner, op FROM trigger_events").fetchall()
    assert row == (event_id("t", "users.User", "u1", v), "s", "INSERT")


async def test_a_rolled_back_transaction_leaves_no_event(shard: Shard) -> None:
    def fail(db: sqlite3.Connection, changes: Any) -> None:
        raise RuntimeError("the transaction fails after the outbox hook")

    shard.storage.add_transaction_hook(fail)
    with pytest.raises(RuntimeError):
        await shard.put("u1", {"id": "u1"})
    assert shard.events() == []


async def test_retries_back_off_exponentially_then_the_event_is_dead(shard: Shard) -> None:
    shard.receiver.answers = [Response(500)] * 3
    await shard.put("u1", {"id": "u1"})
    start = shard.clock.ms
    assert await shard.step() is None or True
    assert shard.events()[0][3:] == ("pending", 1, start + 1000)  # interval * 2^0
    shard.clock.ms = start + 999
    await shard.step()
    assert len(shard.receiver.sent) == 1  # not due yet
    shard.clock.ms = start + 1000
    await shard.step()
    assert shard.events()[0][3:] == ("pending", 2, start + 1000 + 2000)  # interval * 2^1
    shard.clock.ms = start + 3000
    await shard.step()
    assert shard.events()[0][3:5] == ("dead", 3)  # max_retries=2: three attempts in all
    retries = [s["body"]["delivery_info"]["current_retry"] for s in shard.receiver.sent]
    assert retries == [0, 1, 2]
    assert len({s["headers"]["webhook-id"] for s in shard.receiver.sent}) == 1
    attempts = shard.reader.execute("SELECT status, code FROM trigger_attempts").fetchall()
    assert attempts == [("retry", 500), ("retry", 500), ("dead", 500)]


async def test_a_later_event_of_a_document_waits_for_the_earlier_one(shard: Shard) -> None:
    shard.receiver.answers = [Response(503)]
    await shard.put("u1", {"id": "u1", "n": 1})
    await shard.put("u1", {"id": "u1", "n": 2})
    await shard.put("u2", {"id": "u2"})  # another document is not held up
    await shard.step()
    sent = [
        (s["body"]["event"]["op"], s["body"]["event"]["data"]["new"]) for s in shard.receiver.sent
    ]
    assert sent == [("INSERT", {"id": "u1", "n": 1}), ("INSERT", {"id": "u2"})]
    shard.clock.ms += 1000
    await shard.step()
    await shard.step()
    news = [s["body"]["event"]["data"]["new"] for s in shard.receiver.sent]
    assert news[2:] == [{"id": "u1", "n": 1}, {"id": "u1", "n": 2}]
    assert [e[3] for e in shard.events()] == ["delivered"] * 3


async def test_retry_after_is_honoured_on_429(shard: Shard) -> None:
    shard.receiver.answers = [Response(429, "7")]
    await shard.put("u1", {"id": "u1"})
    await shard.step()
    assert shard.events()[0][5] == shard.clock.ms + 7000


async def test_410_disables_the_trigger_and_keeps_its_events(shard: Shard) -> None:
    shard.receiver.answers = [Response(410)]
    await shard.put("u1", {"id": "u1"})
    await shard.step()
    assert "t" in shard.deliverer.disabled
    await shard.put("u2", {"id": "u2"})
    await shard.step()
    assert len(shard.receiver.sent) == 1
    assert [e[3:5] for e in shard.events()] == [("pending", 0), ("pending", 0)]
    [(reason,)] = shard.reader.execute("SELECT reason FROM trigger_disabled").fetchall()
    assert "410" in reason  # persisted: a restarted shard keeps the trigger disabled


async def test_redirects_and_other_statuses_are_retried(shard: Shard) -> None:
    shard.receiver.answers = [Response(302), Response(400)]
    await shard.put("u1", {"id": "u1"})
    await shard.step()
    shard.clock.ms += 1000
    await shard.step()
    codes = shard.reader.execute("SELECT code, error FROM trigger_attempts").fetchall()
    assert codes == [(302, "HTTP 302"), (400, "HTTP 400")]


async def test_a_paused_trigger_sends_nothing_and_keeps_events(shard: Shard) -> None:
    shard.hook.set_config(config(paused=True))
    await shard.put("u1", {"id": "u1"})
    await shard.step()
    assert shard.receiver.sent == [] and shard.events()[0][3] == "pending"
    shard.hook.set_config(config())
    await shard.step()
    assert shard.events()[0][3] == "delivered"


async def test_update_fires_only_when_a_listed_column_changed(shard: Shard) -> None:
    shard.hook.set_config(config(columns=["name"]))
    await shard.put("u1", {"id": "u1", "name": "A", "bio": "x"})
    await shard.put("u1", {"id": "u1", "name": "A", "bio": "y"})
    await shard.put("u1", {"id": "u1", "name": "B", "bio": "y"})
    assert [e[2] for e in shard.events()] == ["INSERT", "UPDATE"]


async def test_a_take_back_cancels_the_undone_writes_event(shard: Shard) -> None:
    await shard.put("u1", {"id": "u1", "name": "A"})
    v2 = await shard.put("u1", {"id": "u1", "name": "B"})
    restore = WriteOp(
        collection="users.User",
        key="u1",
        token=token_of("u1"),
        op="put",
        body={"id": "u1", "name": "A"},
        version=1,
        origin="gw",
        expect=(v2, "gw"),
    )
    await shard.storage.write([restore])
    assert [e[2:4] for e in shard.events()] == [("INSERT", "pending"), ("UPDATE", "cancelled")]


async def test_extra_headers_and_url_from_the_environment(
    shard: Shard, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK_URL", "https://hooks.example.com/from-env")
    monkeypatch.setenv("HOOK_TOKEN", "Bearer t0ken")
    shard.hook.set_config(
        config(
            url=None,
            url_from_env="HOOK_URL",
            headers={"X-Team": "growth"},
            headers_from_env={"Authorization": "HOOK_TOKEN"},
        )
    )
    await shard.put("u1", {"id": "u1"})
    await shard.step()
    [sent] = shard.receiver.sent
    assert sent["url"] == "https://hooks.example.com/from-env"
    assert sent["headers"]["X-Team"] == "growth"
    assert sent["headers"]["Authorization"] == "Bearer t0ken"


async def test_a_scan_pages_past_a_long_queue_of_one_document(shard: Shard) -> None:
    for n in range(300):  # more than two pages of one document's events
        await shard.put("u1", {"id": "u1", "n": n})
    await shard.put("u2", {"id": "u2"})
    await shard.step()
    started = [s["body"]["event"]["data"]["new"] for s in shard.receiver.sent]
    assert started == [{"id": "u1", "n": 0}, {"id": "u2"}]


async def test_a_scan_starts_no_more_than_the_concurrency_bound(shard: Shard) -> None:
    shard.deliverer._concurrency = lambda: 3
    for n in range(10):
        await shard.put(f"u{n}", {"id": f"u{n}"})
    shard.deliverer.scan()
    assert len(shard.deliverer._tasks) == 3
    await shard.deliverer.settle()
    for _ in range(5):
        await shard.step()
    assert [e[3] for e in shard.events()] == ["delivered"] * 10
