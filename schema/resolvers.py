"""Executable store subgraphs: generated SDL + resolvers over `CollectionStore`s.

Each service is an Apollo Federation v2 subgraph (`_service`, `_entities`). A reference to a
type of this service is fetched in process; one to another service's type resolves to a
`{__typename, key}` stub that the federation gateway completes.

Reads of referenced and entity documents go through one DataLoader per collection per request,
so N references cost one batched get per shard, not N calls.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    InlineFragmentNode,
    SelectionSetNode,
    build_schema,
)
from strawberry.dataloader import DataLoader

from auth.errors import Forbidden
from auth.permissions import Access, combine
from schema.guards import CollectionGuard
from schema.model import Collection, Field, ServiceSchema
from schema.naming import collection_names
from schema.role_view import RulesOf, role_sdl
from schema.store import CollectionStore, ConstraintViolation, StoreInputError
from schema.subgraph import executable_subgraph_sdl, subgraph_sdl
from shards.consistency import DEFAULT_READ, DEFAULT_WRITE, Consistency
from shards.errors import BadRequest, ConsistencyNotMet, ShardUnavailable, UniqueViolation
from shards.protocol import OrderTerm
from shards.vector_scatter import SearchAnswer

Resolver = Callable[..., Awaitable[Any]]


class StoreContext:
    """Per-request state: the caller's permissions, one batching loader per collection type,
    and what the response's `extensions` must say (partial search answers)."""

    def __init__(self, stores: Mapping[str, CollectionStore], access: Access | None = None) -> None:
        self.stores = stores
        self.access = access
        self._loaders: dict[str, DataLoader[str, dict[str, Any] | None]] = {}
        self._guards: dict[str, CollectionGuard] = {}
        self.extensions: dict[str, Any] = {}

    def guard(self, type_name: str) -> CollectionGuard:
        guard = self._guards.get(type_name)
        if guard is None:
            collection = self.stores[type_name].collection
            guard = self._guards[type_name] = CollectionGuard(collection, self.access)
        return guard

    def report_partial(self, path: list[str | int], answer: SearchAnswer) -> None:
        self.extensions.setdefault("partial", []).append(
            {
                "path": path,
                "coverage": round(answer.coverage, 4),
                "unavailable": answer.unavailable,
                "message": f"{len(answer.missing)} token ranges have no live replica: "
                "the hits are the best of the documents on the shards that answered",
            }
        )

    def loader(self, type_name: str) -> DataLoader[str, dict[str, Any] | None]:
        """Documents by key, as this caller may read them (None for the others)."""
        loader = self._loaders.get(type_name)
        if loader is None:
            store, guard = self.stores[type_name], self.guard(type_name)

            async def load(keys: list[str]) -> list[dict[str, Any] | None]:
                return guard.visible(await store.get_many(keys, DEFAULT_READ))

            loader = self._loaders[type_name] = DataLoader(load_fn=load)
        return loader


def build_subgraph_schema(
    model: ServiceSchema, stores: Mapping[str, CollectionStore], rules_of: RulesOf | None = None
) -> GraphQLSchema:
    """`stores`: this service's collection type name -> store. With `rules_of` (one role's
    permissions), the schema is what that role sees (schema/role_view.py)."""
    executable, sdl = executable_subgraph_sdl(model), subgraph_sdl(model)
    if rules_of is not None:
        executable = role_sdl(executable, model, rules_of, inaccessible_keys=False)
        sdl = role_sdl(sdl, model, rules_of, inaccessible_keys=True)
    schema = build_schema(executable)
    for c in model.collections:
        _bind_collection(schema, c, stores[c.name])
        _bind_references(schema, c, stores, external=set(model.external_types))
    query = schema.query_type
    assert query is not None
    query.fields["_service"].resolve = lambda *_: {"sdl": sdl}
    if "_entities" in query.fields:  # absent when the role may read no entity here
        query.fields["_entities"].resolve = _guard(_resolve_entities)
        entity = schema.get_type("_Entity")
        entity.resolve_type = lambda obj, *_: obj["__typename"]  # type: ignore[union-attr]
    return schema


