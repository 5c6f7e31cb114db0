"""What the gateway pushes to every shard (POST /triggers), persisted in the shard's SQLite so
that a restarted shard has it before its first write.

    {"triggers": [TriggerDef...],
     "ring": {"shards": [...], "replication": 2, "vnodes": 128},
     "peers": {"shard-0": "http://127.0.0.1:7401", ...},
     "options": {"allow_private": false, "grace_s": 30, "concurrency": 8, "retention_s": 604800}}
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shards.errors import BadRequest
from shards.ring import Ring
from shards.triggers.definitions import TriggerDef
from shards.triggers.ssrf import UnsafeTarget, check_url

ALLOW_PRIVATE_ENV = "SHARDGATE_TRIGGERS_ALLOW_PRIVATE"


@dataclass(frozen=True, slots=True)
class Options:
    allow_private: bool = False
    grace_s: float = 30.0  # a replica delivers once the primary is down this long
    concurrency: int = 8  # requests in flight per trigger
    retention_s: float = 7 * 86400.0  # delivered events older than this are deleted

    @classmethod
    def parse(cls, raw: object) -> Options:
        if not isinstance(raw, Mapping):
            raise BadRequest("options must be an object")
        try:
            return cls(**raw)
        except TypeError as e:
            raise BadRequest(f"options: {e}") from None


def allow_private_from_env(env: Mapping[str, str] | None = None) -> bool:
    return (os.environ if env is None else env).get(ALLOW_PRIVATE_ENV, "") in ("1", "true")


@dataclass(frozen=True, slots=True)
class TriggerConfig:
    triggers: tuple[TriggerDef, ...] = ()
    ring: Ring | None = None
    peers: Mapping[str, str] = field(default_factory=dict)
    options: Options = field(default_factory=Options)

    @classmethod
    def parse(cls, raw: object, *, allow_private_env: bool = False) -> TriggerConfig:
        if not isinstance(raw, Mapping):
            raise BadRequest("the trigger configuration must be an object")
        triggers = tuple(TriggerDef.parse(t) for t in raw.get("triggers") or [])
        names = [t.name for t in triggers]
        if len(set(names)) != len(names):
            raise BadRequest("trigger names must be unique")
        ring_raw = raw.get("ring")
        if not isinstance(ring_raw, Mapping):
            raise BadRequest("ring {shards, replication, vnodes} is required")
        try:
            ring = Ring.build(
                ring_raw["shards"], replication=ring_raw["replication"], vnodes=ring_raw["vnodes"]
            )
        except (KeyError, TypeError, ValueError) as e:
            raise BadRequest(f"ring: {e}") from None
        peers = raw.get("peers") or {}
        if not isinstance(peers, Mapping):
            raise BadRequest("peers must map shard ids to URLs")
        options = Options.parse(raw.get("options") or {})
        allow = options.allow_private or allow_private_env
        for t in triggers:
            if t.url is not None:
                try:
                    check_url(t.url, allow_private=allow)
                except UnsafeTarget as e:
                    raise BadRequest(str(e)) from None
        return cls(triggers, ring, dict(peers), options)

    def as_dict(self) -> dict[str, Any]:
        r = self.ring
        return {
            "triggers": [t.as_dict() for t in self.triggers],
            "ring": None
            if r is None
            else {"shards": list(r.shards), "replication": r.replication, "vnodes": r.vnodes},
            "peers": dict(self.peers),
            "options": {
                "allow_private": self.options.allow_private,
                "grace_s": self.options.grace_s,
                "concurrency": self.options.concurrency,
                "retention_s": self.options.retention_s,
            },
        }

    def by_collection(self) -> dict[str, list[TriggerDef]]:
        out: dict[str, list[TriggerDef]] = {}
        for t in self.triggers:
            out.setdefault(t.collection, []).append(t)
        return out
