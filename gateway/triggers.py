"""Trigger definitions, kept in the store (system collection `_shardgate.Trigger`) like the
schema registry, so gateways stay stateless; and pushed whole to every shard (POST /triggers)
with the ring layout and the peers' URLs, which the shards need to know who delivers.

A shard that was down gets the definitions again when it answers (`ClusterClient.on_revival`);
definitions changed through another gateway are taken up by the registry poll.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from gateway.settings import TriggerSettings
from shards.client import ClusterClient
from shards.consistency import Consistency
from shards.errors import BadRequest, ShardUnavailable
from shards.protocol import CollectionDescriptor
from shards.triggers.definitions import TriggerDef
from shards.triggers.ssrf import UnsafeTarget, check_url
from shards.writes import Write

log = logging.getLogger("shardgate.triggers")

SYSTEM_COLLECTION = "_shardgate.Trigger"
_DESCRIPTOR = CollectionDescriptor(
    name=SYSTEM_COLLECTION, key="name", shard_key="name", indexes=[], unique=[]
)


class TriggerNotFound(LookupError):
    pass


class TriggerRegistry:
    def __init__(self, client: ClusterClient, settings: TriggerSettings) -> None:
        self.client = client
        self.settings = settings
        self.triggers: dict[str, TriggerDef] = {}
        self._lock = asyncio.Lock()
        client.on_revival.append(self._push_to)

    async def load(self) -> None:
        """Read stored definitions, upsert those of shardgate.toml, push to every shard."""
        await self.client.ensure_collections([_DESCRIPTOR])
        await self.refresh(force=True)
        for raw in self.settings.definitions:
            try:
                await self.put(raw)
            except BadRequest as e:
                log.error("trigger definition in the settings refused: %s", e)

    async def refresh(self, *, force: bool = False) -> bool:
        async with self._lock:
            docs = await self.client.query(SYSTEM_COLLECTION)
            stored: dict[str, TriggerDef] = {}
            for doc in docs:
                try:
                    stored[doc["name"]] = TriggerDef.parse(doc)
                except BadRequest as e:
                    log.error("stored trigger %s no longer loads: %s", doc.get("name"), e)
            if stored == self.triggers and not force:
                return False
            self.triggers = stored
            await self._push_all()
            return True

    async def put(self, raw: object, *, known: Sequence[str] | None = None) -> TriggerDef:
        trigger = TriggerDef.parse(raw)
        if known is not None and trigger.collection not in known:
            raise BadRequest(
                f"no collection {trigger.collection!r}; known: {', '.join(sorted(known))}"
            )
        if trigger.url is not None:
            try:
                check_url(trigger.url, allow_private=self.settings.allow_private)
            except UnsafeTarget as e:
                raise BadRequest(str(e)) from None
        await self._store(trigger)
        return trigger

    async def remove(self, name: str) -> None:
        async with self._lock:
            if name not in self.triggers:
                raise TriggerNotFound(name)
            await self.client.write(
                SYSTEM_COLLECTION, [Write(name, name, "delete")], consistency=Consistency.ALL
            )
            del self.triggers[name]
            await self._push_all()

    async def set_paused(self, name: str, paused: bool) -> TriggerDef:
        trigger = self.triggers.get(name)
        if trigger is None:
            raise TriggerNotFound(name)
        # Resuming also lifts a disable by a receiver's 410.
        await self._store(trigger.with_paused(paused), enable=[] if paused else [name])
        return self.triggers[name]

    async def _store(self, trigger: TriggerDef, enable: Sequence[str] = ()) -> None:
        async with self._lock:
            await self.client.write(
                SYSTEM_COLLECTION,
                [Write(trigger.name, trigger.name, "put", trigger.as_dict())],
                consistency=Consistency.ALL,
            )
            self.triggers[trigger.name] = trigger
            await self._push_all(enable)

    def config(self, enable: Sequence[str] = ()) -> dict[str, Any]:
        ring = self.client.ring
        return {
            "triggers": [t.as_dict() for t in self.triggers.values()],
            "ring": {
                "shards": list(ring.shards),
                "replication": ring.replication,
                "vnodes": ring.vnodes,
            },
            "peers": {s: st.url for s, st in self.client.states.items()},
            "options": self.settings.options(),
            "enable": list(enable),
        }

    async def _push_all(self, enable: Sequence[str] = ()) -> None:
        """Every live shard gets the whole set; a shard down now gets it on revival."""
        payload = self.config(enable)
        live = [s for s, ok in self.client.alive().items() if ok]
        answers = await asyncio.gather(
            *(self.client.call(s, "POST", "/triggers", payload) for s in live),
            return_exceptions=True,
        )
        for answer in answers:
            if isinstance(answer, BadRequest):
                raise answer
            if isinstance(answer, BaseException) and not isinstance(answer, ShardUnavailable):
                raise answer

    async def _push_to(self, shard: str) -> None:
        await self.client.call(shard, "POST", "/triggers", self.config(), mark=False)
