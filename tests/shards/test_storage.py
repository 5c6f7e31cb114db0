"""ShardStorage: last-writer-wins, tombstones, the change log, queries, claims, group commit."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from shards.errors import BadRequest, ShardError
from shards.hlc import HybridClock, version_ms
from shards.protocol import CollectionDescriptor, QueryRequest, WriteOp
from shards.storage import ShardStorage

USERS = CollectionDescriptor(
    name="users.User", key="id", shard_key="id", indexes=["email"], unique=["email"]
)
ORDERS = CollectionDescriptor(
    name="orders.Order", key="id", shard_key="userId", indexes=[], unique=[]
)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
async def storage(db_path: Path) -> AsyncIterator[ShardStorage]:
    async with await ShardStorage.open(db_path, now_ms=lambda: 1_000) as s:
        await s.ensure_collections([USERS, ORDERS])
        yield s


def put(key: str, body: dict[str, Any], version: int, origin: str = "a", **kw: Any) -> WriteOp:
    return WriteOp(
        collection=kw.get("collection", "users.User"),
        key=key,
        token=kw.get("token", 0),
        op="put",
        body={"id": key, **body},
        version=version,
        origin=origin,
    )


def delete(key: str, version: int, origin: str = "a", token: int = 0) -> WriteOp:
    return WriteOp(
        collection="users.User",
        key=key,
        token=token,
        op="delete",
        body=None,
        version=version,
        origin=origin,
    )


def changelog(path: Path) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(
            "SELECT key, op, version, origin, before, after FROM changelog ORDER BY seq"
        ).fetchall()


def row_id(path: Path, key: str) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return int(
            conn.execute('SELECT id FROM "c:users.User" WHERE key = ?', (key,)).fetchone()[0]
        )


async def test_put_get_and_missing(storage: ShardStorage) -> None:
    [result] = await storage.write([put("u1", {"email": "a@x"}, version=10)])
    assert result == {"applied": True, "before": None, "before_version": None}
    assert await storage.get("users.User", ["u1", "nope"]) == [
        {
            "key": "u1",
            "body": {"id": "u1", "email": "a@x"},
            "version": 10,
            "origin": "a",
            "deleted": False,
        },
        None,
    ]


async def test_last_writer_wins(storage: ShardStorage, db_path: Path) -> None:
    await storage.write([put("u1", {"n": 1}, version=10, origin="b")])
    results = await storage.write(
        [
            put("u1", {"n": 2}, version=9, origin="z"),  # older: ignored
            put("u1", {"n": 3}, version=10, origin="a"),  # same version, lower origin: loses
            put("u1", {"n": 4}, version=10, origin="b"),  # an exact replay: not applied again
        ]
    )
    assert [r["applied"] for r in results] == [False, False, False]
    assert results[0]["before"] == {"id": "u1", "n": 1}
    [winner] = await storage.write([put("u1", {"n": 5}, version=10, origin="c")])  # tie: origin
    # before_version: what a take-back would restore
    assert winner == {"applied": True, "before": {"id": "u1", "n": 1}, "before_version": (10, "b")}
    [doc] = await storage.get("users.User", ["u1"])
    assert doc is not None and doc["body"] == {"id": "u1", "n": 5} and doc["origin"] == "c"
    assert [(k, op, v, o) for k, op, v, o, *_ in changelog(db_path)] == [
        ("u1", "insert", 10, "b"),
        ("u1", "update", 10, "c"),
    ]


async def test_expect_applies_only_over_that_exact_version(storage: ShardStorage) -> None:
    await storage.write([put("k", {"n": 1}, 10)])
    # A take-back of version 10 by origin "a" puts back the previous state at its own, older
    # version: it applies although its version is lower (a restore is not last-writer-wins).
    restore = {**put("k", {"n": 0}, 3, "z"), "expect": (10, "a")}
    assert [r["applied"] for r in await storage.write([restore])] == [True]
    [doc] = await storage.get("users.User", ["k"])
    assert doc is not None and (doc["version"], doc["origin"]) == (3, "z")
    await storage.write([put("k", {"n": 1}, 11)])
    # Someone else wrote since: a take-back that expects version 11 must not undo version 12.
    await storage.write([put("k", {"n": 2}, 12, "b")])
    late = {**put("k", {"n": 0}, 13), "expect": (11, "a")}
    assert [r["applied"] for r in await storage.write([late])] == [False]
    [doc] = await storage.get("users.User", ["k"])
    assert doc is not None and doc["body"] == {"id": "k", "n": 2}
    with pytest.raises(BadRequest, match="expect"):
        await storage.write([{**put("k", {}, 14), "expect": "nope"}])


async def test_changelog_records_before_and_after(storage: ShardStorage, db_path: Path) -> None:
    await storage.write([put("u1", {"n": 1}, 1)])
    await storage.write([put("u1", {"n": 2}, 2)])
    await storage.write([delete("u1", 3)])
    assert changelog(db_path) == [
        ("u1", "insert", 1, "a", None, '{"id":"u1","n":1}'),
        ("u1", "update", 2, "a", '{"id":"u1","n":1}', '{"id":"u1","n":2}'),
        ("u1", "delete", 3, "a", '{"id":"u1","n":2}', None),
    ]


async def test_delete_leaves_a_tombstone_that_beats_older_puts(
    storage: ShardStorage, db_path: Path
) -> None:
    await storage.write([put("u1", {"n": 1}, 1)])
    first_id = row_id(db_path, "u1")
    [deleted] = await storage.write([delete("u1", 5)])
    assert deleted == {"applied": True, "before": {"id": "u1", "n": 1}, "before_version": (1, "a")}
    assert await storage.get("users.User", ["u1"]) == [
        {"key": "u1", "body": None, "version": 5, "origin": "a", "deleted": True}
    ]
    assert await storage.query({"collection": "users.User"}) == []
    [late] = await storage.write([put("u1", {"n": 2}, 4)])  # older than the delete
    assert late["applied"] is False and late["before"] is None
    [again] = await storage.write([put("u1", {"n": 3}, 6)])  # newer: a fresh insert
    assert again == {"applied": True, "before": None, "before_version": (5, "a")}
    assert row_id(db_path, "u1") == first_id  # the row, and so its vector id, is kept
    assert [op for _, op, *_ in changelog(db_path)] == ["insert", "delete", "insert"]


async def test_delete_of_absent_key_stores_tombstone_without_changelog(
    storage: ShardStorage, db_path: Path
) -> None:
    [result] = await storage.write([delete("ghost", 7)])
    assert result == {"applied": True, "before": None, "before_version": None}
    assert changelog(db_path) == []
    [late] = await storage.write([put("ghost", {}, 6)])
    assert late["applied"] is False
    [doc] = await storage.get("users.User", ["ghost"])
    assert doc is not None and doc["deleted"] and doc["version"] == 7


async def test_ops_on_one_key_in_one_batch_apply_in_order(
    storage: ShardStorage, db_path: Path
) -> None:
    results = await storage.write(
        [put("u1", {"n": 1}, 1), put("u1", {"n": 2}, 3), put("u1", {"n": 9}, 2), delete("u1", 4)]
    )
    assert [r["applied"] for r in results] == [True, True, False, True]
    assert results[2]["before"] == {"id": "u1", "n": 2}
    assert [op for _, op, *_ in changelog(db_path)] == ["insert", "update", "delete"]


async def test_invalid_batch_writes_nothing(storage: ShardStorage, db_path: Path) -> None:
    good = put("u1", {"n": 1}, 1)
    for bad in (
        {**good, "collection": "nope.Nope"},
        {**good, "op": "upsert"},
        {**good, "version": "1"},
        {**good, "token": 2**63},
        {**good, "body": None},
        {**good, "body": {"big": 2**70}},
        "not an op",
    ):
        with pytest.raises(BadRequest):
            await storage.write([good, bad])  # type: ignore[list-item]
    assert await storage.get("users.User", ["u1"]) == [None]
    assert changelog(db_path) == []


def add_failing_trigger(path: Path) -> None:
    """Make the change-log insert fail for key 'boom', after its document row is written."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON changelog WHEN NEW.key = 'boom'"
            " BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
        conn.commit()


