"""`shardgate bench vectors`: top-10 vector search through the gateway next to raw FAISS on the
same vectors, measured in one run.

    $ shardgate bench vectors                                   # 20,000 x 64, a minute or two
    $ shardgate bench vectors --vectors 1000000 --dimensions 128 --clusters 1000

Data: a Gaussian mixture (`--clusters` centres 4 apart, unit noise; not i.i.d. random vectors,
on which approximate indexes look far worse than on real embeddings), normalised (COSINE) and
rounded to 5 decimals (shorter JSON; both sides get the same numbers). Queries are held-out
samples of the same mixture. Every document has `group = i % 10`, so
`where: {group: {_eq: 3}}` keeps ~10% of them.

shardgate: a real cluster (3 shards, replication 2, as `shardgate up`), the `vbench` service
with one collection `Doc` holding each vector in three fields, one per index kind (`flat`:
exact; `hnsw`: HNSW at the default settings; `ivf`: IVF, nlist ~ sqrt(n) as a power of two,
nprobe = nlist / 32, as the defaults are for a million). Loaded with `POST /admin/import`
(NDJSON, 500 documents a request, 3 in flight), then `searchDocs(field:)` with k=10 through
`/graphql`, 8 requests in flight, for `--seconds` each.

Raw FAISS: the same vectors in one in-process index of each kind with the same settings
(IndexFlatIP, IndexHNSWFlat, IndexIVFFlat), one query at a time on one OpenMP thread (as the
shards run it), filters as IDSelectorBitmap.

Recall@10 is measured against exact search (numpy) over the same documents and filter.
"""

from __future__ import annotations

import asyncio
import math
import os
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import faiss
import numpy as np
import orjson

from loadtests.measure import BenchError, GraphQLClient, percentile, push_schema
from loadtests.store_bench import SHARDS, Cluster, _interruptible, _run_async, running_cluster
from shards.vector_spec import HNSW_DEFAULTS

SERVICE = "vbench"
IN_FLIGHT = 8
IMPORT_BATCH = 500
IMPORT_IN_FLIGHT = 3
IMPORT_TRIES = 5
STORE_TIMEOUT = 60.0
QUERIES = 200
K = 10
GROUPS = 10  # `group == 3` keeps ~10%

SCENARIOS = [  # (label, field, filtered)
    ("flat", "flat", False),
    ("flat, ~10% filter", "flat", True),
    ("HNSW", "hnsw", False),
    ("HNSW, ~10% filter", "hnsw", True),
    ("IVF", "ivf", False),
    ("IVF, ~10% filter", "ivf", True),
]


