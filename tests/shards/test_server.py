"""The shard's HTTP API, in process: every endpoint of shards/protocol.py and its errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from shards.server import ShardSettings, build_shard, shard_config
from shards.storage import ShardStorage

USERS = {"name": "users.User", "key": "id", "shard_key": "id", "indexes": ["email"], "unique": []}


def settings(tmp_path: Path, **kw: Any) -> ShardSettings:
    return ShardSettings(shard_id="shard-a", data_dir=tmp_path, port=0, **kw)


@asynccontextmanager
async def started(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    # ASGITransport does not run the lifespan: enter it here, as a server would.
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shard") as c,
    ):
        yield c


@pytest.fixture
async def app(tmp_path: Path) -> Starlette:
    return build_shard(settings(tmp_path))


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with started(app) as c:
        assert (await c.post("/collections", json={"collections": [USERS]})).json() == {"ok": True}
        yield c


def op(key: str, body: dict[str, Any] | None, version: int, token: int = 0) -> dict[str, Any]:
    return {
        "collection": "users.User",
        "key": key,
        "token": token,
        "op": "put" if body is not None else "delete",
        "body": body,
        "version": version,
        "origin": "gw-1",
    }


async def test_health_and_stats(client: httpx.AsyncClient, tmp_path: Path) -> None:
    assert (await client.get("/health")).json() == {"id": "shard-a", "status": "ok"}
    await client.post("/write", json={"writes": [op("u1", {"id": "u1"}, 1)]})
    assert (await client.get("/stats")).json() == {
        "id": "shard-a",
        "changelog_seq": 1,
        "collections": {"users.User": {"documents": 1}},
        "vectors": {},
    }
    assert (tmp_path / "shard-a" / "store.db").exists()


async def test_write_get_query_round_trip(client: httpx.AsyncClient) -> None:
    writes = [
        op("u1", {"id": "u1", "email": "a@x", "age": 30}, 5, token=1),
        op("u2", {"id": "u2", "email": "b@x", "age": 20}, 5, token=2),
        op("u1", {"id": "u1", "email": "old"}, 4, token=1),
    ]
    response = await client.post("/write", json={"writes": writes})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "results": [
            {"applied": True, "before": None, "before_version": None},
            {"applied": True, "before": None, "before_version": None},
            {
                "applied": False,
                "before": {"id": "u1", "email": "a@x", "age": 30},
                "before_version": [5, "gw-1"],
            },
        ]
    }
    await client.post("/write", json={"writes": [op("u2", None, 6, token=2)]})
    got = await client.post("/get", json={"collection": "users.User", "keys": ["u1", "u2", "u3"]})
    assert got.json() == {
        "docs": [
            {
                "key": "u1",
                "body": {"id": "u1", "email": "a@x", "age": 30},
                "version": 5,
                "origin": "gw-1",
                "deleted": False,
            },
            {"key": "u2", "body": None, "version": 6, "origin": "gw-1", "deleted": True},
            None,
        ]
    }
    query = {
        "collection": "users.User",
        "where": {"age": {"_gte": 10}},
        "order_by": [{"field": "age", "direction": "DESC", "nulls": "LAST"}],
        "limit": 10,
        "ranges": [[0, 1], [2, 100]],
    }
    found = await client.post("/query", json=query)
    assert found.json() == {"docs": [{"id": "u1", "email": "a@x", "age": 30}]}


async def test_aggregate(client: httpx.AsyncClient) -> None:
    writes = [op(f"u{n}", {"id": f"u{n}", "age": n}, 1) for n in (10, 20, 30)]
    await client.post("/write", json={"writes": writes})
    result = await client.post(
        "/aggregate",
        json={"collection": "users.User", "where": {"age": {"_gt": 10}}, "fields": ["age"]},
    )
    assert result.json() == {
        "count": 2,
        "fields": {"age": {"count": 2, "sum": 50, "min": 20, "max": 30}},
    }


async def test_unique_claim_and_release(client: httpx.AsyncClient) -> None:
    claim = {"collection": "users.User", "field": "email", "value": '"a@x"', "key": "u1"}
    other = {**claim, "key": "u2"}
    answer = await client.post("/unique/claim", json={"claims": [claim, other]})
    first, second = answer.json()["results"]
    assert first == {"ok": True, "owner": None}
    assert (second["ok"], second["owner"]) == (False, "u1")
    assert 0 <= second["age_ms"] < 60_000  # how long u1 has held it
    released = await client.post("/unique/release", json={"claims": [claim]})
    assert released.json() == {"ok": True}
    answer = await client.post("/unique/claim", json={"claims": [other]})
    assert answer.json() == {"results": [{"ok": True, "owner": None}]}


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/write", b"{not json", "not valid JSON"),
        ("/write", b"[1, 2]", "must be a JSON object"),
        ("/write", b'{"writes": 3}', "'writes' must be a list"),
        ("/write", b'{"writes": [{"collection": "users.User"}]}', "'put' or 'delete'"),
        ("/get", b'{"collection": "nope.Nope", "keys": ["a"]}', "unknown collection 'nope.Nope'"),
        ("/get", b'{"collection": "users.User", "keys": [1]}', "keys must be strings"),
        ("/query", b'{"collection": "users.User", "where": {"age": {"_eq": null}}}', "_is_null"),
        ("/query", b'{"collection": "users.User", "where": {"a b": {"_eq": 1}}}', "'a b'"),
        ("/query", b'{"collection": "users.User", "ranges": [[5, 1]]}', "lo <= hi"),
        ("/aggregate", b'{"collection": "users.User", "fields": ["x.1"]}', "field path"),
        ("/collections", b'{"collections": [{"name": "bad"}]}', "service.Type"),
        ("/unique/claim", b'{"claims": [{"collection": "users.User"}]}', "field path"),
    ],
)
async def test_bad_requests_get_400_with_a_clear_message(
    client: httpx.AsyncClient, path: str, body: bytes, message: str
) -> None:
    response = await client.post(path, content=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "BAD_REQUEST"
    assert message in error["message"]


async def test_oversized_body_gets_413(tmp_path: Path) -> None:
    async with started(build_shard(settings(tmp_path, max_body_bytes=1_000))) as c:
        big = {"collections": [{**USERS, "indexes": ["f"] * 400}]}
        response = await c.post("/collections", content=orjson.dumps(big))
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"

        async def chunks() -> AsyncIterator[bytes]:  # no content-length: counted as it streams
            for _ in range(10):
                yield b" " * 200

        response = await c.post("/get", content=chunks())
        assert response.status_code == 413


async def test_unexpected_errors_are_500_without_details(
    app: Starlette, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    storage: ShardStorage = app.state.storage

    async def broken(request: Any) -> list[Any]:
        raise RuntimeError("SELECT secret FROM internals")

    storage.query_rows = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="shards.server"):
        response = await client.post("/query", json={"collection": "users.User"})
    assert response.status_code == 500
    assert response.json() == {"error": {"code": "INTERNAL", "message": "internal error"}}
    assert "secret" not in response.text
    assert "SELECT secret" in caplog.text  # logged for the operator instead


async def test_unknown_route_and_method_are_json(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    wrong = await client.get("/write")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


async def test_data_survives_a_restart(tmp_path: Path) -> None:
    async with started(build_shard(settings(tmp_path))) as c:
        await c.post("/collections", json={"collections": [USERS]})
        await c.post("/write", json={"writes": [op("u1", {"id": "u1"}, 1)]})
    async with started(build_shard(settings(tmp_path, synchronous="FULL"))) as c:
        got = await c.post("/get", json={"collection": "users.User", "keys": ["u1"]})
        assert got.json()["docs"][0]["body"] == {"id": "u1"}


def test_settings_validation(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="shard_id"):
        settings(tmp_path).__class__(shard_id="../etc", data_dir=tmp_path, port=1)
    with pytest.raises(ValueError, match="synchronous"):
        settings(tmp_path, synchronous="OFF")


def test_uvicorn_config(tmp_path: Path) -> None:
    config = shard_config(settings(tmp_path))
    assert (config.http, config.access_log, config.lifespan) == ("httptools", False, "on")
    assert config.loop == "uvloop"
