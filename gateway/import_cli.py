"""`shardgate import COLLECTION FILE`: NDJSON documents into a collection, in batches, through
the gateway's `POST /admin/import/<collection>` (gateway/bulk_import.py).

    shardgate import User users.ndjson --batch 5000 --gateway http://10.0.0.5:4000
"""

from __future__ import annotations

import argparse
import sys
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

Http = Callable[..., tuple[int, Any]]
GatewayUrl = Callable[[argparse.Namespace, Any], str]


def add_parser(sub: Any, gateway_url: GatewayUrl, http: Http) -> None:
    parser = sub.add_parser("import", help="insert NDJSON documents into a collection")
    parser.add_argument("collection", help='e.g. "User" or "users.User"')
    parser.add_argument("file", type=Path, help="one JSON document per line")
    parser.add_argument("--batch", type=int, default=5000, help="documents per request")
    parser.add_argument("--gateway", help="gateway URL (default: this machine, gateway.port)")

    def run(args: argparse.Namespace, settings: Any) -> int:
        if args.batch < 1:
            raise SystemExit("--batch must be at least 1")
        url = f"{gateway_url(args, settings)}/admin/import/{urllib.parse.quote(args.collection)}"
        total = 0
        try:
            for first, chunk in _batches(args.file, args.batch):
                status, answer = http(url, chunk, "application/x-ndjson")
                total += int(answer.get("inserted", 0))
                if status != 200:
                    for error in answer.get("errors", []):
                        print(f"{args.file}: batch from line {first}: {error}", file=sys.stderr)
                    print(f"{total} documents inserted before the failure", file=sys.stderr)
                    return 1
                print(f"\r{total} documents inserted", end="", flush=True)
        except OSError as e:
            raise SystemExit(f"cannot read {args.file}: {e.strerror}") from None
        print(f"\r{total} documents inserted into {answer.get('collection', args.collection)}")
        return 0

    parser.set_defaults(run=run)


def _batches(path: Path, size: int) -> Iterator[tuple[int, bytes]]:
    """(first line number, lines) of up to `size` non-empty lines at a time."""
    with path.open("rb") as f:
        lines: list[bytes] = []
        first = 1
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            if not lines:
                first = number
            lines.append(line.rstrip(b"\n"))
            if len(lines) == size:
                yield first, b"\n".join(lines)
                lines = []
        if lines:
            yield first, b"\n".join(lines)
