"""The bench's output: a table of shardgate next to raw SQLite, CPU per phase, a JSON line.

metric                 | shardgate | raw SQLite | ratio (shardgate / baseline)
-----------------------+-----------+------------+-----------------------------
inserts (documents/s)  |    12,295 |    335,780 |                       0.0366
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from loadtests.measure import BATCH, INSERT_IN_FLIGHT, READ_IN_FLIGHT, StoreResult
from loadtests.sqlite_baseline import SqliteResult

_KEYS = ("inserts_per_s", "reads_per_s", "read_p50_ms", "read_p99_ms")


@dataclass(frozen=True)
class Setup:
    documents: int
    seconds: float  # of key reads
    shards: int
    replication: int
    write_consistency: str
    read_consistency: str


def print_report(setup: Setup, store: StoreResult, base: SqliteResult) -> None:
    ins, rd = store.inserts, store.reads
    rows: list[tuple[str, float, float, Callable[[float], str]]] = [
        ("inserts (documents/s)", ins.per_second, base.inserts_per_second, _count),
        ("key reads (requests/s)", rd.per_second, base.reads_per_second, _count),
        ("key read p50 (ms)", rd.p50_ms, base.read_p50_ms, _ms),
        ("key read p99 (ms)", rd.p99_ms, base.read_p99_ms, _ms),
    ]
    if store.supergraph_reads is not None:
        sg = store.supergraph_reads
        rows += [
            ("key reads via /graphql (req/s)", sg.per_second, base.reads_per_second, _count),
            ("  p50 (ms)", sg.p50_ms, base.read_p50_ms, _ms),
            ("  p99 (ms)", sg.p99_ms, base.read_p99_ms, _ms),
        ]
    print()
    print(
        f"setup: {setup.documents:,} documents, {setup.shards} shards, replication "
        f"{setup.replication}, writes {setup.write_consistency} / reads {setup.read_consistency}, "
        f"in flight: {INSERT_IN_FLIGHT} insert batches of {BATCH}, {READ_IN_FLIGHT} key reads, "
        f"{setup.seconds:g} s of reads; Python {platform.python_version()}, {os.cpu_count()} CPUs "
        f"(shared by the bench client, {setup.shards} shards and the gateway)"
    )
    table = [("metric", "shardgate", "raw SQLite", "ratio (shardgate / baseline)")]
    table += [(name, f(ours), f(theirs), _ratio(ours, theirs)) for name, ours, theirs, f in rows]
    _print_table(table, right=(1, 2, 3))
    print(
        "  (a throughput ratio under 1, or a latency ratio over 1, is how much slower shardgate is)"
    )
    print(
        f"  shardgate: {ins.documents:,} documents in {ins.seconds:.2f} s (each stored on "
        f"{setup.replication} replicas with a change-log row), {rd.requests:,} reads in "
        f"{rd.seconds:.2f} s; raw SQLite: {base.reads:,} reads"
    )
    print()
    cpu = [
        ("CPU seconds (user+sys)", "wall s", "gateway", f"{setup.shards} shards", "bench client")
    ]
    for phase, wall, used in (
        ("inserts", ins.seconds, store.cpu["inserts"]),
        ("key reads", rd.seconds, store.cpu["reads"]),
    ):
        cpu.append(
            (phase, f"{wall:.2f}", *(f"{used[k]:.2f}" for k in ("gateway", "shards", "client")))
        )
    _print_table(cpu, right=(1, 2, 3, 4))
    summary = {
        "bench": "store",
        "documents": setup.documents,
        "seconds": setup.seconds,
        "shards": setup.shards,
        "replication": setup.replication,
        "write_consistency": setup.write_consistency,
        "read_consistency": setup.read_consistency,
        "batch": BATCH,
        "insert_in_flight": INSERT_IN_FLIGHT,
        "read_in_flight": READ_IN_FLIGHT,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "shardgate": _figures(ins.per_second, rd.per_second, rd.p50_ms, rd.p99_ms),
        "sqlite": _figures(
            base.inserts_per_second, base.reads_per_second, base.read_p50_ms, base.read_p99_ms
        ),
        "ratios": {
            key: round(ours / theirs, 6) if theirs else None
            for key, (_, ours, theirs, _) in zip(_KEYS, rows[: len(_KEYS)], strict=True)
        },
        "cpu_seconds": store.cpu,
    }
    if store.supergraph_reads is not None:
        sg = store.supergraph_reads
        summary["supergraph_reads"] = {
            "reads_per_s": round(sg.per_second, 1),
            "read_p50_ms": round(sg.p50_ms, 4),
            "read_p99_ms": round(sg.p99_ms, 4),
        }
    print()
    print(orjson.dumps(summary).decode(), flush=True)


def _figures(*values: float) -> dict[str, float]:
    return {
        k: round(v, 1 if k.endswith("_per_s") else 4) for k, v in zip(_KEYS, values, strict=True)
    }


def _print_table(rows: list[tuple[str, ...]], right: tuple[int, ...]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, r in enumerate(rows):
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        print("  " + " | ".join(cells).rstrip())
        if n == 0:
            print("  " + "-+-".join("-" * w for w in widths))


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _ms(value: float) -> str:
    return f"{value:.3g}" if value >= 0.01 else f"{value:.4f}"


def _ratio(ours: float, theirs: float) -> str:
    if not theirs:
        return "n/a"
    r = ours / theirs
    return f"{r:,.0f}" if r >= 1000 else f"{r:.3g}"
