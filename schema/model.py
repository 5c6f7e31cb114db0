"""The validated model of a service schema: what `schema.parser` produces from SDL.

Everything downstream (subgraph generation, resolvers, shard collection descriptors,
change checks) reads this model, never the SDL.

    type User @collection @key(fields: "id") {          -> Collection(name="User", key="id")
      id: ID!                                           -> Field("id", TypeRef(ID, non_null))
      email: String! @unique                            -> unique=True
      tags: [String!]                                   -> list_of non-null String
      address: Address                                  -> embedded object (kind=OBJECT)
      embedding: [Float!] @vector(dimensions: 384)      -> vector=VectorSpec(384, COSINE)
      orders: [Order!] ...                              -> (not stored)
    }
    type Order @collection(shardKey: "userId") @key(fields: "id") {
      user: User @reference(field: "userId")            -> reference=Reference("userId")
    }
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# GraphQL built-in scalars plus our JSON scalar.
SCALARS = frozenset({"ID", "String", "Int", "Float", "Boolean", "JSON"})
NUMERIC_SCALARS = frozenset({"Int", "Float"})
# Scalars whose values are totally ordered (orderBy, _gt/_lt, min/max).
ORDERED_SCALARS = frozenset({"ID", "String", "Int", "Float", "Boolean"})


class TypeKind(StrEnum):
    SCALAR = "SCALAR"
    ENUM = "ENUM"
    OBJECT = "OBJECT"  # an embedded object type (stored inside the document)
    COLLECTION = "COLLECTION"  # a collection type (only for @reference fields)


class VectorMetric(StrEnum):
    COSINE = "COSINE"
    L2 = "L2"
    IP = "IP"


@dataclass(frozen=True)
class TypeRef:
    """A field's GraphQL type: a named type wrapped in at most one list.

    `[String!]!` is TypeRef("String", SCALAR, non_null=True, is_list=True, item_non_null=True).
    """

    name: str
    kind: TypeKind
    non_null: bool = False
    is_list: bool = False
    item_non_null: bool = False

    def sdl(self) -> str:
        inner = self.name + ("!" if self.is_list and self.item_non_null else "")
        text = f"[{inner}]" if self.is_list else inner
        return text + ("!" if self.non_null else "")


class VectorIndexKind(StrEnum):
    FLAT = "FLAT"  # exact
    HNSW = "HNSW"  # approximate graph index
    IVF = "IVF"  # approximate inverted lists (trained by k-means)


@dataclass(frozen=True)
class VectorSpec:
    """`@vector(dimensions: 384, metric: COSINE, index: HNSW, m: 32, efSearch: 64)`,
    `@vector(dimensions: 128, index: IVF, nlist: 1024, nprobe: 32)`,
    `@vector(dimensions: 384, from: "bio", model: "all-MiniLM-L6-v2")` (computed, not given).

    None where the directive does not say: `[vectors]` in shardgate.toml decides."""

    dimensions: int
    metric: VectorMetric = VectorMetric.COSINE
    index: VectorIndexKind | None = None
    m: int | None = None
    ef_construction: int | None = None
    ef_search: int | None = None
    nlist: int | None = None
    nprobe: int | None = None
    source: str | None = None  # `from:`: the text field the vector is computed from
    model: str | None = None  # `model:`: the embedding model computing it (with `from:`)


@dataclass(frozen=True)
class Reference:
    """`user: User @reference(field: "userId")`: resolved by key from collection `User`."""

    field: str  # the stored field holding the referenced document's key


@dataclass(frozen=True)
class Field:
    name: str
    type: TypeRef
    description: str | None = None
    unique: bool = False
    index: bool = False
    vector: VectorSpec | None = None
    reference: Reference | None = None
    shareable: bool = False

    @property
    def stored(self) -> bool:
        """Reference fields are computed, everything else lives in the document body."""
        return self.reference is None


@dataclass(frozen=True)
class ObjectType:
    """An embedded (non-collection) object type: stored inside its parent document."""

    name: str
    fields: tuple[Field, ...]
    description: str | None = None
    shareable: bool = False

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class EnumType:
    name: str
    values: tuple[str, ...]
    description: str | None = None


@dataclass(frozen=True)
class Collection:
    """A `@collection` type: one document per key, sharded by `shard_key`."""

    name: str  # the GraphQL type name, e.g. "User"
    key: str  # the @key field, e.g. "id"
    shard_key: str  # the field whose value places the document on the ring
    fields: tuple[Field, ...]
    description: str | None = None
    shareable: bool = False

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def stored_fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.stored)

    @property
    def key_field(self) -> Field:
        found = self.field(self.key)
        assert found is not None, f"{self.name}: key {self.key!r} is not a field"
        return found


@dataclass(frozen=True)
class ExternalType:
    """A collection type of another service, as this one refers to it (a federation stub).

    Declared in SDL as `type Product @key(fields: "sku", resolvable: false) { sku: String! }`;
    undeclared ones default to `id: ID!`. A reference resolves to `{key: <stored value>}`.
    """

    name: str
    key: str = "id"
    key_type: str = "ID"  # ID, String or Int


@dataclass(frozen=True)
class ServiceSchema:
    """One service's validated schema. `service` is its name (the SDL file's stem)."""

    service: str
    collections: tuple[Collection, ...]
    objects: tuple[ObjectType, ...] = ()
    enums: tuple[EnumType, ...] = ()
    # Collection types of *other* services named by @reference fields here (or declared as
    # stubs), in order of first appearance.
    external_types: tuple[str, ...] = ()
    sdl: str = field(default="", compare=False)
    # One stub per name in `external_types`: how to refer to it (its key field and type).
    stubs: tuple[ExternalType, ...] = ()
    source: str = field(default="", compare=False)  # the SDL's file name, for error messages

    def collection(self, name: str) -> Collection | None:
        return next((c for c in self.collections if c.name == name), None)

    def object(self, name: str) -> ObjectType | None:
        return next((o for o in self.objects if o.name == name), None)

    def enum(self, name: str) -> EnumType | None:
        return next((e for e in self.enums if e.name == name), None)

    def external(self, name: str) -> ExternalType:
        """The stub for an external type; the `id: ID!` default when none was declared."""
        return next((s for s in self.stubs if s.name == name), ExternalType(name))


def collection_id(service: str, collection: str) -> str:
    """The store-wide name of a collection: `users.User`."""
    return f"{service}.{collection}"
