"""Composition of input types and enums, by the Federation 2 rules: an input type keeps the
fields every subgraph has; an enum used only as an output keeps every subgraph's values, one
used only as an input the values every subgraph has, one used as both must agree everywhere.
"""

from __future__ import annotations

import re

from schema.composed_directives import ComposedDirectives
from schema.errors import SchemaError
from schema.subgraph_reader import SubField, Subgraph, SubType


def graph_name(subgraph: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", subgraph).upper()


def input_fields(
    name: str,
    defs: list[tuple[Subgraph, SubType]],
    errors: list[SchemaError],
    composed: ComposedDirectives,
) -> tuple[list[str], bool]:
    common = set.intersection(*(set(t.fields) for _, t in defs))
    lines: list[str] = []
    hidden = False
    for fname, f in defs[0][1].fields.items():
        if fname not in common:
            if f.type.endswith("!") and f.default is None:
                errors.append(
                    SchemaError(
                        f'required input field "{name}.{fname}" is missing from some subgraphs',
                        suggestion="add it to every subgraph that defines the input, or make it "
                        "optional",
                    )
                )
            continue
        field_hidden = any(t.fields[fname].inaccessible for _, t in defs)
        hidden |= field_hidden
        default = f" = {f.default}" if f.default else ""
        applied = composed.applied([(s, t.fields[fname].applied) for s, t in defs])
        lines += field_lines(f, default + (" @inaccessible" if field_hidden else "") + applied)
    return lines, hidden


def _enum_usage(name: str, merged: dict[str, list[tuple[Subgraph, SubType]]]) -> set[str]:
    """Where an enum is used in any subgraph: "input" (arguments, input fields), "output"."""
    used: set[str] = set()
    for defs in merged.values():
        for _, t in defs:
            for f in t.fields.values():
                if _base(f.type) == name:
                    used.add("input" if t.kind == "INPUT_OBJECT" else "output")
                if name in re.findall(r":\s*\[*\s*(\w+)", f.arguments):
                    used.add("input")
    return used


def _base(type_text: str) -> str:
    return type_text.strip("[]!")


def enum_values(
    name: str,
    defs: list[tuple[Subgraph, SubType]],
    merged: dict[str, list[tuple[Subgraph, SubType]]],
    errors: list[SchemaError],
    composed: ComposedDirectives,
) -> tuple[list[str], bool]:
    """Values joined per subgraph. An enum used only as an output keeps every value (the
    union); one used only as an input keeps the values every subgraph defines (the
    intersection); one used as both must have the same values everywhere."""
    values: dict[str, list[str]] = {}
    descriptions: dict[str, str | None] = {}
    hidden: set[str] = set()
    for s, t in defs:
        for v, (description, inaccessible) in t.values.items():
            values.setdefault(v, []).append(graph_name(s.name))
            descriptions[v] = descriptions.get(v) or description
            if inaccessible:
                hidden.add(v)
    usage = _enum_usage(name, merged)
    partial = {v: graphs for v, graphs in values.items() if len(graphs) < len(defs)}
    if partial and usage == {"input", "output"}:
        errors.append(
            SchemaError(
                f'enum "{name}" is used as an input and an output but its values differ: '
                + "; ".join(
                    f'"{v}" only in {", ".join(_subgraph_names(defs, g))}'
                    for v, g in partial.items()
                ),
                suggestion="define the same values in every subgraph",
            )
        )
    elif usage == {"input"}:
        values = {v: graphs for v, graphs in values.items() if v not in partial}
    lines: list[str] = []
    for v, graphs in values.items():
        if descriptions[v]:
            lines.append(description_text(descriptions[v], "  "))
        mark = " @inaccessible" if v in hidden else ""
        applied = composed.applied([(s, t.value_applied.get(v, [])) for s, t in defs])
        lines.append(
            f"  {v}{mark}" + "".join(f" @join__enumValue(graph: {g})" for g in graphs) + applied
        )
    return lines, bool(hidden)


def _subgraph_names(defs: list[tuple[Subgraph, SubType]], graphs: list[str]) -> list[str]:
    return [f'"{s.name}"' for s, _ in defs if graph_name(s.name) in graphs]


def field_lines(f: SubField, directives: str) -> list[str]:
    lines = [description_text(f.description, "  ")] if f.description else []
    return [*lines, f"  {f.name}{f.arguments}: {f.type}{directives}"]


def description_text(text: str | None, indent: str) -> str:
    body = (text or "").replace('"""', '\\"""')
    if "\n" in body:
        inner = "\n".join(indent + line for line in body.splitlines())
        return f'{indent}"""\n{inner}\n{indent}"""'
    return f'{indent}"""{body}"""'


def enum_default_errors(merged: dict[str, list[tuple[Subgraph, SubType]]]) -> list[SchemaError]:
    """Argument defaults naming a value an input-only enum loses to the intersection."""
    lost: dict[str, set[str]] = {}
    for name, defs in merged.items():
        if defs[0][1].kind == "ENUM" and _enum_usage(name, merged) == {"input"}:
            every = [set(t.values) for _, t in defs]
            lost[name] = set.union(*every) - set.intersection(*every)
    errors: list[SchemaError] = []
    for type_name, defs in merged.items():
        for s, t in defs:
            for f in t.fields.values():
                for arg, arg_type, value in _DEFAULT.findall(f.arguments):
                    if value in lost.get(arg_type.strip("[]!"), ()):
                        errors.append(
                            SchemaError(
                                f'argument "{type_name}.{f.name}({arg}:)" in "{s.name}" defaults '
                                f'to "{value}", which not every subgraph has in {arg_type}',
                                suggestion="use a default every subgraph defines",
                            )
                        )
    return errors


_DEFAULT = re.compile(r"(\w+):\s*([\[\]\w!]+)\s*=\s*(\w+)")
