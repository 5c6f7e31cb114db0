"""`shardgate bench vectors`: top-10 vector search through the gateway next to raw FAISS on the
same vectors, measured in one run.

    $ shardgate bench vectors --vectors 20000 --dimensions 64 --seconds 5

Data: a Gaussian mixture (50 centres 4 apart, unit noise), not i.i.d. random vectors, on which
approximate indexes look far worse than on real embeddings; queries are held-out samples of
the same mixture. Every document has `group = i % 10`, so `where: {group: {_eq: 3}}` keeps
~10% of them.

shardgate: a real cluster (3 shards, replication 2, as `shardgate up`), the `vbench` service
with one collection per index kind (`FlatDoc`: exact, `HnswDoc`: HNSW at the default
settings), both COSINE and holding the same documents. `searchFlatDocs` / `searchHnswDocs`
with k=10 through `/subgraphs/vbench/graphql`, 8 requests in flight, for `--seconds` each.

Raw FAISS: the same vectors in one in-process index of each kind (IndexFlatIP, IndexHNSWFlat
with the same M/efConstruction/efSearch), one query at a time on one OpenMP thread (as the
shards run it), filters as IDSelectorBitmap.

Recall@10 is measured against exact search (numpy) over the same documents and filter.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import orjson

from loadtests.measure import BenchError, GraphQLClient, percentile, push_schema
from loadtests.store_bench import SHARDS, _interruptible, _run_async, running_cluster
from shards.vector_spec import HNSW_DEFAULTS

SERVICE = "vbench"
IN_FLIGHT = 8
BATCH = 250
QUERIES = 200
K = 10
GROUPS = 10  # `group == 3` keeps ~10%

SCENARIOS = [  # (label, collection, filtered)
    ("flat", "FlatDoc", False),
    ("flat, ~10% filter", "FlatDoc", True),
    ("HNSW", "HnswDoc", False),
    ("HNSW, ~10% filter", "HnswDoc", True),
]


def sdl(dimensions: int) -> str:
    h = HNSW_DEFAULTS
    return f"""\
