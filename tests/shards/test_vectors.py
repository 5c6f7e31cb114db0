"""ShardVectors over a real ShardStorage: writes reach search at once, filters and ranges are
exact, index files are caught up from the change log, damaged ones are rebuilt."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from shards import vector_files
from shards.errors import BadRequest
from shards.protocol import CollectionDescriptor, WriteOp
from shards.storage import ShardStorage
from shards.vectors import ShardVectors

D = 8
ITEMS = CollectionDescriptor(
    name="s.Item",
    key="id",
    shard_key="id",
    indexes=[],
    unique=[],
    vectors=[{"field": "v", "dimensions": D, "metric": "COSINE", "index": "FLAT"}],
)


class Shard:
    def __init__(self, storage: ShardStorage, vectors: ShardVectors) -> None:
        self.storage, self.vectors = storage, vectors

    async def put(self, key: str, v: list[float] | None, token: int = 0, **body: Any) -> None:
        version = next(VERSIONS)  # LWW: a reopened shard must keep counting up
        await self.storage.write(
            [
                WriteOp(
                    collection="s.Item",
                    key=key,
                    token=token,
                    op="put",
                    body={"id": key, "v": v, **body},
                    version=version,
                    origin="t",
                )
            ]
        )

    async def delete(self, key: str) -> None:
        version = next(VERSIONS)  # LWW: a reopened shard must keep counting up
        op = WriteOp(
            collection="s.Item", key=key, token=0, op="delete", body=None,
            version=version, origin="t",
        )  # fmt: skip
        await self.storage.write([op])

    async def search(self, q: list[float], k: int = 10, **kw: Any) -> list[tuple[str, float]]:
        answer = orjson.loads(
            orjson.dumps(
                await self.vectors.search(
                    {"collection": "s.Item", "field": "v", "vector": q, "k": k, **kw}
                )
            )
        )
        assert [key for _, key in answer["hits"]] == [d["id"] for d in answer["docs"]]
        return [(key, score) for score, key in answer["hits"]]


VERSIONS = itertools.count(1)


async def open_shard(path: Path, save_seconds: float = 3600.0) -> Shard:
    storage = await ShardStorage.open(path / "store.db")
    await storage.ensure_collections([ITEMS])
    vectors = await ShardVectors.open(
        storage, path / "store.db", path / "vectors", save_seconds=save_seconds
    )
    await vectors.sync_collections()
    return Shard(storage, vectors)


async def close_shard(shard: Shard) -> None:
    await shard.storage.close()
    await shard.vectors.close()


@pytest.fixture
async def shard(tmp_path: Path) -> AsyncIterator[Shard]:
    s = await open_shard(tmp_path)
    try:
        yield s
    finally:
        await close_shard(s)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


async def test_writes_are_searchable_once_acknowledged(shard: Shard) -> None:
    rng = np.random.default_rng(0)
    vs = {f"k{i}": rng.normal(size=D) for i in range(50)}
    for key, v in vs.items():
        await shard.put(key, v.tolist(), group=int(key[1:]) % 5)
    q = rng.normal(size=D)
    want = sorted(vs, key=lambda k: -float(unit(vs[k]) @ unit(q)))
    got = await shard.search(q.tolist(), 10)
    assert [k for k, _ in got] == want[:10]
    assert got[0][1] == pytest.approx(float(unit(vs[want[0]]) @ unit(q)), rel=1e-5)
    # Filtered in SQL: only group 3, still exact.
    got = await shard.search(q.tolist(), 5, where={"group": {"_eq": 3}})
    assert [k for k, _ in got] == [k for k in want if int(k[1:]) % 5 == 3][:5]
    # A delete and an update are visible to the very next search.
    await shard.delete(want[0])
    await shard.put(want[1], (-q).tolist())
    got = await shard.search(q.tolist(), 50)
    assert want[0] not in dict(got)
    assert dict(got)[want[1]] == pytest.approx(-1.0, abs=1e-5)
    assert got[-1][0] == want[1]
    # A document whose vector is removed leaves the index.
    await shard.put(want[2], None)
    assert want[2] not in dict(await shard.search(q.tolist(), 50))
    assert len(await shard.search(q.tolist(), 50, min_score=0.0)) < 48


async def test_ranges_restrict_to_tokens(shard: Shard) -> None:
    for i in range(20):
        await shard.put(f"t{i}", [1.0] * D, token=i * 10)
    got = await shard.search([1.0] * D, 20, ranges=[[0, 45], [150, 170]])
    assert sorted(k for k, _ in got) == sorted(["t0", "t1", "t2", "t3", "t4", "t15", "t16", "t17"])


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"vector": [1.0] * 3}, "3 dimensions; v has 8"),
        ({"vector": [float("nan")] * D}, "NaN or infinite"),
        ({"k": 0}, "k must be an integer in 1..1000"),
        ({"field": "w"}, "s.Item.w is not a vector field"),
    ],
)
async def test_bad_searches_are_refused(
    shard: Shard, request_: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadRequest, match=message.replace(".", r"\.")):
        await shard.vectors.search(
            {"collection": "s.Item", "field": "v", "vector": [1.0] * D, "k": 5, **request_}
        )


async def test_a_batch_of_searches_answers_each_and_refuses_one_alone(shard: Shard) -> None:
    rng = np.random.default_rng(4)
    for i in range(40):
        await shard.put(f"b{i}", rng.normal(size=D).tolist(), group=i % 2)
    queries = rng.normal(size=(3, D)).tolist()
    base = {"collection": "s.Item", "field": "v", "where": {"group": {"_eq": 1}}}
    batch = [
        {**base, "vector": queries[0], "k": 3},
        {**base, "vector": queries[1], "k": 5, "omit": ["v"]},
        {**base, "vector": [1.0], "k": 3},  # wrong dimensions: refused alone
        {**base, "vector": queries[2], "k": 2, "where": None, "meta": True},
    ]
    answers = orjson.loads(orjson.dumps(await shard.vectors.search_many(batch)))
    assert "vector has 1 dimensions" in answers[2]["error"]["message"]
    for request, answer in zip(batch, answers, strict=True):
        if "error" in answer:
            continue
        alone = await shard.search(request["vector"], request["k"], where=request["where"])
        assert [key for _, key in answer["hits"]] == [key for key, _ in alone]
        assert ("v" in answer["docs"][0]) == ("omit" not in request)
    assert [len(m) for m in answers[3]["meta"]] == [3, 3]  # version, origin, token


async def test_files_are_caught_up_from_the_change_log(tmp_path: Path) -> None:
    shard = await open_shard(tmp_path)
    for i in range(30):
        await shard.put(f"a{i}", [float(i), 1.0] + [0.0] * (D - 2))
    await close_shard(shard)  # saves the index at the current change-log position
    path = tmp_path / "vectors" / vector_files.file_name("s.Item", "v")
    saved = path.read_bytes()
    shard = await open_shard(tmp_path)
    for i in range(10):
        await shard.delete(f"a{i}")
    await shard.put("a10", [0.0, -1.0] + [0.0] * (D - 2))
    await shard.put("b1", [1.0] * D)
    await close_shard(shard)
    path.write_bytes(saved)  # as if the process died before saving again
    shard = await open_shard(tmp_path)
    try:
        stats = await shard.vectors.stats()
        assert stats["s.Item@v"]["loaded"] == "file+replay"
        verified = (await shard.vectors.verify())["s.Item@v"]
        assert verified == {"indexed": 21, "missing": [], "extra": []}
        got = dict(await shard.search([0.0, -1.0] + [0.0] * (D - 2), 30))
        assert got["a10"] == pytest.approx(1.0) and "a3" not in got
    finally:
        await close_shard(shard)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "delete"])
async def test_damaged_files_are_rebuilt_from_sqlite(tmp_path: Path, damage: str) -> None:
    shard = await open_shard(tmp_path)
    for i in range(40):
        await shard.put(f"a{i}", [float(i % 7), 1.0] + [0.5] * (D - 2))
    await close_shard(shard)
    path = tmp_path / "vectors" / vector_files.file_name("s.Item", "v")
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        path.write_bytes(data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:])
    elif damage == "garbage":
        path.write_bytes(b"not an index")
    else:
        path.unlink()
    shard = await open_shard(tmp_path)
    try:
        assert (await shard.vectors.stats())["s.Item@v"]["loaded"] == "built"
        assert (await shard.vectors.verify())["s.Item@v"]["indexed"] == 40
    finally:
        await close_shard(shard)
    assert vector_files.read(path, dict(ITEMS["vectors"][0])) is not None  # saved again


async def test_rebuild_and_new_vector_fields(shard: Shard) -> None:
    await shard.put("x", [1.0] * D, w=[1.0, 0.0])
    assert await shard.vectors.rebuild("s.Item", None) == {"v": 1}
    spec = {"field": "w", "dimensions": 2, "metric": "L2", "index": "FLAT"}
    await shard.storage.ensure_collections([{**ITEMS, "vectors": [*ITEMS["vectors"], spec]}])
    await shard.vectors.sync_collections()
    answer = await shard.vectors.search(
        {"collection": "s.Item", "field": "w", "vector": [0.0, 0.0], "k": 1}
    )
    assert answer["hits"] == [[pytest.approx(1.0), "x"]]


async def test_an_ivf_index_trains_on_its_shard_and_survives_a_restart(tmp_path: Path) -> None:
    ivf = {**ITEMS, "name": "s.Item"}
    ivf["vectors"] = [{"field": "v", "dimensions": D, "metric": "L2", "index": "IVF",
                       "nlist": 4, "nprobe": 4}]  # fmt: skip
    storage = await ShardStorage.open(tmp_path / "store.db")
    await storage.ensure_collections([ivf])
    vectors = await ShardVectors.open(storage, tmp_path / "store.db", tmp_path / "vectors")
    shard = Shard(storage, vectors)
    rng = np.random.default_rng(3)
    points = {f"k{i}": rng.normal(size=D).tolist() for i in range(200)}
    try:
        for key, v in list(points.items())[:100]:
            await shard.put(key, v)
        assert (await vectors.stats())["s.Item@v"]["trained"] is False  # 100 < 39 x 4
        for key, v in list(points.items())[100:]:
            await shard.put(key, v)
        assert (await vectors.stats())["s.Item@v"]["trained"] is True
        q = rng.normal(size=D)
        want = sorted(points, key=lambda k: float(((np.array(points[k]) - q) ** 2).sum()))[:10]
        assert [k for k, _ in await shard.search(q.tolist(), 10)] == want  # nprobe = nlist
    finally:
        await vectors.close()
        await storage.close()
    storage = await ShardStorage.open(tmp_path / "store.db")
    vectors = await ShardVectors.open(storage, tmp_path / "store.db", tmp_path / "vectors")
    try:
        stats = (await vectors.stats())["s.Item@v"]
        assert (stats["trained"], stats["loaded"], stats["vectors"]) == (True, "file", 200)
        assert [k for k, _ in await Shard(storage, vectors).search(q.tolist(), 10)] == want
    finally:
        await vectors.close()
        await storage.close()
