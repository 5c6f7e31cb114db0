"""`shardgate trigger ...` and `shardgate events ...`: thin clients of the admin API."""

from __future__ import annotations

import argparse
import json
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from gateway.settings import Settings

GatewayUrl = Callable[[argparse.Namespace, Settings], str]
Http = Callable[..., tuple[int, Any]]


def add_parsers(sub: Any, gateway_url: GatewayUrl, http: Http) -> None:
    def call(args: argparse.Namespace, settings: Settings, path: str, **kw: Any) -> Any:
        body = kw.pop("body", None)
        data = None if body is None else json.dumps(body).encode()
        status, answer = http(
            gateway_url(args, settings) + path, data, "application/json" if data else "", **kw
        )
        if status >= 400:
            raise SystemExit(f"error: {answer.get('error', answer)}")
        return answer

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--gateway", help="gateway URL (default: this machine, gateway.port)")
        p.add_argument("--json", action="store_true", help="print the raw JSON")

    trigger = sub.add_parser("trigger", help="webhook triggers on collection changes")
    tsub = trigger.add_subparsers(required=True, metavar="ACTION")
    add = tsub.add_parser("add", help="add or replace a trigger")
    add.add_argument("name")
    add.add_argument("--collection", required=True, metavar="SERVICE.COLLECTION")
    add.add_argument("--on", required=True, metavar="INSERT,UPDATE,DELETE")
    url = add.add_mutually_exclusive_group(required=True)
    url.add_argument("--url")
    url.add_argument("--url-from-env", metavar="VAR", help="the shards read the URL from VAR")
    add.add_argument("--secret", default="", help="whsec_<base64>: signs every delivery")
    add.add_argument("--columns", help="UPDATE fires only when one of these fields changed")
    add.add_argument("--header", action="append", default=[], metavar="NAME=VALUE")
    add.add_argument("--header-from-env", action="append", default=[], metavar="NAME=VAR")
    add.add_argument("--max-retries", type=int, default=5)
    add.add_argument("--retry-interval", type=float, default=1.0, metavar="SECONDS")
    add.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS")
    common(add)

    def run_add(args: argparse.Namespace, settings: Settings) -> int:
        body = {
            "name": args.name,
            "collection": args.collection,
            "ops": [o.strip().upper() for o in args.on.split(",") if o.strip()],
            "url": args.url,
            "url_from_env": args.url_from_env,
            "secret": args.secret,
            "columns": [c for c in (args.columns or "").split(",") if c],
            "headers": _pairs(args.header, "--header"),
            "headers_from_env": _pairs(args.header_from_env, "--header-from-env"),
            "retry": {
                "max_retries": args.max_retries,
                "interval_s": args.retry_interval,
                "timeout_s": args.timeout,
            },
        }
        answer = call(args, settings, "/admin/triggers", body=body)
        print(json.dumps(answer, indent=2) if args.json else f"trigger {args.name}: added")
        return 0

    add.set_defaults(run=run_add)

    lst = tsub.add_parser("list", help="triggers and their state on every shard")
    common(lst)

    def run_list(args: argparse.Namespace, settings: Settings) -> int:
        answer = call(args, settings, "/admin/triggers")
        if args.json:
            print(json.dumps(answer, indent=2))
            return 0
        rows = [("NAME", "COLLECTION", "ON", "STATE", "PENDING", "DEAD", "URL")]
        for t in answer["triggers"]:
            shards = t["shards"].values()
            disabled = [s["disabled"] for s in shards if s["disabled"]]
            state = "disabled" if disabled else "paused" if t["paused"] else "active"
            pending = sum(s["events"].get("pending", 0) for s in shards)
            dead = sum(s["events"].get("dead", 0) for s in shards)
            url = t["url"] or f"${t['url_from_env']}"
            ops = ",".join(t["ops"])
            rows.append((t["name"], t["collection"], ops, state, str(pending), str(dead), url))
        _table(rows)
        return 0

    lst.set_defaults(run=run_list)

    for action, method, help_text in (
        ("remove", "DELETE", "delete a trigger (its queued events are no longer sent)"),
        ("pause", "POST", "stop sending; events keep queueing"),
        ("resume", "POST", "send again, queued events first (also after a 410)"),
    ):
        p = tsub.add_parser(action, help=help_text)
        p.add_argument("name")
        common(p)

        def run(
            args: argparse.Namespace, settings: Settings, _a: str = action, _m: str = method
        ) -> int:
            name = urllib.parse.quote(args.name)
            path = f"/admin/triggers/{name}" + ("" if _a == "remove" else f"/{_a}")
            call(args, settings, path, method=_m, body=None if _m == "DELETE" else {})
            print(f"trigger {args.name}: {_a.removesuffix('e')}ed")
            return 0

        p.set_defaults(run=run)

    inv = tsub.add_parser("invoke", help="send a MANUAL event for one document")
    inv.add_argument("name")
    inv.add_argument("key")
    common(inv)

    def run_invoke(args: argparse.Namespace, settings: Settings) -> int:
        path = f"/admin/triggers/{urllib.parse.quote(args.name)}/invoke"
        answer = call(args, settings, path, body={"key": args.key})
        print(json.dumps(answer) if args.json else answer["id"])
        return 0

    inv.set_defaults(run=run_invoke)

    events = sub.add_parser("events", help="the trigger event log")
    esub = events.add_subparsers(required=True, metavar="ACTION")
    el = esub.add_parser("list", help="recent events")
    el.add_argument("--trigger")
    el.add_argument("--status", choices=["pending", "delivered", "dead", "cancelled"])
    el.add_argument("--key")
    el.add_argument("--limit", type=int, default=50)
    common(el)

    def run_events(args: argparse.Namespace, settings: Settings) -> int:
        query = {
            k: v
            for k, v in (
                ("trigger", args.trigger),
                ("status", args.status),
                ("key", args.key),
                ("limit", str(args.limit)),
            )
            if v
        }
        answer = call(args, settings, "/admin/events?" + urllib.parse.urlencode(query))
        if args.json:
            print(json.dumps(answer, indent=2))
            return 0
        rows = [("ID", "CREATED", "TRIGGER", "OP", "KEY", "STATUS", "TRIES")]
        for e in answer["events"]:
            created = datetime.fromtimestamp(e["created_ms"] / 1000, UTC).strftime("%H:%M:%S.%f")
            tries = str(e["tries"])
            row = (e["id"], created[:-3], e["trigger"], e["op"], e["key"], e["status"], tries)
            rows.append(row)
        _table(rows)
        return 0

    el.set_defaults(run=run_events)

    es = esub.add_parser("show", help="one event with its data and delivery attempts")
    es.add_argument("id")
    common(es)

    def run_show(args: argparse.Namespace, settings: Settings) -> int:
        answer = call(args, settings, f"/admin/events/{urllib.parse.quote(args.id)}")
        print(json.dumps(answer, indent=2))
        return 0

    es.set_defaults(run=run_show)

    er = esub.add_parser("redeliver", help="send an event again (delivered or dead)")
    er.add_argument("id")
    common(er)

    def run_redeliver(args: argparse.Namespace, settings: Settings) -> int:
        call(args, settings, f"/admin/events/{urllib.parse.quote(args.id)}/redeliver", body={})
        print(f"event {args.id}: queued for redelivery")
        return 0

    er.set_defaults(run=run_redeliver)

    ec = esub.add_parser("cleanup", help="delete delivered events older than an age")
    ec.add_argument("--older-than", type=float, required=True, metavar="SECONDS")
    common(ec)

    def run_cleanup(args: argparse.Namespace, settings: Settings) -> int:
        body = {"older_than_s": args.older_than}
        answer = call(args, settings, "/admin/events/cleanup", body=body)
        print(f"deleted {sum(answer['deleted'].values())} event copies")
        return 0

    ec.set_defaults(run=run_cleanup)


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"{flag} {item!r}: expected NAME=VALUE")
        out[name] = value
    return out


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
