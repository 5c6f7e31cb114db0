"""A locust load test of a running gateway, on the `bench` service.

    make up        # or: .venv/bin/shardgate up --port 4000 --services examples
    .venv/bin/locust -f loadtests/locustfile.py --host http://127.0.0.1:4000 \\
        --headless -u 20 -r 5 -t 30s

At the start the `bench` service is pushed to the gateway (POST /admin/services/bench: applied
again unchanged if it is there already), and each simulated user inserts a few items of its
own. Users then mix key reads (`item(id:)`), filtered lists
(`items(where: {score: {_gt: N}}, limit: 10)`) and single inserts, through `/graphql`
(SHARDGATE_ENDPOINT=/subgraphs/bench/graphql to load the store subgraph instead). A response
with GraphQL `errors` counts as a failure.

Only the host given with `--host` is ever contacted: every request is a path on it.
"""

from __future__ import annotations

import os
import random
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
import orjson
from locust import FastHttpUser, between, events, task
from locust.env import Environment

# locust imports this file by path: make `loadtests` importable from the checkout.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from loadtests.bench_service import (
    INSERT_ITEM,
    INSERT_ITEMS,
    ITEM_BY_KEY,
    ITEMS_ABOVE,
    SCORES,
    SDL,
    SERVICE,
    make_item,
)

ENDPOINT = os.environ.get("SHARDGATE_ENDPOINT", "/graphql")
SEED_ITEMS = 20  # inserted by each user at its start, so that key reads always find documents
JSON_HEADERS = {"content-type": "application/json"}


@events.test_start.add_listener
def push_bench_service(environment: Environment, **_kwargs: Any) -> None:
    """Register the bench service on the gateway under test before any user runs."""
    if not environment.host:
        _stop(environment, "pass the gateway with --host, e.g. --host http://127.0.0.1:4000")
        return
    if not ENDPOINT.startswith("/"):
        _stop(environment, f"SHARDGATE_ENDPOINT must be a path on --host, got {ENDPOINT!r}")
        return
    url = f"{environment.host.rstrip('/')}/admin/services/{SERVICE}"
    request = urllib.request.Request(url, SDL.encode(), {"content-type": "text/plain"})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            report = orjson.loads(resp.read())
    except (urllib.error.URLError, OSError, orjson.JSONDecodeError) as e:
        _stop(environment, f"could not push the {SERVICE} service to {url}: {e}")
        return
    if not report.get("applied"):
        _stop(environment, f"the {SERVICE} service was not applied: {report}")


def _stop(environment: Environment, message: str) -> None:
    print(f"locustfile: {message}", file=sys.stderr)
    environment.process_exit_code = 1
    if environment.runner is not None:  # quit once the start that called us is over
        gevent.spawn_later(0, environment.runner.quit)


class BenchUser(FastHttpUser):
    wait_time = between(0.05, 0.25)

    def on_start(self) -> None:
        self.prefix = f"lc{uuid.uuid4().hex[:10]}"  # unique across users, processes and runs
        self.rng = random.Random()
        self.inserted = 0
        self.ids: list[str] = []
        seed = [make_item(i, self.prefix) for i in range(SEED_ITEMS)]
        if self._graphql("insertItems (seed)", INSERT_ITEMS, {"objects": seed}) is not None:
            self.inserted = SEED_ITEMS
            self.ids = [d["id"] for d in seed]

    @task(6)
    def key_read(self) -> None:
        if not self.ids:
            return
        key = self.rng.choice(self.ids)

        def found(data: dict[str, Any]) -> str | None:
            return None if (data["item"] or {}).get("id") == key else f"item {key!r} is missing"

        self._graphql("item(id:)", ITEM_BY_KEY, {"id": key}, check=found)

    @task(3)
    def filtered_list(self) -> None:
        self._graphql("items(where: score > N)", ITEMS_ABOVE, {"min": self.rng.randrange(SCORES)})

    @task(1)
    def insert(self) -> None:
        doc = make_item(self.inserted, self.prefix)
        self.inserted += 1
        if self._graphql("insertItem", INSERT_ITEM, {"object": doc}) is not None:
            self.ids.append(doc["id"])

    def _graphql(
        self,
        name: str,
        query: str,
        variables: dict[str, Any],
        check: Callable[[dict[str, Any]], str | None] | None = None,
    ) -> dict[str, Any] | None:
        """POST one operation; its `data`, or None after recording the failure (GraphQL
        errors, no data, or what `check` finds wrong with the data)."""
        body = orjson.dumps({"query": query, "variables": variables})
        with self.client.post(
            ENDPOINT, data=body, headers=JSON_HEADERS, name=name, catch_response=True
        ) as resp:
            try:
                answer = orjson.loads(resp.content or b"null")
            except orjson.JSONDecodeError:
                resp.failure(f"HTTP {resp.status_code}: not JSON")
                return None
            errors = answer.get("errors") if isinstance(answer, dict) else None
            if errors:
                code = errors[0].get("extensions", {}).get("code", "no code")
                resp.failure(f"{errors[0].get('message')} [{code}]")
                return None
            if resp.status_code != 200 or not isinstance(answer.get("data"), dict):
                resp.failure(f"HTTP {resp.status_code} without data")
                return None
            data: dict[str, Any] = answer["data"]
            problem = check(data) if check is not None else None
            if problem is not None:
                resp.failure(problem)
                return None
            return data
