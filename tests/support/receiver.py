"""A webhook receiver process for trigger tests: verifies every request with the stock
`standardwebhooks` package (the peer oracle for our signatures), records it, and does what
the test told it to (fail with a status, answer slowly, send Retry-After).

    python -m tests.support.receiver --port P --secret whsec_...     # prints "READY <port>"

    POST /hook                 a delivery; answered 204 unless told otherwise
    GET  /_deliveries          {"deliveries": [{"id", "body", "verified", "received_at", ...}]}
    POST /_behave              {"path": "/t", "status": 500, "count": 2, "retry_after": "1",
                                "delay_s": 0.2}: the next `count` deliveries to that path
                               (all, if count is null) get that
    POST /_reset               forget deliveries and behaviour
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from aiohttp import web
from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def build(secret: str) -> web.Application:
    verifier = Webhook(secret)
    deliveries: list[dict[str, Any]] = []
    behaviours: dict[str, dict[str, Any]] = {}  # path -> what to answer

    async def hook(request: web.Request) -> web.Response:
        received = time.time()
        raw = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            body = verifier.verify(raw, headers)
            verified = True
        except WebhookVerificationError as e:
            body, verified = {"unverified": str(e)}, False
        status, delay, retry_after = 204, 0.0, None
        behaviour = behaviours.get(request.path)
        if behaviour and behaviour.get("count", 1) != 0:
            status = behaviour.get("status", 204)
            delay = behaviour.get("delay_s", 0.0)
            retry_after = behaviour.get("retry_after")
            if behaviour.get("count") is not None:
                behaviour["count"] -= 1
        deliveries.append(
            {
                "id": headers.get("webhook-id"),
                "timestamp": headers.get("webhook-timestamp"),
                "path": request.path,
                "body": body,
                "verified": verified,
                "received_at": received,
                "answered": status,
                "headers": {
                    k: v for k, v in headers.items() if k.startswith("x-") or k == "traceparent"
                },
            }
        )
        if delay:
            await asyncio.sleep(delay)
        extra = {"retry-after": str(retry_after)} if retry_after is not None else {}
        if status in (301, 302, 307, 308):
            extra["location"] = "http://127.0.0.1:9/elsewhere"
        return web.Response(status=status, headers=extra)

    async def listing(request: web.Request) -> web.Response:
        return web.json_response({"deliveries": deliveries})

    async def behave(request: web.Request) -> web.Response:
        behaviour = await request.json()
        behaviours[behaviour.pop("path")] = behaviour
        return web.json_response({"ok": True})

    async def reset(request: web.Request) -> web.Response:
        deliveries.clear()
        behaviours.clear()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/_deliveries", listing)
    app.router.add_post("/_behave", behave)
    app.router.add_post("/_reset", reset)
    app.router.add_post("/{tail:.*}", hook)
    return app


async def main(port: int, secret: str) -> None:
    runner = web.AppRunner(build(secret), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"READY {port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.secret))
