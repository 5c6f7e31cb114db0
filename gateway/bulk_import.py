"""`POST /admin/import/<collection>`: many documents inserted at once, without GraphQL.

    curl -X POST localhost:4000/admin/import/users.User --data-binary @users.ndjson
    shardgate import User users.ndjson

The body is NDJSON (one document per line) or a JSON array. Each document is checked as
`insert<T>s(objects:)` would check it: its fields against the collection's `<T>Input` type
(graphql-core's input coercion), except vector fields, which are checked as arrays (length,
finite numbers) with numpy: coercing a million vectors float by float is what makes GraphQL
inserts of embeddings slow. Then the documents are inserted in batches (`CollectionStore.insert`:
unique values, existing keys and write consistency as for GraphQL inserts). A bad document
fails the request before anything is written, naming its line; a batch the store refuses
stops the import there and says how many documents went in before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson
from graphql import GraphQLError, GraphQLInputObjectType, GraphQLSchema
from graphql.utilities import coerce_input_value, validate_input_value

from schema.store import CollectionStore, ConstraintViolation, StoreInputError
from shards.consistency import DEFAULT_WRITE, Consistency
from shards.errors import ShardError, UniqueViolation

BATCH = 1000  # documents per store insert


class ImportRefused(Exception):
    """A document the import refuses (HTTP 400): nothing was written."""


def parse_documents(body: bytes) -> list[dict[str, Any]]:
    """NDJSON or a JSON array of objects."""
    text = body.strip()
    if text.startswith(b"["):
        try:
            docs = orjson.loads(text)
        except orjson.JSONDecodeError as e:
            raise ImportRefused(f"the body is not a JSON array of documents: {e}") from None
        numbered = list(enumerate(docs, 1))
    else:
        numbered = []
        for number, line in enumerate(text.split(b"\n"), 1):
            if not line.strip():
                continue
            try:
                numbered.append((number, orjson.loads(line)))
            except orjson.JSONDecodeError as e:
                raise ImportRefused(f"line {number} is not a JSON document: {e}") from None
    for number, doc in numbered:
        if not isinstance(doc, dict):
            raise ImportRefused(f"document {number} is not a JSON object")
    return [doc for _, doc in numbered]


def check_documents(
    schema: GraphQLSchema, store: CollectionStore, docs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The documents as GraphQL would store them (enum values, IDs as text), or ImportRefused
    naming the first bad one."""
    c = store.collection
    input_type = schema.get_type(f"{c.name}Input")
    assert isinstance(input_type, GraphQLInputObjectType)
    vectors = {f.name: f.vector.dimensions for f in c.stored_fields if f.vector is not None}
    out = []
    for number, doc in enumerate(docs, 1):
        # Vectors are checked below; an empty list stands in for each given one.
        rest = {k: [] if k in vectors and v is not None else v for k, v in doc.items()}
        problems = _input_problems(rest, input_type)
        if problems:
            raise ImportRefused(f"document {number}: {c.name}.{problems[0]}")
        coerced = coerce_input_value(rest, input_type)
        for name, dimensions in vectors.items():
            value = doc.get(name)
            if value is not None:
                coerced[name] = _vector(value, dimensions, f"document {number}: {c.name}.{name}")
        out.append(coerced)
    return out


async def import_documents(
    store: CollectionStore,
    docs: list[dict[str, Any]],
    consistency: Consistency = DEFAULT_WRITE,
) -> int:
    """Insert in batches; the number inserted. A refused batch raises ImportStopped."""
    done = 0
    for start in range(0, len(docs), BATCH):
        batch = docs[start : start + BATCH]
        try:
            await store.insert(batch, consistency)
        except (ConstraintViolation, UniqueViolation, StoreInputError, ShardError) as e:
            raise ImportStopped(done, str(e)) from None
        done += len(batch)
    return done


class ImportStopped(Exception):
    def __init__(self, inserted: int, reason: str) -> None:
        super().__init__(reason)
        self.inserted = inserted
        self.reason = reason


def resolve_collection(name: str, stores: Mapping[str, CollectionStore]) -> CollectionStore:
    """`users.User` or `User` (when only one service has it)."""
    matches = [s for s in stores.values() if name in (s.id, s.collection.name)]
    if len(matches) != 1:
        known = sorted(s.id for s in stores.values())
        raise LookupError(f"no single collection {name!r}; known: {known}")
    return matches[0]


def _input_problems(value: dict[str, Any], input_type: GraphQLInputObjectType) -> list[str]:
    errors: list[str] = []

    def on_error(error: GraphQLError, path: list[str | int]) -> None:
        errors.append(f"{'.'.join(map(str, path))}: {error.message}")

    validate_input_value(value, input_type, on_error)
    return errors


def _vector(value: object, dimensions: int, where: str) -> list[float]:
    if not isinstance(value, list):
        raise ImportRefused(f"{where} must be a list of {dimensions} numbers")
    try:
        array = np.asarray(value, np.float64)
    except (ValueError, TypeError):
        raise ImportRefused(f"{where} must be a list of numbers") from None
    if array.shape != (dimensions,):
        raise ImportRefused(f"{where} needs {dimensions} numbers, got {len(value)}")
    if not np.isfinite(array).all():
        raise ImportRefused(f"{where} holds a NaN or infinite value")
    return value
