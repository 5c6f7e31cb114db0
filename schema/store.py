"""One collection's operations over the cluster client: what the generated fields do.

GraphQL-free: resolvers translate arguments into these calls and errors into GraphQL errors.
Writes validate everything that can fail *before* anything is written (document size, vector
dimensions, key conflicts, unique values), so a refused write leaves no replica changed.
Updates are read-modify-write of the whole document at the write's consistency level; two
concurrent updates of one document resolve last-writer-wins (docs/replication.md).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import orjson

from auth.errors import Forbidden
from schema.embeddings import ComputedVectors
from schema.model import Collection, Field, TypeKind, VectorIndexKind, VectorMetric, collection_id
from shards.client import ClusterClient
from shards.consistency import Consistency
from shards.errors import DocumentExists
from shards.protocol import AggregateResult, CollectionDescriptor, OrderTerm, UniqueClaim
from shards.uniques import canonical
from shards.vector_scatter import SearchAnswer
from shards.vector_spec import DEFAULTS, MAX_K, IndexDefaults, VectorFieldSpec
from shards.writes import Write

Doc = dict[str, Any]


class Guard(Protocol):
    """The caller's permissions on the collection (schema/guards.py's CollectionGuard)."""

    def admits(self, op: Literal["update", "delete"], befores: Sequence[Doc]) -> list[bool]: ...

    def check(self, op: Literal["insert", "update"], afters: Sequence[Doc]) -> None: ...


class StoreInputError(Exception):
    """Input the store refuses (BAD_USER_INPUT): the message names the field and the fix."""


class ConstraintViolation(Exception):
    """A write that conflicts with stored data: an existing key (CONSTRAINT_VIOLATION)."""


@dataclass(frozen=True)
class StoreLimits:
    max_document_bytes: int = 1 << 20
    # Searches answer from the ranges that have a live replica (saying so in the response's
    # extensions) instead of failing: `[vectors] partial` in shardgate.toml.
    partial_search: bool = False


def descriptor(
    service: str, c: Collection, defaults: IndexDefaults = DEFAULTS
) -> CollectionDescriptor:
    d = CollectionDescriptor(
        name=collection_id(service, c.name),
        key=c.key,
        shard_key=c.shard_key,
        indexes=[f.name for f in c.stored_fields if f.index or f.unique],
        unique=[f.name for f in c.stored_fields if f.unique],
    )
    vectors = [vector_field_spec(f, defaults) for f in c.stored_fields if f.vector is not None]
    if vectors:  # absent otherwise: descriptors of collections without vectors are unchanged
        d["vectors"] = vectors
    return d


def vector_field_spec(f: Field, defaults: IndexDefaults) -> VectorFieldSpec:
    """The shard's view of a `@vector` field: what the directive says, else `defaults`."""
    v = f.vector
    assert v is not None
    kind = defaults.index if v.index is None else v.index.value
    spec = VectorFieldSpec(
        field=f.name,
        dimensions=v.dimensions,
        metric=v.metric.value,
        index=kind,  # type: ignore[typeddict-item]
    )
    if kind == VectorIndexKind.HNSW.value:
        spec["m"] = v.m or defaults.m
        spec["ef_construction"] = v.ef_construction or defaults.ef_construction
        spec["ef_search"] = v.ef_search or defaults.ef_search
    if kind == VectorIndexKind.IVF.value:
        spec["nlist"] = v.nlist or defaults.nlist
        spec["nprobe"] = min(v.nprobe or defaults.nprobe, spec["nlist"])
    return spec


