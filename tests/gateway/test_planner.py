"""The planner against Apollo's: every fixture operation's plan equals the one Apollo's
query planner makes for the same supergraph (snapshots in tests/fixtures/plans/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import parse

from gateway.plan import format_plan
from gateway.planner import Planner, PlanningError
from gateway.supergraph import load_supergraph
from tests.peers.apollo import apollo_plan

FIXTURES = Path(__file__).parents[1] / "fixtures"
CASES = [
    (supergraph, operation)
    for supergraph in ("shop",)
    for operation in sorted((FIXTURES / "operations" / supergraph).glob("*.graphql"))
]
IDS = [f"{s}/{o.stem}" for s, o in CASES]


def supergraph_path(name: str) -> Path:
    return FIXTURES / "supergraphs" / f"{name}.graphql"


def snapshot(name: str, operation: Path) -> Path:
    return FIXTURES / "plans" / name / f"{operation.stem}.txt"


@pytest.mark.parametrize(("name", "operation"), CASES, ids=IDS)
def test_plan_equals_apollos_snapshot(name: str, operation: Path) -> None:
    planner = Planner(load_supergraph(supergraph_path(name).read_text()))
    plan = planner.plan(parse(operation.read_text()))
    assert format_plan(plan) == snapshot(name, operation).read_text().rstrip("\n")


@pytest.mark.slow
@pytest.mark.parametrize(("name", "operation"), CASES, ids=IDS)
def test_snapshots_are_what_apollo_plans_today(name: str, operation: Path) -> None:
    expected = apollo_plan(supergraph_path(name), operation.read_text())
    assert snapshot(name, operation).read_text().rstrip("\n") == expected


def test_operations_it_cannot_plan_get_a_clear_error() -> None:
    planner = Planner(load_supergraph(supergraph_path("shop").read_text()))
    with pytest.raises(PlanningError, match="operationName"):
        planner.plan(parse("query A { me { id } } query B { me { id } }"))
    with pytest.raises(PlanningError, match="no operation named 'C'"):
        planner.plan(parse("query A { me { id } }"), "C")
