"""Can these services be served side by side? Composition rules between service schemas.

- A collection, and every type and root field generated for it, belongs to one service.
- Embedded types and enums may be defined by several services when the definitions are
  identical (embedded types must also be @shareable in each): federation composes them.
- A reference to another service's collection must use that collection's key (field and type).
- A reference to a type no service defines is fine: an external subgraph may define it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from graphql import GraphQLError, parse
from graphql.language import DocumentNode, NamedTypeNode, ObjectTypeDefinitionNode

from schema.errors import SchemaErrors, ServiceConflict
from schema.model import Collection, ObjectType, ServiceSchema
from schema.naming import collection_names, comparison_type, input_type, order_by_type, where_type
from schema.problems import position

Kind = Literal["collection", "embedded", "enum", "generated"]
_KIND_TEXT = {"collection": "a collection", "embedded": "an embedded type", "enum": "an enum"}


@dataclass(frozen=True)
class _Claim:
    """A type name a service puts in its schema, and the declared type it comes from."""

    model: ServiceSchema
    kind: Kind
    origin: str  # the declared type: `User` for `UserWhere`
    origin_kind: Kind


def check_compatible(models: Sequence[ServiceSchema]) -> None:
    """Raise `SchemaErrors` (of `ServiceConflict`s) if `models` cannot be served together."""
    conflicts: list[ServiceConflict] = []
    by_service: dict[str, ServiceSchema] = {}
    for m in models:
        if m.service in by_service:  # reported once; comparing it again would only echo
            conflicts.append(
                _conflict(
                    by_service[m.service],
                    m,
                    m.service,
                    f'service "{m.service}" is given twice',
                    "give each service its own name",
                )
            )
        by_service.setdefault(m.service, m)
    models = list(by_service.values())
    conflicts += _type_conflicts(models)
    conflicts += _root_conflicts(models)
    conflicts += _reference_conflicts(models)
    if conflicts:
        raise SchemaErrors(conflicts)


def _claims(m: ServiceSchema) -> Iterator[tuple[str, _Claim]]:
    for c in m.collections:
        yield c.name, _Claim(m, "collection", c.name, "collection")
        for name in collection_names(c.name).types:
            yield name, _Claim(m, "generated", c.name, "collection")
    for o in m.objects:
        yield o.name, _Claim(m, "embedded", o.name, "embedded")
        for name in (where_type(o.name), order_by_type(o.name), input_type(o.name)):
            yield name, _Claim(m, "generated", o.name, "embedded")
    for e in m.enums:
        yield e.name, _Claim(m, "enum", e.name, "enum")
        yield comparison_type(e.name), _Claim(m, "generated", e.name, "enum")


def _type_conflicts(models: Sequence[ServiceSchema]) -> list[ServiceConflict]:
    owners: dict[str, _Claim] = {}
    reported: set[tuple[str, str, str, str]] = set()
    conflicts: list[ServiceConflict] = []
    for m in models:
        for name, claim in _claims(m):
            first = owners.setdefault(name, claim)
            if first.model is m:
                continue
            pair = (first.model.service, first.origin, m.service, claim.origin)
            if pair in reported:
                continue  # UserWhere clashes because User does: say it once
            conflict = _compare(name, first, claim)
            if conflict is not None:
                reported.add(pair)
                conflicts.append(conflict)
    return conflicts


def _compare(name: str, first: _Claim, second: _Claim) -> ServiceConflict | None:
    a, b = first.model, second.model
    shared_kind = first.origin_kind == second.origin_kind and first.origin_kind != "collection"
    if shared_kind and first.origin == second.origin:
        if first.kind == "generated":
            return None  # follows from the declared type, compared on its own
        if first.kind == "enum":
            return _compare_enums(name, a, b)
        return _compare_embedded(name, a, b)
    if first.origin == second.origin == name:
        services = f'services "{a.service}" and "{b.service}"'
        if first.kind == second.kind == "collection":
            message = f"collection {name} is defined by both {services}"
            fix = (
                f'a collection belongs to one service: rename one, or have "{b.service}" '
                f'refer to the {name} of "{a.service}" with @reference(field: "...")'
            )
        else:
            message = (
                f'{name} is {_KIND_TEXT[first.kind]} in service "{a.service}" but '
                f'{_KIND_TEXT[second.kind]} in service "{b.service}"'
            )
            fix = f"rename {name} in one of them"
        return _conflict(a, b, name, message, fix)
    return _conflict(
        a,
        b,
        name,
        f'type {name}, generated for {first.origin} of service "{a.service}", clashes with '
        f'{second.origin} of service "{b.service}"',
        f"rename {second.origin} or {first.origin}",
        origin=second.origin,
    )


def _compare_enums(name: str, a: ServiceSchema, b: ServiceSchema) -> ServiceConflict | None:
    first, second = a.enum(name), b.enum(name)
    assert first is not None and second is not None
    if first.values == second.values:
        return None
    return _conflict(
        a,
        b,
        name,
        f'enum {name} differs between services "{a.service}" ({" ".join(first.values)}) '
        f'and "{b.service}" ({" ".join(second.values)})',
        "make the definitions identical (same values, same order), or rename one",
    )


def _compare_embedded(name: str, a: ServiceSchema, b: ServiceSchema) -> ServiceConflict | None:
    first, second = a.object(name), b.object(name)
    assert first is not None and second is not None
    not_shareable = [m.service for m, o in ((a, first), (b, second)) if not o.shareable]
    if not_shareable:
        return _conflict(
            a,
            b,
            name,
            f'embedded type {name} is defined by services "{a.service}" and "{b.service}" '
            "but is not @shareable in " + " and ".join(f'"{s}"' for s in not_shareable),
            f"mark {name} @shareable in both services and keep the definitions identical",
        )
    difference = _difference(first, second)
    if difference is None:
        return None
    return _conflict(
        a,
        b,
        name,
        f'embedded type {name} differs between services "{a.service}" and "{b.service}": '
        + difference,
        "make the two definitions identical",
    )


def _difference(a: ObjectType, b: ObjectType) -> str | None:
    fields_a = {f.name: f.type for f in a.fields}
    fields_b = {f.name: f.type for f in b.fields}
    for name, t in fields_a.items():
        if name not in fields_b:
            return f"{name} is only in the first"
        if fields_b[name] != t:
            return f"{name} is {t.sdl()} in the first, {fields_b[name].sdl()} in the second"
    extra = next((n for n in fields_b if n not in fields_a), None)
    if extra is not None:
        return f"{extra} is only in the second"
    if list(fields_a) != list(fields_b):
        return "the fields are in a different order"
    return None


def _root_conflicts(models: Sequence[ServiceSchema]) -> list[ServiceConflict]:
    owners: dict[str, tuple[ServiceSchema, Collection]] = {}
    conflicts: list[ServiceConflict] = []
    for m in models:
        for c in m.collections:
            names = collection_names(c.name)
            for root in (*names.query_fields, *names.mutation_fields):
                first, first_c = owners.setdefault(root, (m, c))
                if first is not m and first_c.name != c.name:  # same name: a type conflict
                    conflicts.append(
                        _conflict(
                            first,
                            m,
                            root,
                            f'root field "{root}" is generated for both {first_c.name} of '
                            f'service "{first.service}" and {c.name} of service "{m.service}"',
                            f"rename {c.name} or {first_c.name}",
                            origin=c.name,
                        )
                    )
                    break
    return conflicts


def _reference_conflicts(models: Sequence[ServiceSchema]) -> list[ServiceConflict]:
    conflicts: list[ServiceConflict] = []
    collections = {c.name: (m, c) for m in models for c in m.collections}
    others = {
        n: m for m in models for n in (*(o.name for o in m.objects), *(e.name for e in m.enums))
    }
    stubs: dict[str, ServiceSchema] = {}
    for m in models:
        for stub in m.stubs:
            if stub.name in collections:
                owner, c = collections[stub.name]
                key = c.key_field.type.name
                if owner is m or (stub.key, stub.key_type) == (c.key, key):
                    continue
                conflicts.append(
                    _conflict(
                        owner,
                        m,
                        stub.name,
                        f'service "{m.service}" refers to {stub.name} by "{stub.key}: '
                        f'{stub.key_type}!", but service "{owner.service}" keys {stub.name} '
                        f'on "{c.key}: {key}!"',
                        f"declare the stub in {m.source or m.service + '.graphql'}: type "
                        f'{stub.name} @key(fields: "{c.key}", resolvable: false) '
                        f"{{ {c.key}: {key}! }}",
                        origin=stub.name,
                    )
                )
            elif stub.name in others:
                owner = others[stub.name]
                conflicts.append(
                    _conflict(
                        owner,
                        m,
                        stub.name,
                        f'service "{m.service}" refers to {stub.name} as a collection, but '
                        f'service "{owner.service}" defines {stub.name} as an embedded type '
                        "or enum",
                        f"refer to a collection, or rename {stub.name} in one of them",
                        origin=stub.name,
                    )
                )
            else:
                first = stubs.setdefault(stub.name, m)
                theirs = first.external(stub.name)
                if first is not m and theirs != stub:
                    conflicts.append(
                        _conflict(
                            first,
                            m,
                            stub.name,
                            f'services "{first.service}" and "{m.service}" refer to '
                            f'{stub.name} by different keys ("{theirs.key}: '
                            f'{theirs.key_type}!" and "{stub.key}: {stub.key_type}!")',
                            f"declare the same stub of {stub.name} in both",
                            origin=stub.name,
                        )
                    )
    return conflicts


def _conflict(
    first: ServiceSchema,
    second: ServiceSchema,
    name: str,
    message: str,
    suggestion: str,
    *,
    origin: str | None = None,
) -> ServiceConflict:
    """A conflict located where `second` declares (or first uses) `origin`."""
    line, column = _locate(second.sdl, origin or name)
    return ServiceConflict(
        message,
        services=(first.service, second.service),
        name=name,
        source=second.source or f"{second.service}.graphql",
        line=line,
        column=column,
        suggestion=suggestion,
    )


def _locate(sdl: str, type_name: str) -> tuple[int | None, int | None]:
    """Where `sdl` defines `type_name`, else where it first names it; (None, None) if nowhere."""
    document = _parsed(sdl)
    if document is None:
        return None, None
    uses: list[NamedTypeNode] = []
    for definition in document.definitions:
        name = getattr(definition, "name", None)
        if name is not None and name.value == type_name:
            return position(definition)
        if isinstance(definition, ObjectTypeDefinitionNode):
            for f in definition.fields or ():
                t = f.type
                while not isinstance(t, NamedTypeNode):
                    t = t.type
                if t.name.value == type_name:
                    uses.append(t)
    return position(uses[0]) if uses else (None, None)


@functools.lru_cache(maxsize=64)
def _parsed(sdl: str) -> DocumentNode | None:
    if not sdl:
        return None  # a model built in code, not parsed from a file
    try:
        return parse(sdl)
    except GraphQLError:
        return None
