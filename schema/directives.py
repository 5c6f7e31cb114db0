"""The directives a service SDL may use, and reading their arguments off the AST.

    @collection(shardKey: String)            on a type: it is a collection
    @key(fields: String!, resolvable: Boolean = true)
                                             on a collection (or a stub, resolvable: false)
    @shareable                               on an embedded type several services define
    @unique  @index                          on a collection's scalar fields
    @vector(dimensions: Int!, metric: VectorMetric = COSINE, index: VectorIndex = FLAT,
            m: Int, efConstruction: Int, efSearch: Int,        (HNSW)
            nlist: Int, nprobe: Int,                           (IVF)
            from: String, model: String)                       (computed from a text field)
    @reference(field: String!)               on a collection's fields of collection type

Only the shape is checked here (known directive, known arguments, literal of the right kind);
what the values mean (does the field exist?) is checked by `schema.checks`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from graphql.language import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    EnumValueNode,
    IntValueNode,
    StringValueNode,
    ValueNode,
)

from schema.model import VectorIndexKind, VectorMetric
from schema.problems import Problems, did_you_mean

Site = Literal["type", "field", "enum", "enum value", "scalar"]
ArgKind = Literal["String", "Int", "Boolean", "VectorMetric", "VectorIndex"]
Value = str | int | bool


@dataclass(frozen=True)
class Arg:
    name: str
    kind: ArgKind
    required: bool = False


@dataclass(frozen=True)
class DirectiveSpec:
    site: Site
    args: tuple[Arg, ...] = ()

    def arg(self, name: str) -> Arg | None:
        return next((a for a in self.args if a.name == name), None)


DIRECTIVES: dict[str, DirectiveSpec] = {
    "collection": DirectiveSpec("type", (Arg("shardKey", "String"),)),
    "key": DirectiveSpec("type", (Arg("fields", "String", True), Arg("resolvable", "Boolean"))),
    "shareable": DirectiveSpec("type"),
    "unique": DirectiveSpec("field"),
    "index": DirectiveSpec("field"),
    "vector": DirectiveSpec(
        "field",
        (
            Arg("dimensions", "Int", True),
            Arg("metric", "VectorMetric"),
            Arg("index", "VectorIndex"),
            Arg("m", "Int"),
            Arg("efConstruction", "Int"),
            Arg("efSearch", "Int"),
            Arg("nlist", "Int"),
            Arg("nprobe", "Int"),
            Arg("from", "String"),
            Arg("model", "String"),
        ),
    ),
    "reference": DirectiveSpec("field", (Arg("field", "String", True),)),
}

# Directives users bring from elsewhere, with the reason shardgate does not take them.
_FOREIGN = {
    "deprecated": "deprecation is not supported yet; remove @deprecated and say it in the "
    "field's description",
    "external": "shardgate writes the federation directives itself; remove it",
    "requires": "shardgate writes the federation directives itself; remove it",
    "provides": "shardgate writes the federation directives itself; remove it",
    "override": "shardgate writes the federation directives itself; remove it",
    "inaccessible": "shardgate writes the federation directives itself; remove it",
    "tag": "shardgate writes the federation directives itself; remove it",
    "link": "shardgate writes the federation directives itself; remove it",
}


@dataclass
class Applied:
    """One directive as written, with its well-formed arguments (bad ones were reported)."""

    name: str
    node: DirectiveNode
    args: dict[str, Value] = field(default_factory=dict)
    arg_nodes: dict[str, ArgumentNode] = field(default_factory=dict)

    def at(self, arg: str) -> ArgumentNode | DirectiveNode:
        """The node to blame for a bad value of `arg`: the argument if written, else the
        directive."""
        return self.arg_nodes.get(arg, self.node)


def read_directives(
    nodes: Sequence[DirectiveNode] | None, site: Site, owner: str, problems: Problems
) -> dict[str, Applied]:
    """The directives on one definition by name; `owner` ("type User") is for messages."""
    found: dict[str, Applied] = {}
    for node in nodes or ():
        name = node.name.value
        spec = DIRECTIVES.get(name)
        if spec is None:
            allowed = [n for n, s in DIRECTIVES.items() if s.site == site]
            otherwise = _FOREIGN.get(name) or (
                "remove it; allowed here: " + ", ".join(f"@{n}" for n in allowed)
                if allowed
                else f"remove it: no directive applies to {site} definitions"
            )
            problems.add(
                node,
                f"unknown directive @{name} on {owner}",
                did_you_mean(f"@{name}", [f"@{n}" for n in allowed], otherwise),
            )
            continue
        if spec.site != site:
            problems.add(
                node,
                f"@{name} applies to {spec.site} definitions, not to {owner}",
                f"remove @{name} from {owner}",
            )
            continue
        if name in found:
            problems.add(node, f"@{name} is repeated on {owner}", f"keep one @{name}")
            continue
        found[name] = _read_args(name, spec, node, owner, problems)
    return found


def _read_args(
    name: str, spec: DirectiveSpec, node: DirectiveNode, owner: str, problems: Problems
) -> Applied:
    applied = Applied(name, node)
    for arg_node in node.arguments or ():
        arg_name = arg_node.name.value
        arg = spec.arg(arg_name)
        if arg is None:
            names = [a.name for a in spec.args]
            otherwise = (
                f"remove it; @{name} takes " + ", ".join(names)
                if names
                else f"remove it: @{name} takes no arguments"
            )
            problems.add(
                arg_node,
                f'unknown argument "{arg_name}" of @{name} on {owner}',
                did_you_mean(arg_name, names, otherwise),
            )
            continue
        if arg_name in applied.args or arg_name in applied.arg_nodes:
            problems.add(arg_node, f'argument "{arg_name}" of @{name} is repeated', "keep one")
            continue
        applied.arg_nodes[arg_name] = arg_node
        value = _literal(arg.kind, arg_node.value)
        if value is None:
            problems.add(
                arg_node.value,
                f"@{name}({arg_name}:) expects {_describe(arg.kind)}, got {_show(arg_node.value)}",
                _example(name, arg),
            )
            continue
        applied.args[arg_name] = value
    for arg in spec.args:
        if arg.required and arg.name not in applied.arg_nodes:
            problems.add(
                node, f'@{name} on {owner} needs the argument "{arg.name}"', _example(name, arg)
            )
    return applied


def _literal(kind: ArgKind, node: ValueNode) -> Value | None:
    if kind == "String" and isinstance(node, StringValueNode):
        return node.value
    if kind == "Int" and isinstance(node, IntValueNode):
        return int(node.value)
    if kind == "Boolean" and isinstance(node, BooleanValueNode):
        return node.value
    if kind == "VectorMetric" and isinstance(node, EnumValueNode):
        return node.value if node.value in VectorMetric.__members__ else None
    if kind == "VectorIndex" and isinstance(node, EnumValueNode):
        return node.value if node.value in VectorIndexKind.__members__ else None
    return None


def _describe(kind: ArgKind) -> str:
    if kind == "VectorMetric":
        return "one of " + ", ".join(VectorMetric.__members__)
    if kind == "VectorIndex":
        return "one of " + ", ".join(VectorIndexKind.__members__)
    return {"String": "a string", "Int": "an integer", "Boolean": "true or false"}[kind]


def _show(node: ValueNode) -> str:
    if isinstance(node, StringValueNode):
        return f'"{node.value}"'
    value = getattr(node, "value", None)
    return str(value) if value is not None else node.kind.replace("_", " ")


_EXAMPLES = {
    ("collection", "shardKey"): '@collection(shardKey: "userId")',
    ("key", "fields"): '@key(fields: "id")',
    ("key", "resolvable"): '@key(fields: "id", resolvable: false)',
    ("vector", "dimensions"): "@vector(dimensions: 384)",
    ("vector", "metric"): "@vector(dimensions: 384, metric: COSINE) (an enum value, no quotes)",
    ("vector", "index"): "@vector(dimensions: 384, index: HNSW) (an enum value, no quotes)",
    ("vector", "m"): "@vector(dimensions: 384, index: HNSW, m: 32)",
    ("vector", "efConstruction"): "@vector(dimensions: 384, index: HNSW, efConstruction: 64)",
    ("vector", "efSearch"): "@vector(dimensions: 384, index: HNSW, efSearch: 64)",
    ("vector", "nlist"): "@vector(dimensions: 384, index: IVF, nlist: 1024)",
    ("vector", "nprobe"): "@vector(dimensions: 384, index: IVF, nprobe: 32)",
    ("vector", "from"): '@vector(dimensions: 384, from: "bio", model: "all-MiniLM-L6-v2")',
    ("vector", "model"): '@vector(dimensions: 384, from: "bio", model: "all-MiniLM-L6-v2")',
    ("reference", "field"): '@reference(field: "userId")',
}


def _example(directive: str, arg: Arg) -> str:
    return "write it like " + _EXAMPLES[(directive, arg.name)]