# -- binding --------------------------------------------------------------------------------


def _bind_collection(schema: GraphQLSchema, c: Collection, store: CollectionStore) -> None:
    names = collection_names(c.name)
    query, mutation = schema.query_type, schema.mutation_type
    key = c.key

    def guard(info: GraphQLResolveInfo) -> CollectionGuard:
        context: StoreContext = info.context
        return context.guard(c.name)

    async def by_key(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        g = guard(info)
        g.rule("select")
        doc = await store.get(_text(args[key]), _consistency(args, DEFAULT_READ))
        return g.visible([doc])[0]

    async def listing(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        g = guard(info)
        return await store.find(
            g.read_where(_filter(args.get("where"))),
            _order_terms(args.get("orderBy")),
            g.read_limit(args.get("limit")),
            args.get("offset") or 0,
            _consistency(args, DEFAULT_READ),
        )

    async def aggregate(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        g = guard(info)
        g.aggregate()
        where = g.read_where(_filter(args.get("where")))
        result = await store.aggregate(where, _consistency(args, DEFAULT_READ))
        fields = result["fields"]
        return {
            "count": result["count"],
            "sum": {f: a["sum"] for f, a in fields.items()},
            "avg": {
                f: (a["sum"] / a["count"] if a["count"] and a["sum"] is not None else None)
                for f, a in fields.items()
            },
            "min": {f: a["min"] for f, a in fields.items()},
            "max": {f: a["max"] for f, a in fields.items()},
        }

    vector_names = {f.name for f in c.stored_fields if f.vector is not None}

    async def search(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        answer = await store.search(
            args.get("vector"),
            args.get("field"),
            args.get("k", 10),
            guard(info).read_where(_filter(args.get("where"))),
            args.get("minScore"),
            _consistency(args, DEFAULT_READ),
            with_vectors=_selects(info, names.hit_field, vector_names),
            text=args.get("text"),
        )
        if answer.missing:
            info.context.report_partial(info.path.as_list(), answer)
        return [{"score": score, names.hit_field: doc} for score, doc in answer.hits]

    # Writes return what the caller may read of the result (Hasura's `returning`).
    async def insert_one(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        return (await insert_many(_, info, objects=[args["object"]], **_rest(args, "object")))[0]

    async def insert_many(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        g = guard(info)
        docs = g.insertable(args["objects"])
        g.check("insert", docs)
        written = await store.insert(docs, _consistency(args, DEFAULT_WRITE))
        if info.field_name == names.insert_one:
            return g.visible(written)
        return [d for d in g.visible(written) if d is not None]

    async def upsert(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        g = guard(info)
        g.rule("update")
        doc = g.insertable([args["object"]])[0]
        return g.visible([await store.upsert(doc, _consistency(args, DEFAULT_WRITE), g)])[0]

    async def update_one(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        g = guard(info)
        changes = g.settable(args["set"])
        after = await store.update(_text(args[key]), changes, _consistency(args, DEFAULT_WRITE), g)
        return g.visible([after])[0]

    async def update_many(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        g = guard(info)
        changes = g.settable(args["set"])
        where = combine(_filter(args["where"]), g.filter("update")) or {}
        return await store.update_where(where, changes, _consistency(args, DEFAULT_WRITE), g)

    async def delete_one(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        g = guard(info)
        g.rule("delete")
        before = await store.delete(_text(args[key]), _consistency(args, DEFAULT_WRITE), g)
        return g.visible([before])[0]

    async def delete_many(_: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        g = guard(info)
        where = combine(_filter(args["where"]), g.filter("delete")) or {}
        return await store.delete_where(where, _consistency(args, DEFAULT_WRITE))

    for root, field_name, fn in [
        (query, names.by_key, by_key),
        (query, names.list, listing),
        (query, names.aggregate, aggregate),
        (query, names.search, search),
        (mutation, names.insert_one, insert_one),
        (mutation, names.insert_many, insert_many),
        (mutation, names.upsert, upsert),
        (mutation, names.update_one, update_one),
        (mutation, names.update_many, update_many),
        (mutation, names.delete_one, delete_one),
        (mutation, names.delete_many, delete_many),
    ]:
        # Absent: no updates when nothing can be set, no search without vectors, nothing the
        # role may not do.
        if root is not None and field_name in root.fields:
            root.fields[field_name].resolve = _guard(fn)


def _selects(info: GraphQLResolveInfo, child: str, fields: set[str]) -> bool:
    """Whether the selection under `child` (the hit's document) names one of `fields`."""

    def names(selection_set: SelectionSetNode | None) -> Iterator[str]:
        for s in selection_set.selections if selection_set else ():
            if isinstance(s, FieldNode):
                yield s.name.value
                if s.name.value == child:
                    yield from (f"{child}.{n}" for n in names(s.selection_set))
            elif isinstance(s, InlineFragmentNode):
                yield from names(s.selection_set)
            elif isinstance(s, FragmentSpreadNode) and s.name.value in info.fragments:
                yield from names(info.fragments[s.name.value].selection_set)

    wanted = {f"{child}.{f}" for f in fields}
    return any(n in wanted for node in info.field_nodes for n in names(node.selection_set))


def _bind_references(
    schema: GraphQLSchema, c: Collection, stores: Mapping[str, CollectionStore], external: set[str]
) -> None:
    gql_type = schema.get_type(c.name)
    if not isinstance(gql_type, GraphQLObjectType):
        return  # nothing of it is visible to the role
    for f in c.fields:
        if f.reference is None or f.name not in gql_type.fields:
            continue
        target = f.type.name
        if target in external or target not in stores:
            stub_key = _stub_key(schema, target)
            gql_type.fields[f.name].resolve = _guard(_stub_resolver(f, target, stub_key))
        else:
            gql_type.fields[f.name].resolve = _guard(_loading_resolver(f, target))


def _stub_resolver(f: Field, target: str, key_field: str) -> Resolver:
    assert f.reference is not None
    source = f.reference.field

    async def resolve(doc: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        value = doc.get(source)
        if value is None:
            return None
        if f.type.is_list:
            return [None if v is None else {"__typename": target, key_field: v} for v in value]
        return {"__typename": target, key_field: value}

    return resolve


def _loading_resolver(f: Field, target: str) -> Resolver:
    assert f.reference is not None
    source = f.reference.field

    async def resolve(doc: dict[str, Any], info: GraphQLResolveInfo) -> Any:
        value = doc.get(source)
        if value is None:
            return None
        loader = info.context.loader(target)
        if f.type.is_list:
            docs = await loader.load_many([_text(v) for v in value if v is not None])
            return [d for d in docs if d is not None]
        return await loader.load(_text(value))

    return resolve


async def _resolve_entities(
    _: Any, info: GraphQLResolveInfo, representations: list[dict[str, Any]]
) -> list[Any]:
    ctx: StoreContext = info.context

    async def one(rep: dict[str, Any]) -> dict[str, Any] | None:
        type_name = rep.get("__typename")
        store = ctx.stores.get(type_name) if isinstance(type_name, str) else None
        if store is None:
            raise GraphQLError(
                f"_entities: {type_name!r} is not an entity of this subgraph",
                extensions={"code": "BAD_USER_INPUT"},
            )
        key = rep.get(store.collection.key)
        if key is None:
            raise GraphQLError(
                f"_entities: a {type_name} representation lacks its key {store.collection.key!r}",
                extensions={"code": "BAD_USER_INPUT"},
            )
        doc = await ctx.loader(type_name).load(_text(key))
        return None if doc is None else {**doc, "__typename": type_name}

    return list(await asyncio.gather(*(one(r) for r in representations)))


def _stub_key(schema: GraphQLSchema, target: str) -> str:
    stub = schema.get_type(target)
    assert isinstance(stub, GraphQLObjectType), f"no stub type for {target}"
    return next(iter(stub.fields))


# -- argument translation ---------------------------------------------------------------------

_DIRECTIONS = {
    "ASC": ("ASC", "LAST"),
    "DESC": ("DESC", "FIRST"),
    "ASC_NULLS_FIRST": ("ASC", "FIRST"),
    "ASC_NULLS_LAST": ("ASC", "LAST"),
    "DESC_NULLS_FIRST": ("DESC", "FIRST"),
    "DESC_NULLS_LAST": ("DESC", "LAST"),
}


def _filter(where: Mapping[str, Any] | None, path: str = "where") -> dict[str, Any] | None:
    """Check a coerced `where` input for nulls that SQL would silently turn into 'no match'."""
    if where is None:
        return None
    out: dict[str, Any] = {}
    for name, value in where.items():
        here = f"{path}.{name}"
        if value is None:
            raise StoreInputError(f"{here} is null: leave it out, or filter with _is_null")
        if name in ("_and", "_or"):
            out[name] = [_filter(v, f"{here}[{i}]") for i, v in enumerate(value)]
        elif name == "_not":
            out[name] = _filter(value, here)
        elif _is_comparison(value):
            for op, operand in value.items():
                if operand is None:
                    hint = "use {_is_null: true}" if op in ("_eq", "_neq") else "give a value"
                    raise StoreInputError(f"{here}.{op} is null: {hint}")
            out[name] = value
        else:  # an embedded object's own filter
            out[name] = _filter(value, here)
    return out


def _is_comparison(value: Mapping[str, Any]) -> bool:
    return all(k.startswith("_") and k not in ("_and", "_or", "_not") for k in value)


def _order_terms(order_by: Sequence[Mapping[str, Any]] | None) -> list[OrderTerm]:
    terms: list[OrderTerm] = []
    for i, entry in enumerate(order_by or []):
        flat = list(_flatten_order(entry, ""))
        if len(flat) != 1:
            raise StoreInputError(
                f"orderBy[{i}] must name exactly one field, e.g. orderBy: [{{a: ASC}}, {{b: DESC}}]"
            )
        field, value = flat[0]
        direction, nulls = _DIRECTIONS[value]
        terms.append(OrderTerm(field=field, direction=direction, nulls=nulls))  # type: ignore[typeddict-item]
    return terms


def _flatten_order(entry: Mapping[str, Any], prefix: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, value in entry.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            out.extend(_flatten_order(value, f"{prefix}{name}."))
        else:
            out.append((prefix + name, value))
    return out


def _rest(args: Mapping[str, Any], *without: str) -> dict[str, Any]:
    return {k: v for k, v in args.items() if k not in without}


def _consistency(args: Mapping[str, Any], default: Consistency) -> Consistency:
    value = args.get("consistency")
    return default if value is None else Consistency(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


# -- errors ---------------------------------------------------------------------------------------


def _guard(fn: Resolver) -> Resolver:
    """Turn store errors into GraphQL errors with codes; anything else stays masked upstream."""

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except (StoreInputError, BadRequest) as e:
            raise GraphQLError(str(e), extensions={"code": "BAD_USER_INPUT"}) from None
        except (ConstraintViolation, UniqueViolation) as e:
            raise GraphQLError(str(e), extensions={"code": "CONSTRAINT_VIOLATION"}) from None
        except ConsistencyNotMet as e:
            raise GraphQLError(
                str(e),
                extensions={
                    "code": "CONSISTENCY_NOT_MET",
                    "required": e.required,
                    "got": e.got,
                },
            ) from None
        except ShardUnavailable as e:
            raise GraphQLError(str(e), extensions={"code": "SHARD_UNAVAILABLE"}) from None
        except Forbidden as e:
            raise GraphQLError(str(e), extensions={"code": "FORBIDDEN"}) from None

    return wrapper
