"""Triggers end to end on a real 3-shard cluster (replication 2) and a real receiver process,
both on loopback: write throughput with and without one trigger, events/s delivered, and the
delay from commit to delivery. The writes with the trigger paused show the cost of the
outbox rows alone; with it active, delivery also competes for the same CPUs.

    .venv/bin/python -m loadtests.trigger_bench [--documents 3000] [--batch 50] [--rounds 3]

Delay = the receiver's clock at arrival minus the event's `created_at` (the shard's clock at
commit; same machine, so the same clock), measured twice: under the write load (a backlog
forms when writes outrun delivery) and for single writes one at a time (no backlog).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from loadtests.measure import GraphQLClient, percentile
from tests.support.cluster import REPO, running_cluster
from tests.support.ports import free_port
from tests.support.processes import OutputLine, running_process

SECRET = "whsec_" + base64.b64encode(b"trigger-bench-secret-0123456789").decode()
ENV = {"SHARDGATE_TRIGGERS_ALLOW_PRIVATE": "1"}
INSERT = "mutation($o: [UserInput!]!) { insertUsers(objects: $o) { id } }"
IN_FLIGHT = 4


def user(prefix: str, i: int) -> dict[str, Any]:
    key = f"{prefix}{i}"
    return {"id": key, "email": f"{key}@x.io", "role": "MEMBER", "createdAt": "2026-01-01"}


async def write(url: str, prefix: str, documents: int, batch: int) -> float:
    """Documents per second, `IN_FLIGHT` batches at a time."""
    batches = [
        [user(prefix, i) for i in range(start, min(start + batch, documents))]
        for start in range(0, documents, batch)
    ]
    queue = list(reversed(batches))
    async with GraphQLClient(url, connections=IN_FLIGHT) as client:

        async def worker() -> None:
            while queue:
                await client.call("insertUsers", INSERT, {"o": queue.pop()})

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        return documents / (time.perf_counter() - started)


async def write_one_by_one(url: str, prefix: str, documents: int) -> None:
    async with GraphQLClient(url, connections=1) as client:
        for i in range(documents):
            await client.call("insertUsers", INSERT, {"o": [user(prefix, i)]})
            await asyncio.sleep(0.01)  # pacing: measure delivery delay without a backlog


def delays_ms(deliveries: list[dict[str, Any]], prefix: str) -> list[float]:
    out = []
    for d in deliveries:
        new = d["body"]["event"]["data"]["new"]
        if new and new["id"].startswith(prefix):
            created = datetime.fromisoformat(d["body"]["created_at"]).timestamp()
            out.append((d["received_at"] - created) * 1000)
    return sorted(out)


def wait_for(rx: httpx.Client, url: str, prefix: str, count: int, timeout: float) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        got = rx.get(url + "/_deliveries").json()["deliveries"]
        n = sum(1 for d in got if d["body"]["event"]["data"]["new"]["id"].startswith(prefix))
        if n >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def shardgate(gateway: str, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "gateway", *args, "--gateway", gateway],
        cwd=REPO,
        check=True,
        capture_output=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    receiver = [sys.executable, "-m", "tests.support.receiver", "--port", str(port)]
    plain, active, paused, rates, loaded = [], [], [], [], []
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_process([*receiver, "--secret", SECRET], ready=OutputLine(r"^READY"), cwd=REPO),
        running_cluster(Path(tmp), env=ENV) as cluster,
        httpx.Client(timeout=60, trust_env=False) as rx,
    ):
        url, gw = cluster.url + "/graphql", cluster.url
        rx_url = f"http://127.0.0.1:{port}"
        asyncio.run(write(url, "warm", 500, args.batch))
        # Phases interleaved round by round: the machine's load varies, a ratio of
        # neighbours is steadier than one of phases minutes apart.
        for r in range(args.rounds):
            plain.append(asyncio.run(write(url, f"plain{r}-", args.documents, args.batch)))
            name = f"bench{r}"  # a fresh trigger: earlier rounds' paused events stay inert
            shardgate(gw, "trigger", "add", name, "--collection", "users.User", "--on",
                      "INSERT", "--url", f"{rx_url}/{name}", "--secret", SECRET)  # fmt: skip
            started = time.time()
            active.append(asyncio.run(write(url, f"trig{r}-", args.documents, args.batch)))
            got = wait_for(rx, rx_url, f"trig{r}-", args.documents, 300)
            delays = delays_ms(got, f"trig{r}-")
            arrivals = sorted(d["received_at"] for d in got if d["path"] == f"/{name}")
            rates.append(len(delays) / (arrivals[-1] - started))
            loaded += delays
            shardgate(gw, "trigger", "pause", name)
            paused.append(asyncio.run(write(url, f"paused{r}-", args.documents, args.batch)))
            shardgate(gw, "trigger", "remove", name)
        shardgate(gw, "trigger", "add", "single", "--collection", "users.User", "--on",
                  "INSERT", "--url", f"{rx_url}/single", "--secret", SECRET)  # fmt: skip
        asyncio.run(write_one_by_one(url, "single", 200))
        got = wait_for(rx, rx_url, "single", 200, 60)
        single = delays_ms(got, "single")
        verified = all(d["verified"] for d in got)
        delivered = len(loaded)
    loaded.sort()
    p50, p99 = percentile(loaded, 0.5), percentile(loaded, 0.99)
    s50, s99 = percentile(single, 0.5), percentile(single, 0.99)
    med = statistics.median
    ratio = med(a / p for a, p in zip(active, plain, strict=True))
    outbox = med(a / p for a, p in zip(paused, plain, strict=True))
    report = [
        f"documents per phase          {args.documents} (batches of {args.batch}, "
        f"{IN_FLIGHT} in flight), {args.rounds} rounds, medians",
        f"writes/s without trigger     {med(plain):,.0f}",
        f"writes/s with one trigger    {med(active):,.0f} (ratio {ratio:.2f})",
        f"writes/s, trigger paused     {med(paused):,.0f} (ratio {outbox:.2f}: the outbox alone)",
        f"events delivered             {delivered} of {args.documents * args.rounds}, "
        f"signatures verified: {verified}",
        f"events/s end to end          {med(rates):,.0f}",
        f"commit->delivery under load  p50 {p50:.1f} ms, p99 {p99:.1f} ms",
        f"commit->delivery, no backlog p50 {s50:.1f} ms, p99 {s99:.1f} ms (200 paced writes)",
    ]
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