def ivf_settings(vectors: int) -> tuple[int, int]:
    """(nlist, nprobe): 1,000,000 -> (1024, 32), 20,000 -> (128, 4)."""
    nlist = max(16, 2 ** round(math.log2(math.sqrt(vectors))))
    return nlist, max(1, nlist // 32)


def sdl(dimensions: int, vectors: int) -> str:
    h = HNSW_DEFAULTS
    nlist, nprobe = ivf_settings(vectors)
    return f"""\
type Doc @collection @key(fields: "id") {{
  id: ID!
  group: Int! @index
  flat: [Float!] @vector(dimensions: {dimensions}, metric: COSINE, index: FLAT)
  hnsw: [Float!] @vector(dimensions: {dimensions}, metric: COSINE, index: HNSW, m: {h["m"]},
    efConstruction: {h["ef_construction"]}, efSearch: {h["ef_search"]})
  ivf: [Float!] @vector(dimensions: {dimensions}, metric: COSINE, index: IVF, nlist: {nlist},
    nprobe: {nprobe})
}}
"""


@dataclass(frozen=True)
class Measured:
    queries: int
    seconds: float
    p50_ms: float
    p99_ms: float
    recall: float
    cpu_ms: dict[str, float] | None = None  # shardgate: CPU ms per search, gateway and shards

    @property
    def per_second(self) -> float:
        return self.queries / self.seconds


def run_vector_bench(
    vectors: int = 20_000, dimensions: int = 64, seconds: float = 5.0, clusters: int = 100
) -> int:
    if vectors < 100 or dimensions < 2 or seconds <= 0 or clusters < 1:
        raise SystemExit(
            "use --vectors >= 100, --dimensions >= 2, --clusters >= 1 and --seconds > 0"
        )
    started = time.perf_counter()
    sent, sent_queries = _mixture(vectors, dimensions, clusters)
    data, queries = _unit(sent), _unit(sent_queries)
    keep = np.arange(vectors) % GROUPS == 3
    truth = {f: _exact(data, queries, keep if f else None) for f in (False, True)}
    # One OpenMP thread, as each shard runs FAISS: with the default pool a single query on a
    # busy 2-core machine was ~50x slower (threads spinning against other processes).
    faiss.omp_set_num_threads(1)
    print(f"raw FAISS: {vectors:,} x {dimensions} vectors, {seconds:g} s per scenario...")
    raw: dict[str, Measured] = {}
    for kind in ("flat", "hnsw", "ivf"):
        built = time.perf_counter()
        index, params = _raw_index(kind, data)
        print(f"raw FAISS: {kind} built in {time.perf_counter() - built:.1f} s", flush=True)
        for label, field, filtered in SCENARIOS:
            if field == kind:
                raw[label] = _raw_search(index, params, queries, keep, filtered, truth, seconds)
        del index
    try:
        with tempfile.TemporaryDirectory(prefix="shardgate-bench-") as tmp, _interruptible():
            print(f"shardgate: starting {SHARDS} shards and a gateway in {tmp}...", flush=True)
            # Shards busy inserting into HNSW answer writes slowly: a longer store timeout
            # than the default 5 s, so a slow batch is not taken for a dead shard.
            config = Path(tmp) / "shardgate.toml"
            config.write_text(f"[store]\ntimeout = {STORE_TIMEOUT}\n")
            os.environ["SHARDGATE_CONFIG"] = str(config)  # read by the processes started
            with running_cluster(Path(tmp) / "cluster") as cluster:
                push_schema(f"{cluster.gateway}/admin/services/{SERVICE}", sdl(dimensions, vectors))
                ours = _run_async(_measure(cluster, sent, sent_queries, truth, seconds))
    except BenchError as e:
        raise SystemExit(f"shardgate bench vectors: {e}") from None
    _report(vectors, dimensions, clusters, ours, raw)
    print(f"(the whole run took {time.perf_counter() - started:.0f} s)")
    return 0


def _mixture(n: int, d: int, clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectors as sent to shardgate (unit length, rounded to 5 decimals: short JSON) and
    queries; `_unit` of them is what shardgate's COSINE indexes hold, and raw FAISS gets."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(clusters, d)).astype(np.float32) * 4
    x = centres[rng.integers(0, clusters, n + QUERIES)]
    x += rng.standard_normal(size=x.shape, dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    rounded = np.round(x.astype(np.float64), 5)  # float64: tolist() gives 0.12345, not 0.1234500035
    return rounded[:n], rounded[n:]


def _unit(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), np.float32)


def _exact(data: np.ndarray, queries: np.ndarray, keep: np.ndarray | None) -> list[set[int]]:
    out = []
    for start in range(0, len(queries), 20):  # 20 x 1M scores at a time
        scores = queries[start : start + 20] @ data.T
        if keep is not None:
            scores[:, ~keep] = -np.inf
        top = np.argpartition(-scores, K, axis=1)[:, :K]
        out.extend(set(row.tolist()) for row in top)
    return out


def _recall(found: list[set[int]], truth: list[set[int]]) -> float:
    return sum(len(f & t) for f, t in zip(found, truth, strict=True)) / (K * len(truth))


def _raw_index(kind: str, data: np.ndarray) -> tuple[Any, Any]:
    d = data.shape[1]
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, HNSW_DEFAULTS["m"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_DEFAULTS["ef_construction"]
        params: Any = faiss.SearchParametersHNSW()
        params.efSearch = HNSW_DEFAULTS["ef_search"]
    elif kind == "ivf":
        nlist, nprobe = ivf_settings(len(data))
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.own_fields = True
        quantizer.this.disown()
        sample = np.random.default_rng(1).choice(len(data), min(len(data), 256 * nlist), False)
        index.train(data[sample])
        params = faiss.SearchParametersIVF()
        params.nprobe = nprobe
    else:
        index = faiss.IndexFlatIP(d)
        params = faiss.SearchParameters()
    index.add(data)
    return index, params


def _raw_search(
    index: Any,
    params: Any,
    queries: np.ndarray,
    keep: np.ndarray,
    filtered: bool,
    truth: dict[bool, list[set[int]]],
    seconds: float,
) -> Measured:
    bits = np.packbits(keep, bitorder="little")
    selector = faiss.IDSelectorBitmap(len(keep), faiss.swig_ptr(bits)) if filtered else None
    params.sel = selector

    def one(i: int) -> set[int]:
        _, ids = index.search(queries[i : i + 1], K, params=params)
        return {int(x) for x in ids[0] if x >= 0}

    found = [one(i) for i in range(len(queries))]  # also warms up
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    i = 0
    start = time.perf_counter()
    while time.perf_counter() < deadline:
        sent = time.perf_counter()
        one(i % len(queries))
        latencies.append(time.perf_counter() - sent)
        i += 1
    params.sel = None
    return _measured(latencies, time.perf_counter() - start, found, truth[filtered])


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
    cluster: Cluster,
    data: np.ndarray,
    queries: np.ndarray,
    truth: dict[bool, list[set[int]]],
    seconds: float,
) -> dict[str, Measured]:
    gateway = cluster.gateway
    print(f"shardgate: importing {len(data):,} documents...", flush=True)
    loaded = time.perf_counter()
    await _import(gateway, data)
    print(f"shardgate: imported in {time.perf_counter() - loaded:.1f} s", flush=True)
    await _wait_indexed(gateway, len(data))
    print(f"shardgate: indexed {time.perf_counter() - loaded:.1f} s after the import began")
    async with GraphQLClient(f"{gateway}/graphql", connections=IN_FLIGHT) as client:
        out = {}
        for label, field, filtered in SCENARIOS:
            print(f"shardgate: {label} top-{K} for {seconds:g} s...", flush=True)
            out[label] = await _search_for(
                client, cluster, field, queries, filtered, truth, seconds
            )
        return out


async def _import(gateway: str, data: np.ndarray) -> None:
    url = f"{gateway}/admin/import/Doc"
    batches = iter(range(0, len(data), IMPORT_BATCH))
    timeout = aiohttp.ClientTimeout(total=600)

    async def worker(session: aiohttp.ClientSession) -> None:
        for start in batches:
            lines = []
            for i in range(start, min(start + IMPORT_BATCH, len(data))):
                v = data[i].tolist()
                doc = {"id": f"d{i}", "group": i % GROUPS, "flat": v, "hnsw": v, "ivf": v}
                lines.append(orjson.dumps(doc))
            await _import_batch(session, url, b"\n".join(lines))

    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(IMPORT_IN_FLIGHT)))


