"""Named and inline fragments on abstract types, over the interfaces scenario's subgraphs."""

from tests.federation.scenarios.interfaces.subgraphs import SUBGRAPHS

__all__ = ["SUBGRAPHS"]

PLAN_DEVIATIONS = {
    "fragment-on-concrete-in-jump": "Apollo's fetches reuse the client's named fragments; "
    "shardgate's spell them out (the same selections)",
}
