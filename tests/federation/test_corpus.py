"""The scenario corpus (tests/federation/corpus.py): real strawberry.federation subgraphs, one
scenario per federation feature, run through shardgate's gateway and through Apollo Gateway.

For every operation: both gateways answer what expected/<op>.json says (data, and errors by
message and path), our plan is Apollo's planner's (unless the scenario lists a deviation),
and our composition of the subgraphs is the supergraph @apollo/composition makes (joins, API
schema, and the custom directives `@composeDirective` keeps).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from graphql import parse, validate

from gateway.api_schema import api_schema
from gateway.plan import format_plan
from gateway.planner import Planner
from gateway.supergraph import load_supergraph
from tests.federation.apollo_fixtures import REFUSED, refresh
from tests.federation.corpus import Operation, Scenario, operations, scenarios
from tests.federation.running import ask, normal, our_supergraph, running_corpus
from tests.support.supergraphs import same, same_custom_directives

pytestmark = pytest.mark.slow

SCENARIOS = scenarios()
OPERATIONS = operations()


@pytest.fixture(scope="module")
def gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with running_corpus(tmp_path_factory.mktemp("supergraphs")) as bases:
        yield bases


@pytest.fixture(scope="module")
def fresh() -> None:
    for s in SCENARIOS:
        refresh(s)


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.id for op in OPERATIONS])
def test_answer(gateways: dict[str, str], op: Operation) -> None:
    scenario = next(s for s in SCENARIOS if s.name == op.scenario)
    deviates = op.name in scenario.apollo_deviations
    assert normal(ask(gateways["apollo"], op)) == op.expected(apollo=deviates), "Apollo Gateway"
    assert normal(ask(gateways["ours"], op)) == op.expected(), "shardgate"


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.id for op in OPERATIONS])
def test_plan(fresh: None, op: Operation) -> None:
    scenario = next(s for s in SCENARIOS if s.name == op.scenario)
    supergraph = load_supergraph(our_supergraph(scenario))
    apollos = op.plan_path.read_text().rstrip("\n")
    if apollos.startswith(REFUSED) and op.name not in scenario.plan_deviations:
        # invalid over the API schema: we refuse it too
        assert validate(api_schema(supergraph), parse(op.text)), apollos
        return
    plan = format_plan(Planner(supergraph).plan(parse(op.text)))
    if op.name in scenario.plan_deviations:
        assert canonical(plan) != canonical(apollos), "no deviation: drop it from PLAN_DEVIATIONS"
        return
    assert canonical(plan) == canonical(apollos)


def canonical(plan: str) -> list[object]:
    """A plan's text as a tree (by indentation) whose children are in a canonical order,
    except a Sequence's: two plans are the same up to the order of fields in a selection
    and of the branches of a Parallel (Apollo lists aliases of one field together, for one)."""
    lines = plan.splitlines()

    def tree(at: int, depth: int) -> tuple[list[object], int]:
        nodes: list[object] = []
        while at < len(lines):
            indent = (len(lines[at]) - len(lines[at].lstrip())) // 2
            if indent < depth:
                break
            head = lines[at].strip().rstrip(",")
            children, at = tree(at + 1, indent + 1)
            if not head.startswith("Sequence"):
                children.sort(key=repr)
            nodes.append([head, children])
        return nodes, at

    return tree(0, 0)[0]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_composition(fresh: None, scenario: Scenario) -> None:
    mine, apollos = (
        load_supergraph(our_supergraph(scenario)),
        load_supergraph(scenario.supergraph_path.read_text()),
    )
    same(mine, apollos)
    same_custom_directives(mine, apollos)