async def _import_batch(session: aiohttp.ClientSession, url: str, body: bytes) -> None:
    """One import request, tried again while shards are marked down (an overloaded shard
    answers late and is taken for dead until its next health check)."""
    for attempt in range(IMPORT_TRIES):
        async with session.post(url, data=body) as resp:
            status, answer = resp.status, await resp.read()
        if status == 200:
            return
        if b"already exists" in answer and attempt:  # an earlier try went in after all
            return
        if status not in (409, 503) or attempt == IMPORT_TRIES - 1:
            raise BenchError(f"import: HTTP {status}: {answer[:300]!r}")
        await asyncio.sleep(2.0 * (attempt + 1))  # the health check revives the shard


async def _wait_indexed(gateway: str, vectors: int) -> None:
    """Until every shard's indexes hold what it stores: a shard's /stats is answered on its
    vector thread, after the changes queued before it (HNSW inserts take a while)."""
    timeout = aiohttp.ClientTimeout(total=3600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.get(f"{gateway}/healthz") as resp:
            shards = [s["url"] for s in (await resp.json())["shards"].values()]
        total = 0
        for url in shards:
            async with session.get(f"{url}/stats") as resp:
                stats = (await resp.json())["vectors"]
            total += stats[f"{SERVICE}.Doc@flat"]["vectors"]
    if total != 2 * vectors:  # replication 2
        raise BenchError(f"the shards index {total} vectors, not 2 x {vectors}")


async def _search_for(
    client: GraphQLClient,
    cluster: Cluster,
    field: str,
    queries: np.ndarray,
    filtered: bool,
    truth: dict[bool, list[set[int]]],
    seconds: float,
) -> Measured:
    where = "where: {group: {_eq: 3}}, " if filtered else ""
    query = (
        f'query($v: [Float!]!) {{ searchDocs(vector: $v, field: "{field}", {where}k: {K}) '
        "{ doc { id } } }"
    )
    vectors = [q.tolist() for q in queries]

    async def one(i: int) -> set[int]:
        data = await client.call("searchDocs", query, {"v": vectors[i]})
        return {int(h["doc"]["id"][1:]) for h in data["searchDocs"]}

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

    used = cluster.cpu_seconds()
    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    elapsed = time.perf_counter() - start
    after = cluster.cpu_seconds()
    cpu = {p: (after[p] - used[p]) * 1000 / max(len(latencies), 1) for p in ("gateway", "shards")}
    return replace(_measured(latencies, elapsed, found, truth[filtered]), cpu_ms=cpu)


def _report(
    vectors: int,
    dimensions: int,
    clusters: int,
    ours: dict[str, Measured],
    raw: dict[str, Measured],
) -> None:
    nlist, nprobe = ivf_settings(vectors)
    print(
        f"\n{vectors:,} vectors x {dimensions} dims (COSINE, {clusters:,} clusters), top-{K}; "
        f"IVF nlist {nlist} nprobe {nprobe}; shardgate: {SHARDS} shards, replication 2, "
        f"{IN_FLIGHT} requests in flight; raw FAISS: one query at a time; CPU: per search, "
        "in the gateway and in all shards together"
    )
    head = ("scenario", "q/s", "p50 ms", "p99 ms", "recall@10", "CPU ms gw+shards",
            "FAISS q/s", "p50 ms", "p99 ms", "recall@10", "q/s ratio", "p50 ratio")  # fmt: skip
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
                f"{o.cpu_ms['gateway']:.2f}+{o.cpu_ms['shards']:.2f}" if o.cpu_ms else "",
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
