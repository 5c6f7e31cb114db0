"""The body a webhook receives, in the shape Hasura's event triggers use:

{"id": "<event id>", "created_at": "2026-01-01T00:00:00.000Z",
 "trigger": {"name": "new_user"},
 "collection": {"service": "users", "name": "User"},
 "event": {"op": "INSERT", "data": {"old": null, "new": {...}},
           "session_variables": {}, "trace_context": null},
 "version": 1767225600000000,          # the document's HLC version of this change
 "delivery_info": {"current_retry": 0, "max_retries": 5}}
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from shards.triggers.definitions import TriggerDef
from shards.triggers.outbox import Event


def build(event: Event, trigger: TriggerDef, current_retry: int) -> bytes:
    service, _, name = event.collection.partition(".")
    created = datetime.fromtimestamp(event.created_ms / 1000, UTC)
    body: dict[str, Any] = {
        "id": event.id,
        "created_at": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "trigger": {"name": trigger.name},
        "collection": {"service": service, "name": name},
        "event": {
            "op": event.op,
            "data": {
                "old": None if event.old is None else orjson.Fragment(event.old),
                "new": None if event.new is None else orjson.Fragment(event.new),
            },
            # No authentication exists yet, so writes carry no session: always {}.
            "session_variables": {},
            "trace_context": None,
        },
        "version": event.version,
        "delivery_info": {
            "current_retry": current_retry,
            "max_retries": trigger.retry.max_retries,
        },
    }
    return orjson.dumps(body)
