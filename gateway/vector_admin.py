"""Admin endpoints for vectors and bulk data (mounted by `gateway.app`):

POST /admin/vectors/rebuild          {"collection": "users.User" or "User", "field": null}:
                                     rebuild vector indexes from SQLite on every live shard
POST /admin/import/<collection>      NDJSON documents inserted in batches (gateway.bulk_import)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.bulk_import import (
    ImportRefused,
    ImportStopped,
    check_documents,
    import_documents,
    parse_documents,
    resolve_collection,
)
from shards.errors import ShardError

if TYPE_CHECKING:
    from gateway.app import StoreGateway


def vector_routes(gw: StoreGateway, max_body: int) -> list[Route]:
    async def rebuild_vectors(request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
            name, field = body["collection"], body.get("field")
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return _json({"errors": ['send {"collection": "users.User", "field": null}']}, 400)
        known = {
            f"{s.service}.{c.name}": c for s in gw.registry.services.values() for c in s.collections
        }
        matches = [cid for cid, c in known.items() if name in (cid, c.name)]
        if len(matches) != 1:
            return _json(
                {"errors": [f"no single collection {name!r}; known: {sorted(known)}"]}, 404
            )
        try:
            shards = await gw.client.rebuild_vectors(matches[0], field)
        except ShardError as e:
            return _json({"errors": [str(e)]}, 400)
        failed = any(isinstance(v, str) for v in shards.values())
        return _json({"collection": matches[0], "shards": shards}, 502 if failed else 200)

    async def bulk_import(request: Request) -> Response:
        try:
            store = resolve_collection(request.path_params["collection"], gw.served.stores)
        except LookupError as e:
            return _json({"errors": [str(e)]}, 404)
        body = await request.body()
        if len(body) > max_body:
            return _json({"errors": [f"over {max_body} bytes: send it in parts"]}, 413)
        schema = gw.served.subgraphs[store.service].schema
        try:
            docs = check_documents(schema, store, parse_documents(body))
            inserted = await import_documents(store, docs)
        except ImportRefused as e:
            return _json({"errors": [str(e)], "inserted": 0}, 400)
        except ImportStopped as e:
            return _json({"errors": [e.reason], "inserted": e.inserted}, 409)
        return _json({"collection": store.id, "inserted": inserted})

    return [
        Route("/admin/vectors/rebuild", rebuild_vectors, methods=["POST"]),
        Route("/admin/import/{collection}", bulk_import, methods=["POST"]),
    ]


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")
