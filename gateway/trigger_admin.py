"""The admin API of triggers and their event log (JSON in and out):

GET    /admin/triggers                    definitions (secrets redacted) with per-shard state
POST   /admin/triggers                    add or replace one: 200, or 400 with the reason
DELETE /admin/triggers/<name>
POST   /admin/triggers/<name>/pause       events keep queueing, nothing is sent
POST   /admin/triggers/<name>/resume      also lifts a disable by a receiver's 410
POST   /admin/triggers/<name>/invoke      {"key": K}: a MANUAL event for that document
GET    /admin/events?trigger=&status=&key=&limit=
GET    /admin/events/<id>                 the event, its data and every delivery attempt
POST   /admin/events/<id>/redeliver       back to pending, retries counted from 0
POST   /admin/events/cleanup              {"older_than_s": S}: delete delivered events

Events live in the shards' outboxes; every replica of a key holds its events, so the listing
asks every live shard and shows each event once, as the shard furthest along has it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.triggers import TriggerNotFound
from shards.errors import BadRequest, ShardError, ShardUnavailable
from shards.ring import token_of

if TYPE_CHECKING:
    from gateway.app import StoreGateway

_RANK = {"delivered": 3, "dead": 2, "pending": 1, "cancelled": 0}


def trigger_routes(gw: StoreGateway) -> list[Route]:
    registry = gw.triggers
    client = gw.client

    async def ask_all(path: str, body: dict[str, Any]) -> dict[str, Any]:
        live = [s for s, ok in client.alive().items() if ok]
        answers = await asyncio.gather(
            *(client.call(s, "POST", path, body) for s in live), return_exceptions=True
        )
        out = {}
        for shard, answer in zip(live, answers, strict=True):
            if isinstance(answer, ShardUnavailable):
                continue
            if isinstance(answer, BaseException):
                raise answer
            out[shard] = answer
        if not out:
            raise ShardUnavailable("no shard is reachable")
        return out

    async def list_triggers(request: Request) -> Response:
        states = await ask_all("/triggers/state", {})
        triggers = []
        for t in registry.triggers.values():
            shards = {
                s: a["triggers"][t.name] for s, a in states.items() if t.name in a["triggers"]
            }
            triggers.append({**t.redacted(), "shards": shards})
        return _json({"triggers": triggers})

    async def add_trigger(request: Request) -> Response:
        body = await _body(request)
        services = gw.registry.services.values()
        known = [f"{s.service}.{c.name}" for s in services for c in s.collections]
        trigger = await registry.put(body, known=known)
        return _json({"trigger": trigger.redacted()})

    async def remove_trigger(request: Request) -> Response:
        await registry.remove(request.path_params["name"])
        return _json({"ok": True})

    async def pause(request: Request) -> Response:
        t = await registry.set_paused(request.path_params["name"], True)
        return _json({"trigger": t.redacted()})

    async def resume(request: Request) -> Response:
        t = await registry.set_paused(request.path_params["name"], False)
        return _json({"trigger": t.redacted()})

    async def invoke(request: Request) -> Response:
        name = request.path_params["name"]
        trigger = registry.triggers.get(name)
        if trigger is None:
            raise TriggerNotFound(name)
        key = (await _body(request)).get("key")
        if not isinstance(key, str):
            raise BadRequest('send {"key": "<document key>"}')
        doc = (await client.get(trigger.collection, [key])).get(key)
        if doc is None or doc["deleted"]:
            raise BadRequest(f"no document {key!r} in {trigger.collection}")
        service, _, name_ = trigger.collection.partition(".")
        model = gw.registry.services.get(service)
        collection = (
            next((c for c in model.collections if c.name == name_), None) if model else None
        )
        shard_key = collection.shard_key if collection is not None else None
        placement = str(doc["body"].get(shard_key, key)) if shard_key else key
        alive = client.alive()
        shard = next(
            (s for s in client.ring.preference_list(token_of(placement)) if alive[s]), None
        )
        if shard is None:
            raise ShardUnavailable(f"no replica of {key!r} is reachable")
        answer = await client.call(
            shard,
            "POST",
            "/events/invoke",
            {"trigger": name, "key": key, "doc": doc["body"], "version": doc["version"]},
        )
        return _json({"id": answer["id"], "shard": shard})

    async def list_events(request: Request) -> Response:
        q = request.query_params
        body: dict[str, Any] = {k: q[k] for k in ("trigger", "status", "key") if k in q}
        limit = int(q.get("limit", "100")) if q.get("limit", "100").isdigit() else 100
        body["limit"] = limit
        answers = await ask_all("/events/list", body)
        merged: dict[str, dict[str, Any]] = {}
        for shard, answer in answers.items():
            for e in answer["events"]:
                _merge(merged, e, shard)
        events = sorted(merged.values(), key=lambda e: (e["created_ms"], e["version"]))
        return _json({"events": events[-limit:]})

    async def show_event(request: Request) -> Response:
        answers = await ask_all("/events/show", {"id": request.path_params["id"]})
        merged: dict[str, dict[str, Any]] = {}
        attempts = []
        for shard, answer in answers.items():
            if answer["event"] is not None:
                _merge(merged, answer["event"], shard)
                attempts += answer["attempts"]
        if not merged:
            return _json({"error": "no such event"}, 404)
        [event] = merged.values()
        return _json({"event": event, "attempts": sorted(attempts, key=lambda a: a["at_ms"])})

    async def redeliver(request: Request) -> Response:
        answers = await ask_all("/events/redeliver", {"ids": [request.path_params["id"]]})
        count = sum(a["events"] for a in answers.values())
        if not count:
            return _json({"error": "no such event"}, 404)
        return _json({"ok": True, "shards": count})

    async def cleanup(request: Request) -> Response:
        body = await _body(request)
        answers = await ask_all("/events/cleanup", body)
        return _json({"deleted": {s: a["deleted"] for s, a in answers.items()}})

    def handle(fn: Callable[[Request], Awaitable[Response]]) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            try:
                return await fn(request)
            except TriggerNotFound as e:
                return _json({"error": f"no trigger named {e.args[0]!r}"}, 404)
            except BadRequest as e:
                return _json({"error": str(e)}, 400)
            except ShardError as e:
                return _json({"error": str(e)}, 503)

        return endpoint

    return [
        Route("/admin/triggers", handle(list_triggers), methods=["GET"]),
        Route("/admin/triggers", handle(add_trigger), methods=["POST"]),
        Route("/admin/triggers/{name}", handle(remove_trigger), methods=["DELETE"]),
        Route("/admin/triggers/{name}/pause", handle(pause), methods=["POST"]),
        Route("/admin/triggers/{name}/resume", handle(resume), methods=["POST"]),
        Route("/admin/triggers/{name}/invoke", handle(invoke), methods=["POST"]),
        Route("/admin/events", handle(list_events), methods=["GET"]),
        Route("/admin/events/cleanup", handle(cleanup), methods=["POST"]),
        Route("/admin/events/{id}", handle(show_event), methods=["GET"]),
        Route("/admin/events/{id}/redeliver", handle(redeliver), methods=["POST"]),
    ]


def _merge(merged: dict[str, dict[str, Any]], event: dict[str, Any], shard: str) -> None:
    """Keep the copy furthest along (delivered > dead > pending > cancelled)."""
    current = merged.get(event["id"])
    shards = [*(current["shards"] if current else []), shard]
    if current is None or _RANK[event["status"]] > _RANK[current["status"]]:
        merged[event["id"]] = {**event, "shards": shards}
    else:
        current["shards"] = shards


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.body() or b"{}")
    except orjson.JSONDecodeError:
        raise BadRequest("the request body must be JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")
