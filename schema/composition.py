"""Composition: subgraphs -> one supergraph (join spec v0.3), as `@apollo/composition` writes
it, or errors naming the subgraphs, types and fields involved. Federation 1 subgraphs are
upgraded to Federation 2 first (`schema.fed1`), then every subgraph composes by these rules.

    compose([read_subgraph("users", url, sdl), read_subgraph("orders", url, sdl)]) -> SDL

Rules (the ones the planner depends on):
- a type is in every subgraph that defines it (`@join__type`, one per @key);
- a field owned by every subgraph of its type, plainly, needs no `@join__field`; otherwise
  each subgraph defining it gets one (external, requires, provides, override carried over);
- a field defined in several subgraphs must be @shareable (or a key field) in all of them,
  unless @override takes it from one; an @external field must be resolvable elsewhere;
- @interfaceObject fields join the interface and, graph-less, every implementation;
- input types and enums: `schema.composition_inputs`; union members are joined per subgraph;
  @inaccessible anywhere hides the element in the supergraph's API;
- a progressive @override(label:) keeps the source subgraph's join, both with `overrideLabel`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from schema.composed_directives import ComposedDirectives
from schema.composition_inputs import (
    description_text,
    enum_default_errors,
    enum_values,
    field_lines,
    graph_name,
    input_fields,
)
from schema.errors import SchemaError, SchemaErrors
from schema.fed1 import upgrade
from schema.subgraph_reader import SubField, Subgraph, SubType

__all__ = ["compose", "graph_name"]

_HEADER = """directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE

directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String, external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION

directive @join__graph(name: String!, url: String!) on ENUM_VALUE

directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE

directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false, resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR

directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION

directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
"""
_INACCESSIBLE = (
    "directive @inaccessible on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | "
    "ARGUMENT_DEFINITION | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | "
    "INPUT_FIELD_DEFINITION\n"
)
_MACHINERY = """scalar join__FieldSet

enum link__Purpose {
  \"\"\"
  `SECURITY` features provide metadata necessary to securely resolve fields.
  \"\"\"
  SECURITY

  \"\"\"
  `EXECUTION` features provide metadata necessary for operation execution.
  \"\"\"
  EXECUTION
}

scalar link__Import
"""


def compose(subgraphs: Sequence[Subgraph]) -> str:
    subs = sorted(subgraphs, key=lambda s: s.name)
    for s in subs:  # every subgraph has a query root: its _service and _entities live there
        query = s.roots.setdefault("query", "Query")
        s.types.setdefault(query, SubType(query, "OBJECT", defined=True))
        _normalize_roots(s)
    subs = upgrade(subs)  # Federation 1 subgraphs first become Federation 2 ones
    errors: list[SchemaError] = []
    composed = ComposedDirectives(subs, errors)
    names = sorted({t for s in subs for t in s.types})
    merged: dict[str, list[tuple[Subgraph, SubType]]] = {
        n: [(s, s.types[n]) for s in subs if n in s.types] for n in names
    }
    out: list[str] = []
    inaccessible = False
    for name, defs in merged.items():
        kinds = {"INTERFACE" if t.interface_object else t.kind for _, t in defs}
        if len(kinds) > 1:
            errors.append(
                SchemaError(
                    f"{name} is a different kind of type in different subgraphs: "
                    + ", ".join(f"{t.kind} in {s.name}" for s, t in defs)
                )
            )
            continue
        kind = kinds.pop()
        text, hidden = _type(name, kind, defs, merged, errors, composed)
        inaccessible |= hidden
        out.append(text)
    errors += enum_default_errors(merged)
    if errors:
        raise SchemaErrors(errors)
    roots = {op: t for s in subs for op, t in s.roots.items()}
    schema = [
        "schema",
        '  @link(url: "https://specs.apollo.dev/link/v1.0")',
        '  @link(url: "https://specs.apollo.dev/join/v0.3", for: EXECUTION)',
    ]
    if inaccessible:
        schema.append('  @link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)')
    schema += composed.links()
    schema.append("{")
    schema += [f"  {op}: {t}" for op, t in roots.items() if t in merged]
    schema.append("}")
    graphs = (
        ["enum join__Graph {"]
        + [f'  {graph_name(s.name)} @join__graph(name: "{s.name}", url: "{s.url}")' for s in subs]
        + ["}"]
    )
    parts = [
        "\n".join(schema),
        _HEADER + (_INACCESSIBLE if inaccessible else ""),
        composed.definition_text(),
        *out,
        "\n".join(graphs),
        _MACHINERY,
    ]
    text = "\n\n".join(p.rstrip("\n") for p in parts) + "\n"
    if "overrideLabel:" in "\n".join(out):  # progressive override needs join v0.4
        text = text.replace("join/v0.3", "join/v0.4").replace(
            "usedOverridden: Boolean)", "usedOverridden: Boolean, overrideLabel: String)"
        )
    return text


def _normalize_roots(s: Subgraph) -> None:
    """Root types take their default names (a subgraph's `mutation: LeftMutation` is the
    supergraph's Mutation), as @apollo/composition does."""
    for op, name in list(s.roots.items()):
        default = _ROOT_NAMES[op]
        if name != default and name in s.types and default not in s.types:
            root = s.types.pop(name)
            root.name = default
            s.types[default] = root
            s.roots[op] = default


_ROOT_NAMES = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}


