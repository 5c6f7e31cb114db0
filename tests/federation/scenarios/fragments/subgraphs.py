"""Named and inline fragments on abstract types, over the interfaces scenario's subgraphs;
fetches reuse the client's named fragments where Apollo's planner does (`reused-*`)."""

from tests.federation.scenarios.interfaces.subgraphs import SUBGRAPHS

__all__ = ["SUBGRAPHS"]
