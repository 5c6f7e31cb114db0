"""Fetch groups into plan nodes. Each group becomes a Fetch (under a Flatten at its path),
followed by its children: one child in sequence, several in a Parallel. A group whose whole
selection is under @skip/@include(if: $v) runs, with its children, under a Condition node
(conditions.py). Where a group waits on several others (a `@requires` fetched from several
subgraphs), the plan is a sequence of waves instead (Kahn's algorithm), each wave's groups in
parallel."""

from __future__ import annotations

from collections.abc import Callable

from gateway.plan import Fetch, Flatten, Parallel, PlanNode
from gateway.plan import Sequence as SequenceNode
from gateway.planner import conditions
from gateway.planner.conditions import Conditions
from gateway.planner.groups import Group, buckets, selection_of

MakeFetch = Callable[[list[Group], str, Conditions], Fetch]  # bucket, kind, handled


def assemble(
    groups: list[Group], roots: list[Group], kind: str, mutation: bool, make: MakeFetch
) -> PlanNode | None:
    """The plan's root node for the groups a walk made (`roots`: its root fetches, in order);
    `make` turns a bucket of groups into its Fetch."""
    if any(len(g.parents) > 1 for g in groups):
        return _waves(groups, kind, make)
    nodes = [n for g in roots if (n := _node(groups, [g], kind, True, make)) is not None]
    if not nodes:
        return None
    if len(nodes) == 1:
        return nodes[0]
    return SequenceNode(tuple(nodes)) if mutation else Parallel(tuple(nodes))


def _node(
    every: list[Group], groups: list[Group], kind: str, handled: Conditions, make: MakeFetch
) -> PlanNode | None:
    """The bucket's fetch and, after it, its children's; under its own conditions."""
    own = conditions.unhandled(conditions.of_selections(selection_of(groups)), handled)
    if own is False:
        return None
    handled = conditions.merge(own, handled)
    fetch = make(groups, kind, handled)
    node: PlanNode = Flatten(groups[0].path, fetch) if groups[0].path else fetch
    children = [g for g in every if g.parents and any(g.parents[0] is p for p in groups)]
    after = [
        n
        for bucket in buckets(children)
        if (n := _node(every, bucket, "query", handled, make)) is not None
    ]
    if len(after) > 1:
        node = SequenceNode((node, Parallel(tuple(after))))
    elif after:
        # A sequence directly inside a sequence is spliced into it, as Apollo prints plans.
        rest = after[0].nodes if isinstance(after[0], SequenceNode) else (after[0],)
        node = SequenceNode((node, *rest))
    return conditions.wrap(own, node)


def _waves(groups: list[Group], kind: str, make: MakeFetch) -> PlanNode | None:
    """Each wave of groups whose parents are done runs in parallel."""
    done: set[int] = set()
    waves: list[PlanNode] = []
    while len(done) < len(groups):
        ready = [g for g in groups if id(g) not in done and all(id(p) in done for p in g.parents)]
        nodes: list[PlanNode] = []
        for bucket in buckets(ready):
            own = conditions.of_selections(selection_of(bucket))
            fetch = make(bucket, kind if not bucket[0].parents else "query", own)
            path = bucket[0].path
            node = conditions.wrap(own, Flatten(path, fetch) if path else fetch)
            if node is not None:
                nodes.append(node)
        if nodes:
            waves.append(nodes[0] if len(nodes) == 1 else Parallel(tuple(nodes)))
        done |= {id(g) for g in ready}
    if len(waves) < 2:
        return waves[0] if waves else None
    return SequenceNode(tuple(waves))