async def test_failing_batch_rolls_back_entirely(storage: ShardStorage, db_path: Path) -> None:
    add_failing_trigger(db_path)
    with pytest.raises(sqlite3.IntegrityError):
        await storage.write([put("u1", {}, 1), put("boom", {}, 1)])
    assert await storage.get("users.User", ["u1", "boom"]) == [None, None]
    assert changelog(db_path) == []


async def test_group_commit_coalesces_concurrent_writers(
    storage: ShardStorage, db_path: Path
) -> None:
    before = storage.transactions
    batches = [[put(f"k{i}-{j}", {"i": i}, version=1) for j in range(5)] for i in range(40)]
    # Contended key: the highest version must win whatever order the callers land in.
    batches += [[put("hot", {"v": v}, version=v)] for v in (3, 7, 5, 1)]
    results = await asyncio.gather(*(storage.write(b) for b in batches))
    assert storage.transactions - before <= 2
    assert all(r["applied"] for rs in results[:40] for r in rs)
    assert [rs[0]["applied"] for rs in results[40:]] == [True, True, False, False]
    [hot] = await storage.get("users.User", ["hot"])
    assert hot is not None and hot["body"] == {"id": "hot", "v": 7}
    assert (await storage.stats())["collections"]["users.User"] == {"documents": 201}
    assert len(changelog(db_path)) == 202  # 200 inserts + hot's insert and one update


