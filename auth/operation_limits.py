"""Operation limits, counted with fragments expanded, so a fragment (or one spread many times)
cannot hide what an operation really asks for; each fragment is measured once, so a "fragment
bomb" (each fragment spreading the next twice) costs its size to count, not 2^n.

    limits = OperationLimits.from_sources({"max_depth": 10}, os.environ)
    errors = limits.check(document, operation_name)      # [] when within limits
    errors = limits.refusals(measures)                   # the same, from measures kept
                                                         # with the document (documents.py)

Codes follow Apollo Router's: MAX_DEPTH_LIMIT, MAX_ALIASES_LIMIT, MAX_ROOT_FIELDS_LIMIT,
MAX_HEIGHT_LIMIT (fields); MAX_TOKENS_LIMIT for the parser's token cap (`parse_limits`).
The same section holds batching (off by default, as in Apollo Router) and who may introspect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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

DEFAULT_MAX_TOKENS = 15_000  # Apollo Router's parser_max_tokens default
DEFAULT_MAX_BATCH = 10
_COUNTED = ("max_depth", "max_aliases", "max_root_fields", "max_height")
_SETTINGS = {*_COUNTED, "max_tokens", "batching", "max_batch", "introspection_roles"}


@dataclass(frozen=True)
class Measures:
    depth: int
    aliases: int
    root_fields: int
    fields: int = 0  # every field selection, fragments expanded (Router's "height")

    @property
    def cost(self) -> int:
        """What one operation costs in the rate limits' cost mode: root fields + aliases."""
        return max(1, self.root_fields + self.aliases)


@dataclass(frozen=True)
class OperationLimits:
    max_depth: int | None = None
    max_aliases: int | None = None
    max_root_fields: int | None = None
    max_height: int | None = None
    max_tokens: int | None = DEFAULT_MAX_TOKENS
    batching: bool = False  # a JSON array of operations in one request
    max_batch: int = DEFAULT_MAX_BATCH
    introspection_roles: tuple[str, ...] | None = None  # None: every role may introspect

    @classmethod
    def from_sources(
        cls, section: Mapping[str, object] | None, environ: Mapping[str, str]
    ) -> OperationLimits:
        """[limits] of shardgate.toml, then SHARDGATE_MAX_DEPTH / _ALIASES / _ROOT_FIELDS /
        _HEIGHT / _TOKENS / _BATCH, SHARDGATE_BATCHING, SHARDGATE_INTROSPECTION_ROLES."""
        s = dict(section or {})
        unknown = set(s) - _SETTINGS
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; known: {sorted(_SETTINGS)}")
        values: dict[str, Any] = {}
        for name in (*_COUNTED, "max_tokens", "max_batch"):
            raw = environ.get(f"SHARDGATE_{name.upper()}", s.get(name))
            if raw is None or raw == "":
                continue
            try:
                value = int(str(raw))
            except ValueError:
                raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
            values[name] = value
        batching = environ.get("SHARDGATE_BATCHING", s.get("batching"))
        if batching is not None and batching != "":
            if isinstance(batching, str):
                if batching.lower() not in ("1", "true", "0", "false"):
                    raise ValueError(f"batching must be true or false, got {batching!r}")
                batching = batching.lower() in ("1", "true")
            if not isinstance(batching, bool):
                raise ValueError(f"batching must be true or false, got {batching!r}")
            values["batching"] = batching
        roles = environ.get("SHARDGATE_INTROSPECTION_ROLES", s.get("introspection_roles"))
        if isinstance(roles, str):
            roles = [r.strip() for r in roles.split(",") if r.strip()]
        if roles is not None:
            if not isinstance(roles, list | tuple) or not all(isinstance(r, str) for r in roles):
                raise ValueError("introspection_roles must be a list of role names")
            values["introspection_roles"] = tuple(roles)
        return cls(**values)

    @property
    def active(self) -> bool:
        return any(getattr(self, name) is not None for name in _COUNTED)

    def may_introspect(self, role: str | None, is_admin: bool) -> bool:
        """The admin always may; otherwise the role must be listed (when a list is set)."""
        return is_admin or self.introspection_roles is None or role in self.introspection_roles

    def check(self, document: DocumentNode, operation_name: str | None) -> list[GraphQLError]:
        if not self.active:  # the common case: nothing to count on the request path
            return []
        operation = get_operation_ast(document, operation_name)
        if not isinstance(operation, OperationDefinitionNode):
            return []
        return self.refusals(measure(document, operation))

    def refusals(self, m: Measures | None) -> list[GraphQLError]:
        """What these measures (of one operation; None: no such operation) break."""
        if m is None or not self.active:
            return []
        errors = []
        for value, limit, code, what in (
            (m.depth, self.max_depth, "MAX_DEPTH_LIMIT", "deep"),
            (m.aliases, self.max_aliases, "MAX_ALIASES_LIMIT", "aliases"),
            (m.root_fields, self.max_root_fields, "MAX_ROOT_FIELDS_LIMIT", "root fields"),
            (m.fields, self.max_height, "MAX_HEIGHT_LIMIT", "fields"),
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
    memo: dict[str, tuple[int, int, int, int]] = {}
    busy: set[str] = set()  # a fragment cycle (refused by validation) counts as nothing

    def spread(name: str) -> tuple[int, int, int, int]:
        if name not in memo:
            fragment = fragments.get(name)
            if fragment is None or name in busy:  # validation reports it; nothing to count
                return 0, 0, 0, 0
            busy.add(name)
            memo[name] = walk(fragment.selection_set)
            busy.discard(name)
        return memo[name]

    def walk(selection: SelectionSetNode) -> tuple[int, int, int, int]:
        """(levels, aliases, fields, fields at this level) of a selection set, spreads
        expanded: a fragment spread three times counts three times."""
        levels = aliases = fields = top = 0
        for s in selection.selections:
            if isinstance(s, FieldNode):
                fields, top, aliases = fields + 1, top + 1, aliases + (s.alias is not None)
                if s.selection_set is None:
                    levels = max(levels, 1)
                    continue
                d, a, f, _ = walk(s.selection_set)
                levels, aliases, fields = max(levels, d + 1), aliases + a, fields + f
                continue
            if isinstance(s, FragmentSpreadNode):
                d, a, f, t = spread(s.name.value)
            else:
                assert isinstance(s, InlineFragmentNode)
                d, a, f, t = walk(s.selection_set)
            levels, aliases, fields, top = max(levels, d), aliases + a, fields + f, top + t
        return levels, aliases, fields, top

    depth, aliases, fields, root_fields = walk(operation.selection_set)
    return Measures(depth, aliases, root_fields, fields)
