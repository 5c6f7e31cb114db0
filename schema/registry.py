"""The schema registry: which services exist, with which schema, at which version.

Service SDL is kept in the store itself (system collection `_shardgate.Service`, written at
consistency ALL), so gateways hold no state of their own: any gateway can start, load the
registry from the shards and serve.

A push is checked before anything changes: the SDL must parse, must not clash with other
services, and must not break what is stored (`schema.changes`). Only then are the shards told
about new collections and indexes, the SDL stored, and the in-memory view swapped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from schema.changes import Change, breaking, diff_services
from schema.errors import SchemaError, SchemaErrors
from schema.model import ServiceSchema
from schema.parser import parse_service
from schema.store import descriptor
from schema.subgraph import check_compatible
from shards.client import ClusterClient
from shards.consistency import Consistency
from shards.protocol import CollectionDescriptor
from shards.vector_spec import DEFAULTS, IndexDefaults
from shards.writes import Write

log = logging.getLogger("shardgate.registry")

SYSTEM_COLLECTION = "_shardgate.Service"
_SYSTEM_DESCRIPTOR = CollectionDescriptor(
    name=SYSTEM_COLLECTION, key="service", shard_key="service", indexes=[], unique=[]
)


@dataclass
class PushReport:
    service: str
    applied: bool
    changes: list[Change] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def breaking(self) -> list[Change]:
        return breaking(self.changes)

    def as_dict(self) -> dict[str, object]:
        return {
            "service": self.service,
            "applied": self.applied,
            "changes": [
                {"path": c.path, "message": c.message, "breaking": c.breaking} for c in self.changes
            ],
            "errors": self.errors,
        }


class Registry:
    def __init__(self, client: ClusterClient, vector_defaults: IndexDefaults = DEFAULTS) -> None:
        self.client = client
        self.vector_defaults = vector_defaults
        self.services: dict[str, ServiceSchema] = {}
        self.version = 0
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[Mapping[str, ServiceSchema]], None]] = []

    def on_change(self, listener: Callable[[Mapping[str, ServiceSchema]], None]) -> None:
        self._listeners.append(listener)

    async def load(self) -> None:
        """Read every stored service; one that no longer parses is logged and left out."""
        await self.client.ensure_collections([_SYSTEM_DESCRIPTOR])
        await self.refresh()

    async def refresh(self) -> bool:
        """Take up what other gateways pushed (polled: gateways share nothing but the store).
        Returns whether anything changed."""
        async with self._lock:
            docs = await self.client.query(SYSTEM_COLLECTION)
            stored = {doc["service"]: doc["sdl"] for doc in docs}
            if self.version and stored == {n: s.sdl for n, s in self.services.items()}:
                return False
            services: dict[str, ServiceSchema] = {}
            for name, sdl in stored.items():
                current = self.services.get(name)
                if current is not None and current.sdl == sdl:
                    services[name] = current
                    continue
                try:
                    services[name] = parse_service(name, sdl, f"{name}.graphql")
                except SchemaErrors as e:
                    log.error("stored schema of service %s no longer loads:\n%s", name, e)
            await self.client.ensure_collections(
                [
                    descriptor(s.service, c, self.vector_defaults)
                    for s in services.values()
                    for c in s.collections
                ]
            )
            self._swap(services)
            return True

    async def push(self, service: str, sdl: str, source: str | None = None) -> PushReport:
        async with self._lock:
            source = source or f"{service}.graphql"
            try:
                model = parse_service(service, sdl, source)
                check_compatible([*(s for n, s in self.services.items() if n != service), model])
            except SchemaErrors as e:
                return PushReport(service, False, errors=[str(x) for x in e.errors])
            except SchemaError as e:
                return PushReport(service, False, errors=[str(e)])
            changes = diff_services(self.services.get(service), model)
            report = PushReport(service, False, changes)
            if report.breaking:
                return report
            await self.client.ensure_collections(
                [descriptor(service, c, self.vector_defaults) for c in model.collections]
            )
            body = {"service": service, "sdl": sdl, "pushed_at": time.time()}
            await self.client.write(
                SYSTEM_COLLECTION,
                [Write(service, service, "put", body)],
                consistency=Consistency.ALL,
            )
            self._swap({**self.services, service: model})
            report.applied = True
            return report

    def _swap(self, services: dict[str, ServiceSchema]) -> None:
        self.services = services
        self.version += 1
        for listener in self._listeners:
            listener(services)
