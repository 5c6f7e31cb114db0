"""Service SDL -> validated `ServiceSchema`, the model everything downstream reads.

    model = parse_service("users", Path("examples/users.graphql").read_text())

Every problem is collected and raised at once as `SchemaErrors`, each located at
`file:line:column` with a suggestion. The language is documented in docs/schema-language.md;
this module reads definitions and fields, `schema.directives` checks directive shapes and
`schema.checks` the rules that span several fields or types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from graphql import GraphQLSyntaxError, Source, parse, print_ast
from graphql.language import (
    EnumTypeDefinitionNode,
    FieldDefinitionNode,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    ObjectTypeDefinitionNode,
    TypeDefinitionNode,
    TypeNode,
)

from schema import field_rules as rules
from schema.checks import KEY_SCALARS, check_key, check_service
from schema.declarations import Decl, Declarations, type_name
from schema.directives import read_directives
from schema.errors import SchemaError, SchemaErrors
from schema.model import (
    SCALARS,
    Collection,
    EnumType,
    ExternalType,
    Field,
    ObjectType,
    ServiceSchema,
    TypeKind,
    TypeRef,
)
from schema.naming import reserved_name_reason
from schema.problems import Problems, did_you_mean

SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def parse_service(service: str, sdl: str, source: str | None = None) -> ServiceSchema:
    """Parse and validate one service's SDL; raise `SchemaErrors` listing every problem."""
    source = source or f"{service}.graphql"
    problems = Problems(source)
    if not SERVICE_NAME.match(service):
        problems.add(
            None,
            f'service name "{service}" is not allowed',
            'use lower-case letters, digits and "_", starting with a letter, e.g. "orders"',
        )
    try:
        document = parse(Source(sdl, source))
    except GraphQLSyntaxError as e:
        line, column = (e.locations[0].line, e.locations[0].column) if e.locations else (1, 1)
        reason = e.message.removeprefix("Syntax Error: ").rstrip(".")
        problems.errors.append(
            SchemaError(
                f"syntax error: {reason}",
                source=source,
                line=line,
                column=column,
                suggestion="correct the GraphQL syntax here (docs/schema-language.md "
                "shows the language)",
            )
        )
        raise SchemaErrors(problems.errors) from None  # nothing more can be checked
    builder = _Builder(problems)
    builder.declare(document)
    model = builder.build(service, sdl, source)
    check_service(model, builder.index, document, problems)
    problems.raise_if_any()
    return model


