"""VectorIndex against numpy brute force: exact top-k with masks, tombstones, compaction."""

from __future__ import annotations

import numpy as np
import pytest

from shards.vector_index import VectorIndex
from shards.vector_spec import VectorFieldSpec

D = 16


def spec(metric: str = "COSINE") -> VectorFieldSpec:
    return VectorFieldSpec(field="v", dimensions=D, metric=metric, index="FLAT")  # type: ignore[typeddict-item]


def brute(
    vectors: np.ndarray, rows: np.ndarray, q: np.ndarray, k: int, metric: str
) -> list[tuple[int, float]]:
    x, qq = vectors.astype(np.float64), q.astype(np.float64)
    if metric == "COSINE":
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        qq = qq / np.linalg.norm(qq)
    if metric == "L2":
        scores = np.sqrt(((x - qq) ** 2).sum(axis=1))
        order = np.argsort(scores)
    else:
        scores = x @ qq
        order = np.argsort(-scores)
    return [(int(rows[i]), float(scores[i])) for i in order[:k]]


def check(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> None:
    assert [r for r, _ in got] == [r for r, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("metric", ["COSINE", "IP", "L2"])
def test_exact_top_k_with_and_without_masks(metric: str) -> None:
    rng = np.random.default_rng(1)
    n = 2000
    vectors = rng.normal(size=(n, D)).astype(np.float32)
    rows = np.arange(10, 10 + n)
    tokens = rng.integers(-(2**62), 2**62, size=n)
    ix = VectorIndex(spec(metric))
    ix.upsert(rows.tolist(), tokens.tolist(), vectors)
    q = rng.normal(size=D).astype(np.float32)
    check(ix.search(q, 10), brute(vectors, rows, q, 10, metric))
    # A selective mask (selector) and a broad one (over-fetch): both exact.
    for keep in (rng.random(n) < 0.05, rng.random(n) < 0.9):
        got = ix.search(q, 10, ix.of_rows(rows[keep]))
        check(got, brute(vectors[keep], rows[keep], q, 10, metric))
    ranges = [(-(2**62), 0), (2**61, 2**62)]
    in_ranges = ((tokens >= ranges[0][0]) & (tokens <= 0)) | (tokens >= 2**61)
    got = ix.search(q, 10, ix.in_ranges(ranges))
    check(got, brute(vectors[in_ranges], rows[in_ranges], q, 10, metric))


def test_updates_and_deletes_never_return_stale_vectors() -> None:
    rng = np.random.default_rng(2)
    ix = VectorIndex(spec("IP"))
    vectors = rng.normal(size=(100, D)).astype(np.float32)
    ix.upsert(list(range(100)), [0] * 100, vectors)
    q = vectors[5]
    ix.upsert([5], [0], -q[None, :])  # row 5 now points away from q
    ix.remove([7, 8])
    hits = ix.search(q, 100)
    assert len(hits) == 98 and {7, 8}.isdisjoint(r for r, _ in hits)
    assert dict(hits)[5] == pytest.approx(-float(q @ q), rel=1e-4)
    assert ix.row_ids() == set(range(100)) - {7, 8}


def test_compaction_keeps_results_and_drops_dead_positions() -> None:
    rng = np.random.default_rng(3)
    ix = VectorIndex(spec("L2"))
    vectors = rng.normal(size=(3000, D)).astype(np.float32)
    ix.upsert(list(range(3000)), list(range(3000)), vectors)
    ix.remove(list(range(0, 3000, 2)))
    assert ix.needs_compaction()
    q = rng.normal(size=D).astype(np.float32)
    before = ix.search(q, 20, ix.in_ranges([(0, 2000)]))
    ix.compact()
    assert ix.size == ix.live_count == 1500
    check(ix.search(q, 20, ix.in_ranges([(0, 2000)])), before)


def test_arrays_round_trip_and_k_beyond_the_matches() -> None:
    rng = np.random.default_rng(4)
    ix = VectorIndex(spec())
    ix.upsert([1, 2, 3], [0, 0, 0], rng.normal(size=(3, D)).astype(np.float32))
    ix.remove([2])
    copy = VectorIndex.from_arrays(spec(), ix.to_arrays())
    q = rng.normal(size=D).astype(np.float32)
    assert copy.search(q, 10) == ix.search(q, 10)
    assert len(copy.search(q, 10)) == 2
    assert copy.search(q, 10, copy.of_rows([99])) == []


def test_hnsw_tombstones_and_compaction() -> None:
    rng = np.random.default_rng(5)
    hnsw = VectorFieldSpec(field="v", dimensions=D, metric="L2", index="HNSW", m=16,
                           ef_construction=40, ef_search=64)  # fmt: skip
    ix = VectorIndex(hnsw)
    vectors = rng.normal(size=(3000, D)).astype(np.float32)
    ix.upsert(list(range(3000)), [0] * 3000, vectors)
    ix.remove(list(range(0, 3000, 2)))
    q = vectors[0]  # its own row is deleted: it must not come back
    assert all(r % 2 == 1 for r, _ in ix.search(q, 50))
    ix.compact()
    assert ix.size == 1500
    hits = ix.search(q, 10)
    assert len(hits) == 10 and all(r % 2 == 1 for r, _ in hits)


def ivf(nlist: int = 8, nprobe: int = 2) -> VectorFieldSpec:
    return VectorFieldSpec(field="v", dimensions=D, metric="L2", index="IVF", nlist=nlist,
                           nprobe=nprobe)  # fmt: skip


def test_ivf_is_exact_until_trained_then_keeps_its_training() -> None:
    rng = np.random.default_rng(6)
    ix = VectorIndex(ivf())
    assert ix.train_at == 39 * 8
    vectors = rng.normal(size=(400, D)).astype(np.float32)
    rows = np.arange(400)
    ix.upsert(rows[:300].tolist(), [0] * 300, vectors[:300])
    assert not ix.trained  # 300 < 312: still flat, so exact
    q = rng.normal(size=D).astype(np.float32)
    check(ix.search(q, 10), brute(vectors[:300], rows[:300], q, 10, "L2"))
    ix.upsert(rows[300:].tolist(), [0] * 100, vectors[300:])
    assert ix.trained and ix.size == 400
    # Every list probed (nprobe = nlist): exact again, through the inverted lists.
    full = VectorIndex.from_arrays(ivf(nprobe=8), ix.to_arrays())
    assert full.trained
    check(full.search(q, 10), brute(vectors, rows, q, 10, "L2"))
    ix.remove(rows[::2].tolist())
    centroids = ix.index.quantizer.reconstruct_n(0, 8)
    ix.compact()  # keeps the lists it was trained for
    assert ix.trained and ix.size == 200
    assert np.array_equal(ix.index.quantizer.reconstruct_n(0, 8), centroids)
    assert all(r % 2 == 1 for r, _ in ix.search(q, 50))


def test_a_deferred_ivf_build_trains_once_on_everything() -> None:
    rng = np.random.default_rng(7)
    ix = VectorIndex(ivf(), defer_training=True)
    ix.upsert(list(range(1000)), [0] * 1000, rng.normal(size=(1000, D)).astype(np.float32))
    assert not ix.trained
    ix.finish_deferred_training()
    assert ix.trained and ix.live_count == 1000
    small = VectorIndex(ivf(), defer_training=True)
    small.upsert([1], [0], np.ones((1, D), np.float32))
    small.finish_deferred_training()  # too few to train: stays flat
    assert not small.trained and small.search(np.ones(D), 1) == [(1, 0.0)]


def test_a_selective_filter_on_ivf_probes_more_lists() -> None:
    rng = np.random.default_rng(8)
    n = 20_000
    centres = rng.normal(size=(200, D)) * 3
    vectors = (centres[rng.integers(0, 200, n)] + rng.normal(size=(n, D))).astype(np.float32)
    rows = np.arange(n)
    ix = VectorIndex(ivf(nlist=64, nprobe=1))
    ix.upsert(rows.tolist(), [0] * n, vectors)
    keep = rng.random(n) < 0.2  # ~4,000 allowed: FAISS searches, not brute force
    q = vectors[0] + 0.1
    got = ix.search(q, 10, ix.of_rows(rows[keep]))
    assert len(got) == 10 and all(keep[r] for r, _ in got)
