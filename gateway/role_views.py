"""What each role is served, per registry version: its store subgraphs and its supergraph.

A role's views are built on its first request and kept until the next schema push:

    subgraph(role, "orders")   the orders subgraph as the role sees it: validation,
                               introspection and `_service` show only what it may use
    graphql(role)              its API schema, composed from its subgraph views and the
                               external subgraphs; plans stay the full supergraph's, shared

Validation against the role's schema keeps out what it may not name (columns, operations);
resolvers apply its row filters, checks and presets (schema/guards.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

from graphql import ExecutionResult, build_schema

from auth.permissions import Access, Permissions, RoleRules
from auth.session import Session
from gateway.api_schema import api_schema
from gateway.errors import GatewayError
from gateway.federation import Federation
from gateway.graphql_http import Executable
from gateway.supergraph import load_supergraph
from schema.composition import compose
from schema.errors import SchemaErrors
from schema.model import ServiceSchema
from schema.resolvers import StoreContext, build_subgraph_schema
from schema.role_view import role_sdl
from schema.store import CollectionStore
from schema.subgraph import subgraph_sdl
from schema.subgraph_reader import Subgraph, read_subgraph

log = logging.getLogger("shardgate.permissions")

_NOTHING = build_schema('type Query {\n  "This role may read nothing here."\n  _: Boolean\n}')


class RoleViews:
    def __init__(
        self,
        version: int,
        services: Mapping[str, ServiceSchema],
        stores: Mapping[str, CollectionStore],
        permissions: Permissions,
        subgraph_url: Callable[[str], str],
        external: Sequence[Subgraph],
        wrap: Callable[[Executable], Executable] = lambda served: served,
    ) -> None:
        """`wrap`: applied to each subgraph executable served over HTTP (tracing)."""
        self.version = version
        self.services = services
        self.stores = stores
        self.permissions = permissions
        self.owners = {name: [c.name for c in s.collections] for name, s in services.items()}
        self._subgraph_url = subgraph_url
        self._external = external
        self._wrap = wrap
        self.federation: Federation | None = None  # set once composed
        self._rules: dict[str, RoleRules] = {}
        self._subgraphs: dict[tuple[str, str], Executable] = {}
        self._graphql: dict[str, Executable] = {}
        # The whole store subgraphs, for callers without restrictions; resolvers still apply
        # the caller's permissions whichever schema runs them.
        self.full = {
            name: wrap(
                Executable(
                    build_subgraph_schema(
                        model, {c.name: stores[c.name] for c in model.collections}
                    ),
                    f"{name}@{version}",
                    self.context,
                )
            )
            for name, model in services.items()
        }

    def context(self, session: Session | None) -> StoreContext:
        """Resolvers' context for this caller: its permissions, bound to its session."""
        if self.permissions.unrestricted(session):
            return StoreContext(self.stores)
        assert session is not None
        return StoreContext(self.stores, Access(session, self.rules(session.role)))

    def rules(self, role: str) -> RoleRules:
        rules = self._rules.get(role)
        if rules is None:
            rules = self._rules[role] = self.permissions.rules_for(role, self.owners)
        return rules

    def prewarm(self, roles: Iterable[str]) -> None:
        """Build these roles' views now (~0.1 s each), not on their first request."""
        try:
            for role in roles:
                for name in self.services:
                    self.subgraph(role, name)
                self.graphql(role)
        except Exception:  # built again on first use, where the error reaches the caller
            log.exception("building role views failed")

    def subgraph_for(self, name: str, session: Session | None) -> Executable | None:
        """Store subgraph `name` as this caller may see it (None: no such subgraph)."""
        if name not in self.full:
            return None
        if self.permissions.unrestricted(session):
            return self.full[name]
        assert session is not None
        return self.subgraph(session.role, name)

    def subgraph(self, role: str, name: str) -> Executable:
        key = (role, name)
        view = self._subgraphs.get(key)
        if view is None:
            model = self.services[name]
            rules = self.rules(role)
            schema = build_subgraph_schema(
                model,
                {c.name: self.stores[c.name] for c in model.collections},
                lambda collection: rules.get(collection, {}),
            )
            view = self._subgraphs[key] = self._wrap(
                Executable(schema, f"{name}@{self.version}/{role}", self.context)
            )
        return view

    def graphql(self, role: str) -> Executable | None:
        view = self._graphql.get(role)
        if view is None and self.federation is not None:
            view = self._graphql[role] = self._federated(role, self.federation)
        return view

    def _federated(self, role: str, federation: Federation) -> Executable:
        rules = self.rules(role)
        parts = [
            read_subgraph(
                name,
                self._subgraph_url(name),
                role_sdl(
                    subgraph_sdl(model),
                    model,
                    lambda collection: rules.get(collection, {}),
                    inaccessible_keys=True,
                ),
            )
            for name, model in self.services.items()
        ]
        version = f"supergraph@{self.version}/{role}"
        try:
            api = api_schema(load_supergraph(compose([*parts, *self._external])))
        except (SchemaErrors, GatewayError) as e:
            # e.g. nothing left to query: the role gets an empty schema, not an outage
            log.warning("role %r: no supergraph of its own (%s); it sees nothing", role, e)
            return Executable(_NOTHING, version, lambda _session: None)

        async def run(*args: object) -> ExecutionResult:
            return await federation.run(*args, api=api)  # type: ignore[arg-type]

        return Executable(api, version, lambda _session: None, run=run)