def _type(
    name: str,
    kind: str,
    defs: list[tuple[Subgraph, SubType]],
    merged: dict[str, list[tuple[Subgraph, SubType]]],
    errors: list[SchemaError],
    composed: ComposedDirectives,
) -> tuple[str, bool]:
    description = next((t.description for _, t in defs if t.description), None)
    hidden = any(t.inaccessible for _, t in defs)
    joins: list[str] = []
    for s, t in defs:
        g = graph_name(s.name)
        io = ", isInterfaceObject: true" if t.interface_object else ""
        if t.keys:
            for key, resolvable in t.keys:
                flag = ", extension: true" if t.extends or key in t.extension_keys else ""
                flag += "" if resolvable else ", resolvable: false"
                joins.append(f'@join__type(graph: {g}, key: "{_escape(key)}"{flag}{io})')
        else:
            joins.append(f"@join__type(graph: {g}{io})")
    for s, t in defs:
        joins += [
            f'@join__implements(graph: {graph_name(s.name)}, interface: "{i}")'
            for i in t.interfaces
        ]
    keyword = {
        "OBJECT": "type",
        "INTERFACE": "interface",
        "UNION": "union",
        "ENUM": "enum",
        "INPUT_OBJECT": "input",
        "SCALAR": "scalar",
    }[kind]
    implements = list(dict.fromkeys(i for _, t in defs for i in t.interfaces))
    head = f"{keyword} {name}" + (f" implements {' & '.join(implements)}" if implements else "")
    lines = [*([description_text(description, "")] if description else []), head]
    if hidden:
        lines.append("  @inaccessible")
    lines += [f"  {j}" for j in joins]
    lines += [f"  {d}" for d in composed.applications([(s, t.applied) for s, t in defs])]
    if kind == "UNION":
        members = list(dict.fromkeys(m for _, t in defs for m in t.members))
        lines += [
            f'  @join__unionMember(graph: {graph_name(s.name)}, member: "{m}")'
            for s, t in defs
            for m in t.members
        ]
        lines.append(f" = {' | '.join(members)}")
        return "\n".join(lines), hidden
    if kind == "SCALAR":
        return "\n".join(lines), hidden
    lines.append("{")
    if kind == "ENUM":
        body, hidden_values = enum_values(name, defs, merged, errors, composed)
        hidden |= hidden_values
    elif kind == "INPUT_OBJECT":
        body, hidden_fields = input_fields(name, defs, errors, composed)
        hidden |= hidden_fields
    else:
        body, hidden_fields = _fields(name, defs, merged, errors, composed)
        hidden |= hidden_fields
    lines += body
    lines.append("}")
    return "\n".join(lines), hidden