async def test_a_bad_caller_fails_alone_in_a_group(storage: ShardStorage, db_path: Path) -> None:
    add_failing_trigger(db_path)
    outcomes = await asyncio.gather(
        storage.write([put("ok1", {}, 1)]),
        storage.write([put("x", {}, 1, collection="nope.Nope")]),  # refused before the group
        storage.write([put("ok2", {}, 1), put("boom", {}, 1)]),  # fails inside the group
        storage.write([put("ok3", {}, 1)]),
        storage.claim([{"collection": "users.User", "field": "email", "value": '"e"', "key": "k"}]),
        return_exceptions=True,
    )
    assert isinstance(outcomes[1], BadRequest) and "unknown collection" in str(outcomes[1])
    assert isinstance(outcomes[2], sqlite3.IntegrityError)
    assert outcomes[0] == outcomes[3] == [{"applied": True, "before": None, "before_version": None}]
    assert outcomes[4] == [{"ok": True, "owner": None}]
    docs = await storage.get("users.User", ["ok1", "ok2", "ok3", "boom"])
    assert [d is not None for d in docs] == [True, False, True, False]


async def test_query_where_order_limit_and_ranges(storage: ShardStorage) -> None:
    await storage.write(
        [
            put("a", {"email": "a@x", "age": 30}, 1, token=-5),
            put("b", {"email": "b@x", "age": 20}, 1, token=0),
            put("c", {"email": "c@x", "age": 30}, 1, token=5),
            put("d", {"email": "d@x"}, 1, token=10),
            put("e", {"email": "e@x", "age": 40}, 1, token=15),
        ]
    )
    await storage.write([delete("e", 2, token=15)])

    async def keys(**request: Any) -> list[str]:
        docs = await storage.query(QueryRequest(collection="users.User", **request))
        return [d["id"] for d in docs]

    assert await keys() == ["a", "b", "c", "d"]  # tombstones never show
    assert await keys(where={"age": {"_is_null": True}}) == ["d"]
    age_desc = [{"field": "age", "direction": "DESC", "nulls": "LAST"}]
    assert await keys(order_by=age_desc) == ["a", "c", "b", "d"]  # ties broken by key
    assert await keys(order_by=[{"field": "age", "direction": "DESC"}]) == ["d", "a", "c", "b"]
    assert await keys(order_by=age_desc, limit=2) == ["a", "c"]
    assert await keys(limit=0) == []
    assert await keys(ranges=[[-5, -1], [0, 4], [10, 20]]) == ["a", "b", "d"]
    assert await keys(ranges=[]) == []
    assert await storage.query_raw({"collection": "users.User", "where": {"age": {"_eq": 20}}}) == [
        '{"id":"b","email":"b@x","age":20}'
    ]


async def test_expression_index_is_used(storage: ShardStorage) -> None:
    plan = await storage.explain_query(
        {"collection": "users.User", "where": {"email": {"_eq": "a@x"}}}
    )
    assert any("ix:users.User:email" in line for line in plan), plan
    plan = await storage.explain_query(
        {"collection": "users.User", "where": {"email": {"_in": ["a@x", "b@x"]}}}
    )
    assert any("ix:users.User:email" in line for line in plan), plan


