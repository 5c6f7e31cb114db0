"""Fetch groups into plan nodes. Each group becomes a Fetch (under a Flatten at its path),
followed by its children: one child in sequence, several in a Parallel. Where a group waits
on several others (a `@requires` fetched from several subgraphs), the plan is a sequence of
waves instead (Kahn's algorithm), each wave's groups in parallel."""

from __future__ import annotations

from gateway.plan import Flatten, Parallel, PlanNode
from gateway.plan import Sequence as SequenceNode
from gateway.planner.conditions import conditional
from gateway.planner.groups import Group, buckets, fetch_of


def assemble(groups: list[Group], roots: list[Group], kind: str, mutation: bool) -> PlanNode | None:
    """The plan's root node for the groups a walk made (`roots`: its root fetches, in order)."""
    if any(len(g.parents) > 1 for g in groups):
        return _waves(groups, kind)
    nodes = [_node(groups, [g], kind) for g in roots]
    if not nodes:
        return None
    if len(nodes) == 1:
        return nodes[0]
    return SequenceNode(tuple(nodes)) if mutation else Parallel(tuple(nodes))


def _node(every: list[Group], groups: list[Group], kind: str) -> PlanNode:
    return conditional(groups[0].condition, _subtree(every, groups, kind))


def _subtree(every: list[Group], groups: list[Group], kind: str) -> PlanNode:
    fetch = fetch_of(groups, kind)
    node: PlanNode = Flatten(groups[0].path, fetch) if groups[0].path else fetch
    children = [g for g in every if g.parents and any(g.parents[0] is p for p in groups)]
    if not children:
        return node
    after = [_node(every, bucket, "query") for bucket in buckets(children)]
    if len(after) > 1:
        return SequenceNode((node, Parallel(tuple(after))))
    # A sequence directly inside a sequence is spliced into it, as Apollo prints plans.
    rest = after[0].nodes if isinstance(after[0], SequenceNode) else (after[0],)
    return SequenceNode((node, *rest))


def _waves(groups: list[Group], kind: str) -> PlanNode:
    """Each wave of groups whose parents are done runs in parallel."""
    done: set[int] = set()
    waves: list[PlanNode] = []
    while len(done) < len(groups):
        ready = [g for g in groups if id(g) not in done and all(id(p) in done for p in g.parents)]
        nodes: list[PlanNode] = []
        for bucket in buckets(ready):
            fetch = fetch_of(bucket, kind if not bucket[0].parents else "query")
            path = bucket[0].path
            nodes.append(conditional(bucket[0].condition, Flatten(path, fetch) if path else fetch))
        waves.append(nodes[0] if len(nodes) == 1 else Parallel(tuple(nodes)))
        done |= {id(g) for g in ready}
    return waves[0] if len(waves) == 1 else SequenceNode(tuple(waves))
