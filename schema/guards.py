"""One caller's permissions on one collection, applied to the store's operations.

Row filters go down to the shards inside `where` (lists, aggregates, searches, updates and
deletes by filter); documents read by key (by-key fields, references, `_entities`, the
document an update or delete starts from) are matched against the filter after the newest
replica's copy is chosen, with the shards' own SQL (shards/filter_match.py), so a stale
replica can never decide. Checks run on the documents about to be written, before anything
is written.

    guard = CollectionGuard(collection, access)     # access None: unrestricted
    where = guard.read_where(where)                 # AND the role's select filter
    docs = guard.visible(docs)                      # None for documents it may not read
    docs = guard.insertable(objects)                # columns checked, presets applied
    guard.check("insert", docs)                     # FORBIDDEN unless each matches `check`
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from auth.errors import Forbidden
from auth.permissions import Access, Operation, Rule, combine
from schema.model import Collection
from shards.filter_match import matching

Doc = dict[str, Any]


class CollectionGuard:
    def __init__(self, collection: Collection, access: Access | None) -> None:
        self.collection = collection
        self.access = access

    @property
    def unrestricted(self) -> bool:
        return self.access is None

    def rule(self, op: Operation) -> Rule | None:
        """The role's rule for `op` (None when unrestricted); FORBIDDEN when not granted."""
        if self.access is None:
            return None
        return self.access.require(self.collection.name, op)

    def filter(self, op: Operation) -> dict[str, Any] | None:
        rule = self.rule(op)
        if rule is None or rule.filter is None:
            return None
        bound: dict[str, Any] = self._bind(rule.filter)
        return bound

    @property
    def _role(self) -> str:
        return "" if self.access is None else self.access.role

    def _bind(self, value: Any) -> Any:
        assert self.access is not None
        return self.access.bind(value, self.collection.name)

    # -- reads -----------------------------------------------------------------------------

    def read_where(self, where: Mapping[str, Any] | None) -> dict[str, Any] | None:
        return combine(where, self.filter("select"))

    def read_limit(self, limit: int | None) -> int | None:
        rule = self.rule("select")
        if rule is None or rule.limit is None:
            return limit
        return rule.limit if limit is None else min(limit, rule.limit)

    def aggregate(self) -> None:
        rule = self.rule("select")
        if rule is not None and not rule.aggregate:
            raise Forbidden(f"role {self._role!r} may not aggregate {self.collection.name}")

    def visible(self, docs: Sequence[Doc | None]) -> list[Doc | None]:
        """The documents the caller may read; None in place of the others."""
        if self.access is None:
            return list(docs)
        if self.access.rule(self.collection.name, "select") is None:
            return [None] * len(docs)
        return self._matching("select", docs)

    # -- writes ----------------------------------------------------------------------------

    def insertable(self, objects: Sequence[Mapping[str, Any]]) -> list[Doc]:
        return [self._written("insert", o) for o in objects]

    def settable(self, changes: Mapping[str, Any]) -> Doc:
        return self._written("update", changes)

    def admits(self, op: Operation, befores: Sequence[Doc]) -> list[bool]:
        """Which existing documents `op` (update or delete) may touch."""
        if self.access is None:
            return [True] * len(befores)
        return [d is not None for d in self._matching(op, befores)]

    def check(self, op: Operation, afters: Sequence[Doc]) -> None:
        """FORBIDDEN, before anything is written, unless every document passes `check`."""
        rule = self.rule(op)
        if rule is None or rule.check is None or not afters:
            return
        if not all(matching(self._bind(rule.check), afters)):
            raise Forbidden(
                f"the {op} check of role {self._role!r} on {self.collection.name} "
                "refused the document: nothing was written"
            )

    def _written(self, op: Operation, values: Mapping[str, Any]) -> Doc:
        rule = self.rule(op)
        if rule is None:
            return dict(values)
        for name in values:
            if not rule.allows(name) or name in rule.presets:
                raise Forbidden(f"role {self._role!r} may not {op} {self.collection.name}.{name}")
        return {**values, **self._bind(dict(rule.presets))}

    def _matching(self, op: Operation, docs: Sequence[Doc | None]) -> list[Doc | None]:
        where = self.filter(op)
        if where is None:
            return list(docs)
        present = [d for d in docs if d is not None]
        verdicts = iter(matching(where, present))
        return [d if d is not None and next(verdicts) else None for d in docs]
