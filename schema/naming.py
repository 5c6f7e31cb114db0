"""The names shardgate generates: a public contract, so they live in one place.

    >>> n = collection_names("OrderItem")
    >>> n.by_key, n.list, n.aggregate, n.insert_many, n.where
    ('orderItem', 'orderItems', 'orderItemsAggregate', 'insertOrderItems', 'OrderItemWhere')
    >>> plural("Category"), plural("Address"), plural("Box"), collection_names("Series").list
    ('Categories', 'Addresses', 'Boxes', 'seriesList')

Changing any of these breaks every client of every service: don't, without a migration story.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Built-in types every store subgraph defines; services may not declare them.
SHARED_TYPE_NAMES = (
    "JSON",
    "Consistency",
    "OrderDirection",
    "IDComparison",
    "StringComparison",
    "IntComparison",
    "FloatComparison",
    "BooleanComparison",
    "JSONComparison",
)
BUILTIN_SCALARS = ("ID", "String", "Int", "Float", "Boolean")
# Names the GraphQL spec, the federation spec or shardgate's directives own.
RESERVED_TYPE_NAMES = frozenset(
    {
        *SHARED_TYPE_NAMES,
        *BUILTIN_SCALARS,
        "VectorMetric",
        "VectorIndex",
        "Query",
        "Mutation",
        "Subscription",
    }
)
# Suffixes of generated type names: a user type ending so could clash with a generated one.
RESERVED_SUFFIXES = (
    "Where",
    "OrderBy",
    "Input",
    "Set",
    "Comparison",
    "SumFields",
    "AvgFields",
    "MinFields",
    "MaxFields",
    "Hit",
)
RESERVED_PREFIXES = ("_", "link__", "federation__")

# Words whose plural is the singular: their list field gets a `List` suffix instead.
_UNCOUNTED = frozenset(
    {
        "aircraft",
        "data",
        "deer",
        "equipment",
        "fish",
        "information",
        "metadata",
        "news",
        "series",
        "sheep",
        "species",
    }
)
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+|[A-Z]")


def reserved_name_reason(name: str) -> str | None:
    """Why a service may not declare a type called `name`, or None if it may."""
    if name in RESERVED_TYPE_NAMES:
        return f'"{name}" is a built-in type name'
    if name.startswith(RESERVED_PREFIXES):
        return f'type names starting with "{name.split("_")[0]}_" are reserved'
    if "Aggregate" in name:
        return 'type names containing "Aggregate" are reserved for generated aggregate types'
    suffix = next((s for s in RESERVED_SUFFIXES if name.endswith(s)), None)
    if suffix is not None:
        return f'type names ending in "{suffix}" are reserved for generated types'
    return None


def lower_first(name: str) -> str:
    """`OrderItem` -> `orderItem`; a leading acronym goes whole: `URLRecord` -> `urlRecord`."""
    words = _WORD.findall(name)
    if not words or "".join(words) != name:
        return name[:1].lower() + name[1:]
    return words[0].lower() + "".join(words[1:])


def plural(word: str) -> str:
    """English plural by simple rules, applied to the last word of a CamelCase name.

    Category -> Categories, Address -> Addresses, Box -> Boxes, Key -> Keys, Person -> Persons,
    Series -> Series (uncounted: the caller must tell singular and plural apart).
    """
    last = (_WORD.findall(word) or [word])[-1].lower()
    if last in _UNCOUNTED:
        return word
    if len(word) > 1 and word[-1] == "y" and word[-2].lower() not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


@dataclass(frozen=True)
class CollectionNames:
    """Every generated name for one collection type (`User` shown in the comments)."""

    type: str  # User
    by_key: str  # user(id: ID!): User
    list: str  # users(where, orderBy, limit, offset): [User!]!
    aggregate: str  # usersAggregate(where): UserAggregate!
    search: str  # searchUsers(vector, field, k, where, minScore): [UserHit!]! (with @vector)
    hit_field: str  # UserHit.user: the document of a hit
    insert_one: str  # insertUser
    insert_many: str  # insertUsers
    upsert: str  # upsertUser
    update_one: str  # updateUser
    update_many: str  # updateUsers
    delete_one: str  # deleteUser
    delete_many: str  # deleteUsers
    where: str  # UserWhere
    order_by: str  # UserOrderBy
    aggregate_type: str  # UserAggregate
    sum_fields: str  # UserSumFields
    avg_fields: str  # UserAvgFields
    min_fields: str  # UserMinFields
    max_fields: str  # UserMaxFields
    input: str  # UserInput
    set: str  # UserSet
    hit: str  # UserHit {score, user}

    @property
    def query_fields(self) -> tuple[str, ...]:
        return (self.by_key, self.list, self.aggregate, self.search)

    @property
    def mutation_fields(self) -> tuple[str, ...]:
        return (
            self.insert_one,
            self.insert_many,
            self.upsert,
            self.update_one,
            self.update_many,
            self.delete_one,
            self.delete_many,
        )

    @property
    def types(self) -> tuple[str, ...]:
        """Generated type names (the aggregate field types only exist when they have fields)."""
        return (
            self.where,
            self.order_by,
            self.aggregate_type,
            self.sum_fields,
            self.avg_fields,
            self.min_fields,
            self.max_fields,
            self.input,
            self.set,
            self.hit,
        )


def collection_names(name: str) -> CollectionNames:
    one = lower_first(name)
    # Pluralise after lowering so that an acronym stays whole: SKU -> sku -> skus.
    many = plural(one) if plural(one) != one else one + "List"
    many_type = plural(name) if plural(name) != name else name + "List"
    return CollectionNames(
        type=name,
        by_key=one,
        list=many,
        aggregate=many + "Aggregate",
        search="search" + many_type,
        hit_field=one,
        insert_one="insert" + name,
        insert_many="insert" + many_type,
        upsert="upsert" + name,
        update_one="update" + name,
        update_many="update" + many_type,
        delete_one="delete" + name,
        delete_many="delete" + many_type,
        where=where_type(name),
        order_by=order_by_type(name),
        aggregate_type=name + "Aggregate",
        sum_fields=name + "SumFields",
        avg_fields=name + "AvgFields",
        min_fields=name + "MinFields",
        max_fields=name + "MaxFields",
        input=input_type(name),
        set=name + "Set",
        hit=name + "Hit",
    )


def comparison_type(name: str) -> str:
    """The filter input for a scalar or enum: `String` -> `StringComparison`."""
    return name + "Comparison"


def where_type(name: str) -> str:
    """The filter input of a collection or embedded type: `Address` -> `AddressWhere`."""
    return name + "Where"


def order_by_type(name: str) -> str:
    return name + "OrderBy"


def input_type(name: str) -> str:
    """The write input of a collection or embedded type: `Address` -> `AddressInput`."""
    return name + "Input"
