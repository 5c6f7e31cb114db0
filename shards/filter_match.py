"""Does a document match a `where`? Answered by SQLite itself, with the SQL the shards run.

Permission checks need it for documents that are not (or not yet) in a shard's table: a
document about to be inserted, an update's result, the newest of several replicas' copies.
Compiling the filter with `shards.filters` and evaluating it in an in-memory SQLite gives
exactly the shards' semantics (nulls, type order, LIKE), with no second implementation:

    >>> matching({"total": {"_gt": 10}}, [{"total": 12}, {"total": 3}, {}])
    [True, False, False]
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from shards.filters import compile_where

_local = threading.local()


def matching(where: Mapping[str, Any] | None, docs: Sequence[Mapping[str, Any]]) -> list[bool]:
    """One bool per document; raises shards.errors.BadRequest for an invalid filter."""
    if where is None:
        return [True] * len(docs)
    if not docs:
        return []
    sql = compile_where(where)
    rows = _connection().execute(
        f"SELECT CASE WHEN {sql.text} THEN 1 ELSE 0 END "
        "FROM (SELECT value AS body, key AS position FROM json_each(?)) ORDER BY position",
        (*sql.params, orjson.dumps(list(docs)).decode()),
    )
    return [bool(r[0]) for r in rows]


def _connection() -> sqlite3.Connection:
    # In memory and per thread: nothing is stored, and sqlite3 objects stay on their thread.
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = sqlite3.connect(":memory:", check_same_thread=True)
    return conn
