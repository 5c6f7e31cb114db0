"""One FAISS index over one vector field of one collection on one shard.

FAISS stores vectors at internal positions 0, 1, 2, ... and this class maps them to the
documents' stable row ids (the `id` column of the collection's table). An update or delete
leaves the old position dead (a tombstone) instead of removing it: HNSW graphs cannot remove
points, and one scheme for every index kind keeps search uniform. Dead positions are excluded
from every search and dropped by `compact` once they are a quarter of the index.

    >>> ix = VectorIndex(spec)                      # spec: shards.vector_spec.VectorFieldSpec
    >>> ix.upsert(rows=[7, 9], tokens=[-5, 12], vectors=np.eye(2, 8, dtype="float32"))
    >>> ix.search(query, k=1, allowed=ix.in_ranges([(-10, 0)]))   # only tokens in [-10, 0]
    [(7, 1.0)]

Search restricted to `allowed` positions: when they are few (below SELECTOR_BELOW of the
index) FAISS gets an IDSelectorBitmap; otherwise the search over-fetches and post-filters,
doubling until k allowed hits are found or the index is exhausted. Either way a FLAT index
returns exactly the true top-k among the allowed documents.

IVF needs training (k-means over the vectors) before it can hold any. Until the index has
`train_at` live vectors (39 per list, FAISS's minimum) it is a flat index, searched exactly;
the change that reaches `train_at` trains it on the live vectors and moves them in. Later
vectors are assigned to the lists found then: `compact` keeps that training, and only a
rebuild (`shardgate vectors rebuild`, a changed setting) trains again, on everything present.
An IVF search that finds fewer than k allowed hits in its `nprobe` lists (a selective filter)
probes twice as many, up to every list.

Not thread-safe: `shards.vectors` runs every call on one thread.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import faiss
import numpy as np
import numpy.typing as npt

from shards.vector_spec import VectorFieldSpec

SELECTOR_BELOW = 0.5  # allowed fraction under which a bitmap selector beats over-fetching
TRAIN_PER_LIST = 39  # IVF: live vectors per list before training (FAISS's minimum)
MAX_TRAIN_PER_LIST = 256  # IVF: k-means samples at most this many per list (as FAISS does)
MAX_EF_SEARCH = 1024  # HNSW: the most a filter widens efSearch to
EXACT_BELOW = 2048  # HNSW/IVF: allowed positions searched by brute force (exact and cheaper)
COMPACT_DEAD_FRACTION = 0.25
COMPACT_MIN_DEAD = 1024

Floats = npt.NDArray[np.float32]
Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


class VectorIndex:
    def __init__(self, spec: VectorFieldSpec, *, defer_training: bool = False) -> None:
        """`defer_training`: an IVF index stays flat until `finish_deferred_training` (a
        build trains on every vector it read, not on the first `train_at`)."""
        self.spec = spec
        self.dimensions = spec["dimensions"]
        self.similarity = spec["metric"] != "L2"  # higher is better (else a distance)
        self.ivf = spec["index"] == "IVF"
        self.train_at = TRAIN_PER_LIST * spec.get("nlist", 1) if self.ivf else 0
        self._defer_training = defer_training
        # IVF: flat (exact) until trained; see the module docstring.
        self.index = (
            faiss.IndexFlat(self.dimensions, _metric(spec)) if self.ivf else _new_faiss(spec)
        )
        self.rows: Ints = np.empty(0, np.int64)  # position -> row id
        self.tokens: Ints = np.empty(0, np.int64)  # position -> ring token
        self.live: Mask = np.empty(0, np.bool_)  # position -> not superseded or deleted
        self.position: Ints = np.empty(0, np.int64)  # row id -> live position, or -1
        # The last in_ranges answer: a scatter asks a shard for the same ranges every time.
        self._ranges_memo: tuple[tuple[tuple[int, int], ...], Ints, Mask] | None = None

    # -- state -----------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Positions, dead ones included."""
        return len(self.rows)

    @property
    def live_count(self) -> int:
        return int(self.live.sum())

    @property
    def trained(self) -> bool:
        """False for an IVF index still searched flat (below `train_at`)."""
        return not self.ivf or isinstance(self.index, faiss.IndexIVF)

    def row_ids(self) -> set[int]:
        """The row ids with a live vector."""
        return {int(r) for r in self.rows[self.live]}

    def upsert(self, rows: Sequence[int], tokens: Sequence[int], vectors: Floats) -> None:
        """Add or replace the vectors of these rows (ids unique within one call)."""
        if not len(rows):
            return
        vectors = self.prepare(vectors)
        self.remove(rows)
        start = self.size
        self.index.add(vectors)
        ids = np.asarray(rows, np.int64)
        self.rows = np.concatenate([self.rows, ids])
        self.tokens = np.concatenate([self.tokens, np.asarray(tokens, np.int64)])
        self.live = np.concatenate([self.live, np.ones(len(ids), np.bool_)])
        self._grow_position(int(ids.max()))
        self.position[ids] = np.arange(start, start + len(ids), dtype=np.int64)
        if not self.trained and not self._defer_training and self.live_count >= self.train_at:
            self.train()

    def finish_deferred_training(self) -> None:
        self._defer_training = False
        if not self.trained and self.live_count >= self.train_at:
            self.train()

    def train(self) -> None:
        """IVF: k-means over (a sample of) the live vectors, then hold them in the lists."""
        keep = np.flatnonzero(self.live)
        vectors = self._vectors(keep)
        nlist = self.spec.get("nlist", 1)
        sample = vectors
        if len(vectors) > MAX_TRAIN_PER_LIST * nlist:
            rng = np.random.default_rng(len(vectors))
            sample = vectors[rng.choice(len(vectors), MAX_TRAIN_PER_LIST * nlist, replace=False)]
        index = _new_faiss(self.spec)
        index.train(sample)
        index.set_direct_map_type(faiss.DirectMap.Array)  # reconstruct() for compaction
        self._refill(index, keep, vectors)

    def remove(self, rows: Sequence[int]) -> None:
        ids = np.asarray(rows, np.int64)
        ids = ids[ids < len(self.position)]
        positions = self.position[ids]
        positions = positions[positions >= 0]
        self.live[positions] = False
        self.position[ids] = -1

    def needs_compaction(self) -> bool:
        dead = self.size - self.live_count
        return dead >= COMPACT_MIN_DEAD and dead >= COMPACT_DEAD_FRACTION * self.size

    def compact(self) -> None:
        """Rebuild without dead positions (vectors are read back from FAISS itself); a
        trained IVF index keeps its training."""
        keep = np.flatnonzero(self.live)
        empty = faiss.clone_index(self.index)
        empty.reset()
        self._refill(empty, keep, self._vectors(keep))

    def _vectors(self, positions: Ints) -> Floats:
        if not len(positions):
            return np.empty((0, self.dimensions), np.float32)
        return np.asarray(self.index.reconstruct_batch(positions), np.float32)

    def _refill(self, index: faiss.Index, keep: Ints, vectors: Floats) -> None:
        """`index` (empty) takes the vectors at positions `keep`, at positions 0, 1, ..."""
        if len(keep):
            index.add(vectors)  # already prepared (normalised) when they first came in
        rows = self.rows[keep]
        self.index = index
        self.rows, self.tokens = rows, self.tokens[keep]
        self.live = np.ones(len(keep), np.bool_)
        self.position = np.full(len(self.position), -1, np.int64)
        self.position[rows] = np.arange(len(keep), dtype=np.int64)
        self._ranges_memo = None

    # -- masks -----------------------------------------------------------------------------

    def in_ranges(self, ranges: Sequence[tuple[int, int]]) -> Mask:
        """Positions whose token lies in one of these inclusive ranges (sorted, disjoint)."""
        if not ranges:
            return np.zeros(self.size, np.bool_)
        key = tuple(ranges)
        memo = self._ranges_memo
        if memo is not None and memo[0] == key and memo[1] is self.tokens:  # tokens unchanged
            return memo[2]
        los = np.array([lo for lo, _ in ranges], np.int64)
        his = np.array([hi for _, hi in ranges], np.int64)
        i = np.searchsorted(los, self.tokens, side="right") - 1
        mask = (i >= 0) & (self.tokens <= his[np.maximum(i, 0)])
        mask.flags.writeable = False  # shared by later calls: callers combine, never modify
        self._ranges_memo = (key, self.tokens, mask)
        return mask

    def of_rows(self, rows: Sequence[int] | Ints) -> Mask:
        """Positions holding the live vector of one of these rows."""
        ids = np.asarray(rows, np.int64)
        ids = ids[ids < len(self.position)]
        positions = self.position[ids]
        mask = np.zeros(self.size, np.bool_)
        mask[positions[positions >= 0]] = True
        return mask

    # -- search ----------------------------------------------------------------------------

    def prepare(self, vectors: Floats | Sequence[Sequence[float]]) -> Floats:
        """float32, C-contiguous, (n, d); unit length for COSINE (zero vectors stay zero)."""
        x = np.ascontiguousarray(np.asarray(vectors, np.float32).reshape(-1, self.dimensions))
        if self.spec["metric"] == "COSINE":
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            x = np.ascontiguousarray(x / np.where(norms > 0, norms, 1.0), np.float32)
        return x

    def search(
        self, query: Sequence[float] | Floats, k: int, allowed: Mask | None = None
    ) -> list[tuple[int, float]]:
        """The best k (row id, score) among live positions also in `allowed`, best first.
        Scores: cosine similarity, inner product, or Euclidean distance (L2)."""
        return self.search_many(query, k, allowed)[0]

    def search_many(
        self, queries: Floats | Sequence[float], k: int, allowed: Mask | None = None
    ) -> list[list[tuple[int, float]]]:
        """`search` for each query (a row of `queries`), in one FAISS call where it can: a
        flat index reads its vectors once for all of them (BLAS), not once per query."""
        q = self.prepare(queries)
        mask = self.live if allowed is None else self.live & allowed
        count = int(mask.sum())
        k = min(k, count)
        if k <= 0:
            return [[] for _ in q]
        approximate = self.spec["index"] != "FLAT" and self.trained
        if approximate and count <= EXACT_BELOW:
            positions = np.flatnonzero(mask)
            vectors = self._vectors(positions)
            return [self._exact(q[i], k, positions, vectors) for i in range(len(q))]
        # A filter leaves fewer candidates in each list probed or graph node visited: probe
        # and explore in proportion, so about as many allowed vectors are looked at.
        widen = self.size / count
        nprobe = min(self.spec.get("nlist", 1), math.ceil(self.spec.get("nprobe", 1) * widen))
        ef = min(MAX_EF_SEARCH, math.ceil(max(self.spec.get("ef_search", 64), k) * widen))
        fetch = k
        selector = None
        if count < SELECTOR_BELOW * self.size:
            bits = np.packbits(mask, bitorder="little")  # IDSelectorBitmap's bit order
            selector = faiss.IDSelectorBitmap(self.size, faiss.swig_ptr(bits))
        elif count < self.size:  # over-fetch, then keep the allowed
            fetch = min(self.size, math.ceil(k * self.size / count * 1.25) + 8)
        scores, found = self._search(q, fetch, selector, nprobe, ef)
        out = []
        for i in range(len(q)):
            hits = [
                (int(self.rows[p]), self._score(s))
                for s, p in zip(scores[i], found[i], strict=True)
                if p >= 0 and mask[p]
            ]
            if len(hits) < k and self._can_widen(selector, fetch, nprobe):
                hits = self._search_harder(q[i : i + 1], k, mask, selector, fetch, nprobe, ef)
            out.append(hits[:k])
        return out

    def _search_harder(
        self,
        q: Floats,
        k: int,
        mask: Mask,
        selector: faiss.IDSelector | None,
        fetch: int,
        nprobe: int,
        ef: int,
    ) -> list[tuple[int, float]]:
        """One query that found fewer than k allowed hits: fetch twice as many (over-fetch)
        or probe twice as many lists (IVF), until k are found or there is no more to look at."""
        while True:
            if selector is None:
                fetch = min(self.size, fetch * 2)
            if self.ivf and self.trained:
                nprobe = min(self.spec["nlist"], nprobe * 2)
            scores, found = self._search(q, fetch, selector, nprobe, ef)
            hits = [
                (int(self.rows[p]), self._score(s))
                for s, p in zip(scores[0], found[0], strict=True)
                if p >= 0 and mask[p]
            ]
            if len(hits) >= k or not self._can_widen(selector, fetch, nprobe):
                return hits

    def _can_widen(self, selector: faiss.IDSelector | None, fetch: int, nprobe: int) -> bool:
        more_fetch = selector is None and fetch < self.size
        more_lists = self.ivf and self.trained and nprobe < self.spec["nlist"]
        return more_fetch or more_lists

    def _exact(
        self, q: Floats, k: int, positions: Ints, vectors: Floats
    ) -> list[tuple[int, float]]:
        """Brute force over a few positions (a selective filter on an approximate index)."""
        if self.similarity:
            raw = vectors @ q
            order = np.argsort(-raw, kind="stable")[:k]
        else:
            raw = ((vectors - q) ** 2).sum(axis=1)
            order = np.argsort(raw, kind="stable")[:k]
        return [(int(self.rows[positions[i]]), self._score(raw[i])) for i in order]

    def _search(
        self, q: Floats, k: int, selector: faiss.IDSelector | None, nprobe: int, ef: int
    ) -> tuple[npt.NDArray[np.float32], Ints]:
        """FAISS's (nq, k) scores and positions."""
        if self.spec["index"] == "HNSW":
            params: faiss.SearchParameters = faiss.SearchParametersHNSW()
            params.efSearch = max(ef, k)
        elif self.ivf and self.trained:
            params = faiss.SearchParametersIVF()
            params.nprobe = nprobe
        else:
            params = faiss.SearchParameters()
        if selector is not None:
            params.sel = selector
        scores, positions = self.index.search(q, k, params=params)
        return scores, positions

    def _score(self, raw: float) -> float:
        return float(raw) if self.similarity else math.sqrt(max(float(raw), 0.0))

    # -- files -----------------------------------------------------------------------------

    def to_arrays(self) -> dict[str, npt.NDArray[np.generic]]:
        return {
            "faiss": faiss.serialize_index(self.index),
            "rows": self.rows,
            "tokens": self.tokens,
            "live": self.live,
        }

    @classmethod
    def from_arrays(
        cls, spec: VectorFieldSpec, arrays: dict[str, npt.NDArray[np.generic]]
    ) -> VectorIndex:
        ix = cls(spec)
        index = faiss.deserialize_index(np.asarray(arrays["faiss"], np.uint8))
        rows = np.asarray(arrays["rows"], np.int64)
        tokens = np.asarray(arrays["tokens"], np.int64)
        live = np.asarray(arrays["live"], np.bool_)
        if not index.ntotal == len(rows) == len(tokens) == len(live) or index.d != ix.dimensions:
            raise ValueError("index arrays disagree in length or dimensions")
        if ix.ivf and not isinstance(index, faiss.IndexFlat | faiss.IndexIVF):
            raise ValueError("an IVF file holds neither a flat nor an IVF index")
        ix.index, ix.rows, ix.tokens, ix.live = index, rows, tokens, live
        live_rows = rows[live]
        if len(live_rows):
            ix._grow_position(int(live_rows.max()))
            ix.position[live_rows] = np.flatnonzero(live)
        return ix

    def _grow_position(self, max_row: int) -> None:
        if max_row >= len(self.position):
            extra = max(max_row + 1, 2 * len(self.position)) - len(self.position)
            self.position = np.concatenate([self.position, np.full(extra, -1, np.int64)])


def _metric(spec: VectorFieldSpec) -> int:
    return faiss.METRIC_L2 if spec["metric"] == "L2" else faiss.METRIC_INNER_PRODUCT


def _new_faiss(spec: VectorFieldSpec) -> faiss.Index:
    """A new, empty index of the spec's kind (IVF: untrained)."""
    d = spec["dimensions"]
    metric = _metric(spec)
    if spec["index"] == "IVF":
        quantizer = faiss.IndexFlat(d, metric)
        index = faiss.IndexIVFFlat(quantizer, d, spec["nlist"], metric)
        index.nprobe = spec["nprobe"]
        index.own_fields = True  # keep the quantizer alive with the index
        quantizer.this.disown()
        return index
    if spec["index"] == "HNSW":
        index = faiss.IndexHNSWFlat(d, spec.get("m", 32), metric)
        index.hnsw.efConstruction = spec.get("ef_construction", 64)
        index.hnsw.efSearch = spec.get("ef_search", 64)
        return index
    return faiss.IndexFlat(d, metric)
