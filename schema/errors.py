"""Errors met while reading service schemas and putting them together.

    Exception
    ├── SchemaError           one problem in one service's SDL, at file:line:column
    │   └── ServiceConflict   two services' schemas cannot be served side by side
    └── SchemaErrors          every problem found in one pass (`.errors`), raised by
                              `parse_service` and `check_compatible`

Every error says what is wrong and how to fix it:

    users.graphql:3:15: unknown type "Strng". Fix: did you mean "String"?
"""

from __future__ import annotations

from collections.abc import Iterable


class SchemaError(Exception):
    """One problem in a service schema; `line`/`column` are 1-based, None when unknown."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
        suggestion: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        self.suggestion = suggestion
        super().__init__(str(self))

    @property
    def location(self) -> str:
        """`users.graphql:3:15`, `users.graphql` or "" depending on what is known."""
        parts = [self.source or ""]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts) if any(parts) else ""

    def __str__(self) -> str:
        text = self.message.rstrip(".")
        if self.suggestion:
            text += f". Fix: {self.suggestion}"
        where = self.location
        return f"{where}: {text}" if where else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class ServiceConflict(SchemaError):
    """Two services define something that only one of them may own (a type, a root field)."""

    def __init__(
        self,
        message: str,
        *,
        services: tuple[str, str],
        name: str,
        source: str | None = None,
        line: int | None = None,
        column: int | None = None,
        suggestion: str | None = None,
    ) -> None:
        self.services = services  # (the service that had it first, the one that clashes)
        self.name = name  # the contested type or root field name
        super().__init__(message, source=source, line=line, column=column, suggestion=suggestion)


class SchemaErrors(Exception):
    """Several schema errors, reported together so that one edit can fix them all."""

    def __init__(self, errors: Iterable[SchemaError]) -> None:
        self.errors: tuple[SchemaError, ...] = tuple(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)

    def __repr__(self) -> str:
        return f"SchemaErrors({len(self.errors)} errors)"
