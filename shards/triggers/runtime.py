"""Triggers on one shard: the outbox hook, the delivery worker, peers and the event log,
wired to one `ShardStorage`. The shard server builds one and exposes `handlers`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from shards.errors import BadRequest
from shards.storage import ShardStorage
from shards.telemetry import Tracing
from shards.triggers.config import TriggerConfig, allow_private_from_env
from shards.triggers.definitions import TriggerDef
from shards.triggers.delivery import Deliverer
from shards.triggers.http import WebhookClient
from shards.triggers.outbox import SELECT_EVENTS, Event, OutboxHook, create_schema, insert_events
from shards.triggers.peers import STALE_MS, Peers

log = logging.getLogger("shardgate.triggers")

STATUSES = ("pending", "delivered", "dead", "cancelled")


def _now_ms() -> int:
    return int(time.time() * 1000)


class TriggerRuntime:
    def __init__(
        self,
        shard_id: str,
        storage: ShardStorage,
        reader: sqlite3.Connection,
        tracing: Tracing | None = None,
    ) -> None:
        self.shard_id = shard_id
        self.storage = storage
        self._reader = reader
        self.hook = OutboxHook()
        self._allow_private_env = allow_private_from_env()
        self._client: WebhookClient | None = None
        self._client_allow = False
        self._closing: set[asyncio.Task[None]] = set()
        self._triggers: dict[str, TriggerDef] = {}
        self.peers = Peers(
            shard_id,
            urls=lambda: self.hook.config.peers,
            grace_s=lambda: self.hook.config.options.grace_s,
            on_change=self._wake,
            stale_copies=self._stale_copies,
            settle=self._settle_copies,
        )
        self.deliverer = Deliverer(
            shard_id,
            storage,
            reader,
            self._send,
            triggers=lambda: self._triggers,
            owners=self.peers.owners,
            concurrency=lambda: self.hook.config.options.concurrency,
            on_delivered=lambda e: self.peers.delivered(e.id, e.replicas),
            tracing=tracing,
        )
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def open(
        cls, shard_id: str, storage: ShardStorage, path: Path, *, tracing: Tracing | None = None
    ) -> TriggerRuntime:
        await storage.execute(create_schema)
        reader = sqlite3.connect(path, isolation_level=None, timeout=1.0)
        reader.execute("PRAGMA query_only=ON")
        self = cls(shard_id, storage, reader, tracing)
        [row] = reader.execute("SELECT count(*), max(config) FROM trigger_config").fetchall()
        if row[0]:
            self._apply(TriggerConfig.parse(orjson.loads(row[1]), allow_private_env=True))
        rows = reader.execute("SELECT name, reason FROM trigger_disabled").fetchall()
        self.deliverer.disabled.update(dict(rows))
        storage.add_transaction_hook(self.hook)
        storage.add_commit_hook(lambda _changes: self._wake())
        self._tasks = [
            asyncio.create_task(self.deliverer.run(), name="trigger-delivery"),
            asyncio.create_task(self.peers.run(), name="trigger-peers"),
            asyncio.create_task(self._cleanup_loop(), name="trigger-cleanup"),
        ]
        return self

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.deliverer.close()
        if self._client is not None:
            await self._client.close()
        self._reader.close()

    def _wake(self) -> None:
        if self._triggers:
            self.deliverer.wake()

    def _apply(self, config: TriggerConfig) -> None:
        allow = config.options.allow_private or self._allow_private_env
        if self._client is None or self._client_allow != allow:
            old, self._client = self._client, WebhookClient(allow_private=allow)
            self._client_allow = allow
            if old is not None:  # kept referenced until closed
                task = asyncio.get_running_loop().create_task(old.close())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)
        self.hook.set_config(config)
        self._triggers = {t.name: t for t in config.triggers}
        self._wake()

    async def _send(self, *args: Any) -> Any:
        assert self._client is not None
        return await self._client.send(*args)

    def _stale_copies(self, owner: str) -> list[str]:
        """Ids of our copies of `owner`'s events still pending after STALE_MS."""
        if owner in self.peers.owners():  # taken over: we deliver them ourselves
            return []
        rows = self._reader.execute(
            "SELECT id FROM trigger_events WHERE status = 'pending' AND owner = ?"
            " AND created_ms < ? ORDER BY seq LIMIT 500",
            (owner, _now_ms() - STALE_MS),
        ).fetchall()
        return [r[0] for r in rows]

    async def _settle_copies(self, outcomes: dict[str, str]) -> None:
        now = _now_ms()
        rows = [(s, now, i) for i, s in outcomes.items() if s in ("delivered", "dead", "cancelled")]
        await self.storage.execute(
            lambda db: db.executemany(
                "UPDATE trigger_events SET status = ?, done_ms = ? WHERE id = ?"
                " AND status = 'pending'",
                rows,
            )
        )

    # -- endpoints (POST, JSON) ---------------------------------------------------------

    async def status(self, body: dict[str, Any]) -> Any:
        """Outcomes of events that are no longer pending here (for a replica reconciling)."""
        ids = _str_list(body, "ids")
        rows = self._reader.execute(
            "SELECT id, status FROM trigger_events WHERE status != 'pending'"
            " AND id IN (SELECT value FROM json_each(?))",
            (orjson.dumps(ids).decode(),),
        ).fetchall()
        return {"status": dict(rows)}

    async def configure(self, body: dict[str, Any]) -> Any:
        config = TriggerConfig.parse(body, allow_private_env=self._allow_private_env)
        text = orjson.dumps(config.as_dict()).decode()
        names = [t.name for t in config.triggers]
        enable = [n for n in body.get("enable") or [] if isinstance(n, str)]

        def save(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO trigger_config(id, config) VALUES (1, ?)"
                " ON CONFLICT(id) DO UPDATE SET config = excluded.config",
                (text,),
            )
            db.executemany("DELETE FROM trigger_disabled WHERE name = ?", [(n,) for n in enable])
            # A removed trigger's queued events are not sent: cancelled, then cleaned up.
            db.execute(
                "UPDATE trigger_events SET status = 'cancelled', done_ms = ? WHERE status ="
                " 'pending' AND trigger NOT IN (SELECT value FROM json_each(?))",
                (_now_ms(), orjson.dumps(names).decode()),
            )

        await self.storage.execute(save)
        for name in enable:
            self.deliverer.disabled.pop(name, None)
        self._apply(config)
        return {"ok": True, "triggers": len(config.triggers)}

    async def state(self, body: dict[str, Any]) -> Any:
        counts: dict[str, dict[str, int]] = {}
        # Only the events this shard delivers, so that sums over shards count each once.
        for trigger, status, n in self._reader.execute(
            "SELECT trigger, status, count(*) FROM trigger_events WHERE owner = ?"
            " GROUP BY trigger, status",
            (self.shard_id,),
        ):
            counts.setdefault(trigger, {})[status] = n
        return {
            "id": self.shard_id,
            "triggers": {
                t.name: {
                    "paused": t.paused,
                    "disabled": self.deliverer.disabled.get(t.name),
                    "events": counts.get(t.name, {}),
                }
                for t in self._triggers.values()
            },
            "taken_over": sorted(self.peers.owners() - {self.shard_id}),
        }

    async def list_events(self, body: dict[str, Any]) -> Any:
        where, params = ["1"], []
        for column in ("trigger", "status", "key", "collection"):
            value = body.get(column)
            if value is not None:
                if not isinstance(value, str):
                    raise BadRequest(f"{column} must be a string")
                where.append(f"e.{column} = ?")
                params.append(value)
        limit = body.get("limit", 100)
        if not isinstance(limit, int) or not 0 < limit <= 10_000:
            raise BadRequest("limit must be between 1 and 10000")
        rows = self._reader.execute(
            f"{SELECT_EVENTS} WHERE {' AND '.join(where)} ORDER BY e.seq DESC LIMIT ?",
            (*params, limit),
        ).fetchall()
        return {"events": [Event.from_row(r).summary() for r in rows]}

    async def show_event(self, body: dict[str, Any]) -> Any:
        event_id = _str(body, "id")
        rows = self._reader.execute(f"{SELECT_EVENTS} WHERE e.id = ?", (event_id,)).fetchall()
        if not rows:
            return {"event": None, "attempts": []}
        event = Event.from_row(rows[0])
        attempts = self._reader.execute(
            "SELECT at_ms, shard, retry, status, code, latency_ms, error FROM trigger_attempts"
            " WHERE event_id = ? ORDER BY at_ms",
            (event_id,),
        ).fetchall()
        names = ("at_ms", "shard", "retry", "status", "code", "latency_ms", "error")
        data = {
            "old": None if event.old is None else orjson.Fragment(event.old),
            "new": None if event.new is None else orjson.Fragment(event.new),
        }
        return {
            "event": {**event.summary(), "data": data},
            "attempts": [dict(zip(names, a, strict=True)) for a in attempts],
        }

    async def redeliver(self, body: dict[str, Any]) -> Any:
        ids = _str_list(body, "ids")

        def reset(db: sqlite3.Connection) -> int:
            cur = db.executemany(
                "UPDATE trigger_events SET status = 'pending', tries = 0, next_ms = 0,"
                " done_ms = NULL WHERE id = ?",
                [(i,) for i in ids],
            )
            return cur.rowcount

        count = await self.storage.execute(reset)
        self._wake()
        return {"ok": True, "events": count}

    async def mark_delivered(self, body: dict[str, Any]) -> Any:
        ids = _str_list(body, "ids")
        now = _now_ms()
        await self.storage.execute(
            lambda db: db.executemany(
                "UPDATE trigger_events SET status = 'delivered', done_ms = ?"
                " WHERE id = ? AND status = 'pending'",
                [(now, i) for i in ids],
            )
        )
        return {"ok": True}

    async def invoke(self, body: dict[str, Any]) -> Any:
        """A MANUAL event for one document, delivered by this shard (not replicated)."""
        name = _str(body, "trigger")
        trigger = self._triggers.get(name)
        if trigger is None:
            raise BadRequest(f"no trigger named {name!r} on this shard")
        doc = body.get("doc")
        version = body.get("version")
        if not isinstance(doc, dict) or not isinstance(version, int):
            raise BadRequest("send the document as 'doc' and its version as 'version'")
        event_id = str(uuid.uuid4())
        row = (
            event_id,
            name,
            trigger.collection,
            _str(body, "key"),
            version,
            "MANUAL",
            None,
            orjson.dumps(doc).decode(),
            _now_ms(),
            self.shard_id,
            orjson.dumps([self.shard_id]).decode(),
            None,
        )
        await self.storage.execute(lambda db: insert_events(db, [row]))
        self._wake()
        return {"id": event_id}

    async def cleanup(self, body: dict[str, Any]) -> Any:
        older = body.get("older_than_s", self.hook.config.options.retention_s)
        if not isinstance(older, int | float) or older < 0:
            raise BadRequest("older_than_s must be a non-negative number")
        return {"deleted": await self._cleanup(_now_ms() - int(older * 1000))}

    async def _cleanup(self, cutoff_ms: int) -> int:
        def delete(db: sqlite3.Connection) -> int:
            db.execute(
                "DELETE FROM trigger_attempts WHERE event_id IN (SELECT id FROM trigger_events"
                " WHERE status IN ('delivered', 'cancelled') AND done_ms < ?)",
                (cutoff_ms,),
            )
            return db.execute(
                "DELETE FROM trigger_events WHERE status IN ('delivered', 'cancelled')"
                " AND done_ms < ?",
                (cutoff_ms,),
            ).rowcount

        deleted: int = await self.storage.execute(delete)
        return deleted

    async def _cleanup_loop(self) -> None:
        while True:
            await asyncio.sleep(60)
            retention = self.hook.config.options.retention_s
            try:
                await self._cleanup(_now_ms() - int(retention * 1000))
            except Exception:
                log.exception("trigger event cleanup failed")

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
        return {
            "/triggers": self.configure,
            "/triggers/state": self.state,
            "/events/list": self.list_events,
            "/events/show": self.show_event,
            "/events/redeliver": self.redeliver,
            "/events/delivered": self.mark_delivered,
            "/events/status": self.status,
            "/events/invoke": self.invoke,
            "/events/cleanup": self.cleanup,
        }


def _str(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string")
    return value


def _str_list(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"'{name}' must be a list of strings")
    return value
