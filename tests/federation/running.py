"""The corpus running: its subgraphs (one process), shardgate's gateways over our composed
supergraphs (one process) and Apollo Gateways over Apollo's (one Node process).

    with running_corpus(tmp_dir) as bases:
        ask(bases["ours"], op), ask(bases["apollo"], op)

    python -m tests.federation.running [SCENARIO|SCENARIO/OP ...] [--write]
        prints Apollo Gateway's answer (and ours where it differs) for the operations named, or
        for those without expected/<op>.json; --write saves Apollo's as expected/<op>.json,
        to be reviewed before it is committed
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from schema.composition import compose
from schema.subgraph_reader import read_subgraph
from tests.federation.apollo_fixtures import refresh
from tests.federation.corpus import Operation, Scenario, operations, scenarios
from tests.peers.apollo import apollo_gateways
from tests.support.cluster import REPO
from tests.support.ports import free_port
from tests.support.processes import HttpReady, running_process

_runs = itertools.count()


def our_supergraph(scenario: Scenario) -> str:
    """Our composition of the scenario's subgraphs."""
    return compose([read_subgraph(n, "", sdl) for n, sdl in scenario.sdls().items()])


@contextmanager
def running_corpus(tmp: Path) -> Iterator[dict[str, str]]:
    """Base URLs {"ours": ..., "apollo": ...}; a scenario's gateway is <base>/<name>/graphql."""
    every = scenarios()
    for s in every:
        refresh(s)
    port, our_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    urls = {s.name: {n: f"{base}/{s.name}/{n}/graphql" for n in s.subgraphs} for s in every}
    mine = {}
    for s in every:
        (tmp / f"{s.name}.graphql").write_text(our_supergraph(s))
        mine[s.name] = {"supergraph": str(tmp / f"{s.name}.graphql"), "urls": urls[s.name]}
    with (
        running_process(
            [sys.executable, "-m", "tests.federation.serve", str(port)],
            name="corpus-subgraphs",
            cwd=REPO,
            ready=HttpReady(f"{base}/healthz"),
        ),
        running_process(
            [sys.executable, "-m", "tests.federation.gateways", str(our_port)],
            name="corpus-shardgate",
            cwd=REPO,
            env={"SCENARIOS": json.dumps(mine)},
            ready=HttpReady(f"http://127.0.0.1:{our_port}/healthz"),
        ),
        apollo_gateways({s.name: (s.supergraph_path, urls[s.name]) for s in every}) as apollo,
    ):
        yield {"ours": f"http://127.0.0.1:{our_port}", "apollo": apollo}


def ask(base: str, op: Operation) -> dict[str, Any]:
    variables = dict(op.variables)
    if "$run" in op.text:  # a fresh state for each request of a stateful scenario
        variables["run"] = f"run-{next(_runs)}"
    body = {"query": op.text, "variables": variables}
    response = httpx.post(f"{base}/{op.scenario}/graphql", json=body, timeout=30, trust_env=False)
    try:
        return response.json()  # type: ignore[no-any-return]
    except ValueError:
        return {"errors": [{"message": f"HTTP {response.status_code}: {response.text[:200]}"}]}


def normal(response: dict[str, Any]) -> dict[str, Any]:
    """What the corpus compares: data, and errors by message and path (in path order)."""
    out: dict[str, Any] = {"data": response.get("data")}
    errors = [
        {"message": e.get("message"), "path": e.get("path")} for e in response.get("errors") or ()
    ]
    if errors:
        out["errors"] = sorted(errors, key=lambda e: json.dumps(e["path"]))
    return out


if __name__ == "__main__":
    write = "--write" in sys.argv
    only = [a for a in sys.argv[1:] if a != "--write"]
    with tempfile.TemporaryDirectory() as tmp, running_corpus(Path(tmp)) as bases:
        for op in operations():
            if (only and op.scenario not in only and op.id not in only) or (
                not only and op.expected_path.exists()
            ):
                continue
            theirs, mine = normal(ask(bases["apollo"], op)), normal(ask(bases["ours"], op))
            print(f"== {op.id}")
            print("apollo:", json.dumps(theirs, indent=1))
            if mine != theirs:
                print("OURS DIFFERS:", json.dumps(mine, indent=1))
            if write:
                op.expected_path.parent.mkdir(exist_ok=True)
                op.expected_path.write_text(json.dumps(theirs, indent=2) + "\n")
