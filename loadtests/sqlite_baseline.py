"""The baseline: the same documents in one raw SQLite table, through stdlib sqlite3.

WAL and synchronous=NORMAL as the shards run; `(id INTEGER PRIMARY KEY, key TEXT UNIQUE, body
TEXT)` with the orjson body. Every insert in ONE transaction (executemany), then point reads
`SELECT body FROM t WHERE key = ?` of random keys from one thread.
"""

from __future__ import annotations

import random
import sqlite3
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from loadtests.measure import percentile


@dataclass(frozen=True)
class SqliteResult:
    inserts_per_second: float
    reads_per_second: float
    read_p50_ms: float
    read_p99_ms: float
    reads: int


def sqlite_baseline(
    path: Path, docs: Sequence[dict[str, Any]], seconds: float, seed: int = 1
) -> SqliteResult:
    db = sqlite3.connect(path, isolation_level=None)  # autocommit: transactions spelled out
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, key TEXT UNIQUE, body TEXT)")

        start = time.perf_counter()  # encoding the bodies counts, as the client's does
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO t(key, body) VALUES (?, ?)",
            ((d["id"], orjson.dumps(d).decode()) for d in docs),
        )
        db.execute("COMMIT")
        insert_seconds = time.perf_counter() - start
        (count,) = db.execute("SELECT count(*) FROM t").fetchone()
        if count != len(docs):
            raise RuntimeError(f"SQLite holds {count} rows after inserting {len(docs)}")

        rng = random.Random(seed)
        keys = [d["id"] for d in docs]
        sample = [rng.choice(keys) for _ in range(1 << 16)]  # choice() would cost as much as a read
        latencies = array("d")
        clock = time.perf_counter
        select = "SELECT body FROM t WHERE key = ?"
        start = clock()
        deadline = start + seconds
        i = 0
        while True:
            sent = clock()
            if sent >= deadline:
                break
            row = db.execute(select, (sample[i & 0xFFFF],)).fetchone()
            latencies.append(clock() - sent)
            if row is None:
                raise RuntimeError(f"SQLite lost the row of {sample[i & 0xFFFF]!r}")
            i += 1
        read_seconds = clock() - start
    finally:
        db.close()
    ordered = sorted(latencies)
    return SqliteResult(
        inserts_per_second=len(docs) / insert_seconds,
        reads_per_second=len(ordered) / read_seconds,
        read_p50_ms=percentile(ordered, 0.50) * 1000,
        read_p99_ms=percentile(ordered, 0.99) * 1000,
        reads=len(ordered),
    )
