"""The parse/validate stage, cached: validation is the most expensive step of a small request
(~1.2 ms with graphql-core) and its result depends only on the schema and the text.
"""

from __future__ import annotations

from collections import OrderedDict

from graphql import DocumentNode, GraphQLError, parse, validate

from gateway.executable import Executable


class DocumentCache:
    """LRU of parsed and validated documents, keyed by schema version and text."""

    def __init__(self, size: int = 2048) -> None:
        self._size = size
        self._entries: OrderedDict[tuple[str, str], tuple[DocumentNode | None, list[GraphQLError]]]
        self._entries = OrderedDict()

    def get(
        self, executable: Executable, query: str
    ) -> tuple[DocumentNode | None, list[GraphQLError]]:
        key = (executable.version, query)
        hit = self._entries.get(key)
        if hit is not None:
            self._entries.move_to_end(key)
            return hit
        try:
            document: DocumentNode | None = parse(query)
            errors = validate(executable.schema, document)
        except GraphQLError as e:
            document, errors = None, [e]
        entry = (document if not errors else None, errors)
        self._entries[key] = entry
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return entry
