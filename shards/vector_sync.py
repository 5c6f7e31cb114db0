"""Keeping a shard's vector indexes equal to its SQLite: build from the table, re-read changed
keys, verify. Every function runs on the shard's vector thread (`shards.vectors`) with that
thread's read-only connection.

Applying a change re-reads the document's current row (by key) rather than trusting the
change's `after`: applying twice, or late, converges on what SQLite holds. That is also how a
loaded file is caught up: every key the change log records after the file's position is
re-read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import orjson

from shards.storage import table
from shards.vector_index import Floats, VectorIndex
from shards.vector_spec import VectorFieldSpec, stored_vector

BUILD_BATCH = 10_000  # rows read and added to FAISS at a time
FLOAT32_MAX = float(np.finfo(np.float32).max)


def build(
    conn: sqlite3.Connection, collection: str, spec: VectorFieldSpec, *, retrain: bool = True
) -> VectorIndex:
    """A new index over every live document of `collection` with a usable vector.

    `retrain`: an IVF index is trained on all of them (up to FAISS's sample size) once they
    are all read, rather than on the first ones to arrive."""
    field = spec["field"]
    index = VectorIndex(spec, defer_training=retrain)
    cursor = conn.execute(
        f"SELECT id, token, json_extract(body, '$.{field}') FROM {table(collection)}"
        f" WHERE deleted = 0 AND json_type(body, '$.{field}') = 'array'"
    )
    while batch := cursor.fetchmany(BUILD_BATCH):
        rows, tokens, vectors = _usable(
            ((row_id, token, orjson.loads(text)) for row_id, token, text in batch), spec
        )
        if len(rows):
            index.upsert(rows, tokens, vectors)
    index.finish_deferred_training()
    return index


def sync_keys(
    conn: sqlite3.Connection,
    collection: str,
    keys: Iterable[str],
    indexes: Sequence[VectorIndex],
) -> None:
    """Make `indexes` (of `collection`'s vector fields) hold exactly what SQLite holds for
    `keys`: a vector for each live document that has a usable one, nothing for the others."""
    if not indexes:
        return
    rows = conn.execute(
        f"SELECT id, token, body FROM {table(collection)}"
        " WHERE key IN (SELECT value FROM json_each(?))",
        (orjson.dumps(sorted(keys)).decode(),),
    ).fetchall()
    docs = [
        (row_id, token, None if body is None else orjson.loads(body))
        for row_id, token, body in rows
    ]
    for index in indexes:
        field = index.spec["field"]
        found = [(r, t, None if d is None else d.get(field)) for r, t, d in docs]
        up_rows, up_tokens, vectors = _usable(found, index.spec)
        index.remove([r for r, _, _ in docs])
        if len(up_rows):
            index.upsert(up_rows, up_tokens, vectors)
        if index.needs_compaction():
            index.compact()


def verify(conn: sqlite3.Connection, collection: str, index: VectorIndex) -> dict[str, Any]:
    """Live vectors, and the row ids the index and SQLite disagree on (the first 100)."""
    field = index.spec["field"]
    live = {
        i
        for (i,) in conn.execute(
            f"SELECT id FROM {table(collection)}"
            f" WHERE deleted = 0 AND json_type(body, '$.{field}') = 'array'"
        )
    }
    indexed = index.row_ids()
    return {
        "indexed": len(indexed),
        "missing": sorted(live - indexed)[:100],
        "extra": sorted(indexed - live)[:100],
    }


def max_seq(conn: sqlite3.Connection) -> int:
    [(seq,)] = conn.execute("SELECT coalesce(max(seq), 0) FROM changelog").fetchall()
    return int(seq)


def keys_changed_since(conn: sqlite3.Connection, collection: str, seq: int) -> list[str]:
    return [
        key
        for (key,) in conn.execute(
            "SELECT DISTINCT key FROM changelog WHERE collection = ? AND seq > ?",
            (collection, seq),
        )
    ]


def _usable(
    found: Iterable[tuple[int, int, object]], spec: VectorFieldSpec
) -> tuple[list[int], list[int], Floats]:
    """The rows whose value is a usable vector for `spec`, with their tokens and vectors.

    Fast path: the values of one batch converted at once (a million 128-dim vectors: seconds,
    not minutes); a batch holding anything odd is checked value by value."""
    d = spec["dimensions"]
    rows, tokens, values = [], [], []
    for row_id, token, value in found:
        if isinstance(value, list) and len(value) == d:
            rows.append(row_id)
            tokens.append(token)
            values.append(value)
    if not values:
        return [], [], np.empty((0, d), np.float32)
    try:
        vectors = np.asarray(values, np.float64)
        if vectors.shape != (len(values), d):
            raise ValueError("ragged")
    except (ValueError, TypeError):  # a string, a nested list...: check each
        kept = [i for i, v in enumerate(values) if stored_vector(v, spec) is not None]
        vectors = np.asarray([values[i] for i in kept], np.float64).reshape(-1, d)
        rows, tokens = [rows[i] for i in kept], [tokens[i] for i in kept]
    finite = (np.abs(vectors) <= FLOAT32_MAX).all(axis=1)  # also False for NaN
    if not finite.all():
        keep = np.flatnonzero(finite)
        vectors = vectors[keep]
        rows, tokens = [rows[i] for i in keep], [tokens[i] for i in keep]
    return rows, tokens, vectors.astype(np.float32)
