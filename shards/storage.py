"""One shard's documents in one SQLite file.

Durability. The database runs in WAL mode. With `synchronous="NORMAL"` (the default) a commit
survives a crash or kill of the process, but a power loss or OS crash may lose the last commits
(the WAL is not fsynced at each commit); the replicas on other hosts hold those writes, and
QUORUM/ALL reads copy them back (anti-entropy that repairs unread data comes later). With
`synchronous="FULL"` every commit is fsynced and survives power loss too, at a lower commit
rate.

Layout. `collections` keeps each collection's descriptor; each collection has a table
`"c:<name>"` whose `id` is a stable int64 row id (the vector index id, never reused); deleted
documents stay as tombstones (body NULL) so that an older write arriving late still loses;
`changelog` records every applied change in the transaction that made it; `uniques` maps
(collection, field, canonical JSON value) to the owning key.

Concurrency. Concurrent `write`/`claim`/`release` calls queue up; one task takes everything
pending and commits it in one transaction (group commit), each caller getting its own results.
Requests are validated before they join a group, so a bad one fails alone; if a group still
fails, its jobs are retried one per transaction. The writer connection is plain sqlite3 on its
own thread so that a whole transaction costs one thread hop (through aiosqlite each statement
is one: a single-document write took ~1.2 ms instead of ~0.3). Reads use a second connection,
on aiosqlite, and thanks to WAL never wait for writes.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import aiosqlite
import orjson

from shards import filters
from shards.errors import BadRequest, ShardError
from shards.hlc import wall_ms
from shards.protocol import (
    AggregateRequest,
    AggregateResult,
    ClaimResult,
    CollectionDescriptor,
    QueryRequest,
    StoredDoc,
    UniqueClaim,
    WriteOp,
    WriteResult,
)
from shards.vector_spec import check_specs

log = logging.getLogger(__name__)

Synchronous = Literal["NORMAL", "FULL"]
COLLECTION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*\.[_A-Za-z][_0-9A-Za-z]*")
MAX_GROUP_OPS = 10_000  # bounds one group's transaction (and so its latency)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS collections(name TEXT PRIMARY KEY, descriptor TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS changelog(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL, key TEXT NOT NULL,
    op TEXT NOT NULL, version INTEGER NOT NULL, origin TEXT NOT NULL,
    before TEXT, after TEXT, ts INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS uniques(
    collection TEXT NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL, key TEXT NOT NULL,
    claimed_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY(collection, field, value)) WITHOUT ROWID;
"""


def table(collection: str) -> str:
    """The quoted table name of a (validated) collection."""
    return f'"c:{collection}"'


class RawDoc(NamedTuple):
    """A stored row with its body left as JSON text (None for a tombstone)."""

    key: str
    body: str | None
    version: int
    origin: str
    deleted: bool


@dataclass(slots=True)
class _Op:
    collection: str
    key: str
    token: int
    body: str | None  # JSON text; None for a delete
    version: int
    origin: str
    expect: tuple[int, str] | None = None
    if_absent: bool = False


@dataclass(frozen=True, slots=True)
class Change:
    """One applied change as the change log records it (bodies as JSON text)."""

    seq: int
    collection: str
    key: str
    op: Literal["insert", "update", "delete"]
    version: int
    origin: str
    before: str | None
    after: str | None
    ts: int


# Runs on the writer thread inside the transaction that applies the changes: whatever it
# writes commits or rolls back with them (a trigger's outbox rows). Raising rolls back.
TransactionHook = Callable[[sqlite3.Connection, Sequence[Change]], None]
# Runs on the event loop once the changes are committed (vector indexes, delivery wake-ups).
CommitHook = Callable[[Sequence[Change]], None]

_Kind = Literal["write", "claim", "release", "ensure", "call"]
_Claim = tuple[str, str, str, str, str | None]  # collection, field, value, key, replace


@dataclass(slots=True)
class _Job:
    kind: _Kind
    items: list[Any]
    future: asyncio.Future[Any]


