"""Operation limits: depth, aliases and root fields, counted with fragments expanded, so a
fragment (or one spread many times) cannot hide what an operation really asks for.

    limits = OperationLimits.from_sources({"max_depth": 10}, os.environ)
    errors = limits.check(document, operation_name)      # [] when within limits

Codes follow Apollo Router's: MAX_DEPTH_LIMIT, MAX_ALIASES_LIMIT, MAX_ROOT_FIELDS_LIMIT.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_operation_ast,
)


@dataclass(frozen=True)
class Measures:
    depth: int
    aliases: int
    root_fields: int


@dataclass(frozen=True)
class OperationLimits:
    max_depth: int | None = None
    max_aliases: int | None = None
    max_root_fields: int | None = None

    @classmethod
    def from_sources(
        cls, section: Mapping[str, object] | None, environ: Mapping[str, str]
    ) -> OperationLimits:
        """[limits] of shardgate.toml, then SHARDGATE_MAX_DEPTH / _ALIASES / _ROOT_FIELDS."""
        values: dict[str, int | None] = {}
        for name in ("max_depth", "max_aliases", "max_root_fields"):
            raw = environ.get(f"SHARDGATE_{name.upper()}", (section or {}).get(name))
            if raw is None or raw == "":
                continue
            try:
                value = int(str(raw))
            except ValueError:
                raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
            values[name] = value
        return cls(**values)

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.max_depth, self.max_aliases, self.max_root_fields))

    def check(self, document: DocumentNode, operation_name: str | None) -> list[GraphQLError]:
        if not self.active:  # the common case: nothing to count on the request path
            return []
        operation = get_operation_ast(document, operation_name)
        if not isinstance(operation, OperationDefinitionNode):
            return []
        m = measure(document, operation)
        errors = []
        for value, limit, code, what in (
            (m.depth, self.max_depth, "MAX_DEPTH_LIMIT", "deep"),
            (m.aliases, self.max_aliases, "MAX_ALIASES_LIMIT", "aliases"),
            (m.root_fields, self.max_root_fields, "MAX_ROOT_FIELDS_LIMIT", "root fields"),
        ):
            if limit is not None and value > limit:
                message = (
                    f"the operation is {value} levels deep, over the limit of {limit}"
                    if what == "deep"
                    else f"the operation has {value} {what}, over the limit of {limit}"
                )
                errors.append(GraphQLError(message, extensions={"code": code}))
        return errors


def measure(document: DocumentNode, operation: OperationDefinitionNode) -> Measures:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }

    def walk(selection: SelectionSetNode, depth: int) -> tuple[int, int, int]:
        """(depth reached, aliases, fields) below this selection set, fragments spread."""
        deepest, aliases, fields = depth, 0, 0
        for s in selection.selections:
            if isinstance(s, FieldNode):
                fields += 1
                aliases += s.alias is not None
                if s.selection_set is not None:
                    d, a, _ = walk(s.selection_set, depth + 1)
                    deepest, aliases = max(deepest, d), aliases + a
                continue
            if isinstance(s, FragmentSpreadNode):
                fragment = fragments.get(s.name.value)
                if fragment is None:  # validation reports it; nothing to count
                    continue
                inner = fragment.selection_set
            else:
                assert isinstance(s, InlineFragmentNode)
                inner = s.selection_set
            d, a, f = walk(inner, depth)
            deepest, aliases, fields = max(deepest, d), aliases + a, fields + f
        return deepest, aliases, fields

    depth, aliases, root_fields = walk(operation.selection_set, 1)
    return Measures(depth, aliases, root_fields)
