"""The federation scenario corpus: real subgraphs written with `strawberry.federation`, one
scenario per federation feature, each with operations and their expected answers.

    tests/federation/scenarios/<name>/
        subgraphs.py          SUBGRAPHS = {"products": Subgraph(...), ...}  (Fed1Subgraph:
                              a Federation 1 subgraph)
                              DOWN = {"legacy"}            (optional: served as HTTP 503)
                              PLAN_DEVIATIONS = {"op": "why our plan differs from Apollo's"}
                              APOLLO_DEVIATIONS = {"op": "why Apollo Gateway answers
                                  otherwise (its answer: expected/<op>.apollo.json)"}
        queries/<op>.graphql  an operation; a first line `# variables: {...}` gives variables
        expected/<op>.json    the answer: {"data": ..., "errors": [{"message", "path"}]}
        supergraph.graphql    @apollo/composition's supergraph (regenerated when stale)
        plans/<op>.txt        Apollo's query plan for the operation (regenerated when stale)

An operation that declares `$run` gets a value unique to each request, so a stateful scenario
(mutations) answers every gateway from a fresh state.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import strawberry
from strawberry.federation.schema_directives import Key

SCENARIOS = Path(__file__).parent / "scenarios"
STAMP = "# composed by @apollo/composition from subgraphs with sha256 "


class Subgraph(strawberry.federation.Schema):
    """A Federation 2 subgraph schema even where it applies no federation directive (strawberry
    then prints no `@link`, and composition would read the subgraph as Federation 1)."""

    def _add_link_directives(self, additional_directives: Any = None) -> None:
        # a @key that is applied nowhere: only its import into the @link is kept
        super()._add_link_directives([*(additional_directives or ()), Key(fields="id")])


class Fed1Subgraph(strawberry.federation.Schema):
    """A Federation 1 subgraph: its SDL links no federation spec, whatever directive it
    applies (`extend type` entities, plain `@key`/`@external`/`@requires`/`@provides`)."""

    def _add_link_directives(self, additional_directives: Any = None) -> None:
        pass


@dataclass(frozen=True)
class Operation:
    scenario: str
    name: str
    text: str
    variables: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.scenario}/{self.name}"

    @property
    def expected_path(self) -> Path:
        return SCENARIOS / self.scenario / "expected" / f"{self.name}.json"

    @property
    def plan_path(self) -> Path:
        return SCENARIOS / self.scenario / "plans" / f"{self.name}.txt"

    def expected(self, *, apollo: bool = False) -> dict[str, Any]:
        path = self.expected_path
        if apollo:
            path = path.with_suffix(".apollo.json")
        return json.loads(path.read_text())  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Scenario:
    name: str
    subgraphs: dict[str, strawberry.federation.Schema]
    down: frozenset[str]
    plan_deviations: dict[str, str]
    apollo_deviations: dict[str, str]

    @property
    def directory(self) -> Path:
        return SCENARIOS / self.name

    @property
    def supergraph_path(self) -> Path:
        return self.directory / "supergraph.graphql"

    def sdls(self) -> dict[str, str]:
        """Each subgraph's SDL, as its `_service { sdl }` answers."""
        out = {}
        for name, schema in self.subgraphs.items():
            result = schema.execute_sync("{ _service { sdl } }")
            assert result.errors is None, result.errors
            out[name] = result.data["_service"]["sdl"]  # type: ignore[index]
        return out

    def sdl_hash(self) -> str:
        text = json.dumps(self.sdls(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def operations(self) -> list[Operation]:
        out = []
        for path in sorted((self.directory / "queries").glob("*.graphql")):
            text = path.read_text()
            first = text.splitlines()[0] if text else ""
            variables = {}
            if first.startswith("# variables:"):
                variables = json.loads(first.removeprefix("# variables:"))
            out.append(Operation(self.name, path.stem, text, variables))
        return out


@cache
def scenarios() -> tuple[Scenario, ...]:
    found = []
    for directory in sorted(SCENARIOS.iterdir()):
        if not (directory / "subgraphs.py").exists():
            continue
        module = importlib.import_module(f"tests.federation.scenarios.{directory.name}.subgraphs")
        found.append(
            Scenario(
                directory.name,
                dict(module.SUBGRAPHS),
                frozenset(getattr(module, "DOWN", ())),
                dict(getattr(module, "PLAN_DEVIATIONS", {})),
                dict(getattr(module, "APOLLO_DEVIATIONS", {})),
            )
        )
    return tuple(found)


def scenario(name: str) -> Scenario:
    return next(s for s in scenarios() if s.name == name)


def operations() -> list[Operation]:
    return [op for s in scenarios() for op in s.operations()]
