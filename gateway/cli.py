"""The `shardgate` command.

shardgate up       [--port P] [--shards N] [--replication R] [--data DIR] [--services DIR]
shardgate shard    --id ID --port P --data DIR
shardgate serve    --shard ID=URL ... [--port P] [--services DIR]   (gateway over shards)
shardgate push     SERVICE FILE.graphql [--gateway URL]
shardgate status   [--gateway URL] [--json]
shardgate bench    store [--documents N] | gateway | safety
                   | vectors [--vectors N] [--dimensions D] [--clusters C]
shardgate vectors  rebuild COLLECTION [--field F] [--gateway URL]
shardgate import   COLLECTION FILE.ndjson [--batch N] [--gateway URL]
shardgate trigger  add NAME --collection SERVICE.COLLECTION --on INSERT,UPDATE,DELETE --url URL
                   [--secret whsec_...] [--columns a,b] [--max-retries N] [--gateway URL]
shardgate trigger  list|remove|pause|resume|invoke NAME ...
shardgate events   list [--trigger NAME] [--status S] | show ID | redeliver ID | cleanup
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

    gateway = sub.add_parser("gateway", help="serve a federation supergraph over HTTP subgraphs")
    source = gateway.add_mutually_exclusive_group(required=True)
    source.add_argument("--supergraph", type=Path, metavar="FILE")
    source.add_argument(
        "--subgraph",
        action="append",
        metavar="NAME=URL",
        help="compose the supergraph from these subgraphs' _service { sdl }",
    )
    gateway.add_argument("--port", type=int, default=4000)
    gateway.add_argument("--host", default="127.0.0.1")
    gateway.add_argument(
        "--subgraph-url",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="serve subgraph NAME from URL instead of the supergraph's",
    )
    gateway.add_argument(
        "--subgraph-timeout",
        action="append",
        default=[],
        metavar="NAME=SECONDS",
        help="request timeout for one subgraph",
    )
    gateway.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes serving the port (default 1; one core each)",
    )
    gateway.set_defaults(run=_gateway)

    compose = sub.add_parser("compose", help="compose subgraphs into a supergraph")
    compose.add_argument("subgraphs", nargs="+", metavar="NAME=URL|NAME=FILE")
    compose.add_argument(
        "--url",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="the routing URL of a subgraph given as a file",
    )
    compose.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    compose.set_defaults(run=_compose)

    plan = sub.add_parser("plan", help="print the query plan of an operation")
    plan.add_argument("--supergraph", type=Path, required=True, metavar="FILE")
    plan.add_argument("operation", type=Path, metavar="QUERY.graphql")
    plan.add_argument("--operation-name")
    plan.set_defaults(run=_plan)

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

    from gateway import bench_cli, import_cli, trigger_cli

    bench_cli.add_parser(sub)
    trigger_cli.add_parsers(sub, _gateway_url, _http)
    import_cli.add_parser(sub, _gateway_url, _http)
    for command in sub.choices.values():  # `shardgate up --config F` works as well
        command.add_argument(
            "--config",
            type=Path,
            default=argparse.SUPPRESS,
            help="settings file (default: ./shardgate.toml if present)",
        )
    return p


def _up(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.supervisor import run_up

    c, g = settings.cluster, settings.gateway
    if args.config is not None:  # the processes `up` starts read the same file
        os.environ["SHARDGATE_CONFIG"] = str(args.config.resolve())
    return run_up(
        port=g.port if args.port is None else args.port,
        shards=c.shards if args.shards is None else args.shards,
        replication=c.replication if args.replication is None else args.replication,
        vnodes=c.vnodes if args.vnodes is None else args.vnodes,
        data=c.data if args.data is None else args.data,
        services=g.services if args.services is None else args.services,
        durability=c.durability if args.durability is None else args.durability,
        telemetry=g.telemetry,
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
                telemetry=settings.gateway.telemetry,
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
        port=g.port if args.port is None else args.port,
        host=args.host or g.host,
        services=g.services if args.services is None else args.services,
    )
    serve_gateway(gateway)
    return 0


def _gateway(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.federated_server import serve_federated

    return serve_federated(args, settings)


def _compose(args: argparse.Namespace, settings: Settings) -> int:
    sources = [pair(item, "subgraph", urls_only=False) for item in args.subgraphs]
    sdl = composed_from(sources, dict(pair(item, "--url") for item in args.url))
    if args.output:
        args.output.write_text(sdl)
        print(f"{args.output}: supergraph of {len(sources)} subgraphs")
    else:
        print(sdl, end="")
    return 0


def composed_from(sources: list[tuple[str, str]], urls: dict[str, str]) -> str:
    """Read each subgraph (a URL's _service { sdl }, or a file) and compose them."""
    from schema.composition import compose
    from schema.errors import SchemaError, SchemaErrors
    from schema.subgraph_reader import read_subgraph

    subgraphs = []
    for name, where in sources:
        if where.startswith(("http://", "https://")):
            status, body = _http(where, b'{"query": "{ _service { sdl } }"}', "application/json")
            sdl = ((body.get("data") or {}).get("_service") or {}).get("sdl")
            if status != 200 or not isinstance(sdl, str):
                raise SystemExit(f"{name}: {where} did not answer _service {{ sdl }}")
            url = where
        else:
            try:
                sdl = Path(where).read_text()
            except OSError as e:
                raise SystemExit(f"{name}: cannot read {where}: {e.strerror}") from None
            url = urls.get(name, "")
        try:
            subgraphs.append(read_subgraph(name, url, sdl))
        except SchemaError as e:
            raise SystemExit(str(e)) from None
    try:
        return compose(subgraphs)
    except SchemaErrors as e:
        raise SystemExit(f"composition failed:\n{e}") from None


def pair(item: str, what: str, *, urls_only: bool = True) -> tuple[str, str]:
    name, sep, value = item.partition("=")
    if not sep or not name or (urls_only and not value.startswith(("http://", "https://"))):
        expected = "NAME=URL" if urls_only else "NAME=URL or NAME=FILE"
        raise SystemExit(f"{what} {item!r}: expected {expected}")
    return name, value


def _plan(args: argparse.Namespace, settings: Settings) -> int:
    from graphql import GraphQLError, parse, validate

    from gateway.api_schema import api_schema
    from gateway.errors import GatewayError
    from gateway.plan import format_plan
    from gateway.planner import Planner
    from gateway.supergraph import load_supergraph

    try:
        supergraph = load_supergraph(args.supergraph.read_text())
        document = parse(args.operation.read_text())
        problems = validate(api_schema(supergraph), document)
        if problems:
            raise SystemExit("\n".join(f"{args.operation}: {p.message}" for p in problems))
        print(format_plan(Planner(supergraph).plan(document, args.operation_name)))
    except (OSError, GatewayError, GraphQLError) as e:
        raise SystemExit(f"shardgate plan: {e}") from None
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


def _gateway_url(args: argparse.Namespace, settings: Settings) -> str:
    if args.gateway:
        return str(args.gateway).rstrip("/")
    return f"http://127.0.0.1:{settings.gateway.port}"


def _http(
    url: str, data: bytes | None = None, content_type: str = "", method: str | None = None
) -> tuple[int, Any]:
    method = method or ("POST" if data is not None else "GET")
    request = urllib.request.Request(url, data=data, method=method)
    if content_type:
        request.add_header("content-type", content_type)
    if os.environ.get("SHARDGATE_ADMIN_SECRET"):  # the admin API needs it once auth is on
        request.add_header("x-shardgate-admin-secret", os.environ["SHARDGATE_ADMIN_SECRET"])
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
