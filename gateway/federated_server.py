"""Running `shardgate gateway`: one process, or `--workers N` processes on one port.

One Python process uses one core. With workers, uvicorn's supervisor binds the port once and
starts N processes that accept on it (each with its own event loop, caches and subgraph
connections), restarts one that dies, and passes SIGTERM on: each finishes its requests in
flight, then exits. Each worker rebuilds its settings the way the parent did (same
settings file, same environment, the parent's arguments); a supergraph composed from running
subgraphs is composed once, by the parent, and its file handed to the workers.

What workers do not share: in-memory rate-limit counters (each worker counts its own, so a
limit lets N times as much through: use `[rate_limits] storage = "redis://..."`), and the
merging of identical subgraph requests in flight (per worker).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

from gateway.federated_app import FederatedSettings
from gateway.settings import Settings, load_settings

log = logging.getLogger("shardgate.federation")

_ARGS_ENV = "SHARDGATE_GATEWAY_WORKER_ARGS"  # the parent's arguments, as JSON, for workers
_LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def serve_federated(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from gateway.server import uvicorn_options

    if args.workers < 1:
        raise SystemExit(f"--workers {args.workers}: expected 1 or more")
    supergraph = args.supergraph
    if supergraph is None:  # compose it now from the running subgraphs, once for all workers
        from gateway.cli import composed_from, pair

        sdl = composed_from([pair(item, "--subgraph") for item in args.subgraph], {})
        supergraph = Path(tempfile.mkdtemp(prefix="shardgate-")) / "supergraph.graphql"
        supergraph.write_text(sdl)
        print(f"composed {len(args.subgraph)} subgraphs into {supergraph}", flush=True)
    federated = federated_settings(args, settings, supergraph)
    logging.basicConfig(level=logging.INFO, format=_LOG_FORMAT)
    if args.workers == 1:
        app = _app(federated)
        uvicorn.run(app, host=args.host, port=args.port, **uvicorn_options())
        return 0
    if federated.rate_limits.active and not federated.rate_limits.shared:
        log.warning(
            "rate limits are counted by each of the %d workers on its own: a limit lets "
            "%d times as much through; share the counters with [rate_limits] storage = "
            '"redis://..."',
            args.workers,
            args.workers,
        )
    os.environ[_ARGS_ENV] = json.dumps(
        {
            "config": str(args.config) if args.config else None,
            "supergraph": str(supergraph),
            "host": args.host,
            "port": args.port,
            "subgraph_url": args.subgraph_url,
            "subgraph_timeout": args.subgraph_timeout,
        }
    )
    uvicorn.run(
        "gateway.federated_server:worker_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        **uvicorn_options(),
    )
    return 0


def worker_app() -> ASGIApp:
    """One worker's app (uvicorn calls this in each worker process)."""
    given: dict[str, Any] = json.loads(os.environ[_ARGS_ENV])
    args = argparse.Namespace(**given)
    settings = load_settings(Path(given["config"]) if given["config"] else None)
    logging.basicConfig(level=logging.INFO, format=_LOG_FORMAT)
    return _app(federated_settings(args, settings, Path(given["supergraph"])))


def federated_settings(
    args: argparse.Namespace, settings: Settings, supergraph: Path
) -> FederatedSettings:
    from gateway.cli import pair

    timeouts = {}
    for item in args.subgraph_timeout:
        name, _, seconds = item.partition("=")
        try:
            timeouts[name] = float(seconds)
        except ValueError:
            raise SystemExit(f"--subgraph-timeout {item!r}: expected NAME=SECONDS") from None
    return FederatedSettings(
        supergraph,
        args.host,
        args.port,
        dict(pair(item, "--subgraph-url") for item in args.subgraph_url),
        timeout=settings.gateway.store.timeout * 6,
        subgraph_timeouts=timeouts,
        dedupe_subgraph_requests=settings.gateway.dedupe_subgraph_requests,
        auth=settings.gateway.auth,
        limits=settings.gateway.limits,
        rate_limits=settings.gateway.rate_limits,
        csrf=settings.gateway.csrf,
        telemetry=settings.gateway.telemetry,
    )


def _app(federated: FederatedSettings) -> ASGIApp:
    from gateway.errors import GatewayError
    from gateway.fast_path import with_fast_path
    from gateway.federated_app import build_federated_app

    try:
        return with_fast_path(build_federated_app(federated))
    except (OSError, GatewayError) as e:
        raise SystemExit(f"{federated.supergraph}: {e}") from None