async def test_aggregate(storage: ShardStorage) -> None:
    await storage.write(
        [
            put("a", {"age": 30, "score": 1.5, "name": "x"}, 1, token=1),
            put("b", {"age": 20, "name": "y"}, 1, token=2),
            put("c", {"age": None}, 1, token=3),
            put("d", {"age": 99}, 1, token=4),
        ]
    )
    await storage.write([delete("d", 2, token=4)])
    result = await storage.aggregate(
        {"collection": "users.User", "fields": ["age", "score", "name"]}
    )
    assert result == {
        "count": 3,
        "fields": {
            "age": {"count": 2, "sum": 50, "min": 20, "max": 30},
            "score": {"count": 1, "sum": 1.5, "min": 1.5, "max": 1.5},
            "name": {"count": 2, "sum": None, "min": "x", "max": "y"},
        },
    }
    some = await storage.aggregate(
        {"collection": "users.User", "where": {"age": {"_gt": 25}}, "ranges": [[0, 10]]}
    )
    assert some == {"count": 1, "fields": {}}
    none = await storage.aggregate({"collection": "users.User", "ranges": [], "fields": ["age"]})
    assert none == {
        "count": 0,
        "fields": {"age": {"count": 0, "sum": None, "min": None, "max": None}},
    }


async def test_claims_and_release(db_path: Path) -> None:
    now = [1_000]
    storage = await ShardStorage.open(db_path, now_ms=lambda: now[0])
    await storage.ensure_collections([USERS])

    def claim(value: str, key: str, **extra: str) -> Any:
        return {"collection": "users.User", "field": "email", "value": value, "key": key, **extra}

    try:
        assert await storage.claim([claim('"a@x"', "u1"), claim('"b@x"', "u1")]) == [
            {"ok": True, "owner": None},
            {"ok": True, "owner": None},
        ]
        now[0] += 250
        assert await storage.claim([claim('"a@x"', "u1"), claim('"a@x"', "u2")]) == [
            {"ok": True, "owner": None},  # the owner may claim again
            {"ok": False, "owner": "u1", "age_ms": 250},  # held by u1 for 250 ms
        ]
        await storage.release([claim('"a@x"', "u2")])  # not the owner: nothing released
        assert (await storage.claim([claim('"a@x"', "u2")]))[0]["owner"] == "u1"
        # A take-over only from the owner it names: u3 names the wrong one and fails.
        assert (await storage.claim([claim('"a@x"', "u3", replace="u9")]))[0]["ok"] is False
        assert await storage.claim([claim('"a@x"', "u3", replace="u1")]) == [
            {"ok": True, "owner": None}
        ]
        await storage.release([claim('"a@x"', "u3")])
        assert await storage.claim([claim('"a@x"', "u2")]) == [{"ok": True, "owner": None}]
        with pytest.raises(BadRequest, match="unknown collection"):
            await storage.claim([{**claim('"z"', "u1"), "collection": "nope.Nope"}])
    finally:
        await storage.close()


async def test_reopen_keeps_data_descriptors_and_ids(db_path: Path) -> None:
    async with await ShardStorage.open(db_path) as s:
        await s.ensure_collections([USERS])
        await s.write([put("u1", {"email": "a@x"}, 1), put("u2", {}, 1)])
        await s.write([delete("u2", 2)])
    top_id = row_id(db_path, "u2")
    async with await ShardStorage.open(db_path, synchronous="FULL") as s:
        assert s.collections == {"users.User": USERS}
        [doc] = await s.get("users.User", ["u1"])
        assert doc is not None and doc["body"] == {"id": "u1", "email": "a@x"}
        await s.write([put("u3", {}, 1)])
        assert (await s.stats()) == {
            "changelog_seq": 4,
            "collections": {"users.User": {"documents": 2}},
        }
    assert row_id(db_path, "u3") > top_id


async def test_descriptors_are_additive(storage: ShardStorage) -> None:
    request = QueryRequest(collection="users.User", where={"name": {"_eq": "x"}})
    assert not any("ix:users.User:name" in line for line in await storage.explain_query(request))
    await storage.ensure_collections([{**USERS, "indexes": ["name"]}])  # email not dropped
    assert storage.collections["users.User"]["indexes"] == ["email", "name"]
    assert any("ix:users.User:name" in line for line in await storage.explain_query(request))
    await storage.ensure_collections([{**USERS, "indexes": ["name"]}])  # idempotent


@pytest.mark.parametrize(
    "descriptor",
    [
        {**USERS, "name": "users"},
        {**USERS, "name": 'users.User"; DROP'},
        {**USERS, "indexes": ["bad path"]},
        {**USERS, "key": None},
        "users.User",
    ],
)
async def test_bad_descriptors(storage: ShardStorage, descriptor: Any) -> None:
    with pytest.raises(BadRequest):
        await storage.ensure_collections([descriptor])


