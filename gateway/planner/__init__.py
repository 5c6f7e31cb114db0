"""Query planning: a greedy walk of the operation over the supergraph.

Each selection is placed in the fetch group of the current subgraph when that subgraph can
resolve it (its own field, or one a `@provides` above made local); otherwise the walk jumps:
the current group selects `__typename` and a key the target subgraph accepts, and a child
group fetches the field through `_entities` at the same response path. `@requires` fields are
planned first, from the current position, and join the child's representations. A type the
target does not have is reached through its `@interfaceObject` there.

    walk.py        the walk over the client's operation (Planner)
    routing.py     which subgraph resolves what: field owners, keys, entry points, scores
    choice.py      the subgraph to take a field from where several can: fewest fetches
    groups.py      fetch groups and the Fetch each becomes (selections, representations)
    aliases.py     internal aliases for fields that cannot share a key in one fetch
    fragments.py   fetches that spread the client's named fragments
    assembly.py    fetch groups into plan nodes (Sequence, Parallel, Flatten, Condition)
    conditions.py  @skip/@include: which fetches run under Condition nodes
    syntax.py      small helpers over the operation's syntax tree

What it gives up for now (FEDERATION-PLANNING.md section 2): alternatives are costed by
their fetches, greedily per level, not by comparing whole plans; no @defer.
"""

from gateway.errors import PlanningError
from gateway.planner.walk import Planner

__all__ = ["Planner", "PlanningError"]