class ShardStorage:
    def __init__(
        self,
        writer: sqlite3.Connection,
        thread: ThreadPoolExecutor,
        reader: aiosqlite.Connection,
        point_reader: sqlite3.Connection,
        now_ms: Callable[[], int],
    ) -> None:
        self._writer = writer  # used only on `thread`
        self._thread = thread
        self._reader = reader
        # Point reads run on the event loop: an indexed SELECT takes ~10 us, a hop to
        # aiosqlite's thread 40-80 us. Scans, which can be long, stay on `reader`.
        self._point_reader = point_reader
        self._now_ms = now_ms
        self._collections: dict[str, CollectionDescriptor] = {}
        self._queue: asyncio.Queue[_Job | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.transactions = 0  # write groups committed: shows how well commits coalesce
        self._transaction_hooks: list[TransactionHook] = []
        self._commit_hooks: list[CommitHook] = []
        self._explains = 0

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        synchronous: Synchronous = "NORMAL",
        now_ms: Callable[[], int] = wall_ms,
    ) -> ShardStorage:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, got {synchronous!r}")
        loop = asyncio.get_running_loop()
        thread = ThreadPoolExecutor(1, thread_name_prefix="shard-writer")
        try:
            writer = await loop.run_in_executor(thread, _connect_writer, path, synchronous)
        except BaseException:
            thread.shutdown()
            raise
        try:
            reader = await aiosqlite.connect(path, isolation_level=None, cached_statements=256)
            try:
                await reader.execute("PRAGMA query_only=ON")
                rows = await reader.execute_fetchall("SELECT name, descriptor FROM collections")
            except BaseException:
                await reader.close()
                raise
        except BaseException:
            await loop.run_in_executor(thread, writer.close)
            thread.shutdown()
            raise
        point_reader = sqlite3.connect(
            path, isolation_level=None, cached_statements=256, timeout=1.0
        )
        point_reader.execute("PRAGMA query_only=ON")
        self = cls(writer, thread, reader, point_reader, now_ms)
        self._collections = {name: orjson.loads(text) for name, text in rows}
        self._task = asyncio.create_task(self._write_loop(), name=f"shard-writer:{path}")
        return self

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put_nowait(None)  # the writer finishes what is queued, then stops
        if self._task is not None:
            await self._task
        await asyncio.get_running_loop().run_in_executor(self._thread, self._writer.close)
        self._thread.shutdown()
        await self._reader.close()
        self._point_reader.close()

    async def __aenter__(self) -> ShardStorage:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def collections(self) -> Mapping[str, CollectionDescriptor]:
        return self._collections

    # -- writes (group-committed) ---------------------------------------------------------

    async def ensure_collections(self, descriptors: Sequence[CollectionDescriptor]) -> None:
        """Create tables and indexes; idempotent and additive (indexes are never dropped)."""
        checked = [_check_descriptor(d) for d in _list(descriptors, "collections")]
        await self._submit("ensure", checked)

    async def write(self, ops: Sequence[WriteOp]) -> list[WriteResult]:
        """Results align with `ops`; `before` is the live body the op found (also when the op
        lost to a newer stored version and was not applied)."""
        return await self._submit("write", [self._check_op(op) for op in _list(ops, "writes")])

    async def claim(self, claims: Sequence[UniqueClaim]) -> list[ClaimResult]:
        return await self._submit("claim", [self._check_claim(c) for c in _list(claims, "claims")])

    async def release(self, claims: Sequence[UniqueClaim]) -> None:
        await self._submit("release", [self._check_claim(c) for c in _list(claims, "claims")])

    async def execute(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run `fn` on the writer thread inside a group's transaction; it commits with the
        group (features' own tables, e.g. the trigger outbox). Raising rolls back `fn` only."""
        return await self._submit("call", [fn])

    async def _submit(self, kind: _Kind, items: list[Any]) -> Any:
        if not items and kind != "ensure":
            return [] if kind in ("write", "claim") else None
        if self._closed:
            raise ShardError("the shard storage is closed")
        future = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Job(kind, items, future))
        return await future

    async def _write_loop(self) -> None:
        stop = False
        while not stop:
            job = await self._queue.get()
            if job is None:
                return
            group, size = [job], len(job.items)
            while size < MAX_GROUP_OPS and not self._queue.empty():
                nxt = self._queue.get_nowait()
                if nxt is None:
                    stop = True
                    break
                group.append(nxt)
                size += len(nxt.items)
            await self._commit_group(group)

    def add_transaction_hook(self, hook: TransactionHook) -> None:
        self._transaction_hooks.append(hook)

    def add_commit_hook(self, hook: CommitHook) -> None:
        self._commit_hooks.append(hook)

    async def _commit_group(self, group: list[_Job]) -> None:
        loop = asyncio.get_running_loop()
        try:
            outcomes, added, changes = await loop.run_in_executor(
                self._thread, self._transaction, group
            )
        except Exception as exc:
            if len(group) > 1:  # find the culprit: the others must not fail with it
                for job in group:
                    await self._commit_group([job])
                return
            log.exception("shard write transaction failed")
            if not group[0].future.done():
                group[0].future.set_exception(exc)
            return
        self.transactions += 1
        self._collections.update(added)  # visible to validation only once committed
        if changes:
            for hook in self._commit_hooks:
                try:
                    hook(changes)
                except Exception:  # committed is committed: a hook must not fail writers
                    log.exception("commit hook failed")
        for job, outcome in zip(group, outcomes, strict=True):
            if not job.future.done():  # the caller may have gone away
                job.future.set_result(outcome)

    # -- the transaction, on the writer thread --------------------------------------------

    def _transaction(
        self, group: list[_Job]
    ) -> tuple[list[Any], dict[str, CollectionDescriptor], list[Change]]:
        db = self._writer
        outcomes: list[Any] = [None] * len(group)
        added: dict[str, CollectionDescriptor] = {}
        changes: list[Change] = []
        db.execute("BEGIN IMMEDIATE")
        try:
            writes = [i for i, job in enumerate(group) if job.kind == "write"]
            if writes:  # all writes of the group as one batch, then split per caller
                results, changes = self._apply_writes([op for i in writes for op in group[i].items])
                for hook in self._transaction_hooks:
                    hook(db, changes)
                for i in writes:
                    n = len(group[i].items)
                    outcomes[i], results = results[:n], results[n:]
            for i, job in enumerate(group):
                if job.kind == "claim":
                    outcomes[i] = [self._apply_claim(c) for c in job.items]
                elif job.kind == "release":
                    db.executemany(
                        "DELETE FROM uniques"
                        " WHERE collection = ? AND field = ? AND value = ? AND key = ?",
                        [c[:4] for c in job.items],
                    )
                elif job.kind == "call":
                    outcomes[i] = job.items[0](db)
                elif job.kind == "ensure":
                    for d in job.items:
                        old = added.get(d["name"]) or self._collections.get(d["name"])
                        added[d["name"]] = self._apply_descriptor(old, d)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return outcomes, added, changes

    def _apply_writes(self, ops: list[_Op]) -> tuple[list[WriteResult], list[Change]]:
        db = self._writer
        keys: dict[str, set[str]] = {}
        for op in ops:
            keys.setdefault(op.collection, set()).add(op.key)
        # (collection, key) -> (body, version, origin) as stored, then as the batch leaves it.
        state: dict[tuple[str, str], tuple[str | None, int, str]] = {}
        for collection, ks in keys.items():
            rows = db.execute(
                f"SELECT key, body, version, origin FROM {table(collection)}"
                " WHERE key IN (SELECT value FROM json_each(?))",
                (orjson.dumps(list(ks)).decode(),),
            )
            for key, body, version, origin in rows:
                state[collection, key] = (body, version, origin)
        results: list[WriteResult] = []
        changes: list[tuple[Any, ...]] = []
        final: dict[str, dict[str, _Op]] = {c: {} for c in keys}  # last applied op per key
        ts = self._now_ms()
        for op in ops:
            current = state.get((op.collection, op.key))
            before = current[0] if current else None
            if op.expect is not None:  # a restore: exactly over that version, not LWW
                applied = current is not None and current[1:] == op.expect
            else:
                applied = not current or (op.version, op.origin) > (current[1], current[2])
            if op.if_absent and before is not None:
                applied = False
            results.append(
                WriteResult(
                    applied=applied,
                    before=_loads(before),
                    before_version=None if current is None else (current[1], current[2]),
                )
            )
            if not applied:
                continue
            state[op.collection, op.key] = (op.body, op.version, op.origin)
            final[op.collection][op.key] = op
            if op.body is not None or before is not None:  # deleting nothing is no change
                kind = "delete" if op.body is None else "update" if before else "insert"
                changes.append(
                    (op.collection, op.key, kind, op.version, op.origin, before, op.body, ts)
                )
        for collection, latest in final.items():
            db.executemany(
                f"INSERT INTO {table(collection)}(key, token, body, version, origin, deleted)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET"
                " token = excluded.token, body = excluded.body, version = excluded.version,"
                " origin = excluded.origin, deleted = excluded.deleted",
                [
                    (o.key, o.token, o.body, o.version, o.origin, o.body is None)
                    for o in latest.values()
                ],
            )
        db.executemany(
            "INSERT INTO changelog(collection, key, op, version, origin, before, after, ts)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            changes,
        )
        if not changes:
            return results, []
        # One writer, one transaction: the rows just added hold the last len(changes) seqs.
        [(last,)] = db.execute("SELECT max(seq) FROM changelog").fetchall()
        first = last - len(changes) + 1
        return results, [Change(first + i, *row) for i, row in enumerate(changes)]

    def _apply_claim(self, claim: _Claim) -> ClaimResult:
        collection, field, value, key, replace = claim
        now = self._now_ms()
        if replace is not None:  # a stale owner's claim is taken over only from that owner
            self._writer.execute(
                "UPDATE uniques SET key = ?, claimed_ms = ? WHERE collection = ? AND field = ?"
                " AND value = ? AND key = ?",
                (key, now, collection, field, value, replace),
            )
        # The no-op update makes RETURNING yield the current owner on conflict: one statement.
        [(owner, claimed_ms)] = self._writer.execute(
            "INSERT INTO uniques(collection, field, value, key, claimed_ms) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT(collection, field, value) DO UPDATE SET key = key"
            " RETURNING key, claimed_ms",
            (collection, field, value, key, now),
        ).fetchall()
        if owner == key:
            return ClaimResult(ok=True, owner=None)
        return ClaimResult(ok=False, owner=owner, age_ms=max(0, now - claimed_ms))

    def _apply_descriptor(
        self, old: CollectionDescriptor | None, new: CollectionDescriptor
    ) -> CollectionDescriptor:
        name, t = new["name"], table(new["name"])
        indexes = list(dict.fromkeys([*(old["indexes"] if old else []), *new["indexes"]]))
        merged = CollectionDescriptor(**{**new, "indexes": indexes})
        # Statement by statement: executescript() would COMMIT the group's transaction.
        for statement in (
            f"CREATE TABLE IF NOT EXISTS {t}(id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " key TEXT NOT NULL UNIQUE, token INTEGER NOT NULL, body TEXT,"
            " version INTEGER NOT NULL, origin TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0)",
            # (token, deleted) also covers counting live documents without reading bodies.
            f'CREATE INDEX IF NOT EXISTS "tok:{name}" ON {t}(token, deleted)',
            *(
                f'CREATE INDEX IF NOT EXISTS "ix:{name}:{f}" ON {t}({filters.field_expr(f)})'
                for f in indexes
            ),
        ):
            self._writer.execute(statement)
        self._writer.execute(
            "INSERT INTO collections(name, descriptor) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET descriptor = excluded.descriptor",
            (name, orjson.dumps(merged).decode()),
        )
        return merged

    # -- reads ----------------------------------------------------------------------------

    async def get_raw(self, collection: str, keys: Sequence[str]) -> list[RawDoc | None]:
        t = self._table(collection)
        keys = _list(keys, "keys")
        if not all(isinstance(k, str) for k in keys):
            raise BadRequest("keys must be strings")
        columns = "key, body, version, origin, deleted"
        if len(keys) == 1:  # the common point read: the simplest plan
            rows = self._point_reader.execute(
                f"SELECT {columns} FROM {t} WHERE key = ?", (keys[0],)
            ).fetchall()
        else:
            rows = self._point_reader.execute(
                f"SELECT {columns} FROM {t} WHERE key IN (SELECT value FROM json_each(?))",
                (orjson.dumps(keys).decode(),),
            ).fetchall()
        found = {r[0]: RawDoc(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows}
        return [found.get(k) for k in keys]

    async def get(self, collection: str, keys: Sequence[str]) -> list[StoredDoc | None]:
        """Aligned with `keys`; tombstones included (deleted=True, body None)."""
        return [
            None
            if d is None
            else StoredDoc(
                key=d.key,
                body=_loads(d.body),
                version=d.version,
                origin=d.origin,
                deleted=d.deleted,
            )
            for d in await self.get_raw(collection, keys)
        ]

    async def query_raw(self, request: QueryRequest) -> list[str]:
        """Live bodies as stored JSON text, so a server can send them without re-encoding."""
        return [r[0] for r in await self.query_rows(request)]

    async def query_rows(self, request: QueryRequest) -> list[tuple[str, str, int, str, int]]:
        """(body JSON text, key, version, origin, token) of each matching live document."""
        sql, params = self._query_sql(request)
        return list(await self._reader.execute_fetchall(sql, params))  # type: ignore[arg-type]

    async def explain_query(self, request: QueryRequest) -> list[str]:
        """SQLite's plan for `request`, one line per step (which indexes a filter uses)."""
        sql, params = self._query_sql(request)
        # EXPLAIN never checks the schema cookie: read first so that indexes created since are
        # seen, and make the text unique so that no stale cached statement answers.
        await self._reader.execute_fetchall("SELECT count(*) FROM sqlite_schema")
        self._explains += 1
        rows = await self._reader.execute_fetchall(
            f"EXPLAIN QUERY PLAN {sql} -- {self._explains}", params
        )
        return [r[3] for r in rows]

    def _query_sql(self, request: QueryRequest) -> tuple[str, tuple[Any, ...]]:
        t = self._table(_field(request, "collection", str))
        where = filters.compile_where(_field(request, "where", dict | None))
        ranges = filters.compile_ranges(request.get("ranges"))
        order = filters.compile_order_by(_field(request, "order_by", list | None))
        limit = _field(request, "limit", int | None)
        if limit is not None and (isinstance(limit, bool) or limit < 0):
            raise BadRequest(f"limit must be a non-negative integer or null, got {limit!r}")
        sql = (
            f"SELECT body, key, version, origin, token FROM {t}"
            f" WHERE deleted = 0 AND {ranges.text} AND {where.text}"
            f" ORDER BY {order} LIMIT ?"
        )
        return sql, (*ranges.params, *where.params, -1 if limit is None else limit)

    async def query(self, request: QueryRequest) -> list[dict[str, Any]]:
        return [orjson.loads(text) for text in await self.query_raw(request)]

    async def aggregate(self, request: AggregateRequest) -> AggregateResult:
        t = self._table(_field(request, "collection", str))
        where = filters.compile_where(_field(request, "where", dict | None))
        ranges = filters.compile_ranges(request.get("ranges"))
        fields = list(dict.fromkeys(_field(request, "fields", list | None) or []))
        columns = ["count(*)"]
        for f in fields:
            e = filters.field_expr(f)
            # sum() would count text as 0: only numbers (and booleans, as 0/1) are summed.
            number = f"iif(typeof({e}) IN ('integer', 'real'), {e}, NULL)"
            columns += [f"count({e})", f"sum({number})", f"min({e})", f"max({e})"]
        rows = await self._reader.execute_fetchall(
            f"SELECT {', '.join(columns)} FROM {t}"
            f" WHERE deleted = 0 AND {ranges.text} AND {where.text}",
            (*ranges.params, *where.params),
        )
        row = next(iter(rows))
        return AggregateResult(
            count=row[0],
            fields={
                f: {"count": c, "sum": s, "min": lo, "max": hi}
                for f, (c, s, lo, hi) in zip(fields, _chunks(row[1:], 4), strict=True)
            },
        )

    async def stats(self) -> dict[str, Any]:
        """Live documents per collection and the last change-log sequence number."""
        counts = {}
        for name in list(self._collections):
            rows = await self._reader.execute_fetchall(
                f"SELECT count(*) FROM {table(name)} WHERE deleted = 0"
            )
            counts[name] = {"documents": next(iter(rows))[0]}
        rows = await self._reader.execute_fetchall("SELECT coalesce(max(seq), 0) FROM changelog")
        return {"changelog_seq": next(iter(rows))[0], "collections": counts}

    # -- validation (before a request joins a write group) -----------------------------------

    def _table(self, collection: object) -> str:
        if not isinstance(collection, str) or collection not in self._collections:
            raise BadRequest(
                f"unknown collection {collection!r}; register it with POST /collections first"
            )
        return table(collection)

    def _check_op(self, op: object) -> _Op:
        if not isinstance(op, Mapping):
            raise BadRequest(f"each write must be an object, got {type(op).__name__}")
        self._table(op.get("collection"))
        kind, body = op.get("op"), op.get("body")
        if kind == "put" and not isinstance(body, dict):
            raise BadRequest("a put needs the whole document as an object in 'body'")
        if kind not in ("put", "delete"):
            raise BadRequest(f"write op must be 'put' or 'delete', got {kind!r}")
        try:
            text = orjson.dumps(body).decode() if kind == "put" else None
        except TypeError as e:  # e.g. an integer beyond 64 bits
            raise BadRequest(f"document cannot be stored as JSON: {e}") from None
        return _Op(
            collection=op["collection"],
            key=_field(op, "key", str),
            token=_int64(op.get("token"), "token"),
            body=text,
            version=_int64(op.get("version"), "version"),
            origin=_field(op, "origin", str),
            expect=_expect(op.get("expect")),
            if_absent=op.get("if_absent") is True,
        )

    def _check_claim(self, claim: object) -> _Claim:
        if not isinstance(claim, Mapping):
            raise BadRequest(f"each claim must be an object, got {type(claim).__name__}")
        self._table(claim.get("collection"))
        filters.field_expr(claim.get("field"))
        return (
            claim["collection"],
            claim["field"],
            _field(claim, "value", str),
            _field(claim, "key", str),
            _field(claim, "replace", str | None),
        )


def _check_descriptor(d: object) -> CollectionDescriptor:
    if not isinstance(d, Mapping):
        raise BadRequest(f"a collection descriptor must be an object, got {type(d).__name__}")
    name = d.get("name")
    if not isinstance(name, str) or not COLLECTION_NAME.fullmatch(name):
        raise BadRequest(f"collection name {name!r} must look like 'service.Type'")
    for f in ("key", "shard_key"):
        filters.field_expr(d.get(f))
    paths = {f: _list(d.get(f, []), f"{name}.{f}") for f in ("indexes", "unique")}
    for path in (*paths["indexes"], *paths["unique"]):
        filters.field_expr(path)
    checked = CollectionDescriptor(
        name=name,
        key=d["key"],
        shard_key=d["shard_key"],
        indexes=list(dict.fromkeys(paths["indexes"])),
        unique=list(dict.fromkeys(paths["unique"])),
    )
    vectors = check_specs(d.get("vectors"), name)
    if vectors:
        checked["vectors"] = vectors
    return checked


def _list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list | tuple):
        raise BadRequest(f"'{what}' must be a list, got {type(value).__name__}")
    return list(value)


def _field(obj: Mapping[str, Any], name: str, kind: Any) -> Any:
    value = obj.get(name)
    if not isinstance(value, kind):
        problem = "is missing" if value is None else f"has the wrong type ({type(value).__name__})"
        raise BadRequest(f"'{name}' {problem}; see the request shapes in shards/protocol.py")
    return value


def _expect(value: object) -> tuple[int, str] | None:
    if value is None:
        return None
    if isinstance(value, list | tuple) and len(value) == 2 and isinstance(value[1], str):
        return _int64(value[0], "expect[0]"), value[1]
    raise BadRequest("'expect' must be [version, origin]")


def _int64(value: object, name: str) -> int:
    if type(value) is not int or not filters.INT64_MIN <= value <= filters.INT64_MAX:
        raise BadRequest(f"'{name}' must be a signed 64-bit integer, got {value!r}")
    return value


def _loads(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _chunks(seq: Sequence[Any], n: int) -> list[Sequence[Any]]:
    return [seq[i : i + n] for i in range(0, len(seq), n)]


def _connect_writer(path: str | Path, synchronous: Synchronous) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, cached_statements=256)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.executescript(_SCHEMA)
    except BaseException:
        db.close()
        raise
    return db
