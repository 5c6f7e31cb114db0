"""The shard's internal HTTP API: JSON bodies (orjson), POST unless noted.

The cluster client (`shards.client`) is the only caller. Every endpoint is batched so that one
plan step costs one request per shard.

    GET  /health      -> {"id": "shard-a", "status": "ok"}
    GET  /stats       -> {"id", "changelog_seq", "collections": {"users.User": {"documents": 12}}}
    POST /collections  {"collections": [CollectionDescriptor]}           -> {"ok": true}
         Creates tables and expression indexes; idempotent; additive (new indexes are added,
         nothing is dropped).
    POST /write        {"writes": [WriteOp]}               -> {"results": [WriteResult]}
         All writes of one request commit in ONE SQLite transaction (group commit). Each is
         applied only if its (version, origin) is newer than the stored one (last writer wins),
         and appends one change-log row when applied; an op with "expect" is a restore,
         applied only over exactly that stored (version, origin).
    POST /get          {"collection", "keys": [str]}       -> {"docs": [StoredDoc|None]}
         Aligned with "keys"; tombstones are returned (deleted=true) so that a quorum read can
         let a newer delete win over an older live copy.
    POST /query        QueryRequest                                      -> {"docs": [dict]}
         Live documents in the requested token ranges matching `where`, ordered by `order_by`
         then key, at most offset+limit of them (the client applies the offset after merging).
    POST /aggregate    AggregateRequest                                  -> AggregateResult
    POST /search       SearchRequest        -> {"hits": [[score, key]], "docs": [body]}
         The best k live documents of the requested token ranges that match `where`, best
         first (see shards/vectors.py; docs/vectors.md for scores).
    POST /vectors/rebuild {"collection", "field": str|None}  -> {"rebuilt": {field: count}}
    GET  /vectors/verify -> {"<collection>@<field>": {"indexed", "missing", "extra"}}
    POST /unique/claim   {"claims": [UniqueClaim]}         -> {"results": [ClaimResult]}
    POST /unique/release {"claims": [UniqueClaim]}         -> {"ok": true}

Errors: HTTP 400 with {"error": {"code": "BAD_REQUEST", "message": ...}} for a request the shard
cannot run (unknown collection, bad filter); 500 is never sent with internals.

The filter language (`where`) is the GraphQL `where` input as plain JSON, already validated by the
gateway against the schema:
    {"_and": [F...], "_or": [F...], "_not": F,
     "<field>": {"_eq": v, "_neq": v, "_gt": v, "_gte": v, "_lt": v, "_lte": v,
                 "_in": [v], "_nin": [v], "_like": s, "_ilike": s, "_is_null": bool},
     "<embedded object field>": F}            # nested: compares json paths $.field.sub
Null semantics follow SQL (as Hasura's do on Postgres): a comparison with a missing/null field
never matches, except `_is_null: true`.
"""

from __future__ import annotations

from typing import Any, Literal, NotRequired, TypedDict

from shards.vector_spec import VectorFieldSpec

Direction = Literal["ASC", "DESC"]
Nulls = Literal["FIRST", "LAST"]


class CollectionDescriptor(TypedDict):
    name: str  # "users.User"
    key: str  # key field name
    shard_key: str  # field whose value is hashed onto the ring
    indexes: list[str]  # dotted field paths with an expression index, e.g. ["email", "total"]
    unique: list[str]  # fields with a cluster-wide unique constraint
    vectors: NotRequired[list[VectorFieldSpec]]  # fields with a FAISS index on every shard


class WriteOp(TypedDict):
    collection: str
    key: str
    token: int  # ring token of the shard key (signed int64), stored for range scans
    op: Literal["put", "delete"]
    body: dict[str, Any] | None  # the whole document for "put"; None for "delete"
    version: int  # hybrid logical clock value assigned by the coordinator
    origin: str  # coordinator id: tie-break for equal versions
    # A restore: apply only over exactly this stored (version, origin), whatever the op's own
    # version (the previous one, being put back). How a coordinator takes back a write that
    # missed its consistency level without undoing anyone else's later write.
    expect: NotRequired[tuple[int, str] | None]
    # Apply only where no live document has this key (an insert); refused otherwise, with
    # the live document as "before".
    if_absent: NotRequired[bool]


class WriteResult(TypedDict):
    applied: bool  # False when the stored version was newer (stale write ignored)
    before: dict[str, Any] | None  # the live body before this write, if any
    # What was stored before (a tombstone included): None when the key was never seen.
    before_version: NotRequired[tuple[int, str] | None]


class StoredDoc(TypedDict):
    key: str
    body: dict[str, Any] | None  # None for a tombstone
    version: int
    origin: str
    deleted: bool


class OrderTerm(TypedDict):
    field: str  # dotted path into the body
    direction: Direction
    nulls: Nulls  # default: LAST for ASC, FIRST for DESC (Postgres' defaults)


class QueryRequest(TypedDict):
    collection: str
    where: NotRequired[dict[str, Any] | None]
    order_by: NotRequired[list[OrderTerm]]
    limit: NotRequired[int | None]  # None: no limit
    ranges: NotRequired[list[tuple[int, int]] | None]  # inclusive token ranges; None: all
    # True: the answer also has "meta": [[key, version, origin, token], ...] aligned with "docs".
    meta: NotRequired[bool]


class AggregateRequest(TypedDict):
    collection: str
    where: NotRequired[dict[str, Any] | None]
    ranges: NotRequired[list[tuple[int, int]] | None]
    fields: NotRequired[list[str]]  # numeric/ordered fields to aggregate


class FieldAggregate(TypedDict):
    count: int  # non-null values
    sum: float | int | None
    min: Any
    max: Any


class AggregateResult(TypedDict):
    count: int
    fields: dict[str, FieldAggregate]


class SearchRequest(TypedDict):
    collection: str
    field: str  # a vector field of the collection
    vector: list[float]  # the query, of the field's dimensions
    k: int  # 1..1000
    where: NotRequired[dict[str, Any] | None]
    ranges: NotRequired[list[tuple[int, int]] | None]
    min_score: NotRequired[float | None]  # COSINE/IP: drop hits scoring below


class UniqueClaim(TypedDict):
    collection: str
    field: str
    value: str  # canonical JSON text of the value
    key: str  # the document claiming it
    replace: NotRequired[str]  # take the claim over from this (stale) owner, if it holds it


class ClaimResult(TypedDict):
    ok: bool
    owner: str | None  # the key holding the value when ok is False
    age_ms: NotRequired[int]  # how long that owner has held it
