"""Running the gateway under uvicorn (uvloop and httptools when installed)."""

from __future__ import annotations

import importlib.util
import logging

import uvicorn

from gateway.app import build_app
from gateway.fast_path import with_fast_path
from gateway.settings import GatewaySettings


def uvicorn_options() -> dict[str, object]:
    fast_loop = importlib.util.find_spec("uvloop") is not None
    fast_http = importlib.util.find_spec("httptools") is not None
    return {
        "loop": "uvloop" if fast_loop else "asyncio",
        "http": "httptools" if fast_http else "h11",
        "access_log": False,
        # X-Forwarded-For is read by the rate limits, from [rate_limits] trusted_proxies only
        "proxy_headers": False,
        "log_level": "warning",
        "timeout_graceful_shutdown": 10,
    }


def serve_gateway(settings: GatewaySettings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = with_fast_path(build_app(settings))
    uvicorn.run(app, host=settings.host, port=settings.port, **uvicorn_options())
