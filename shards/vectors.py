"""A shard's vector indexes: one `VectorIndex` per (collection, vector field), kept equal to
the live documents in SQLite (`shards.vector_sync`), searched for `POST /search`
(`shards.vector_search`), saved to files (`shards.vector_files`).

One thread does everything FAISS: applying changes, searching, building, saving. FAISS is not
safe for a mutation concurrent with a search, and one thread serialises them without a lock;
it also orders them. The storage's commit hook runs after a write group commits and *before*
the writers are acknowledged, and it queues that group's changes on the thread; a search that
starts after an acknowledgement is queued behind them, so it sees the write.

Each index file records the change-log position it covers; on start every key changed after
that position is re-read. A file that is missing, damaged or built for other settings is
rebuilt from SQLite instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import faiss

from shards import filters, vector_files, vector_search, vector_sync
from shards.errors import BadRequest
from shards.filters import FIELD_PATH
from shards.storage import Change, ShardStorage
from shards.vector_index import VectorIndex
from shards.vector_spec import MAX_K, VectorFieldSpec, check_query, check_specs

log = logging.getLogger(__name__)

_KEYS_PER_READ = 500
T = TypeVar("T")
_Checked = vector_search.Search | BadRequest  # a search ready to run, or why it was refused


@dataclass
class _Entry:
    index: VectorIndex
    source: str  # how it was loaded: "built", "file", "file+replay"
    dirty: bool = True


class ShardVectors:
    def __init__(
        self,
        storage: ShardStorage,
        db_path: Path,
        directory: Path,
        save_seconds: float,
        monotonic: Callable[[], float],
    ) -> None:
        self.storage = storage
        self._db_path = db_path
        self._dir = directory
        self._save_seconds = save_seconds
        self._monotonic = monotonic
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="shard-vectors")
        self._db: sqlite3.Connection | None = None  # used only on `_thread`
        self._entries: dict[tuple[str, str], _Entry] = {}  # touched only on `_thread`
        self._specs: dict[str, list[VectorFieldSpec]] = {}  # collection -> its vector fields
        self._seq = 0  # the last change-log position applied to every index
        self._filters = vector_search.FilterCache()  # touched only on `_thread`
        self._last_save = monotonic()
        self._saver: asyncio.Task[None] | None = None
        # Searches waiting for the vector thread, taken together by `_drain` (event loop only).
        self._waiting: list[tuple[list[_Checked], asyncio.Future[list[dict[str, Any]]]]] = []
        self._draining = False
        self._drainer: asyncio.Future[None] | None = None

    @classmethod
    async def open(
        cls,
        storage: ShardStorage,
        db_path: Path,
        directory: Path,
        *,
        save_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> ShardVectors:
        """Load (or rebuild) every index, catch it up, and follow the storage's commits."""
        # One OpenMP thread (here and on the vector thread, see `_connect`): on a small
        # machine several shard processes' spinning OpenMP pools starve each other.
        faiss.omp_set_num_threads(1)
        # Coalesced searches reach a flat index several at a time: from 4 queries on, one
        # matrix product (BLAS) reads the vectors once for all of them.
        faiss.cvar.distance_compute_blas_threshold = 4
        self = cls(storage, db_path, directory, save_seconds, monotonic)
        await self._run(self._connect)
        storage.add_commit_hook(self._on_commit)
        await self.sync_collections()
        self._saver = asyncio.create_task(self._save_loop(), name="vector-saver")
        return self

    async def close(self) -> None:
        if self._saver is not None:
            self._saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._saver
        await self._run(self._save_dirty)
        await self._run(self._disconnect)
        self._thread.shutdown()

    async def sync_collections(self) -> None:
        """Create indexes for vector fields the storage's descriptors have and we do not."""
        wanted: dict[str, list[VectorFieldSpec]] = {}
        for name, d in self.storage.collections.items():
            specs = check_specs(d.get("vectors"), name)
            if specs:
                wanted[name] = specs
        self._specs = wanted
        await self._run(self._sync_entries, wanted)

    # -- requests --------------------------------------------------------------------------

    async def search(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /search`: the best k live documents of the requested token ranges matching
        `where`, as {"hits": [[score, key], ...], "docs": [body, ...]} best first."""
        [answer] = await self._queued([self._checked(request)])
        if "error" in answer:
            raise BadRequest(answer["error"]["message"])
        return answer

    async def search_many(self, requests: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """`POST /searches`: each search's answer, or {"error": {"message": ...}} for one
        refused; all in one hop to the vector thread."""
        checked: list[_Checked] = []
        for request in requests:
            try:
                checked.append(self._checked(request))
            except BadRequest as e:
                checked.append(e)
        return await self._queued(checked)

    async def _queued(self, checked: list[_Checked]) -> list[dict[str, Any]]:
        """Searches that arrive while the vector thread is busy wait, and then run together:
        coalesced into one FAISS call per index and filter (a flat index reads its vectors
        once for all of them). Ordering holds: a write's changes are queued on the thread
        before the write is acknowledged, so before any search that arrives after it."""
        future: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self._waiting.append((checked, future))
        if not self._draining:
            self._draining = True
            self._drainer = asyncio.ensure_future(self._drain())  # held: tasks are weakly kept
        return await future

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                searches = [s for checked, _ in batch for s in checked]
                try:
                    answers = await self._run(self._search_many, searches)
                except Exception as e:  # every waiter of the batch sees the failure
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(e)
                    continue
                at = 0
                for checked, future in batch:
                    if not future.done():
                        future.set_result(answers[at : at + len(checked)])
                    at += len(checked)
        finally:
            self._draining = False
        self._drainer: asyncio.Future[None] | None = None

    def _checked(self, request: Mapping[str, Any]) -> vector_search.Search:
        collection, field = _text(request, "collection"), _text(request, "field")
        spec = self._spec(collection, field)
        query = check_query(request.get("vector"), spec)
        k = request.get("k", 10)
        if type(k) is not int or not 1 <= k <= MAX_K:
            raise BadRequest(f"k must be an integer in 1..{MAX_K}, got {k!r}")
        min_score = request.get("min_score")
        if min_score is not None and not isinstance(min_score, int | float):
            raise BadRequest("min_score must be a number or null")
        ranges = request.get("ranges")
        omit = request.get("omit") or []
        if not isinstance(omit, list) or not all(
            isinstance(f, str) and FIELD_PATH.fullmatch(f) and "." not in f for f in omit
        ):
            raise BadRequest("'omit' must be a list of top-level field names")
        return vector_search.Search(
            collection,
            field,
            query,
            k,
            filters.compile_where(request.get("where")),
            None if ranges is None else filters.merge_ranges(ranges),
            min_score,
            meta=request.get("meta") is True,
            omit=tuple(omit),
        )

    async def rebuild(self, collection: str, field: str | None) -> dict[str, int]:
        """Rebuild from SQLite (and save) one field's index, or every one of the collection."""
        specs = self._specs.get(collection, [])
        if field is not None:
            specs = [self._spec(collection, field)]
        elif not specs:
            raise BadRequest(f"collection {collection!r} has no vector fields on this shard")
        return await self._run(self._rebuild, collection, specs)

    async def verify(self) -> dict[str, Any]:
        """Per index: live vectors, and row ids the index and SQLite disagree on."""
        return await self._run(self._verify)

    async def stats(self) -> dict[str, Any]:
        return await self._run(self._stats)

    def _spec(self, collection: str, field: str) -> VectorFieldSpec:
        for spec in self._specs.get(collection, []):
            if spec["field"] == field:
                return spec
        raise BadRequest(f"{collection}.{field} is not a vector field on this shard")

    # -- the vector thread -----------------------------------------------------------------

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, fn, *args)

    def _on_commit(self, changes: Sequence[Change]) -> None:
        # Queued now, before the writers are acknowledged (see the module docstring). Keys
        # only, not bodies: applying re-reads rows, and a backlog (a bulk load into HNSW)
        # must not hold every body in memory.
        touched = [(c.seq, c.collection, c.key) for c in changes]
        future: Future[None] = self._thread.submit(self._apply, touched)
        future.add_done_callback(_log_failure)

    def _connect(self) -> None:
        # OpenMP's thread count is per thread: set it on the thread that runs FAISS. Batched
        # searches and HNSW inserts open parallel regions, and a second thread per shard
        # spinning in libgomp cost ~20x the CPU of the search itself on a shared 2-core box.
        faiss.omp_set_num_threads(1)
        self._dir.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._db_path, isolation_level=None, cached_statements=64)
        db.execute("PRAGMA query_only=ON")
        self._db = db

    def _disconnect(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def _conn(self) -> sqlite3.Connection:
        assert self._db is not None
        return self._db

    def _apply(self, touched: list[tuple[int, str, str]]) -> None:
        """(change-log position, collection, key) of each change of one commit, in order."""
        keys: dict[str, set[str]] = {}
        for _, collection, key in touched:
            if collection in self._specs:
                keys.setdefault(collection, set()).add(key)
        for collection in {c for _, c, _ in touched}:
            self._filters.changed(collection)
        for collection, ks in keys.items():
            self._sync_keys(collection, ks)
        if touched:
            self._seq = max(self._seq, touched[-1][0])
        if self._monotonic() - self._last_save >= self._save_seconds:
            self._save_dirty()

    def _sync_entries(self, wanted: dict[str, list[VectorFieldSpec]]) -> None:
        if not self._entries:  # first load: the position every file is caught up to
            self._seq = vector_sync.max_seq(self._conn)
        for collection, specs in wanted.items():
            for spec in specs:
                entry = self._entries.get((collection, spec["field"]))
                if entry is None or entry.index.spec != spec:
                    self._entries[collection, spec["field"]] = self._load(collection, spec)
        for key in [k for k in self._entries if k[1] not in _fields(wanted.get(k[0], []))]:
            del self._entries[key]

    def _load(self, collection: str, spec: VectorFieldSpec) -> _Entry:
        path = self._dir / vector_files.file_name(collection, spec["field"])
        found = vector_files.read(path, dict(spec))
        if found is not None:
            seq, arrays = found
            try:
                index = VectorIndex.from_arrays(spec, arrays)
            except (ValueError, RuntimeError) as e:
                log.warning("vector index %s does not load (%s); rebuilding it", path.name, e)
            else:
                changed = vector_sync.keys_changed_since(self._conn, collection, seq)
                entry = _Entry(index, "file+replay" if changed else "file", dirty=bool(changed))
                self._entries[collection, spec["field"]] = entry
                for chunk in _chunks(changed, _KEYS_PER_READ):
                    self._sync_keys(collection, set(chunk), only=spec["field"])
                return entry
        return _Entry(vector_sync.build(self._conn, collection, spec), "built")

    def _sync_keys(self, collection: str, keys: set[str], only: str | None = None) -> None:
        """Make the indexes of `collection` hold exactly what SQLite holds for `keys`."""
        entries = [
            e for (c, f), e in self._entries.items() if c == collection and only in (None, f)
        ]
        vector_sync.sync_keys(self._conn, collection, keys, [e.index for e in entries])
        for entry in entries:
            entry.dirty = True

    def _search_many(self, searches: list[_Checked]) -> list[dict[str, Any]]:
        """Searches sharing an index and filter run as one FAISS call (coalesced requests of
        one query shape usually do)."""
        out: list[dict[str, Any]] = [{} for _ in searches]
        groups: dict[tuple[Any, ...], list[int]] = {}
        for i, search in enumerate(searches):
            if isinstance(search, BadRequest):
                out[i] = {"error": {"message": str(search)}}
            else:
                groups.setdefault(vector_search.same_filter(search), []).append(i)
        for members in groups.values():
            group = [searches[i] for i in members]
            try:
                answers = self._run_group(group)  # type: ignore[arg-type]
            except BadRequest as e:
                answers = [{"error": {"message": str(e)}} for _ in members]
            for i, answer in zip(members, answers, strict=True):
                out[i] = answer
        return out

    def _run_group(self, group: list[vector_search.Search]) -> list[dict[str, Any]]:
        first = group[0]
        entry = self._entries.get((first.collection, first.field))
        if entry is None:
            raise BadRequest(f"{first.collection}.{first.field} has no index on this shard yet")
        return vector_search.run_many(self._conn, entry.index, group, self._filters)

    def _rebuild(self, collection: str, specs: list[VectorFieldSpec]) -> dict[str, int]:
        out = {}
        for spec in specs:
            index = vector_sync.build(self._conn, collection, spec)
            self._entries[collection, spec["field"]] = _Entry(index, "built")
            out[spec["field"]] = index.live_count
        self._save_dirty()
        return out

    def _save_dirty(self) -> None:
        for (collection, field), entry in self._entries.items():
            if not entry.dirty:
                continue
            path = self._dir / vector_files.file_name(collection, field)
            try:
                vector_files.write_atomic(
                    path, self._seq, dict(entry.index.spec), entry.index.to_arrays()
                )
            except OSError:
                log.exception("saving vector index %s failed; it is rebuilt if lost", path.name)
                continue
            entry.dirty = False
        self._last_save = self._monotonic()

    async def _save_loop(self) -> None:
        while True:
            await asyncio.sleep(self._save_seconds)
            try:
                await self._run(self._save_dirty)
            except Exception:  # the loop must outlive one failed round
                log.exception("saving vector indexes failed")

    def _verify(self) -> dict[str, Any]:
        return {
            f"{collection}@{field}": vector_sync.verify(self._conn, collection, entry.index)
            for (collection, field), entry in self._entries.items()
        }

    def _stats(self) -> dict[str, Any]:
        return {
            f"{c}@{f}": {
                "index": e.index.spec["index"],
                "metric": e.index.spec["metric"],
                "vectors": e.index.live_count,
                "positions": e.index.size,
                "trained": e.index.trained,  # False: an IVF index still searched flat
                "loaded": e.source,
            }
            for (c, f), e in self._entries.items()
        }


def _fields(specs: Iterable[VectorFieldSpec]) -> set[str]:
    return {s["field"] for s in specs}


def _chunks(items: list[str], n: int) -> list[list[str]]:
    return [items[i : i + n] for i in range(0, len(items), n)]


def _text(request: Mapping[str, Any], name: str) -> str:
    value = request.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string")
    return value


def _log_failure(future: Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("applying changes to vector indexes failed", exc_info=future.exception())