type FlatDoc @collection @key(fields: "id") {{
  id: ID!
  group: Int! @index
  v: [Float!] @vector(dimensions: {dimensions}, metric: COSINE)
}}
type HnswDoc @collection @key(fields: "id") {{
  id: ID!
  group: Int! @index
  v: [Float!] @vector(dimensions: {dimensions}, metric: COSINE, index: HNSW, m: {h["m"]},
    efConstruction: {h["ef_construction"]}, efSearch: {h["ef_search"]})
}}
"""


@dataclass(frozen=True)
class Measured:
    queries: int
    seconds: float
    p50_ms: float
    p99_ms: float
    recall: float

    @property
    def per_second(self) -> float:
        return self.queries / self.seconds


def run_vector_bench(vectors: int = 20_000, dimensions: int = 64, seconds: float = 5.0) -> int:
    if vectors < 100 or dimensions < 2 or seconds <= 0:
        raise SystemExit("use --vectors >= 100, --dimensions >= 2 and --seconds > 0")
    data, queries = _mixture(vectors, dimensions)
    groups = np.arange(vectors) % GROUPS
    truth = {
        filtered: _exact(data, queries, groups == 3 if filtered else None)
        for filtered in (False, True)
    }
    # One OpenMP thread, as each shard runs FAISS: with the default pool a single query on a
    # busy 2-core machine was ~50x slower (threads spinning against other processes).
    faiss.omp_set_num_threads(1)
    print(f"raw FAISS: {vectors:,} x {dimensions} vectors, {seconds:g} s per scenario...")
    raw = {label: _raw_faiss(data, queries, groups, kind, f, truth[f], seconds)
           for label, kind, f in SCENARIOS}  # fmt: skip
    try:
        with tempfile.TemporaryDirectory(prefix="shardgate-bench-") as tmp, _interruptible():
            print(f"shardgate: starting {SHARDS} shards and a gateway in {tmp}...", flush=True)
            with running_cluster(Path(tmp) / "cluster") as cluster:
                push_schema(f"{cluster.gateway}/admin/services/{SERVICE}", sdl(dimensions))
                url = f"{cluster.gateway}/subgraphs/{SERVICE}/graphql"
                ours = _run_async(_measure(url, data, queries, groups, truth, seconds))
    except BenchError as e:
        raise SystemExit(f"shardgate bench vectors: {e}") from None
    _report(vectors, dimensions, ours, raw)
    return 0


def _mixture(n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(50, d)) * 4
    x = centres[rng.integers(0, 50, n + QUERIES)] + rng.normal(size=(n + QUERIES, d))
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)  # COSINE
    return x[:n], x[n:]


def _exact(data: np.ndarray, queries: np.ndarray, keep: np.ndarray | None) -> list[set[int]]:
    scores = queries.astype(np.float64) @ data.astype(np.float64).T
    if keep is not None:
        scores[:, ~keep] = -np.inf
    return [set(np.argsort(-row)[:K].tolist()) for row in scores]


def _recall(found: list[set[int]], truth: list[set[int]]) -> float:
    return sum(len(f & t) for f, t in zip(found, truth, strict=True)) / (K * len(truth))


def _raw_faiss(
    data: np.ndarray,
    queries: np.ndarray,
    groups: np.ndarray,
    kind: str,
    filtered: bool,
    truth: list[set[int]],
    seconds: float,
) -> Measured:
    d = data.shape[1]
    if kind == "HnswDoc":
        index = faiss.IndexHNSWFlat(d, HNSW_DEFAULTS["m"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_DEFAULTS["ef_construction"]
        params: Any = faiss.SearchParametersHNSW()
        params.efSearch = HNSW_DEFAULTS["ef_search"]
    else:
        index = faiss.IndexFlatIP(d)
        params = faiss.SearchParameters()
    index.add(data)
    bits = np.packbits(groups == 3, bitorder="little")
    if filtered:
        params.sel = faiss.IDSelectorBitmap(len(data), faiss.swig_ptr(bits))

    def one(i: int) -> set[int]:
        _, ids = index.search(queries[i : i + 1], K, params=params)
        return {int(x) for x in ids[0] if x >= 0}

    return _timed(one, truth, seconds)


def _timed(one: Callable[[int], set[int]], truth: list[set[int]], seconds: float) -> Measured:
    found = [one(i) for i in range(len(truth))]  # also warms up
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    i = 0
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        sent = time.perf_counter()
        one(i % len(truth))
        latencies.append(time.perf_counter() - sent)
        i += 1
    return _measured(latencies, time.perf_counter() - start, found, truth)


def _measured(
    latencies: list[float], elapsed: float, found: list[set[int]], truth: list[set[int]]
) -> Measured:
    latencies.sort()
    return Measured(
        len(latencies),
        elapsed,
        percentile(latencies, 0.5) * 1000,
        percentile(latencies, 0.99) * 1000,
        _recall(found, truth),
    )


async def _measure(
    url: str,
    data: np.ndarray,
    queries: np.ndarray,
    groups: np.ndarray,
    truth: dict[bool, list[set[int]]],
    seconds: float,
) -> dict[str, Measured]:
    async with GraphQLClient(url, connections=IN_FLIGHT) as client:
        for collection in ("FlatDoc", "HnswDoc"):
            print(f"shardgate: inserting {len(data):,} {collection}s...", flush=True)
            await _insert(client, collection, data, groups)
        out = {}
        for label, collection, filtered in SCENARIOS:
            print(f"shardgate: {label} top-{K} for {seconds:g} s...", flush=True)
            out[label] = await _search_for(client, collection, queries, filtered, truth, seconds)
        return out


async def _insert(
    client: GraphQLClient, collection: str, data: np.ndarray, groups: np.ndarray
) -> None:
    mutation = (
        f"mutation($o: [{collection}Input!]!) {{ insert{collection}s(objects: $o) {{ id }} }}"
    )
    batches = iter(range(0, len(data), BATCH))

    async def worker() -> None:
        for start in batches:
            objects = [
                {"id": f"d{i}", "group": int(groups[i]), "v": data[i].tolist()}
                for i in range(start, min(start + BATCH, len(data)))
            ]
            await client.call(f"insert{collection}s", mutation, {"o": objects})

    await asyncio.gather(*(worker() for _ in range(4)))


async def _search_for(
    client: GraphQLClient,
    collection: str,
    queries: np.ndarray,
    filtered: bool,
    truth: dict[bool, list[set[int]]],
    seconds: float,
) -> Measured:
    field = f"search{collection}s"
    where = "where: {group: {_eq: 3}}, " if filtered else ""
    query = f"query($v: [Float!]!) {{ {field}(vector: $v, {where}k: {K}) {{ {_lower(collection)} {{ id }} }} }}"  # noqa: E501
    vectors = [q.tolist() for q in queries]

    async def one(i: int) -> set[int]:
        data = await client.call(field, query, {"v": vectors[i]})
        return {int(h[_lower(collection)]["id"][1:]) for h in data[field]}

    found = [await one(i) for i in range(len(queries))]  # recall, and warm-up
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))

    async def worker() -> None:
        while time.perf_counter() < deadline:
            i = next(counter) % len(queries)
            sent = time.perf_counter()
            await one(i)
            latencies.append(time.perf_counter() - sent)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return _measured(latencies, time.perf_counter() - start, found, truth[filtered])


def _lower(name: str) -> str:
    return name[:1].lower() + name[1:]


def _report(
    vectors: int, dimensions: int, ours: dict[str, Measured], raw: dict[str, Measured]
) -> None:
    print(
        f"\n{vectors:,} vectors x {dimensions} dims (COSINE), top-{K}; shardgate: {SHARDS} "
        f"shards, replication 2, {IN_FLIGHT} requests in flight; raw FAISS: one query at a time"
    )
    head = ("scenario", "q/s", "p50 ms", "p99 ms", "recall@10", "FAISS q/s", "p50 ms",
            "p99 ms", "recall@10", "q/s ratio", "p50 ratio")  # fmt: skip
    rows = [head]
    for label, _, _ in SCENARIOS:
        o, r = ours[label], raw[label]
        rows.append(
            (
                label,
                f"{o.per_second:,.0f}",
                f"{o.p50_ms:.2f}",
                f"{o.p99_ms:.2f}",
                f"{o.recall:.3f}",
                f"{r.per_second:,.0f}",
                f"{r.p50_ms:.3f}",
                f"{r.p99_ms:.3f}",
                f"{r.recall:.3f}",
                f"{o.per_second / r.per_second:.4f}",
                f"{o.p50_ms / r.p50_ms:.1f}x",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    for row in rows:
        print(" | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(row, widths, strict=True))))  # fmt: skip
    summary = {
        label: {
            "shardgate": {**ours[label].__dict__, "per_second": ours[label].per_second},
            "faiss": {**raw[label].__dict__, "per_second": raw[label].per_second},
        }
        for label, _, _ in SCENARIOS
    }
    print(orjson.dumps({"vectors": vectors, "dimensions": dimensions, **summary}).decode())
