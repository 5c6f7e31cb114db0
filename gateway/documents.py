"""The parse and validate stages, cached: validation is the most expensive step of a small
request (~1.2 ms with graphql-core) and its result depends only on the schema, the text and
whether the caller may introspect.

    cache = DocumentCache(max_tokens=15000)
    parsed = cache.parse(query)              # by text; a syntax error or MAX_TOKENS_LIMIT
    selected = cache.select(query, parsed, operation_name)  # the operation, measured once
    errors = cache.validate(executable, query, parsed.document, introspection=False)

Without introspection, `__schema` and `__type` are refused (INTROSPECTION_DISABLED) and no
error suggests names ("Did you mean ...?"), which would leak what introspection hides.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    ValidationRule,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)

from auth.operation_limits import Measures, measure
from gateway.executable import Executable

K = TypeVar("K")
V = TypeVar("V")
_TOKEN_LIMIT = "Syntax Error: Document contains more than"


class _Lru(Generic[K, V]):
    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        hit = self.entries.get(key)
        if hit is not None:
            self.entries.move_to_end(key)
        return hit

    def put(self, key: K, value: V) -> V:
        self.entries[key] = value
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)
        return value


@dataclass(frozen=True)
class Parsed:
    document: DocumentNode | None
    errors: tuple[GraphQLError, ...] = ()


@dataclass(frozen=True)
class Selected:
    """The operation a request runs, with its measures (operation limits, cost mode);
    both None when the document does not parse or has no such operation."""

    operation: OperationDefinitionNode | None = None
    measures: Measures | None = None

    @property
    def name(self) -> str | None:
        node = self.operation
        return node.name.value if node is not None and node.name is not None else None


_NOTHING = Selected()


class NoIntrospection(ValidationRule):
    def enter_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                GraphQLError(
                    f"introspection is disabled for this role: '{node.name.value}' is not allowed",
                    node,
                    extensions={"code": "INTROSPECTION_DISABLED"},
                )
            )


_CLOSED_RULES = (*specified_rules, NoIntrospection)


class DocumentCache:
    """LRUs of parsed documents (by text) and validation results (by schema version,
    introspection and text)."""

    def __init__(self, size: int = 2048, max_tokens: int | None = None) -> None:
        self.max_tokens = max_tokens
        self._parsed: _Lru[str, Parsed] = _Lru(size)
        self._validated: _Lru[tuple[str, bool, str], list[GraphQLError]] = _Lru(size)
        self._selected: _Lru[tuple[str, str | None], Selected] = _Lru(size)

    def parse(self, query: str) -> Parsed:
        hit = self._parsed.get(query)
        if hit is not None:
            return hit
        try:
            parsed = Parsed(parse(query, max_tokens=self.max_tokens))
        except GraphQLError as e:
            if e.message.startswith(_TOKEN_LIMIT):
                e = GraphQLError(
                    f"the document has more than {self.max_tokens} tokens, over the limit",
                    extensions={"code": "MAX_TOKENS_LIMIT"},
                )
            parsed = Parsed(None, (e,))
        return self._parsed.put(query, parsed)

    def select(self, query: str, parsed: Parsed, operation_name: str | None) -> Selected:
        """The operation `operation_name` picks (or the only one), measured once per text."""
        if parsed.document is None:
            return _NOTHING
        key = (query, operation_name)
        hit = self._selected.get(key)
        if hit is not None:
            return hit
        node = get_operation_ast(parsed.document, operation_name)
        if not isinstance(node, OperationDefinitionNode):
            return self._selected.put(key, _NOTHING)
        return self._selected.put(key, Selected(node, measure(parsed.document, node)))

    def validate(
        self, executable: Executable, query: str, document: DocumentNode, *, introspection: bool
    ) -> list[GraphQLError]:
        key = (executable.version, introspection, query)
        hit = self._validated.get(key)
        if hit is not None:
            return hit
        if introspection:
            errors = validate(executable.schema, document)
        else:
            errors = validate(executable.schema, document, _CLOSED_RULES, hide_suggestions=True)
        return self._validated.put(key, errors)

    def get(
        self, executable: Executable, query: str, *, introspection: bool = True
    ) -> tuple[DocumentNode | None, list[GraphQLError]]:
        """Both stages: (the document, []) when valid, else (None, errors)."""
        parsed = self.parse(query)
        if parsed.document is None:
            return None, list(parsed.errors)
        errors = self.validate(executable, query, parsed.document, introspection=introspection)
        return (None, errors) if errors else (parsed.document, [])
