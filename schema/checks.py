"""Rules of a service schema that span several fields or types, run on the built model.

Keys and shard keys, what a `@reference(field:)` and a `@vector(from:)` name, cycles among
embedded types, root fields two collections would both generate, and a service without a
collection.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql.language import DocumentNode, FieldDefinitionNode, Node, TypeDefinitionNode

from schema.directives import Applied
from schema.model import Collection, Field, ServiceSchema, TypeKind
from schema.naming import collection_names
from schema.problems import Problems, did_you_mean

# Types a key (and a shard key, and a reference's key field) may have.
KEY_SCALARS = frozenset({"ID", "String", "Int"})
# ID and String values are both strings, so a String field may hold an ID key and vice versa.
_SAME_KEY = {"ID": "string", "String": "string", "Int": "int"}


@dataclass
class NodeIndex:
    """Where each type, field and directive was written, to locate errors found later."""

    types: dict[str, TypeDefinitionNode] = field(default_factory=dict)
    fields: dict[tuple[str, str], FieldDefinitionNode] = field(default_factory=dict)
    type_directives: dict[str, dict[str, Applied]] = field(default_factory=dict)
    field_directives: dict[tuple[str, str], dict[str, Applied]] = field(default_factory=dict)

    def type_directive(self, type_name: str, directive: str) -> Applied | None:
        return self.type_directives.get(type_name, {}).get(directive)


def check_service(
    model: ServiceSchema, index: NodeIndex, document: DocumentNode, problems: Problems
) -> None:
    if not model.collections and not problems:
        problems.add(
            document.definitions[0] if document.definitions else document,
            f'service "{model.service}" declares no collection',
            'mark at least one type with @collection @key(fields: "id")',
        )
    for c in model.collections:
        check_key(c.name, c.key, c.fields, index, problems)
        if c.shard_key and c.shard_key != c.key:
            _check_shard_key(c, index, problems)
        for f in c.fields:
            if f.reference is not None:
                _check_reference(model, c, f, index, problems)
            if f.vector is not None and f.vector.source is not None:
                _check_vector_source(c, f, index, problems)
    _check_cycles(model, index, problems)
    _check_root_fields(model, index, problems)


def check_key(
    type_name: str,
    key: str,
    fields: tuple[Field, ...],
    index: NodeIndex,
    problems: Problems,
) -> None:
    if not key:
        return  # no usable @key: already reported
    directive = index.type_directive(type_name, "key")
    blame: Node | None = directive.at("fields") if directive else index.types.get(type_name)
    f = next((f for f in fields if f.name == key), None)
    if f is None:
        problems.add(
            blame,
            f'@key(fields: "{key}") on {type_name}: {type_name} has no field "{key}"',
            did_you_mean(key, [f.name for f in fields], f'add "{key}: ID!" to {type_name}'),
        )
        return
    _check_keyish(type_name, f, "key", index, problems)


def _check_shard_key(c: Collection, index: NodeIndex, problems: Problems) -> None:
    directive = index.type_directive(c.name, "collection")
    f = c.field(c.shard_key)
    if f is None:
        problems.add(
            directive.at("shardKey") if directive else index.types.get(c.name),
            f'@collection(shardKey: "{c.shard_key}") on {c.name}: {c.name} has no field '
            f'"{c.shard_key}"',
            did_you_mean(
                c.shard_key,
                [f.name for f in c.stored_fields],
                f'add "{c.shard_key}: ID!" to {c.name}, or leave shardKey out to shard by the key',
            ),
        )
        return
    _check_keyish(c.name, f, "shard key", index, problems)


def _check_keyish(
    type_name: str, f: Field, role: str, index: NodeIndex, problems: Problems
) -> None:
    """A key or shard key must be a stored, non-null, non-list ID, String or Int field."""
    node = index.fields.get((type_name, f.name))
    blame = node.type if node else index.types.get(type_name)
    if not f.stored:
        problems.add(
            blame,
            f"the {role} of {type_name} cannot be the reference {f.name}",
            "use the stored field named in its @reference(field: ...) instead",
        )
    elif f.type.is_list or f.type.kind is not TypeKind.SCALAR or f.type.name not in KEY_SCALARS:
        problems.add(
            blame,
            f"the {role} of {type_name} must be ID, String or Int, "
            f"{type_name}.{f.name} is {f.type.sdl()}",
            f'declare it as "{f.name}: ID!"',
        )
    elif not f.type.non_null:
        problems.add(
            blame,
            f"the {role} of {type_name} must be non-null, {type_name}.{f.name} is {f.type.sdl()}",
            f'declare it as "{f.name}: {f.type.sdl()}!"',
        )


def _check_reference(
    model: ServiceSchema, c: Collection, f: Field, index: NodeIndex, problems: Problems
) -> None:
    assert f.reference is not None
    directive = index.field_directives.get((c.name, f.name), {}).get("reference")
    blame = directive.at("field") if directive else index.fields.get((c.name, f.name))
    name = f.reference.field
    where = f'@reference(field: "{name}") on {c.name}.{f.name}'
    holder = c.field(name)
    keys = f"{f.type.name} keys" if f.type.is_list else f"a {f.type.name} key"
    if holder is None:
        problems.add(
            blame,
            f'{where}: {c.name} has no field "{name}"',
            did_you_mean(
                name,
                [h.name for h in c.stored_fields],
                f'add "{name}: {"[ID!]" if f.type.is_list else "ID"}" to {c.name} to hold ' + keys,
            ),
        )
        return
    if not holder.stored:
        problems.add(
            blame,
            f"{where}: {name} is itself a reference",
            f"name the stored field that holds {keys}",
        )
        return
    if holder.type.kind is not TypeKind.SCALAR or holder.type.name not in KEY_SCALARS:
        problems.add(
            blame,
            f"{where}: {name} must hold {keys} (ID, String or Int), it is {holder.type.sdl()}",
            f"name a field that holds {keys}",
        )
        return
    if holder.type.is_list != f.type.is_list:
        if f.type.is_list:
            shape, fix = (
                "a list, so",
                f"[{holder.type.name}!], or make {f.name} a single {f.type.name}",
            )
            held = "a list of keys"
        else:
            shape, fix = (
                "one reference, so",
                f"{holder.type.name}, or make {f.name} a list [{f.type.name}]",
            )
            held = "one key"
        problems.add(
            blame,
            f"{where}: {f.name} is {shape} {name} must hold {held}, but it is {holder.type.sdl()}",
            f"declare {name} as {fix}",
        )
        return
    target_key = _target_key_type(model, f.type.name)
    if target_key and _SAME_KEY[target_key] != _SAME_KEY[holder.type.name]:
        problems.add(
            blame,
            f"{where}: {name} holds {holder.type.name} values but the key of "
            f"{f.type.name} is {target_key}",
            f"declare {name} with the type {target_key}",
        )


def _check_vector_source(c: Collection, f: Field, index: NodeIndex, problems: Problems) -> None:
    """`@vector(from: "bio")` names a stored String field of the same collection."""
    assert f.vector is not None and f.vector.source is not None
    directive = index.field_directives.get((c.name, f.name), {}).get("vector")
    blame = directive.at("from") if directive else index.fields.get((c.name, f.name))
    name = f.vector.source
    source = c.field(name)
    if source is None or not source.stored:
        texts = [g.name for g in c.stored_fields if g.type.name == "String" and not g.type.is_list]
        problems.add(
            blame,
            f'@vector(from: "{name}") on {c.name}.{f.name}: {c.name} has no stored field "{name}"',
            did_you_mean(name, texts, f"add {name}: String to {c.name}"),
        )
    elif source.type.name != "String" or source.type.is_list:
        problems.add(
            blame,
            f'@vector(from: "{name}") on {c.name}.{f.name}: {name} is {source.type.sdl()}, '
            "not text",
            "name a String field",
        )


def _target_key_type(model: ServiceSchema, target: str) -> str | None:
    local = model.collection(target)
    if local is None:
        return model.external(target).key_type
    key = local.field(local.key)
    ok = key is not None and key.type.kind is TypeKind.SCALAR and key.type.name in KEY_SCALARS
    return key.type.name if ok and key is not None else None


def _check_cycles(model: ServiceSchema, index: NodeIndex, problems: Problems) -> None:
    """Embedded types are stored inside documents, so one may not (transitively) hold itself."""
    state: dict[str, str] = {}  # "active" while on the DFS stack, then "done"

    def visit(name: str, path: list[str]) -> None:
        state[name] = "active"
        obj = model.object(name)
        for f in obj.fields if obj else ():
            if f.type.kind is not TypeKind.OBJECT:
                continue
            target = f.type.name
            if state.get(target) == "active":
                stack = [*path, name]
                cycle = [*stack[stack.index(target) :], target]
                problems.add(
                    index.fields.get((name, f.name)),
                    f"embedded types form a cycle: {' -> '.join(cycle)}",
                    "an embedded type is stored inside its document and cannot contain "
                    "itself; store the nested part as JSON, or make it a collection and "
                    "use @reference",
                )
            elif target not in state:
                visit(target, [*path, name])
        state[name] = "done"

    for obj in model.objects:
        if obj.name not in state:
            visit(obj.name, [])


def _check_root_fields(model: ServiceSchema, index: NodeIndex, problems: Problems) -> None:
    owner: dict[str, str] = {}
    for c in model.collections:
        names = collection_names(c.name)
        for root in (*names.query_fields, *names.mutation_fields):
            first = owner.setdefault(root, c.name)
            if first != c.name:
                problems.add(
                    index.types.get(c.name),
                    f'collections {first} and {c.name} both generate the root field "{root}"',
                    f"rename {c.name} or {first}",
                )
                break