class CollectionStore:
    def __init__(
        self, service: str, collection: Collection, client: ClusterClient, limits: StoreLimits
    ) -> None:
        self.service = service
        self.collection = collection
        self.id = collection_id(service, collection.name)
        self.client = client
        self.limits = limits
        self._unique = [f.name for f in collection.stored_fields if f.unique]
        self._vectors = [f for f in collection.stored_fields if f.vector is not None]
        self._computed = ComputedVectors(collection)

    # -- reads -----------------------------------------------------------------------------

    async def get_many(self, keys: Sequence[str], consistency: Consistency) -> list[Doc | None]:
        docs = await self.client.get(self.id, keys, consistency=consistency)
        out: list[Doc | None] = []
        for k in keys:
            d = docs.get(k)
            out.append(None if d is None or d["deleted"] else d["body"])
        return out

    async def get(self, key: str, consistency: Consistency) -> Doc | None:
        return (await self.get_many([key], consistency))[0]

    async def find(
        self,
        where: Mapping[str, Any] | None,
        order_by: Sequence[OrderTerm] = (),
        limit: int | None = None,
        offset: int = 0,
        consistency: Consistency = Consistency.ONE,
    ) -> list[Doc]:
        if limit is not None and limit < 0:
            raise StoreInputError(f"limit must be 0 or more, got {limit}")
        if offset < 0:
            raise StoreInputError(f"offset must be 0 or more, got {offset}")
        if limit == 0:
            return []
        return await self.client.query(
            self.id,
            where=dict(where) if where else None,
            order_by=order_by,
            limit=limit,
            offset=offset,
            consistency=consistency,
        )

    async def aggregate(
        self, where: Mapping[str, Any] | None, consistency: Consistency = Consistency.ONE
    ) -> AggregateResult:
        fields = [f.name for f in self.collection.stored_fields if _aggregatable(f)]
        return await self.client.aggregate(
            self.id, where=dict(where) if where else None, fields=fields, consistency=consistency
        )

    async def search(
        self,
        vector: Sequence[float] | None,
        field: str | None,
        k: int,
        where: Mapping[str, Any] | None,
        min_score: float | None,
        consistency: Consistency = Consistency.ONE,
        *,
        with_vectors: bool = True,
        text: str | None = None,
    ) -> SearchAnswer:
        """(score, document) of the k nearest documents matching `where`, best first, and
        the token ranges left out of a partial answer. `with_vectors=False`: the documents
        lack their vector fields (most of their bytes), for callers that do not show them."""
        c = self.collection
        if field is None:
            if len(self._vectors) != 1:
                names = ", ".join(f.name for f in self._vectors)
                raise StoreInputError(f"{c.name} has several vector fields: give field ({names})")
            f = self._vectors[0]
        else:
            found = next((f for f in self._vectors if f.name == field), None)
            if found is None:
                names = ", ".join(f.name for f in self._vectors)
                raise StoreInputError(f"{c.name}.{field} is not a vector field; use one of {names}")
            f = found
        spec = f.vector
        assert spec is not None
        if (vector is None) == (text is None):
            raise StoreInputError("give either vector or text, not both and not neither")
        if text is not None:
            if f.name not in self._computed.fields:
                raise StoreInputError(
                    f"text searches need a vector computed from text; {c.name}.{f.name} has "
                    "no @vector(from:, model:): give vector"
                )
            vector = await self._computed.query(f.name, text)
        assert vector is not None
        if len(vector) != spec.dimensions:
            raise StoreInputError(
                f"vector has {len(vector)} dimensions; {c.name}.{f.name} has {spec.dimensions}"
            )
        if not all(math.isfinite(x) for x in vector):
            raise StoreInputError("vector holds a NaN or infinite value")
        if not 1 <= k <= MAX_K:
            raise StoreInputError(f"k must be between 1 and {MAX_K}, got {k}")
        if min_score is not None and spec.metric is VectorMetric.L2:
            raise StoreInputError(
                f"minScore applies to similarities (COSINE, IP); {c.name}.{f.name} is L2, "
                "whose scores are distances: leave minScore out and use k"
            )
        if min_score is not None and not math.isfinite(min_score):
            raise StoreInputError("minScore must be a finite number")
        return await self.client.search(
            self.id,
            f.name,
            vector,
            k=k,
            where=dict(where) if where else None,
            min_score=min_score,
            consistency=consistency,
            partial=self.limits.partial_search,
            omit=() if with_vectors else [v.name for v in self._vectors],
        )

    # -- writes ----------------------------------------------------------------------------

    async def insert(self, objects: Sequence[Doc], consistency: Consistency) -> list[Doc]:
        docs = [dict(o) for o in objects]
        await self._computed.fill(docs)
        docs = [self._checked(d) for d in docs]
        seen: set[str] = set()
        for d in docs:
            key = self.key_of(d)
            if key in seen:
                raise ConstraintViolation(
                    f"{self.collection.name} {key!r} appears twice in one insert"
                )
            seen.add(key)
        claims = [c for d in docs for c in self._claims(d)]
        await self.client.claim_unique(claims, consistency=consistency)
        try:
            # No read first: each replica refuses a key it holds live, and the client takes
            # back the whole batch if any did.
            await self._put(docs, consistency, if_absent=True)
        except DocumentExists as e:
            # Keep the claims the existing documents hold (same key, same value).
            await self.client.release_unique(
                [
                    c
                    for c in claims
                    if c["key"] not in e.existing
                    or canonical(e.existing[c["key"]].get(c["field"])) != c["value"]
                ]
            )
            name = self.collection.name
            key = next(iter(e.existing))
            raise ConstraintViolation(
                f"{name} {key!r} already exists; use upsert{name} to replace it"
            ) from None
        except BaseException:
            await self.client.release_unique(claims)
            raise
        return docs

    async def upsert(self, obj: Doc, consistency: Consistency, guard: Guard | None = None) -> Doc:
        doc = dict(obj)
        await self._computed.fill([doc])
        doc = self._checked(doc)
        key = self.key_of(doc)
        found = await self.client.get(
            self.id, [key], placements=[self.placement_of(doc)], consistency=consistency
        )
        current = found.get(key)
        before = None if current is None or current["deleted"] else current["body"]
        if guard is not None:
            if before is not None and not guard.admits("update", [before])[0]:
                raise Forbidden(
                    f"upsert{self.collection.name}: the existing {self.collection.name} "
                    f"{key!r} is not one this role may update"
                )
            guard.check("insert" if before is None else "update", [doc])
        await self._replace([(before, doc)], consistency)
        return doc

    async def update(
        self, key: str, changes: Doc, consistency: Consistency, guard: Guard | None = None
    ) -> Doc | None:
        """The document changed, or None if absent (or not one `guard` lets this caller
        update)."""
        before = await self.get(key, consistency)
        if before is None or (guard is not None and not guard.admits("update", [before])[0]):
            return None
        after = {**before, **changes}
        await self._computed.fill([after], [before])
        after = self._checked(after, before)
        if guard is not None:
            guard.check("update", [after])
        await self._replace([(before, after)], consistency)
        return after

    async def update_where(
        self,
        where: Mapping[str, Any],
        changes: Doc,
        consistency: Consistency,
        guard: Guard | None = None,
    ) -> int:
        befores = await self.find(where, consistency=consistency)
        if not befores:
            return 0
        afters = [{**b, **changes} for b in befores]
        await self._computed.fill(afters, list(befores))
        pairs = [(b, self._checked(a, b)) for b, a in zip(befores, afters, strict=True)]
        if guard is not None:
            guard.check("update", [after for _, after in pairs])
        await self._replace(pairs, consistency)
        return len(befores)

    async def delete(
        self, key: str, consistency: Consistency, guard: Guard | None = None
    ) -> Doc | None:
        before = await self.get(key, consistency)
        if before is None or (guard is not None and not guard.admits("delete", [before])[0]):
            return None
        await self._delete([before], consistency)
        return before

    async def delete_where(self, where: Mapping[str, Any], consistency: Consistency) -> int:
        befores = await self.find(where, consistency=consistency)
        if befores:
            await self._delete(befores, consistency)
        return len(befores)

    # -- helpers ---------------------------------------------------------------------------

    def key_of(self, doc: Doc) -> str:
        return _text(doc[self.collection.key])

    def placement_of(self, doc: Doc) -> str:
        return _text(doc[self.collection.shard_key])

    async def _replace(
        self, pairs: Sequence[tuple[Doc | None, Doc]], consistency: Consistency
    ) -> None:
        """Write each `after` over its `before`: claim the unique values it gains first,
        release the ones it drops once written."""
        claims = [c for before, after in pairs for c in self._claims(after, before)]
        await self.client.claim_unique(claims, consistency=consistency)
        try:
            await self._put([after for _, after in pairs], consistency)
        except BaseException:
            await self.client.release_unique(claims)
            raise
        await self.client.release_unique(
            [
                c
                for before, after in pairs
                if before is not None
                for c in self._claims(before, after)
            ]
        )

    async def _put(
        self, docs: Sequence[Doc], consistency: Consistency, *, if_absent: bool = False
    ) -> None:
        writes = [
            Write(self.key_of(d), self.placement_of(d), "put", d, if_absent=if_absent) for d in docs
        ]
        await self.client.write(self.id, writes, consistency=consistency)

    async def _delete(self, docs: Sequence[Doc], consistency: Consistency) -> None:
        writes = [Write(self.key_of(d), self.placement_of(d), "delete") for d in docs]
        await self.client.write(self.id, writes, consistency=consistency)
        await self.client.release_unique([c for d in docs for c in self._claims(d)])

    def _claims(self, doc: Doc, other: Doc | None = None) -> list[UniqueClaim]:
        """Unique values of `doc` that `other` (the version before or after) does not share."""
        key = self.key_of(doc)
        return [
            UniqueClaim(collection=self.id, field=f, value=canonical(doc[f]), key=key)
            for f in self._unique
            if doc.get(f) is not None and (other is None or other.get(f) != doc.get(f))
        ]

    def _checked(self, doc: Doc, before: Doc | None = None) -> Doc:
        c = self.collection
        if before is not None:
            for name in {c.key, c.shard_key}:
                if doc.get(name) != before.get(name):
                    raise StoreInputError(
                        f"{c.name}.{name} cannot change (it places the document); "
                        f"delete the {c.name} and insert it anew"
                    )
        for f in c.stored_fields:
            if f.type.non_null and doc.get(f.name) is None:
                raise StoreInputError(f"{c.name}.{f.name} is non-null: give it a value")
        for f in self._vectors:
            vec = doc.get(f.name)
            if vec is None:
                continue
            assert f.vector is not None
            if len(vec) != f.vector.dimensions:
                raise StoreInputError(
                    f"{c.name}.{f.name} needs {f.vector.dimensions} dimensions, got {len(vec)}"
                )
            if not all(math.isfinite(x) for x in vec):
                raise StoreInputError(f"{c.name}.{f.name} holds a NaN or infinite value")
        size = len(orjson.dumps(doc))
        if size > self.limits.max_document_bytes:
            raise StoreInputError(
                f"the {c.name} document is {size} bytes, over the limit of "
                f"{self.limits.max_document_bytes} bytes (store.max_document_bytes)"
            )
        return doc


def _aggregatable(f: Field) -> bool:
    return (
        not f.type.is_list
        and f.type.kind is TypeKind.SCALAR
        and f.type.name
        in {
            "Int",
            "Float",
            "String",
            "ID",
        }
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()