@dataclass
class _Builder(Declarations):
    """Reads the declared types' fields into the model."""

    external: dict[str, None] = field(default_factory=dict)  # ordered set of external types

    # -- the model ---------------------------------------------------------------------

    def build(self, service: str, sdl: str, source: str) -> ServiceSchema:
        enums = tuple(self._enum(n) for n in self.enums.values())
        objects = tuple(self._embedded(d) for d in self.objects.values())
        collections = tuple(self._collection(d) for d in self.collections.values())
        declared = {name: self._stub(decl) for name, decl in self.stubs.items()}
        for name in declared:
            self.external.setdefault(name, None)
        externals = tuple(self.external)
        return ServiceSchema(
            service=service,
            collections=collections,
            objects=objects,
            enums=enums,
            external_types=externals,
            sdl=sdl,
            stubs=tuple(declared.get(name) or ExternalType(name) for name in externals),
            source=source,
        )

    def _enum(self, node: EnumTypeDefinitionNode) -> EnumType:
        name = type_name(node)
        values: list[str] = []
        for value in node.values or ():
            read_directives(value.directives, "enum value", f"{name} value", self.problems)
            if value.name.value in values:
                self.problems.add(
                    value, f'{name} has the value "{value.name.value}" twice', "remove one"
                )
            else:
                values.append(value.name.value)
        if not values:
            self.problems.add(node, f"enum {name} has no values", "list its values")
        return EnumType(name, tuple(values), _description(node))

    def _embedded(self, decl: Decl) -> ObjectType:
        name = type_name(decl.node)
        return ObjectType(
            name,
            self._fields(decl.node, "embedded"),
            _description(decl.node),
            shareable="shareable" in decl.directives,
        )

    def _collection(self, decl: Decl) -> Collection:
        name = type_name(decl.node)
        if "shareable" in decl.directives:
            self.problems.add(
                decl.directives["shareable"].node,
                f"@shareable applies to embedded types, not to collection {name}",
                "remove it: a collection belongs to exactly one service",
            )
        key = self._key(decl, collection=True)
        shard_key = (
            decl.directives["collection"].args.get("shardKey")
            if ("collection" in decl.directives)
            else None
        )
        return Collection(
            name,
            key=key or "",
            shard_key=str(shard_key) if shard_key is not None else key or "",
            fields=self._fields(decl.node, "collection"),
            description=_description(decl.node),
        )

    def _stub(self, decl: Decl) -> ExternalType:
        name = type_name(decl.node)
        extra = [d for d in decl.directives.values() if d.name != "key"]
        for directive in extra:
            self.problems.add(
                directive.node,
                f"@{directive.name} on {name}, a stub of another service's type",
                f"remove @{directive.name}: a stub only declares the key",
            )
        key = self._key(decl, collection=False) or "id"
        fields = self._fields(decl.node, "stub")
        check_key(name, key, fields, self.index, self.problems)
        found = next((f for f in fields if f.name == key), None)
        for f in fields:
            if f.name != key:
                self.problems.add(
                    self.index.fields[(name, f.name)],
                    f"stub {name} declares {f.name}, which is not its key",
                    f'remove it: a stub declares only its key field "{key}"',
                )
        if found is None or found.type.name not in KEY_SCALARS:
            return ExternalType(name, key)  # reported by check_key
        return ExternalType(name, key, found.type.name)

    def _key(self, decl: Decl, *, collection: bool) -> str | None:
        """The single key field named by @key, or None (reported) when there is none."""
        name = type_name(decl.node)
        key = decl.directives.get("key")
        if key is None:
            ids = [f.name.value for f in decl.node.fields or () if print_ast(f.type) == "ID!"]
            guess = "id" if "id" in ids or not ids else ids[0]
            self.problems.add(
                decl.node.name,
                f"collection {name} has no @key",
                f'add @key(fields: "{guess}") after @collection',
            )
            return None
        if collection and key.args.get("resolvable") is False:
            self.problems.add(
                key.at("resolvable"),
                f"collection {name} cannot be resolvable: false",
                "remove resolvable: false (a collection is always resolvable), or remove "
                "@collection to declare another service's type as a stub",
            )
        fields = key.args.get("fields")
        if not isinstance(fields, str):
            return None  # missing or not a string: already reported
        names = fields.replace("{", " { ").replace("}", " } ").split()
        if len(names) == 1:
            return names[0]
        self.problems.add(
            key.at("fields"),
            f'@key(fields: "{fields}") on {name}: '
            + ("compound keys are not supported yet" if names else "no key field named"),
            'key on one field, e.g. @key(fields: "id"), and mark other identifying fields @unique',
        )
        return None

    # -- fields ------------------------------------------------------------------------

    def _fields(self, node: ObjectTypeDefinitionNode, owner: rules.Owner) -> tuple[Field, ...]:
        name = type_name(node)
        fields: list[Field] = []
        if not node.fields:
            self.problems.add(node, f"type {name} has no fields", "declare its fields")
        for fnode in node.fields or ():
            fname = fnode.name.value
            if (name, fname) in self.index.fields:
                self.problems.add(
                    fnode, f"{name}.{fname} is declared twice", "remove or rename one"
                )
                continue
            self.index.fields[(name, fname)] = fnode
            built = self._field(name, fnode, owner)
            if built is not None:
                fields.append(built)
        return tuple(fields)

    def _field(self, owner: str, fnode: FieldDefinitionNode, site: rules.Owner) -> Field | None:
        fname = fnode.name.value
        where = f"{owner}.{fname}"
        if fname.startswith("_"):
            self.problems.add(
                fnode.name,
                f'field name "{fname}" is reserved: names starting with "_" belong to '
                "GraphQL and federation",
                f'rename it, e.g. "{fname.lstrip("_") or "value"}"',
            )
        if fnode.arguments:
            self.problems.add(
                fnode.arguments[0],
                f"{where} takes arguments, but stored fields cannot",
                "remove the arguments: filters, ordering and pagination are generated on "
                "the root fields",
            )
        directives = read_directives(fnode.directives, "field", where, self.problems)
        self.index.field_directives[(owner, fname)] = directives
        if site == "stub" and directives:
            self.problems.add(
                fnode.directives[0], f"{where}: stub fields take no directives", "remove them"
            )
        ref = self._type_ref(where, fnode.type, "reference" in directives)
        if ref is None:
            return None
        rule = rules.FieldSite(self.problems, fnode, where, ref, site)
        return Field(
            fname,
            ref,
            description=_description(fnode),
            unique=rules.unique(rule, directives.get("unique")),
            index=rules.index(rule, directives.get("index")),
            vector=rules.vector(rule, directives.get("vector")),
            reference=rules.reference(rule, directives.get("reference")),
        )

    def _type_ref(self, where: str, node: TypeNode, is_reference: bool) -> TypeRef | None:
        non_null = isinstance(node, NonNullTypeNode)
        inner = node.type if isinstance(node, NonNullTypeNode) else node
        is_list = isinstance(inner, ListTypeNode)
        item_non_null = False
        if isinstance(inner, ListTypeNode):
            inner = inner.type
            item_non_null = isinstance(inner, NonNullTypeNode)
            if isinstance(inner, NonNullTypeNode):
                inner = inner.type
        if not isinstance(inner, NamedTypeNode):
            self.problems.add(
                node,
                f"{where}: lists of lists are not supported",
                "use one level of list, or JSON for deeper structures",
            )
            return None
        name = inner.name.value
        kind = self._kind(name)
        if kind is None and is_reference and name not in self.poisoned:
            reason = reserved_name_reason(name)
            if reason is not None:
                self.problems.add(
                    inner,
                    f"{where} refers to {name}, which cannot be a collection: {reason}",
                    "refer to a collection type",
                )
                return None
            kind = TypeKind.COLLECTION  # another service's collection
        if kind is None:
            if name not in self.poisoned:
                known = [*SCALARS, *self.enums, *self.objects, *self.collections, *self.stubs]
                self.problems.add(
                    inner,
                    f'unknown type "{name}" in {where}',
                    did_you_mean(
                        name,
                        known,
                        f'declare "{name}" in this file or use a built-in scalar '
                        "(ID, String, Int, Float, Boolean, JSON); for another service's "
                        "collection add @reference(field: ...)",
                    ),
                )
            return None
        if kind is TypeKind.COLLECTION and name not in self.collections:
            self.external.setdefault(name, None)
        return TypeRef(name, kind, non_null, is_list, item_non_null)

    def _kind(self, name: str) -> TypeKind | None:
        if name in SCALARS:
            return TypeKind.SCALAR
        if name in self.enums:
            return TypeKind.ENUM
        if name in self.objects:
            return TypeKind.OBJECT
        if name in self.collections or name in self.stubs:
            return TypeKind.COLLECTION
        return None


def _description(node: TypeDefinitionNode | FieldDefinitionNode) -> str | None:
    return node.description.value if node.description else None
