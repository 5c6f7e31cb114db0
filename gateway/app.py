"""The gateway process over a shard cluster: `build_app(settings)`.

GET|POST /graphql                       the supergraph: every store service composed with
                                        the external subgraphs of [gateway.subgraphs];
                                        store subgraphs run in process, the others over HTTP
GET|POST /subgraphs/<service>/graphql   one service as an Apollo Federation v2 subgraph
GET      /healthz                       200 once serving; shard states in the body
GET      /admin/services                registered services and their SDL
POST     /admin/services/<service>      push SDL (text/plain or {"sdl": ...}): 200 applied,
                                        409 breaking (with the report), 400 invalid
POST     /admin/import/<collection>  NDJSON documents inserted in batches (gateway/bulk_import.py)
POST     /admin/vectors/rebuild         {"collection": "users.User" or "User", "field": null}:
                                        rebuild vector indexes from SQLite on every live shard
GET      /admin/status                  shards, ring ownership, document counts
*        /admin/triggers..., /admin/events...   triggers and their event log
                                        (gateway/trigger_admin.py)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from auth.rate_limits import RateLimiter
from auth.session import Session
from gateway.authentication import AdminOnly, Authenticator, is_admin
from gateway.errors import GatewayError
from gateway.fast_path import serve_graphql_directly
from gateway.federation import Federation
from gateway.graphql_http import Executable, GraphQLEndpoint
from gateway.local_subgraphs import LocalSubgraphs, RoutedSubgraphs
from gateway.role_views import RoleViews
from gateway.settings import GatewaySettings
from gateway.subgraph_client import HttpSubgraphs
from gateway.supergraph import load_supergraph
from gateway.telemetry import (
    TracedDocumentCache,
    server_middleware,
    traced_authenticate,
    traced_executable,
)
from gateway.trigger_admin import trigger_routes
from gateway.triggers import TriggerRegistry
from gateway.vector_admin import vector_routes
from schema.composition import compose
from schema.errors import SchemaError, SchemaErrors
from schema.model import ServiceSchema
from schema.registry import Registry
from schema.store import CollectionStore, StoreLimits
from schema.subgraph import subgraph_sdl
from schema.subgraph_reader import Subgraph, read_subgraph
from shards.client import ClusterClient
from shards.errors import ShardError
from shards.ring import Ring
from shards.ring_identity import RingMismatch, check_ring
from shards.telemetry import Tracing

log = logging.getLogger("shardgate.gateway")


@dataclass(frozen=True)
class Served:
    """Everything built from one registry version; swapped as a whole on a push."""

    graphql: Executable | None  # the federated supergraph
    subgraphs: Mapping[str, Executable]
    views: RoleViews | None = None  # what each role sees of them
    stores: Mapping[str, CollectionStore] = field(default_factory=dict)  # by type name

    def graphql_for(self, session: Session | None) -> Executable | None:
        if self.views is None or self.views.permissions.unrestricted(session):
            return self.graphql
        assert session is not None
        return self.views.graphql(session.role)

    def subgraph_for(self, name: str, session: Session | None) -> Executable | None:
        if self.views is None:
            return self.subgraphs.get(name)
        return self.views.subgraph_for(name, session)


class StoreGateway:
    def __init__(self, settings: GatewaySettings, tracing: Tracing | None = None) -> None:
        store = settings.store
        ring = Ring.build(store.shards, vnodes=store.vnodes, replication=store.replication)
        self.settings = settings
        self.tracing = tracing or Tracing.off()
        self.client = ClusterClient(ring, store.shards, timeout=store.timeout, tracing=self.tracing)
        self.registry = Registry(self.client, settings.vectors)
        self.registry.on_change(self._rebuild)
        self.triggers = TriggerRegistry(self.client, settings.triggers)
        self.limits = StoreLimits(
            max_document_bytes=store.max_document_bytes, partial_search=settings.vectors.partial
        )
        self.served = Served(None, {})
        self.auth = Authenticator(settings.auth)
        self.http = HttpSubgraphs(
            settings.subgraphs,
            timeout=store.timeout * 6,
            timeouts=settings.subgraph_timeouts,
            tracing=self.tracing,
            dedupe=settings.dedupe_subgraph_requests,
        )
        self.external: dict[str, Subgraph] = {}  # external subgraphs read so far
        self.ready = asyncio.Event()
        self.fatal: str | None = None  # why this gateway refuses to serve

    async def start(self) -> None:
        await self.auth.start()
        for line in self.settings.permissions.startup_warnings(self.settings.auth.open_mode):
            log.warning("%s", line)
        await self.client.start()

    async def load(self, retry_every: float = 1.0) -> None:
        """Load the registry (retrying while shards are unreachable), then the services dir."""
        while True:
            try:
                await check_ring(self.client)
                await self.registry.load()
                await self.triggers.load()
                break
            except RingMismatch as e:
                self.fatal = str(e)
                log.error("%s", e)
                raise
            except ShardError as e:
                log.warning("registry not loaded yet (%s); retrying", e)
                await asyncio.sleep(retry_every)
        if self.settings.services is not None:
            await self._push_directory(self.settings.services)
        self.ready.set()

    async def follow_registry(self) -> None:
        """Load, then keep taking up schema pushes made through other gateways (and external
        subgraphs that were not reachable yet)."""
        complete = await self.load_external()
        await self.load()
        while True:
            await asyncio.sleep(self.settings.registry_poll)
            if not complete and (complete := await self.load_external()):
                self._rebuild(self.registry.services)
            try:
                await self.registry.refresh()
                await self.triggers.refresh()
            except ShardError as e:
                log.warning("registry refresh failed (%s); serving the schema we have", e)

    async def close(self) -> None:
        await self.http.close()
        await self.client.close()
        await self.auth.close()

    async def _push_directory(self, directory: Path) -> None:
        files = await asyncio.to_thread(
            lambda: [(p, p.read_text()) for p in sorted(directory.glob("*.graphql"))]
        )
        for path, sdl in files:
            report = await self.registry.push(path.stem, sdl, str(path))
            for error in report.errors:
                log.error("%s", error)
            if report.breaking:
                log.error(
                    "%s not applied, it would break stored data:\n%s",
                    path,
                    "\n".join(str(c) for c in report.breaking),
                )

    def _rebuild(self, services: Mapping[str, ServiceSchema]) -> None:
        version = self.registry.version
        stores = {
            c.name: CollectionStore(s.service, c, self.client, self.limits)
            for s in services.values()
            for c in s.collections
        }
        permissions = self.settings.permissions
        views = RoleViews(
            version,
            services,
            stores,
            permissions,
            self._subgraph_url,
            list(self.external.values()),
            wrap=lambda served: traced_executable(served, self.tracing),
        )
        for problem in permissions.check_service_roles(views.owners):
            log.error("%s", problem)
        subgraphs = views.full
        local = LocalSubgraphs(list(subgraphs), views.subgraph_for)
        federation = views.federation = self._federate(services, local) if services else None
        graphql = (
            Executable(
                federation.api, f"supergraph@{version}", lambda _session: None, run=federation.run
            )
            if federation is not None
            else self.served.graphql
        )
        self.served = Served(graphql, subgraphs, views, stores)
        if permissions.enforced:  # off the event loop: composing a role's view takes ~0.1 s
            roles = {*permissions.roles, *services}
            asyncio.get_running_loop().run_in_executor(None, views.prewarm, sorted(roles))

    def _subgraph_url(self, name: str) -> str:
        return f"http://{self.settings.host}:{self.settings.port}/subgraphs/{name}/graphql"

    def _federate(
        self, services: Mapping[str, ServiceSchema], local: LocalSubgraphs
    ) -> Federation | None:
        """The supergraph of the store services and the external subgraphs, composed here;
        store subgraphs run in process, the others over HTTP. None if it does not compose."""
        parts = [
            read_subgraph(name, self._subgraph_url(name), subgraph_sdl(model))
            for name, model in services.items()
        ]
        try:
            supergraph = load_supergraph(compose([*parts, *self.external.values()]))
        except (SchemaErrors, GatewayError) as e:
            log.error("the supergraph did not compose; still serving the previous one:\n%s", e)
            return None
        routed = RoutedSubgraphs(local, self.http)
        return Federation(supergraph, routed, tracing=self.tracing)

    async def load_external(self) -> bool:
        """Read the external subgraphs' SDL; True when all are known (retried until then)."""
        for name, url in self.settings.subgraphs.items():
            if name in self.external:
                continue
            try:
                answer = await self.http.fetch(name, "{ _service { sdl } }", {})
                sdl = answer["data"]["_service"]["sdl"]
                self.external[name] = read_subgraph(name, url, sdl)
            except (GatewayError, SchemaError, KeyError, TypeError) as e:
                log.warning("external subgraph %s (%s) not read yet: %s", name, url, e)
        return len(self.external) == len(self.settings.subgraphs)


