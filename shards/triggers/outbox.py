"""The transactional outbox: one event row per matching trigger per change, written by a
transaction hook in the SQLite transaction that applies the change, so a committed change
always has its event and a rolled-back one never does.

Every replica of a key writes the same rows: the event id is a uuid5 over (trigger, collection,
key, version), and `owner` is the key's primary (first of its preference list, from the stored
token), the one shard that delivers while it is up.

A take-back (a coordinator restoring an older version after a failed write, see
shards/writes.py) is recognised by its version being below one already in the outbox for the
key: the events of the undone write are cancelled if not yet delivered, and it fires nothing.
"""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from shards.storage import Change, table
from shards.triggers.config import TriggerConfig

NAMESPACE = uuid.UUID("5f1d8a52-8d0c-4a43-9e53-3b7c1b0f7a11")
_NS_BYTES = NAMESPACE.bytes

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS trigger_config(id INTEGER PRIMARY KEY CHECK (id = 1),"
    " config TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS trigger_events(seq INTEGER PRIMARY KEY,"
    " id TEXT NOT NULL UNIQUE, trigger TEXT NOT NULL, collection TEXT NOT NULL,"
    " key TEXT NOT NULL, version INTEGER NOT NULL, op TEXT NOT NULL, old TEXT, new TEXT,"
    " created_ms INTEGER NOT NULL, owner TEXT NOT NULL, replicas TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending', tries INTEGER NOT NULL DEFAULT 0,"
    " next_ms INTEGER NOT NULL DEFAULT 0, done_ms INTEGER, change_seq INTEGER)",
    "CREATE INDEX IF NOT EXISTS trigger_events_due ON trigger_events(status, owner, seq)",
    "CREATE INDEX IF NOT EXISTS trigger_events_key ON trigger_events(collection, key, version)",
    "CREATE TABLE IF NOT EXISTS trigger_attempts(event_id TEXT NOT NULL, at_ms INTEGER NOT NULL,"
    " shard TEXT NOT NULL, retry INTEGER NOT NULL, status TEXT NOT NULL, code INTEGER,"
    " latency_ms REAL, error TEXT)",
    "CREATE INDEX IF NOT EXISTS trigger_attempts_event ON trigger_attempts(event_id)",
    # Triggers a receiver's 410 disabled on this shard, until the trigger is resumed.
    "CREATE TABLE IF NOT EXISTS trigger_disabled(name TEXT PRIMARY KEY, reason TEXT NOT NULL)",
)

# Bodies are not copied: a change's event points at its change-log row (`change_seq`; the
# change log is never pruned), which already holds before and after. MANUAL events, which
# have no change, carry their document in `new`.
SELECT_EVENTS = (
    "SELECT e.seq, e.id, e.trigger, e.collection, e.key, e.version, e.op,"
    " coalesce(e.old, c.before), coalesce(e.new, c.after), e.created_ms, e.owner, e.replicas,"
    " e.status, e.tries, e.next_ms, e.done_ms"
    " FROM trigger_events e LEFT JOIN changelog c ON c.seq = e.change_seq"
)


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    id: str
    trigger: str
    collection: str
    key: str
    version: int
    op: str  # INSERT | UPDATE | DELETE | MANUAL
    old: str | None  # JSON text
    new: str | None
    created_ms: int
    owner: str
    replicas: tuple[str, ...]
    status: str  # pending | delivered | dead | cancelled
    tries: int
    next_ms: int
    done_ms: int | None

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Event:
        values = list(row)
        values[11] = tuple(orjson.loads(values[11]))
        return cls(*values)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "trigger": self.trigger,
            "collection": self.collection,
            "key": self.key,
            "version": self.version,
            "op": self.op,
            "created_ms": self.created_ms,
            "owner": self.owner,
            "status": self.status,
            "tries": self.tries,
            "next_ms": self.next_ms,
            "done_ms": self.done_ms,
        }


def event_id(trigger: str, collection: str, key: str, version: int) -> str:
    """uuid5(NAMESPACE, name), computed directly: uuid.uuid5 costs ~6x more, per change."""
    name = f"{trigger}\x00{collection}\x00{key}\x00{version}".encode()
    b = bytearray(hashlib.sha1(_NS_BYTES + name, usedforsecurity=False).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x50  # version 5
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def create_schema(db: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        db.execute(statement)


class OutboxHook:
    """The transaction hook. `config` is swapped whole by the event loop (an atomic reference
    assignment), read here on the writer thread."""

    def __init__(self) -> None:
        self.config = TriggerConfig()
        self._by_collection: dict[str, list[Any]] = {}
        self._replicas_json: dict[tuple[str, ...], str] = {}  # few distinct lists per ring

    def set_config(self, config: TriggerConfig) -> None:
        self._replicas_json = {}
        self._by_collection = config.by_collection()
        self.config = config

    def __call__(self, db: sqlite3.Connection, changes: Sequence[Change]) -> None:
        by_collection, ring = self._by_collection, self.config.ring
        if not by_collection or ring is None:
            return
        rows = []
        for change in changes:
            defs = by_collection.get(change.collection)
            if not defs:
                continue
            # One statement for both: the document's token, the newest event of the key.
            [(token, newest)] = db.execute(
                f"SELECT (SELECT token FROM {table(change.collection)} WHERE key = ?),"
                " (SELECT max(version) FROM trigger_events WHERE collection = ? AND key = ?)",
                (change.key, change.collection, change.key),
            ).fetchall()
            if newest is not None and change.version < newest:  # a take-back
                db.execute(
                    "UPDATE trigger_events SET status = 'cancelled' WHERE collection = ?"
                    " AND key = ? AND version > ? AND status = 'pending'",
                    (change.collection, change.key, change.version),
                )
                continue
            old = new = None
            if change.op == "update" and any(d.columns for d in defs):  # decode only then
                old = orjson.loads(change.before or "null")
                new = orjson.loads(change.after or "null")
            fired = [d for d in defs if d.fires(change.op, old, new)]
            if not fired:
                continue
            replicas = ring.preference_list(token)
            replicas_json = self._replicas_json.get(replicas)
            if replicas_json is None:
                replicas_json = self._replicas_json[replicas] = orjson.dumps(replicas).decode()
            for d in fired:
                rows.append(
                    (
                        event_id(d.name, change.collection, change.key, change.version),
                        d.name,
                        change.collection,
                        change.key,
                        change.version,
                        change.op.upper(),
                        None,
                        None,
                        change.ts,
                        replicas[0],
                        replicas_json,
                        change.seq,
                    )
                )
        if rows:
            insert_events(db, rows)


def insert_events(db: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    db.executemany(
        "INSERT OR IGNORE INTO trigger_events(id, trigger, collection, key, version, op, old,"
        " new, created_ms, owner, replicas, change_seq)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
