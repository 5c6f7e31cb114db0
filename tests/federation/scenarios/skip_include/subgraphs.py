"""@skip and @include with variables: on fields, fragments and jumps (interfaces subgraphs)."""

from tests.federation.scenarios.interfaces.subgraphs import SUBGRAPHS

__all__ = ["SUBGRAPHS"]