def build_app(settings: GatewaySettings, tracing: Tracing | None = None) -> Starlette:
    """`tracing`: where spans go (default: built from `settings.telemetry`)."""
    traces = tracing or Tracing.start(settings.telemetry)
    gw = StoreGateway(settings, traces)
    rate_limits = RateLimiter(settings.rate_limits, settings.auth.anonymous_role)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await gw.start()
        if rate_limits.active:
            log.info("%s", settings.rate_limits.describe())
        loading = asyncio.create_task(gw.follow_registry())
        try:
            yield
        finally:
            loading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loading
            await gw.close()
            await rate_limits.close()
            await asyncio.to_thread(traces.shutdown)

    options = {
        "graphiql": settings.graphiql,
        "max_body": settings.max_request_bytes,
        "authenticate": traced_authenticate(traces, gw.auth.session),
        "limits": settings.limits,
        "rate_limits": rate_limits,
        "csrf": settings.csrf,
    }

    def cache() -> TracedDocumentCache | None:
        if not traces.enabled:
            return None
        return TracedDocumentCache(traces, max_tokens=settings.limits.max_tokens)

    graphql = GraphQLEndpoint(
        lambda request: gw.served.graphql_for(_session(request)),
        cache=cache(),
        **options,  # type: ignore[arg-type]
    )
    subgraph = GraphQLEndpoint(
        lambda request: gw.served.subgraph_for(request.path_params["service"], _session(request)),
        cache=cache(),
        **options,  # type: ignore[arg-type]
    )

    async def subgraph_or_404(request: Request) -> Response:
        service = request.path_params["service"]
        if gw.ready.is_set() and service not in gw.served.subgraphs:
            return _json(
                {
                    "errors": [
                        {
                            "message": f"no service named {service!r}; registered: "
                            f"{sorted(gw.served.subgraphs)}",
                            "extensions": {"code": "NOT_FOUND"},
                        }
                    ]
                },
                404,
            )
        return await subgraph.handle(request)

    async def healthz(request: Request) -> Response:
        # Addresses and errors are for operators: the admin (or open mode) sees them.
        detailed = await is_admin(gw.auth, request)
        states = {
            s: {"url": st.url, "alive": st.alive, "error": st.error}
            if detailed
            else {"alive": st.alive}
            for s, st in gw.client.states.items()
        }
        ready = gw.ready.is_set()
        if gw.fatal is not None:
            error = gw.fatal if detailed else "misconfigured: see the gateway's log"
            return _json({"status": "refused", "error": error}, 503)
        body = {
            "status": "ok" if ready else "starting",
            "shards": states,
            "services": sorted(gw.registry.services),
        }
        return _json(body, 200 if ready else 503)

    async def list_services(request: Request) -> Response:
        return _json(
            {
                "services": [
                    {
                        "service": s.service,
                        "sdl": s.sdl,
                        "collections": [c.name for c in s.collections],
                    }
                    for s in gw.registry.services.values()
                ]
            }
        )

    async def push_service(request: Request) -> Response:
        service = request.path_params["service"]
        raw = await request.body()
        sdl = raw.decode("utf-8", errors="replace")
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                sdl = orjson.loads(raw)["sdl"]
            except (orjson.JSONDecodeError, KeyError, TypeError):
                return _json({"errors": ['send {"sdl": "<schema>"} or the SDL as text/plain']}, 400)
        try:
            report = await gw.registry.push(service, sdl, request.query_params.get("source"))
        except ShardError as e:
            return _json({"service": service, "applied": False, "errors": [str(e)]}, 503)
        status = 200 if report.applied else 400 if report.errors else 409
        return _json(report.as_dict(), status)

    async def status(request: Request) -> Response:
        stats = await gw.client.stats()
        ownership = gw.client.ring.ownership()
        shards = []
        for shard_id, state in gw.client.states.items():
            shard_stats = stats.get(shard_id) or {}
            docs = sum(
                c.get("documents", 0)
                for name, c in shard_stats.get("collections", {}).items()
                if not name.startswith("_")
            )
            shards.append(
                {
                    "id": shard_id,
                    "url": state.url,
                    "alive": state.alive,
                    "error": state.error,
                    "ownership": ownership[shard_id],
                    "documents": docs if stats.get(shard_id) is not None else None,
                }
            )
        ring = gw.client.ring
        return _json(
            {
                "replication": ring.replication,
                "vnodes": ring.vnodes,
                "epoch": ring.epoch,
                "shards": shards,
                "services": sorted(gw.registry.services),
            }
        )

    routes = [
        Route("/graphql", graphql.handle, methods=["GET", "POST"]),
        Route("/subgraphs/{service}/graphql", subgraph_or_404, methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/admin/services", list_services),
        Route("/admin/services/{service}", push_service, methods=["POST"]),
        Route("/admin/status", status),
        *trigger_routes(gw),
        *vector_routes(gw, settings.max_request_bytes),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            *server_middleware(traces),
            Middleware(AdminOnly, authenticator=lambda: gw.auth),
        ],
    )
    app.state.gateway = gw
    if not traces.enabled:  # request spans wrap every request: none may go around them
        serve_graphql_directly(app, graphql.handle)
    return app


def _session(request: Request) -> Session | None:
    return getattr(request.state, "session", None)


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")