async def test_unknown_collection_everywhere(storage: ShardStorage) -> None:
    with pytest.raises(BadRequest, match=r"unknown collection 'nope\.Nope'"):
        await storage.get("nope.Nope", ["k"])
    with pytest.raises(BadRequest, match="unknown collection"):
        await storage.query({"collection": "nope.Nope"})
    with pytest.raises(BadRequest, match="unknown collection"):
        await storage.aggregate({"collection": "nope.Nope"})
    with pytest.raises(BadRequest, match="limit"):
        await storage.query({"collection": "users.User", "limit": -1})


async def test_closed_storage_refuses_writes(db_path: Path) -> None:
    s = await ShardStorage.open(db_path)
    await s.ensure_collections([USERS])
    await s.close()
    await s.close()  # idempotent
    with pytest.raises(ShardError, match="closed"):
        await s.write([put("u1", {}, 1)])


# -- the hybrid logical clock the coordinator versions writes with --------------------------


def test_clock_follows_wall_time_and_never_goes_back() -> None:
    now = [1_000]
    clock = HybridClock(now_ms=lambda: now[0])
    first, second = clock.tick(), clock.tick()
    assert (first, second) == (1_000 << 16, (1_000 << 16) + 1)
    now[0] = 900  # the wall clock stepped back
    assert clock.tick() == second + 1
    now[0] = 2_000
    assert clock.tick() == 2_000 << 16 and version_ms(clock.last) == 2_000


def test_clock_observes_remote_versions() -> None:
    clock = HybridClock(now_ms=lambda: 1_000)
    clock.observe(5_000 << 16 | 7)
    assert clock.tick() == (5_000 << 16) + 8
    clock.observe(1)  # older: no effect
    assert clock.tick() == (5_000 << 16) + 9


def test_clock_counter_overflow_carries_into_time() -> None:
    clock = HybridClock(now_ms=lambda: 1)
    versions = [clock.tick() for _ in range(70_000)]
    assert all(a < b for a, b in itertools.pairwise(versions))
    assert version_ms(versions[-1]) == 2  # ran a millisecond ahead of the wall


async def test_hooks_see_each_applied_change_with_its_changelog_seq(
    storage: ShardStorage, db_path: Path
) -> None:
    seen: list[tuple[int, str, str]] = []
    storage.add_commit_hook(lambda changes: seen.extend((c.seq, c.key, c.op) for c in changes))
    await storage.write([put("a", {}, 1), put("b", {}, 1), put("a", {"n": 1}, 2)])
    await storage.write([put("a", {}, 1)])  # stale: no change, no hook call
    await storage.write([delete("b", 3)])
    assert seen == [(1, "a", "insert"), (2, "b", "insert"), (3, "a", "update"), (4, "b", "delete")]
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("SELECT seq, key FROM changelog ORDER BY seq").fetchall() == [
            (1, "a"),
            (2, "b"),
            (3, "a"),
            (4, "b"),
        ]


async def test_a_transaction_hook_commits_or_rolls_back_with_the_change(
    storage: ShardStorage, db_path: Path
) -> None:
    def outbox(db: sqlite3.Connection, changes: Any) -> None:
        db.execute("CREATE TABLE IF NOT EXISTS side(seq INTEGER)")
        db.executemany("INSERT INTO side VALUES (?)", [(c.seq,) for c in changes])
        if any(c.key == "boom" for c in changes):
            raise RuntimeError("refused")

    storage.add_transaction_hook(outbox)
    await storage.write([put("a", {}, 1)])
    with pytest.raises(RuntimeError):
        await storage.write([put("boom", {}, 1)])
    with closing(sqlite3.connect(db_path)) as db:
        assert db.execute("SELECT seq FROM side").fetchall() == [(1,)]
    assert await storage.get("users.User", ["boom"]) == [None]
    assert [key for key, *_ in changelog(db_path)] == ["a"]


async def test_a_failing_commit_hook_does_not_fail_the_writer(storage: ShardStorage) -> None:
    def broken(changes: Any) -> None:
        raise RuntimeError("hook bug")

    storage.add_commit_hook(broken)
    [result] = await storage.write([put("a", {}, 1)])
    assert result["applied"]
