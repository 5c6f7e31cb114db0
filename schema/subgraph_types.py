"""SDL for one service's types and for what is generated from them.

For each collection: the object type, `<T>Where`, `<T>OrderBy`, `<T>Aggregate` (with
`<T>SumFields`, `<T>AvgFields`, `<T>MinFields`, `<T>MaxFields` when it has such fields),
`<T>Input`, `<T>Set`, `<T>Hit` (with `@vector` fields) and the root fields. For each embedded
type: the object type, `<T>Where`, `<T>OrderBy` (when something in it is orderable) and
`<T>Input`. For each enum: the enum and
`<E>Comparison`. Every function returns finished definition text; `schema.subgraph` assembles.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from schema.model import (
    NUMERIC_SCALARS,
    ORDERED_SCALARS,
    Collection,
    EnumType,
    ExternalType,
    Field,
    ObjectType,
    TypeKind,
)
from schema.naming import (
    collection_names,
    comparison_type,
    input_type,
    order_by_type,
    plural,
    where_type,
)
from schema.sdl_text import block, enum_block, enum_comparison, field_with_args, member

_MIN_MAX_SCALARS = frozenset({"ID", "String", "Int", "Float"})
_CONSISTENCY = "consistency: Consistency"


def object_type(head: str, fields: Iterable[Field], description: str | None) -> str:
    """A reference field has its target's type: a collection here, a stub or (merged) the
    collection another service defines."""
    lines = [line for f in fields for line in member(f"{f.name}: {f.type.sdl()}", f.description)]
    return block(head, lines, description)


def collection_type(c: Collection, federated: bool) -> str:
    key = f' @key(fields: "{c.key}")' if federated else ""
    return object_type(f"type {c.name}{key}", c.fields, c.description)


def embedded_type(o: ObjectType, federated: bool) -> str:
    shareable = " @shareable" if federated and o.shareable else ""
    return object_type(f"type {o.name}{shareable}", o.fields, o.description)


def stub_type(stub: ExternalType, federated: bool) -> str:
    if federated:
        head = f'type {stub.name} @key(fields: "{stub.key}", resolvable: false)'
        return block(head, [f"{stub.key}: {stub.key_type}!"])
    return block(
        f"type {stub.name}",
        [f"{stub.key}: {stub.key_type}!"],
        "Served elsewhere; only its key is known here.",
    )


def enum_definitions(e: EnumType) -> dict[str, str]:
    return {
        e.name: enum_block(f"{e.name}", e.values, e.description),
        comparison_type(e.name): enum_comparison(e.name),
    }


def orderable_objects(objects: Iterable[ObjectType]) -> frozenset[str]:
    """Embedded types with at least one orderable field, directly or nested (no cycles)."""
    by_name = {o.name: o for o in objects}
    memo: dict[str, bool] = {}

    def orderable(name: str) -> bool:
        if name not in memo:
            o = by_name.get(name)
            memo[name] = False  # in progress: guards a cycle the parser would have refused
            memo[name] = o is not None and any(
                _order_of(f, orderable) is not None for f in o.fields
            )
        return memo[name]

    return frozenset(n for n in by_name if orderable(n))


def embedded_definitions(
    o: ObjectType, federated: bool, orderable: frozenset[str]
) -> dict[str, str]:
    """The embedded type and its filter, order and input types, by name."""
    defs = {o.name: embedded_type(o, federated), where_type(o.name): _where(o.name, o.fields)}
    if o.name in orderable:
        defs[order_by_type(o.name)] = _order_by(o.name, o.fields, orderable)
    defs[input_type(o.name)] = _input(input_type(o.name), o.fields, f"The {o.name} to store.")
    return defs


def collection_definitions(
    c: Collection, federated: bool, orderable: frozenset[str]
) -> dict[str, str]:
    names = collection_names(c.name)
    defs = {
        c.name: collection_type(c, federated),
        names.where: _where(c.name, c.fields),
        names.order_by: _order_by(c.name, c.fields, orderable),
        **_aggregates(c),
        names.input: _input(names.input, given_fields(c), f"The {c.name} to insert or upsert."),
    }
    if vector_fields(c):
        defs[names.hit] = _hit(c)
    if settable_fields(c):  # an input type needs a field: no Set, no updates, without one
        defs[names.set] = _input(
            names.set,
            settable_fields(c),
            f"Fields of the {c.name} to change; those not given are kept. "
            "The key and shard key cannot change.",
            required=False,
        )
    return defs


def given_fields(c: Collection) -> tuple[Field, ...]:
    """What clients write: stored fields but vectors computed from text (`@vector(from:)`)."""
    return tuple(f for f in c.stored_fields if f.vector is None or f.vector.source is None)


def settable_fields(c: Collection) -> tuple[Field, ...]:
    """What an update may change: given fields but the key and the shard key, which place
    the document on the ring."""
    return tuple(f for f in given_fields(c) if f.name not in (c.key, c.shard_key))


def vector_fields(c: Collection) -> tuple[Field, ...]:
    return tuple(f for f in c.stored_fields if f.vector is not None)


def _hit(c: Collection) -> str:
    names = collection_names(c.name)
    return block(
        f"type {names.hit}",
        [
            *member(
                "score: Float!",
                "COSINE: cosine similarity, IP: inner product (higher is closer); "
                "L2: Euclidean distance (lower is closer).",
            ),
            *member(f"{names.hit_field}: {c.name}!", f"The {c.name} found."),
        ],
        f"One {c.name} found by {names.search}, with its score.",
    )


# -- filters, ordering, inputs ---------------------------------------------------------------


def _filter_of(f: Field) -> str | None:
    t = f.type
    if f.reference is not None:
        return None  # filter on the stored field holding the key instead
    if t.is_list or t.name == "JSON":
        return comparison_type("JSON")
    if t.kind is TypeKind.OBJECT:
        return where_type(t.name)
    return comparison_type(t.name)


def _where(name: str, fields: Iterable[Field]) -> str:
    where = where_type(name)
    lines = [
        *member(f"_and: [{where}!]", "Every one of these holds."),
        *member(f"_or: [{where}!]", "At least one of these holds."),
        *member(f"_not: {where}", "This does not hold."),
    ]
    lines += [f"{f.name}: {t}" for f in fields if (t := _filter_of(f)) is not None]
    return block(
        f"input {where}",
        lines,
        f"Which {plural(name)} to select; every condition given must hold.",
    )


def _order_of(f: Field, orderable: Callable[[str], bool]) -> str | None:
    t = f.type
    if f.reference is not None or t.is_list:
        return None
    if t.kind is TypeKind.ENUM or (t.kind is TypeKind.SCALAR and t.name in ORDERED_SCALARS):
        return "OrderDirection"
    if t.kind is TypeKind.OBJECT and orderable(t.name):
        return order_by_type(t.name)
    return None


def _order_by(name: str, fields: Iterable[Field], orderable: frozenset[str]) -> str:
    lines = [
        f"{f.name}: {t}" for f in fields if (t := _order_of(f, orderable.__contains__)) is not None
    ]
    return block(
        f"input {order_by_type(name)}",
        lines,
        f"One sort key for {plural(name)}: set exactly one field.",
    )


def _input(type_name: str, fields: Iterable[Field], description: str, required: bool = True) -> str:
    lines = []
    for f in fields:
        t = f.type
        named = input_type(t.name) if t.kind is TypeKind.OBJECT else t.name
        lines.append(f"{f.name}: {replace(t, name=named, non_null=t.non_null and required).sdl()}")
    return block(f"input {type_name}", lines, description)


# -- aggregates ----------------------------------------------------------------------------


def _aggregates(c: Collection) -> dict[str, str]:
    names = collection_names(c.name)
    many = plural(c.name)
    plain = [f for f in c.stored_fields if not f.type.is_list and f.type.kind is TypeKind.SCALAR]
    numeric = [f for f in plain if f.type.name in NUMERIC_SCALARS]
    min_max = [f for f in plain if f.type.name in _MIN_MAX_SCALARS]
    lines = member("count: Int!", f"How many {many} match.")
    parts: dict[str, str] = {}
    for field_name, type_name, fields, same_type, text in (
        ("sum", names.sum_fields, numeric, False, "Sums{} (Float: an Int sum can pass 32 bits)."),
        ("avg", names.avg_fields, numeric, False, "Means{}."),
        ("min", names.min_fields, min_max, True, "Smallest values{}."),
        ("max", names.max_fields, min_max, True, "Largest values{}."),
    ):
        if not fields:
            continue
        lines.append(f"{field_name}: {type_name}")
        parts[type_name] = block(
            f"type {type_name}",
            [f"{f.name}: {f.type.name if same_type else 'Float'}" for f in fields],
            text.format(f" over the matching {many}, ignoring nulls"),
        )
    aggregate = block(
        f"type {names.aggregate_type}", lines, f"Count and aggregates over the matching {many}."
    )
    return {names.aggregate_type: aggregate, **parts}


# -- root fields ---------------------------------------------------------------------------


def query_fields(c: Collection) -> list[str]:
    n = collection_names(c.name)
    key = f"{c.key}: {c.key_field.type.name}!"
    many = plural(c.name)
    return [
        *field_with_args(
            n.by_key, [key, _CONSISTENCY], c.name, f"The {c.name} with this key, or null."
        ),
        *field_with_args(
            n.list,
            [
                f"where: {n.where}",
                f"orderBy: [{n.order_by}!]",
                "limit: Int",
                "offset: Int",
                _CONSISTENCY,
            ],
            f"[{c.name}!]!",
            f"{many} matching where, sorted by orderBy, skipping offset, at most limit.",
        ),
        *field_with_args(
            n.aggregate,
            [f"where: {n.where}", _CONSISTENCY],
            f"{n.aggregate_type}!",
            f"Count and aggregates over the {many} matching where.",
        ),
        *(_search_field(c) if vector_fields(c) else []),
    ]


def _search_field(c: Collection) -> list[str]:
    n = collection_names(c.name)
    fields = [f.name for f in vector_fields(c)]
    which = (
        f"field: the vector field to search ({', '.join(fields)}; required)"
        if len(fields) > 1
        else f"field: {fields[0]} (the only vector field) if not given"
    )
    by_text = [f.name for f in vector_fields(c) if f.vector and f.vector.model]
    query = ["vector: [Float!]", "text: String"] if by_text else ["vector: [Float!]!"]
    if by_text:
        which += f"; text: a query embedded by the model of {', '.join(by_text)}, instead of vector"
    return field_with_args(
        n.search,
        [
            *query,
            "field: String",
            "k: Int = 10",
            f"where: {n.where}",
            "minScore: Float",
            _CONSISTENCY,
        ],
        f"[{n.hit}!]!",
        f"The k {plural(c.name)} matching where nearest to vector, best first. {which}; "
        "k: 1 to 1000; minScore: drop hits scoring below it (COSINE and IP only).",
    )


def mutation_fields(c: Collection) -> list[str]:
    n = collection_names(c.name)
    key = f"{c.key}: {c.key_field.type.name}!"
    many = plural(c.name)
    where, set_ = f"where: {n.where}!", f"set: {n.set}!"
    updates = [
        *field_with_args(
            n.update_one,
            [key, set_, _CONSISTENCY],
            c.name,
            f"Change fields of the {c.name} with this key; returns it changed, or null if absent.",
        ),
        *field_with_args(
            n.update_many,
            [where, set_, _CONSISTENCY],
            "Int!",
            f"Change fields of every {c.name} matching where; returns how many changed.",
        ),
    ]
    return [
        *field_with_args(
            n.insert_one,
            [f"object: {n.input}!", _CONSISTENCY],
            c.name,
            f"Insert one {c.name}; refused if its key is taken.",
        ),
        *field_with_args(
            n.insert_many,
            [f"objects: [{n.input}!]!", _CONSISTENCY],
            f"[{c.name}!]!",
            f"Insert several {many}; refused if a key is taken.",
        ),
        *field_with_args(
            n.upsert,
            [f"object: {n.input}!", _CONSISTENCY],
            c.name,
            f"Insert one {c.name}, or replace the one with the same key.",
        ),
        *(updates if settable_fields(c) else []),
        *field_with_args(
            n.delete_one,
            [key, _CONSISTENCY],
            c.name,
            f"Delete the {c.name} with this key; returns it, or null if absent.",
        ),
        *field_with_args(
            n.delete_many,
            [where, _CONSISTENCY],
            "Int!",
            f"Delete every {c.name} matching where; returns how many were deleted.",
        ),
    ]
