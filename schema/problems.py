"""Collects the `SchemaError`s of one SDL file, located at the AST node at fault."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from graphql.language import Node

from schema.errors import SchemaError, SchemaErrors


class Problems:
    """Every error of one parse, so the user sees them all at once rather than one per run."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.errors: list[SchemaError] = []

    def add(self, node: Node | None, message: str, suggestion: str) -> None:
        line, column = position(node)
        self.errors.append(
            SchemaError(
                message, source=self.source, line=line, column=column, suggestion=suggestion
            )
        )

    def raise_if_any(self) -> None:
        if self.errors:
            # Sorted so that the report reads top to bottom like the file.
            self.errors.sort(key=lambda e: (e.line or 0, e.column or 0))
            raise SchemaErrors(self.errors)

    def __bool__(self) -> bool:
        return bool(self.errors)


def position(node: Node | None) -> tuple[int | None, int | None]:
    """1-based line and column where `node` starts, after its description if it has one:
    `type User` is where a reader looks, not the docstring above it."""
    loc = getattr(node, "loc", None)
    if loc is None:
        return None, None
    token = loc.start_token
    description = getattr(node, "description", None)
    if description is not None and description.loc is not None and description.loc.end_token.next:
        token = description.loc.end_token.next
    return token.line, token.column


def did_you_mean(name: str, candidates: Iterable[str], otherwise: str) -> str:
    """A suggestion naming the closest candidates, or `otherwise` when none is close."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=3, cutoff=0.6)
    if not close:
        return otherwise
    quoted = " or ".join(f'"{c}"' for c in close)
    return f"did you mean {quoted}?"
