"""Errors of the store (shard servers, storage and the cluster client).

    ShardError                  base: anything the store refuses or cannot do
    ├── BadRequest              the request cannot run: unknown collection, bad filter or field
    │                           path, wrong shape (HTTP 400 from a shard; BAD_USER_INPUT upstream)
    ├── ShardUnavailable        a shard is unreachable or answered 5xx (SHARD_UNAVAILABLE)
    ├── ConsistencyNotMet       fewer replicas than the consistency level needs
    │                           (CONSISTENCY_NOT_MET); records required vs got
    ├── UniqueViolation         a @unique value is already owned by another document
    └── DocumentExists          an insert met a live document with the same key

Messages say what went wrong and how to fix it; they never carry SQL, paths or hosts.
"""

from __future__ import annotations

from typing import Any


class ShardError(Exception):
    """Base of every store error."""


class BadRequest(ShardError):
    """A request the shard cannot run; the message names the culprit and the fix."""


class ShardUnavailable(ShardError):
    """A shard did not answer usefully (connection error, timeout, HTTP 5xx)."""


class ConsistencyNotMet(ShardError):
    """Not enough replicas took part for the requested consistency level."""

    def __init__(self, operation: str, required: int, got: int) -> None:
        self.operation = operation
        self.required = required
        self.got = got
        super().__init__(
            f"{operation}: {required} replica(s) required, {got} available; "
            "retry later or use a weaker consistency level"
        )


class UniqueViolation(ShardError):
    """`value` (canonical JSON) of `collection.field` is already owned by document `owner`."""

    def __init__(self, collection: str, field: str, value: str, owner: str | None) -> None:
        self.collection = collection
        self.field = field
        self.value = value
        self.owner = owner
        super().__init__(
            f"{collection}.{field} must be unique: {value} is already used"
            + (f" by {owner!r}" if owner is not None else "")
        )


class DocumentExists(ShardError):
    """An insert (`if_absent`) found live documents under these keys; nothing was written."""

    def __init__(self, collection: str, existing: dict[str, dict[str, Any]]) -> None:
        self.collection = collection
        self.existing = existing  # key -> the live document found
        keys = list(existing)
        super().__init__(f"{collection}: {', '.join(map(repr, keys))} already exist(s)")
