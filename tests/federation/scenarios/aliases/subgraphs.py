"""Aliases: one field twice with other arguments, aliases on jumps (interfaces subgraphs)."""

from tests.federation.scenarios.interfaces.subgraphs import SUBGRAPHS

__all__ = ["SUBGRAPHS"]
