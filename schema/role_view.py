"""What one role sees of a store subgraph: its generated SDL minus what the role may not do.

    sdl = role_sdl(subgraph_sdl(model), model, rules_of, inaccessible_keys=True)

For each collection, from the role's rules (auth/permissions.py):
    type User, UserWhere, UserOrderBy, aggregates   the select columns (and the key)
    user, users, searchUsers                        select allowed
    usersAggregate                                  select with aggregate = true
    UserInput / UserSet                             insert / update columns, minus presets
    insertUser(s), updateUser(s), deleteUser(s)     insert, update, delete allowed
    upsertUser                                      insert and update allowed
Then types nothing reaches any more are dropped, so introspection shows the role nothing it
cannot use. Key fields stay (federation joins on them); with `inaccessible_keys` a key the role
may not read is marked @inaccessible, so the supergraph plans with it but the role's API schema
does not show it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    InputObjectTypeDefinitionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    ListValueNode,
    NamedTypeNode,
    NameNode,
    ObjectTypeDefinitionNode,
    SchemaExtensionNode,
    StringValueNode,
    TypeDefinitionNode,
    TypeNode,
    UnionTypeDefinitionNode,
    parse,
    print_ast,
)

from auth.permissions import Operation, Rule
from schema.model import ServiceSchema
from schema.naming import collection_names

RulesOf = Callable[[str], Mapping[Operation, Rule]]
_ROOTS = ("Query", "Mutation")
_LOGICAL = ("_and", "_or", "_not")


def role_sdl(sdl: str, model: ServiceSchema, rules_of: RulesOf, *, inaccessible_keys: bool) -> str:
    document = parse(sdl)
    keep: dict[str, Callable[[str], bool]] = {}  # type name -> which members stay
    roots: dict[str, set[str]] = {"Query": set(), "Mutation": set()}  # root fields removed
    hidden_keys: dict[str, str] = {}
    entities: set[str] = set()
    for c in model.collections:
        ops = rules_of(c.name)
        n = collection_names(c.name)
        select, insert, update = ops.get("select"), ops.get("insert"), ops.get("update")
        columns = {f.name for f in c.fields if select is not None and select.allows(f.name)}
        readable = {c.key} | columns  # a federation entity keeps its key
        if select is None or not select.allows(c.key):
            hidden_keys[c.name] = c.key  # joins still use it; the role does not see it
        if select is not None:
            entities.add(c.name)
        keep[c.name] = readable.__contains__
        keep[n.where] = lambda name, r=columns: name in _LOGICAL or name in r
        keep[n.order_by] = columns.__contains__
        for part in (n.sum_fields, n.avg_fields, n.min_fields, n.max_fields):
            keep[part] = readable.__contains__
        keep[n.input] = _writable(insert)
        keep[n.set] = _writable(update)
        allowed = {
            n.by_key: select is not None,
            n.list: select is not None,
            n.search: select is not None,
            n.aggregate: select is not None and select.aggregate,
            n.insert_one: insert is not None,
            n.insert_many: insert is not None,
            n.upsert: insert is not None and update is not None,
            n.update_one: update is not None,
            n.update_many: update is not None,
            n.delete_one: "delete" in ops,
            n.delete_many: "delete" in ops,
        }
        for name, ok in allowed.items():
            if not ok:
                roots["Mutation" if name in n.mutation_fields else "Query"].add(name)
    for root, removed in roots.items():
        keep[root] = lambda name, r=removed: name not in r

    definitions = [_entity_union(_members(d, keep), entities) for d in document.definitions]
    definitions = _drop_empty(definitions)
    definitions = _reachable(definitions)
    if inaccessible_keys and hidden_keys:
        definitions = [_mark_keys(d, hidden_keys) for d in definitions]
    return print_ast(DocumentNode(definitions=tuple(definitions))) + "\n"


def _writable(rule: Rule | None) -> Callable[[str], bool]:
    if rule is None:
        return lambda _: False
    return lambda name: rule.allows(name) and name not in rule.presets


def _members(d: Any, keep: Mapping[str, Callable[[str], bool]]) -> Any:
    if not isinstance(d, TypeDefinitionNode) or d.name.value not in keep:
        return d
    test = keep[d.name.value]
    if isinstance(d, ObjectTypeDefinitionNode | InputObjectTypeDefinitionNode):
        return dataclasses.replace(d, fields=tuple(f for f in d.fields or () if test(f.name.value)))
    return d


def _drop_empty(definitions: list[Any]) -> list[Any]:
    """Remove types left without members, and every field or argument that needs one."""
    while True:
        empty = {
            d.name.value
            for d in definitions
            if (
                isinstance(d, ObjectTypeDefinitionNode | InputObjectTypeDefinitionNode)
                and not d.fields
            )
            or (isinstance(d, UnionTypeDefinitionNode) and not d.types)
        }
        if not empty:
            return definitions
        out = []
        for d in definitions:
            if isinstance(d, TypeDefinitionNode) and d.name.value in empty:
                continue
            if isinstance(d, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
                fields = tuple(
                    f
                    for f in d.fields
                    if _named(f.type) not in empty
                    and not any(_named(a.type) in empty and _required(a) for a in f.arguments or ())
                )
                fields = tuple(
                    dataclasses.replace(
                        f,
                        arguments=tuple(
                            a for a in f.arguments or () if _named(a.type) not in empty
                        ),
                    )
                    for f in fields
                )
                d = dataclasses.replace(d, fields=fields)
            elif isinstance(d, InputObjectTypeDefinitionNode):
                d = dataclasses.replace(
                    d, fields=tuple(f for f in d.fields if _named(f.type) not in empty)
                )
            out.append(d)
        definitions = out


def _entity_union(d: Any, entities: set[str]) -> Any:
    if isinstance(d, UnionTypeDefinitionNode) and d.name.value == "_Entity":
        return dataclasses.replace(d, types=tuple(t for t in d.types if t.name.value in entities))
    return d


def _reachable(definitions: list[Any]) -> list[Any]:
    """Drop object, input, enum and union types that no root or entity reaches."""
    by_name = {d.name.value: d for d in definitions if isinstance(d, TypeDefinitionNode)}
    seen: set[str] = set()
    todo = [name for name in (*_ROOTS, "_Entity", "_Service") if name in by_name]
    while todo:
        name = todo.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        todo.extend(_references(by_name[name]))
    prunable = (
        ObjectTypeDefinitionNode
        | InputObjectTypeDefinitionNode
        | EnumTypeDefinitionNode
        | UnionTypeDefinitionNode
    )
    kept = []
    for d in definitions:
        if isinstance(d, prunable) and d.name.value not in seen and not _machinery(d.name.value):
            continue
        kept.append(d)
    return kept


def _machinery(name: str) -> bool:
    return name.startswith(("_", "link__", "federation__")) and name != "_Entity"


def _references(d: Any) -> Iterable[str]:
    for f in getattr(d, "fields", None) or ():
        yield _named(f.type)
        for a in getattr(f, "arguments", None) or ():
            yield _named(a.type)
    for t in getattr(d, "types", None) or ():
        yield t.name.value
    for t in getattr(d, "interfaces", None) or ():
        yield t.name.value


def _mark_keys(d: Any, hidden_keys: Mapping[str, str]) -> Any:
    if isinstance(d, SchemaExtensionNode):
        return _import_inaccessible(d)
    if not isinstance(d, ObjectTypeDefinitionNode) or d.name.value not in hidden_keys:
        return d
    key = hidden_keys[d.name.value]
    inaccessible = DirectiveNode(name=NameNode(value="inaccessible"), arguments=())
    return dataclasses.replace(
        d,
        fields=tuple(
            dataclasses.replace(f, directives=(*(f.directives or ()), inaccessible))
            if f.name.value == key
            else f
            for f in d.fields
        ),
    )


def _import_inaccessible(d: SchemaExtensionNode) -> SchemaExtensionNode:
    directives = []
    for directive in d.directives or ():
        if directive.name.value == "link":
            directive = dataclasses.replace(
                directive, arguments=tuple(_with_import(a) for a in directive.arguments)
            )
        directives.append(directive)
    return dataclasses.replace(d, directives=tuple(directives))


def _with_import(a: ArgumentNode) -> ArgumentNode:
    if a.name.value != "import" or not isinstance(a.value, ListValueNode):
        return a
    values = (*a.value.values, StringValueNode(value="@inaccessible"))
    return dataclasses.replace(a, value=dataclasses.replace(a.value, values=values))


def _named(t: TypeNode) -> str:
    while not isinstance(t, NamedTypeNode):
        t = t.type  # type: ignore[attr-defined]
    return t.name.value


def _required(a: InputValueDefinitionNode) -> bool:
    return a.type.kind == "non_null_type" and a.default_value is None
