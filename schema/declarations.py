"""First pass over a service SDL: sort its definitions into collections, embedded types, stubs
and enums, refusing what a service may not declare (root types, interfaces, reserved names...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql.language import (
    DocumentNode,
    EnumTypeDefinitionNode,
    Node,
    ObjectTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    TypeDefinitionNode,
)

from schema.checks import NodeIndex
from schema.directives import Applied, read_directives
from schema.naming import reserved_name_reason
from schema.problems import Problems, position

_ROOT_TYPES = frozenset({"Query", "Mutation", "Subscription"})
# Definitions a service may not write: what they are, and how to do without them.
_NOT_WRITTEN = {
    "SchemaDefinition": ("the schema definition", "shardgate writes the schema itself"),
    "SchemaExtension": ("a schema extension", "shardgate writes the federation @link itself"),
    "OperationDefinition": ("an operation", "a service schema holds type definitions only"),
    "FragmentDefinition": ("a fragment", "a service schema holds type definitions only"),
    "DirectiveDefinition": (
        "a directive definition",
        "shardgate's directives (@collection, @key, ...) are built in",
    ),
    "InterfaceTypeDefinition": ("an interface", "use an embedded type, or JSON"),
    "UnionTypeDefinition": ("a union", "use an embedded type, or JSON"),
    "InputObjectTypeDefinition": (
        "an input type",
        "inputs are generated for every collection (UserInput, UserWhere, ...)",
    ),
}


@dataclass
class Decl:
    """An accepted object type definition, before its fields are read."""

    node: ObjectTypeDefinitionNode
    directives: dict[str, Applied]


@dataclass
class Declarations:
    """The type definitions of one SDL document, sorted by what they declare."""

    problems: Problems
    collections: dict[str, Decl] = field(default_factory=dict)
    objects: dict[str, Decl] = field(default_factory=dict)
    stubs: dict[str, Decl] = field(default_factory=dict)
    enums: dict[str, EnumTypeDefinitionNode] = field(default_factory=dict)
    # Names declared in an unsupported way: already reported, so uses of them are not.
    poisoned: set[str] = field(default_factory=set)
    seen: dict[str, Node] = field(default_factory=dict)
    index: NodeIndex = field(default_factory=NodeIndex)

    def declare(self, document: DocumentNode) -> None:
        for node in document.definitions:
            kind = type(node).__name__.removesuffix("Node")
            if kind in _NOT_WRITTEN:
                self._not_written(node, *_NOT_WRITTEN[kind])
            elif kind.endswith("Extension"):
                self.problems.add(
                    node,
                    f"{type_name(node)}: type extensions (extend ...) are not supported",
                    "declare every field in the type's one definition",
                )
            elif isinstance(node, ScalarTypeDefinitionNode):
                self._scalar(node)
            elif isinstance(node, EnumTypeDefinitionNode) and self._claim(node):
                read_directives(node.directives, "enum", f"enum {type_name(node)}", self.problems)
                self.enums[type_name(node)] = node
            elif isinstance(node, ObjectTypeDefinitionNode) and self._claim(node):
                self._object(node)

    def _not_written(self, node: Node, what: str, instead: str) -> None:
        if isinstance(node, TypeDefinitionNode):
            self.poisoned.add(type_name(node))  # so that its uses are not reported again
        self.problems.add(
            node, f"{what} cannot be declared in a service schema", f"remove it: {instead}"
        )

    def _claim(self, node: TypeDefinitionNode) -> bool:
        """Register a type name; refuse duplicates, root types and reserved names."""
        name = type_name(node)
        if name in self.seen:
            line, _ = position(self.seen[name])
            at = f" (first at line {line})" if line else ""
            self.problems.add(node, f'type "{name}" is declared twice{at}', "remove or rename one")
            return False
        self.seen[name] = node
        self.index.types[name] = node
        if name in _ROOT_TYPES:
            self.poisoned.add(name)
            self.problems.add(
                node,
                f"root type {name} cannot be declared in a service schema",
                "remove it: queries and mutations are generated for every @collection",
            )
            return False
        reason = reserved_name_reason(name)
        if reason is not None:
            self.poisoned.add(name)
            self.problems.add(node, f'type name "{name}" is reserved: {reason}', "rename it")
            return False
        return True

    def _scalar(self, node: ScalarTypeDefinitionNode) -> None:
        name = type_name(node)
        if name == "JSON":  # optional: JSON is built in, declaring it is harmless
            read_directives(node.directives, "scalar", "scalar JSON", self.problems)
            return
        self.poisoned.add(name)
        self.problems.add(
            node,
            f"custom scalar {name} is not supported",
            "use JSON or a built-in scalar (ID, String, Int, Float, Boolean); "
            "timestamps are ISO 8601 strings",
        )

    def _object(self, node: ObjectTypeDefinitionNode) -> None:
        name = type_name(node)
        directives = read_directives(node.directives, "type", f"type {name}", self.problems)
        self.index.type_directives[name] = directives
        decl = Decl(node, directives)
        key = directives.get("key")
        if "collection" in directives:
            self.collections[name] = decl
        elif key is not None and key.args.get("resolvable") is False:
            self.stubs[name] = decl
        elif key is not None:
            self.problems.add(
                key.node,
                f"type {name} has @key but no @collection",
                f"add @collection to make {name} a collection, or add resolvable: false to "
                "declare another service's type: "
                f'@key(fields: "{key.args.get("fields", "id")}", resolvable: false)',
            )
            self.collections[name] = decl  # read on as a collection to report more
        else:
            self.objects[name] = decl


def type_name(node: Node) -> str:
    name = getattr(node, "name", None)
    return name.value if name is not None else type(node).__name__
