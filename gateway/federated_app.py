"""`shardgate gateway --supergraph FILE`: a federation gateway over any HTTP subgraphs.

    GET|POST /graphql   the supergraph's API schema: planned, fetched, merged
    GET      /healthz   200 once the supergraph is loaded; its subgraphs in the body

The supergraph file is watched: a changed file is loaded and swapped in whole, so requests
in flight finish on the version they started with; a file that does not load is reported
and the previous version keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth import AuthSettings
from auth.operation_limits import OperationLimits
from auth.rate_limit_settings import RateLimitSettings
from auth.rate_limits import RateLimiter
from gateway.authentication import Authenticator, is_admin
from gateway.csrf import CsrfSettings
from gateway.errors import GatewayError
from gateway.fast_path import serve_graphql_directly
from gateway.federation import Federation
from gateway.graphql_http import Executable, GraphQLEndpoint
from gateway.subgraph_client import HttpSubgraphs
from gateway.supergraph import load_supergraph
from gateway.telemetry import TracedDocumentCache, server_middleware, traced_authenticate
from shards.telemetry import TelemetrySettings, Tracing

log = logging.getLogger("shardgate.federation")


@dataclass(frozen=True)
class FederatedSettings:
    supergraph: Path
    host: str = "127.0.0.1"
    port: int = 4000
    subgraph_urls: dict[str, str] = field(default_factory=dict)  # overrides by name
    timeout: float = 30.0  # seconds per subgraph request
    subgraph_timeouts: dict[str, float] = field(default_factory=dict)  # overrides by name
    dedupe_subgraph_requests: bool = True
    auth: AuthSettings = field(default_factory=AuthSettings)
    limits: OperationLimits = field(default_factory=OperationLimits)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    csrf: CsrfSettings = field(default_factory=CsrfSettings)
    watch_interval: float = 1.0
    graphiql: bool = True
    max_request_bytes: int = 32 << 20
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)


@dataclass(frozen=True)
class Loaded:
    version: str
    federation: Federation
    subgraphs: HttpSubgraphs
    executable: Executable


def load(settings: FederatedSettings, tracing: Tracing | None = None) -> Loaded:
    sdl = settings.supergraph.read_text()
    supergraph = load_supergraph(sdl)
    urls = {name: s.url for name, s in supergraph.subgraphs.items()}
    unknown = set(settings.subgraph_urls) - set(urls)
    if unknown:
        raise GatewayError(
            f"--subgraph-url names unknown subgraphs {sorted(unknown)}; "
            f"the supergraph has {sorted(urls)}"
        )
    urls.update(settings.subgraph_urls)
    subgraphs = HttpSubgraphs(
        urls,
        timeout=settings.timeout,
        timeouts=settings.subgraph_timeouts,
        tracing=tracing,
        dedupe=settings.dedupe_subgraph_requests,
    )
    federation = Federation(supergraph, subgraphs, tracing=tracing)
    version = hashlib.sha256(sdl.encode()).hexdigest()[:16]
    executable = Executable(federation.api, version, lambda _session: None, run=federation.run)
    return Loaded(version, federation, subgraphs, executable)


def build_federated_app(settings: FederatedSettings, tracing: Tracing | None = None) -> Starlette:
    """`tracing`: where spans go (default: built from `settings.telemetry`)."""
    traces = tracing or Tracing.start(settings.telemetry)
    current = load(settings, traces)  # a supergraph that does not load stops the start, loudly
    state = {"loaded": current}
    authenticator = Authenticator(settings.auth)
    rate_limits = RateLimiter(settings.rate_limits, settings.auth.anonymous_role)
    closing: set[asyncio.Task[None]] = set()

    async def close_later(old: Loaded) -> None:
        await asyncio.sleep(settings.timeout)  # requests in flight on it finish first
        await old.subgraphs.close()

    async def watch() -> None:
        seen = settings.supergraph.stat().st_mtime_ns
        while True:
            await asyncio.sleep(settings.watch_interval)
            try:
                mtime = settings.supergraph.stat().st_mtime_ns
                if mtime == seen:
                    continue
                seen = mtime
                fresh = await asyncio.to_thread(load, settings, traces)
            except (OSError, GatewayError) as e:
                log.error("supergraph not reloaded, still serving the previous one: %s", e)
                continue
            old, state["loaded"] = state["loaded"], fresh
            log.info("supergraph reloaded: version %s", fresh.version)
            task = asyncio.create_task(close_later(old))
            closing.add(task)
            task.add_done_callback(closing.discard)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await authenticator.start()
        if rate_limits.active:
            log.info("%s", settings.rate_limits.describe())
        watcher = asyncio.create_task(watch())
        try:
            yield
        finally:
            await authenticator.close()
            await rate_limits.close()
            for task in (watcher, *closing):
                task.cancel()
            await asyncio.gather(watcher, *closing, return_exceptions=True)
            await state["loaded"].subgraphs.close()
            await asyncio.to_thread(traces.shutdown)

    endpoint = GraphQLEndpoint(
        lambda _request: state["loaded"].executable,
        graphiql=settings.graphiql,
        max_body=settings.max_request_bytes,
        authenticate=traced_authenticate(traces, authenticator.session),
        limits=settings.limits,
        rate_limits=rate_limits,
        csrf=settings.csrf,
        cache=(
            TracedDocumentCache(traces, max_tokens=settings.limits.max_tokens)
            if traces.enabled
            else None
        ),
    )

    async def healthz(request: Request) -> Response:
        loaded = state["loaded"]
        body = {
            "status": "ok",
            "supergraph": loaded.version,
            "subgraphs": sorted(loaded.subgraphs.urls),
        }
        if await is_admin(authenticator, request):  # addresses are for operators only
            body["subgraphs"] = loaded.subgraphs.urls
        return Response(orjson.dumps(body), media_type="application/json")

    app = Starlette(
        routes=[
            Route("/graphql", endpoint.handle, methods=["GET", "POST"]),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
        middleware=server_middleware(traces),
    )
    if not traces.enabled:  # request spans wrap every request: none may go around them
        serve_graphql_directly(app, endpoint.handle)
    return app
