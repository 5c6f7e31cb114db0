"""The `shardgate` command.

shardgate up       [--port P] [--shards N] [--replication R] [--data DIR] [--services DIR]
shardgate shard    --id ID --port P --data DIR
shardgate serve    --shard ID=URL ... [--port P] [--services DIR]   (gateway over shards)
shardgate push     SERVICE FILE.graphql [--gateway URL]
shardgate status   [--gateway URL] [--json]
shardgate bench    store [--documents N] | vectors [--vectors N] [--dimensions D]
shardgate vectors  rebuild COLLECTION [--field F] [--gateway URL]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from gateway.settings import Settings, load_settings


def main(argv: list[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    settings = load_settings(args.config)
    try:
        code = args.run(args, settings) or 0
    except KeyboardInterrupt:
        # uvicorn re-raises SIGINT after its graceful shutdown: a clean, quiet stop.
        code = 130
    sys.exit(code)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="shardgate", description=__doc__.split("\n")[0])
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="settings file (default: ./shardgate.toml if present)",
    )
    sub = p.add_subparsers(required=True, metavar="COMMAND")

    up = sub.add_parser("up", help="start a gateway and a shard cluster on loopback")
    up.add_argument("--port", type=int, help="gateway port (default 4000); shards use the next")
    up.add_argument("--shards", type=int, help="number of shard processes (default 3)")
    up.add_argument("--replication", type=int, help="replicas per document (default 2)")
    up.add_argument("--vnodes", type=int, help="virtual nodes per shard (default 128)")
    up.add_argument("--data", type=Path, help="data directory (default ./.shardgate)")
    up.add_argument("--services", type=Path, help="load every <service>.graphql in DIR")
    up.add_argument("--durability", choices=["NORMAL", "FULL"], help="SQLite synchronous mode")
    up.set_defaults(run=_up)

    shard = sub.add_parser("shard", help="run one shard process")
    shard.add_argument("--id", required=True)
    shard.add_argument("--port", type=int, required=True)
    shard.add_argument("--host", default="127.0.0.1")
    shard.add_argument("--data", type=Path, default=Path(".shardgate"))
    shard.add_argument("--durability", choices=["NORMAL", "FULL"], default="NORMAL")
    shard.set_defaults(run=_shard)

    serve = sub.add_parser("serve", help="run the gateway over running shards")
    serve.add_argument("--shard", action="append", required=True, metavar="ID=URL")
    serve.add_argument("--port", type=int)
    serve.add_argument("--host")
    serve.add_argument("--replication", type=int)
    serve.add_argument("--vnodes", type=int)
    serve.add_argument("--services", type=Path)
    serve.set_defaults(run=_serve)

    push = sub.add_parser("push", help="register or evolve a service schema")
    push.add_argument("service")
    push.add_argument("file", type=Path)
    push.add_argument("--gateway", help="gateway URL (default: this machine, gateway.port)")
    push.set_defaults(run=_push)

    status = sub.add_parser("status", help="shards, their health, ring ownership and documents")
    status.add_argument("--gateway", help="gateway URL (default: this machine, gateway.port)")
    status.add_argument("--json", action="store_true", help="print the raw JSON")
    status.set_defaults(run=_status)

    vectors = sub.add_parser("vectors", help="vector index maintenance")
    vectors.add_argument("action", choices=["rebuild"])
    vectors.add_argument("collection", help='e.g. "User" or "users.User"')
    vectors.add_argument("--field", help="one vector field (default: every one)")
    vectors.add_argument("--gateway", help="gateway URL (default: this machine, gateway.port)")
    vectors.set_defaults(run=_vectors)

    bench = sub.add_parser("bench", help="benchmarks against baselines measured in the same run")
    bench.add_argument("target", choices=["store", "vectors"])
    bench.add_argument("--documents", type=int, default=20_000, help="store: documents")
    bench.add_argument("--vectors", type=int, default=20_000, help="vectors: documents")
    bench.add_argument("--dimensions", type=int, default=64, help="vectors: dimensions")
    bench.add_argument("--seconds", type=float, default=5.0, help="per read measurement")
    bench.set_defaults(run=_bench)
    return p


def _up(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.supervisor import run_up

    c, g = settings.cluster, settings.gateway
    if args.config is not None:  # the processes `up` starts read the same file
        os.environ["SHARDGATE_CONFIG"] = str(args.config.resolve())
    return run_up(
        port=args.port or g.port,
        shards=args.shards or c.shards,
        replication=args.replication or c.replication,
        vnodes=args.vnodes or c.vnodes,
        data=args.data or c.data,
        services=args.services or g.services,
        durability=args.durability or c.durability,
    )


def _shard(args: argparse.Namespace, settings: Settings) -> int:
    import asyncio

    from shards.server import ShardSettings, serve_shard

    asyncio.run(
        serve_shard(
            ShardSettings(
                shard_id=args.id,
                data_dir=args.data,
                host=args.host,
                port=args.port,
                synchronous=args.durability,
            )
        )
    )
    return 0


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from dataclasses import replace

    from gateway.server import serve_gateway

    shards = {}
    for item in args.shard:
        shard_id, sep, url = item.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise SystemExit(f"--shard {item!r}: expected ID=http://HOST:PORT")
        shards[shard_id] = url
    g = settings.gateway
    store = replace(
        g.store,
        shards=shards,
        replication=args.replication or g.store.replication,
        vnodes=args.vnodes or g.store.vnodes,
    )
    gateway = replace(
        g,
        store=store,
        port=args.port or g.port,
        host=args.host or g.host,
        services=args.services or g.services,
    )
    serve_gateway(gateway)
    return 0


def _push(args: argparse.Namespace, settings: Settings) -> int:
    try:
        sdl = args.file.read_text()
    except OSError as e:
        raise SystemExit(f"cannot read {args.file}: {e.strerror}") from None
    status, report = _http(
        f"{_gateway_url(args, settings)}/admin/services/{args.service}"
        f"?source={urllib.parse.quote(args.file.name)}",
        sdl.encode(),
        "text/plain",
    )
    for error in report.get("errors", []):
        print(error, file=sys.stderr)
    for change in report.get("changes", []):
        tag = "BREAKING" if change["breaking"] else "ok      "
        print(f"  {tag} {change['path']}: {change['message']}")
    if report.get("applied"):
        print(f"{args.service}: applied ({len(report.get('changes', []))} change(s))")
        return 0
    if status == 409:
        print(
            f"{args.service}: refused, the change would break stored data or clients",
            file=sys.stderr,
        )
    return 1


def _status(args: argparse.Namespace, settings: Settings) -> int:
    _, body = _http(f"{_gateway_url(args, settings)}/admin/status")
    if args.json:
        print(json.dumps(body, indent=2))
        return 0
    print(
        f"replication {body['replication']}, {body['vnodes']} vnodes per shard, "
        f"ring epoch {body['epoch']}, services: {', '.join(body['services']) or '(none)'}"
    )
    rows = [("SHARD", "STATE", "OWNERSHIP", "DOCUMENTS", "URL")]
    for s in body["shards"]:
        state = "up" if s["alive"] else f"down ({s['error']})"
        docs = "?" if s["documents"] is None else str(s["documents"])
        rows.append((s["id"], state, f"{s['ownership'] * 100:.1f}%", docs, s["url"]))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return 0 if all(s["alive"] for s in body["shards"]) else 2


def _vectors(args: argparse.Namespace, settings: Settings) -> int:
    body = json.dumps({"collection": args.collection, "field": args.field}).encode()
    status, report = _http(
        f"{_gateway_url(args, settings)}/admin/vectors/rebuild", body, "application/json"
    )
    for error in report.get("errors", []):
        print(error, file=sys.stderr)
    for shard, result in sorted(report.get("shards", {}).items()):
        if isinstance(result, str):
            print(f"{shard}: failed: {result}", file=sys.stderr)
        else:
            counts = ", ".join(f"{f}: {n} vectors" for f, n in result.items())
            print(f"{shard}: rebuilt {report['collection']} ({counts})")
    return 0 if status == 200 else 1


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    # The benchmark runner lives in the source tree's loadtests/, beside the packages.
    repo = Path(__file__).resolve().parent.parent
    if not (repo / "loadtests" / "store_bench.py").exists():
        raise SystemExit("shardgate bench runs from a source checkout (loadtests/ is missing)")
    sys.path.insert(0, str(repo))
    if args.target == "vectors":
        from loadtests.vector_bench import run_vector_bench

        return run_vector_bench(args.vectors, args.dimensions, args.seconds)
    from loadtests.store_bench import run_store_bench

    return run_store_bench(documents=args.documents, seconds=args.seconds)


def _gateway_url(args: argparse.Namespace, settings: Settings) -> str:
    if args.gateway:
        return str(args.gateway).rstrip("/")
    return f"http://127.0.0.1:{settings.gateway.port}"


def _http(url: str, data: bytes | None = None, content_type: str = "") -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    if content_type:
        request.add_header("content-type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read())
        except ValueError:
            raise SystemExit(f"{url}: HTTP {e.code}") from None
    except urllib.error.URLError as e:
        raise SystemExit(f"cannot reach the gateway at {url}: {e.reason}") from None
