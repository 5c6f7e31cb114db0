"""The shard process: the HTTP endpoints of `shards.protocol` over one `ShardStorage`.

    app = build_shard(ShardSettings(shard_id="shard-a", data_dir=Path(".shardgate"), port=7401))
    await serve_shard(settings)      # or run_shard(settings) from a plain main()

Every answer is JSON. A request the shard cannot run gets 400
`{"error": {"code": "BAD_REQUEST", "message": ...}}`, a body over `max_body_bytes` 413, and
anything unexpected is logged here and answered 500 `{"error": {"code": "INTERNAL", ...}}`
without details.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, cast

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from shards.errors import BadRequest
from shards.protocol import AggregateRequest, QueryRequest
from shards.storage import RawDoc, ShardStorage, Synchronous
from shards.telemetry import TelemetrySettings, Tracing
from shards.telemetry.asgi import ServerSpans
from shards.telemetry.tracing import in_trace
from shards.triggers.runtime import TriggerRuntime
from shards.vectors import ShardVectors

log = logging.getLogger(__name__)

# shards.triggers.runtime.TriggerRuntime.handlers(): see docs/triggers.md
TRIGGER_PATHS = (
    "/triggers",
    "/triggers/state",
    "/events/list",
    "/events/show",
    "/events/redeliver",
    "/events/delivered",
    "/events/status",
    "/events/invoke",
    "/events/cleanup",
)
SHARD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True, kw_only=True)
class ShardSettings:
    shard_id: str
    data_dir: Path
    host: str = "127.0.0.1"
    port: int
    synchronous: Synchronous = "NORMAL"
    max_body_bytes: int = 64 * 1024 * 1024  # above the gateway's 32 MiB request limit
    vector_save_seconds: float = 30.0  # how often changed vector indexes are saved
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)

    def __post_init__(self) -> None:
        # The id names a directory: keep it to a safe, single path segment.
        if not SHARD_ID.fullmatch(self.shard_id):
            raise ValueError(f"shard_id {self.shard_id!r}: use letters, digits, '_', '.', '-'")
        if self.synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, got {self.synchronous!r}")

    @property
    def db_path(self) -> Path:
        return Path(self.data_dir) / self.shard_id / "store.db"

    @property
    def vectors_dir(self) -> Path:
        return Path(self.data_dir) / self.shard_id / "vectors"


class ORJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class _TooLarge(Exception):
    pass


VectorHandler = Callable[[ShardVectors, dict[str, Any]], Awaitable[Any]]


def build_shard(settings: ShardSettings, tracing: Tracing | None = None) -> Starlette:
    """`tracing`: where spans go (default: built from `settings.telemetry`). A request
    carrying a `traceparent` gets a server span, its SQLite and FAISS work child spans."""
    traces = tracing or Tracing.start(
        settings.telemetry,
        service=f"{settings.telemetry.service_name}-shard",
        attributes={"service.instance.id": settings.shard_id},
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.db_path.parent.mkdir(parents=True, exist_ok=True)
        storage = await ShardStorage.open(settings.db_path, synchronous=settings.synchronous)
        app.state.storage = storage
        try:
            vectors = await ShardVectors.open(
                storage,
                settings.db_path,
                settings.vectors_dir,
                save_seconds=settings.vector_save_seconds,
            )
        except BaseException:
            await storage.close()
            raise
        try:
            # Before serving: a restarted shard delivers its pending events and writes
            # outbox rows for the triggers it had, from its first write on.
            triggers = await TriggerRuntime.open(
                settings.shard_id, storage, settings.db_path, tracing=traces
            )
        except BaseException:
            await storage.close()
            await vectors.close()
            raise
        app.state.vectors = vectors
        app.state.triggers = triggers
        try:
            yield
        finally:
            await triggers.close()
            await storage.close()  # before the indexes: no commit may reach them after their save
            await vectors.close()
            await asyncio.to_thread(traces.shutdown)

    def post(
        handler: Callable[[Any, dict[str, Any]], Awaitable[Any]],
        state: str = "storage",
        span: str | None = None,
    ) -> Callable[[Request], Awaitable[Response]]:
        """A JSON POST endpoint: `handler(app.state.<state>, body)`, errors as JSON; its
        work in a `span` (e.g. "sqlite get") when the request is traced."""

        async def endpoint(request: Request) -> Response:
            async def call() -> Any:
                body = await _read_json(request, settings.max_body_bytes)
                if not isinstance(body, dict):
                    raise BadRequest("the request body must be a JSON object")
                target = getattr(request.app.state, state)
                if span is None or not traces.enabled or not in_trace():
                    return await handler(target, body)
                with traces.span(span, attributes=work_attributes(span, body)):
                    return await handler(target, body)

            return await _respond(call)

        return endpoint

    def post_triggers(path: str) -> Callable[[Request], Awaitable[Response]]:
        return post(lambda runtime, body: runtime.handlers()[path](body), "triggers")

    def post_vectors(
        handler: VectorHandler, span: str | None = None
    ) -> Callable[[Request], Awaitable[Response]]:
        return post(handler, "vectors", span)  # type: ignore[arg-type]

    async def verify_vectors(request: Request) -> Response:
        return await _respond(request.app.state.vectors.verify)

    async def health(request: Request) -> Response:
        return ORJSONResponse({"id": settings.shard_id, "status": "ok"})

    async def stats(request: Request) -> Response:
        async def call() -> Any:
            stats = await request.app.state.storage.stats()
            return {
                "id": settings.shard_id,
                **stats,
                "vectors": await request.app.state.vectors.stats(),
            }

        return await _respond(call)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/collections", post_vectors(_collections), methods=["POST"]),
        Route("/write", post(_write, span="sqlite write"), methods=["POST"]),
        Route("/get", post(_get, span="sqlite get"), methods=["POST"]),
        Route("/query", post(_query, span="sqlite query"), methods=["POST"]),
        Route("/aggregate", post(_aggregate, span="sqlite aggregate"), methods=["POST"]),
        Route("/search", post_vectors(_search, span="faiss search"), methods=["POST"]),
        Route("/searches", post_vectors(_searches, span="faiss search"), methods=["POST"]),
        Route("/vectors/rebuild", post_vectors(_rebuild_vectors), methods=["POST"]),
        Route("/vectors/verify", verify_vectors, methods=["GET"]),
        Route("/unique/claim", post(_claim, span="sqlite claim"), methods=["POST"]),
        Route("/unique/release", post(_release, span="sqlite release"), methods=["POST"]),
        *(Route(path, post_triggers(path), methods=["POST"]) for path in TRIGGER_PATHS),
    ]
    middleware = []
    if traces.enabled:  # requests that carry a traceparent; gateways' health checks never
        middleware.append(
            Middleware(ServerSpans, tracing=traces, route=_traced_route, continued_only=True)
        )
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error},
        middleware=middleware,
    )


def _traced_route(path: str) -> str | None:
    return None if path == "/health" else path


def work_attributes(span: str, body: dict[str, Any]) -> dict[str, str | int]:
    """What a shard's SQLite or FAISS work is about: the operation and collection, never
    SQL, keys, values or vectors."""
    system, _, operation = span.partition(" ")
    attributes: dict[str, str | int] = {"db.system.name": system, "db.operation.name": operation}
    collection = body.get("collection")
    if isinstance(collection, str):
        attributes["db.collection.name"] = collection[:200]
    for name in ("writes", "keys", "claims", "searches"):
        items = body.get(name)
        if isinstance(items, list):
            attributes["db.operation.batch.size"] = len(items)
    searches = body.get("searches")
    if system == "faiss" and isinstance(searches, list) and searches:  # a coalesced batch
        first = searches[0]
        if isinstance(first, dict) and all(
            isinstance(s, dict) and s.get("field") == first.get("field") for s in searches
        ):
            body = {"field": first.get("field"), "k": max(_int_k(s) for s in searches)}
    if system == "faiss":
        if isinstance(body.get("field"), str):
            attributes["shardgate.vector.field"] = body["field"][:200]
        if isinstance(body.get("k"), int):
            attributes["shardgate.vector.k"] = body["k"]
    return attributes


def _int_k(search: dict[str, Any]) -> int:
    k = search.get("k")
    return k if isinstance(k, int) else 0


async def _collections(vectors: ShardVectors, body: dict[str, Any]) -> Any:
    await vectors.storage.ensure_collections(body.get("collections"))
    await vectors.sync_collections()  # indexes for new vector fields
    return {"ok": True}


async def _search(vectors: ShardVectors, body: dict[str, Any]) -> Any:
    return await vectors.search(body)


async def _searches(vectors: ShardVectors, body: dict[str, Any]) -> Any:
    searches = body.get("searches")
    if not isinstance(searches, list) or not all(isinstance(r, dict) for r in searches):
        raise BadRequest("'searches' must be a list of search requests")
    return {"answers": await vectors.search_many(searches)}


async def _rebuild_vectors(vectors: ShardVectors, body: dict[str, Any]) -> Any:
    collection, field = body.get("collection"), body.get("field")
    if not isinstance(collection, str) or not isinstance(field, str | None):
        raise BadRequest("'collection' must be a string and 'field' a string or null")
    return {"rebuilt": await vectors.rebuild(collection, field)}


async def _write(storage: ShardStorage, body: dict[str, Any]) -> Any:
    return {"results": await storage.write(body.get("writes"))}


async def _get(storage: ShardStorage, body: dict[str, Any]) -> Any:
    docs = await storage.get_raw(body.get("collection"), body.get("keys"))
    return {"docs": [None if d is None else _stored_doc(d) for d in docs]}


async def _query(storage: ShardStorage, body: dict[str, Any]) -> Any:
    # Stored JSON goes out as is: no parse and re-encode per document.
    rows = await storage.query_rows(cast(QueryRequest, body))
    answer: dict[str, Any] = {"docs": [orjson.Fragment(r[0]) for r in rows]}
    if body.get("meta"):  # versions, for a client merging several replicas' answers
        answer["meta"] = [[r[1], r[2], r[3], r[4]] for r in rows]
    return answer


async def _aggregate(storage: ShardStorage, body: dict[str, Any]) -> Any:
    return await storage.aggregate(cast(AggregateRequest, body))


async def _claim(storage: ShardStorage, body: dict[str, Any]) -> Any:
    return {"results": await storage.claim(body.get("claims"))}


async def _release(storage: ShardStorage, body: dict[str, Any]) -> Any:
    await storage.release(body.get("claims"))
    return {"ok": True}


def _stored_doc(d: RawDoc) -> dict[str, Any]:
    body = None if d.body is None else orjson.Fragment(d.body)
    return {
        "key": d.key,
        "body": body,
        "version": d.version,
        "origin": d.origin,
        "deleted": d.deleted,
    }


async def _read_json(request: Request, limit: int) -> Any:
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _TooLarge
    data = bytearray()
    async for chunk in request.stream():  # also bounds chunked bodies with no length
        data += chunk
        if len(data) > limit:
            raise _TooLarge
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise BadRequest(f"the request body is not valid JSON: {e}") from None


async def _respond(call: Callable[[], Awaitable[Any]]) -> Response:
    """The one place where errors become responses."""
    try:
        return ORJSONResponse(await call())
    except BadRequest as e:
        return _error(400, "BAD_REQUEST", str(e))
    except _TooLarge:
        return _error(
            413, "PAYLOAD_TOO_LARGE", "the request body is too large; send smaller batches"
        )
    except ClientDisconnect:
        return _error(400, "BAD_REQUEST", "the client disconnected before sending the whole body")
    except Exception:
        log.exception("shard request failed")
        return _error(500, "INTERNAL", "internal error")


def _error(status: int, code: str, message: str) -> Response:
    return ORJSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTPStatus(exc.status_code).name
    return ORJSONResponse(
        {"error": {"code": code, "message": exc.detail}},
        status_code=exc.status_code,
        headers=exc.headers,
    )


def shard_config(settings: ShardSettings) -> uvicorn.Config:
    return uvicorn.Config(
        build_shard(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools",
        lifespan="on",  # a shard that cannot open its database must not serve
        access_log=False,
        log_level="warning",
    )


async def serve_shard(settings: ShardSettings) -> None:
    """Serve until SIGTERM/SIGINT (uvicorn drains requests, then the lifespan closes storage).

    Runs on the caller's event loop; `run_shard` starts one (uvloop when installed)."""
    await uvicorn.Server(shard_config(settings)).serve()


def run_shard(settings: ShardSettings) -> None:
    uvicorn.Server(shard_config(settings)).run()
