"""`__typename` everywhere (root, nested, aliased, in fragments), over the interfaces subgraphs."""

from tests.federation.scenarios.interfaces.subgraphs import SUBGRAPHS

__all__ = ["SUBGRAPHS"]