def _fields(
    name: str,
    defs: list[tuple[Subgraph, SubType]],
    merged: dict[str, list[tuple[Subgraph, SubType]]],
    errors: list[SchemaError],
    composed: ComposedDirectives,
) -> tuple[list[str], bool]:
    own = [(s, t) for s, t in defs if not t.interface_object]
    by_field: dict[str, list[tuple[Subgraph, SubField]]] = {}
    for s, t in defs:
        for f in t.fields.values():
            by_field.setdefault(f.name, []).append((s, f))
    inherited = _interface_object_fields(name, merged) if own else {}
    interface = any(t.kind == "INTERFACE" for _, t in defs)
    lines: list[str] = []
    hidden = False
    for fname, fdefs in by_field.items():
        overridden = {f.override for _, f in fdefs if f.override and not f.override_label}
        fdefs = [(s, f) for s, f in fdefs if s.name not in overridden]
        # progressive override: the subgraph the field moves from keeps it, under the label
        moving = {f.override: f.override_label for _, f in fdefs if f.override_label}
        fdefs = [
            (s, replace(f, override_label=moving.get(s.name, f.override_label))) for s, f in fdefs
        ]
        sharing = [(s, f) for s, f in fdefs if s.name not in moving]
        _check_sharing(
            name, fname, sharing, defs, errors, abstract=interface, inherited=fname in inherited
        )
        first = next((f for _, f in fdefs if not f.external), fdefs[0][1])
        # where subgraphs type it differently (`Int!` here, `Int` there), each join says its
        # own: the planner needs it to see fields that cannot share a fetch
        typed = len({f.type for _, f in fdefs}) > 1
        plain = (
            not typed
            and len(fdefs) == len(defs)
            and not any(
                f.external or f.requires or f.provides or f.override or f.override_label
                for _, f in fdefs
            )
        )
        field_hidden = any(f.inaccessible for _, f in fdefs)
        hidden |= field_hidden
        directives = " @inaccessible" if field_hidden else ""
        if not plain:
            directives += "".join(" " + _join_field(s, f, typed=typed) for s, f in fdefs)
        directives += composed.applied([(s, f.applied) for s, f in fdefs])
        lines += field_lines(first, directives)
    for fname, f in inherited.items():
        if fname not in by_field:
            lines += field_lines(f, " @join__field")
    return lines, hidden


def _interface_object_fields(
    name: str, merged: dict[str, list[tuple[Subgraph, SubType]]]
) -> dict[str, SubField]:
    """Fields an @interfaceObject adds to an interface this type implements."""
    out: dict[str, SubField] = {}
    for iface in {i for _, t in merged.get(name, []) for i in t.interfaces}:
        for _, t in merged.get(iface, []):
            if t.interface_object:
                for f in t.fields.values():
                    if f.name not in {k for key, _ in t.keys for k in key.split()}:
                        out.setdefault(f.name, f)
    return out


def _check_sharing(
    type_name: str,
    fname: str,
    fdefs: list[tuple[Subgraph, SubField]],
    defs: list[tuple[Subgraph, SubType]],
    errors: list[SchemaError],
    *,
    abstract: bool = False,
    inherited: bool = False,
) -> None:
    """`abstract`: an interface's fields are resolved by its implementations, so an interface
    field in several subgraphs needs no @shareable. `inherited`: an @interfaceObject
    resolves the field for this implementation."""
    resolving = [(s, f) for s, f in fdefs if not f.external]
    keys = {s.name: {k for key, _ in t.keys for k in key.split()} for s, t in defs}
    if (
        len(resolving) > 1
        and not abstract
        and not all(f.shareable or fname in keys[s.name] for s, f in resolving)
    ):
        where = " and ".join(f'"{s.name}"' for s, _ in resolving)
        errors.append(
            SchemaError(
                f'non-shareable field "{type_name}.{fname}" is resolved from several subgraphs: '
                f"{where}",
                suggestion="mark it @shareable in every one of them, or keep it in one",
            )
        )
    if not resolving and not inherited:
        errors.append(
            SchemaError(
                f'field "{type_name}.{fname}" is @external in '
                f"{', '.join(s.name for s, _ in fdefs)} but no subgraph resolves it",
                suggestion="define it (not @external) in the subgraph that owns it",
            )
        )
    bases = {f.type.replace("!", "") for _, f in fdefs}
    if len(bases) > 1:
        errors.append(
            SchemaError(
                f'field "{type_name}.{fname}" has different types: '
                + ", ".join(f"{f.type} in {s.name}" for s, f in fdefs)
            )
        )


def _join_field(s: Subgraph, f: SubField, *, typed: bool = False) -> str:
    args = [f"graph: {graph_name(s.name)}"]
    if f.requires:
        args.append(f'requires: "{_escape(f.requires)}"')
    if f.provides:
        args.append(f'provides: "{_escape(f.provides)}"')
    if typed:
        args.append(f'type: "{f.type}"')
    if f.external:
        args.append("external: true")
    if f.override:
        args.append(f'override: "{f.override}"')
    if f.override_label:
        args.append(f'overrideLabel: "{_escape(f.override_label)}"')
    return f"@join__field({', '.join(args)})"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
