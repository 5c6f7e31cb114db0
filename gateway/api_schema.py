"""The API schema: what clients see of a supergraph, and what their operations are checked
against (introspection included). Planning still uses the whole supergraph, since keys and
@requires often name fields clients may not see.

Removed: every type, field, argument, enum value and input field marked @inaccessible, and
what every linked feature defines (the link/join/core machinery, @tag, directives kept by
`@composeDirective`: their `<prefix>__*` types and directives, and the directives they import),
as Apollo removes them. Descriptions and other directives (@deprecated, @specifiedBy) stay.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from graphql import (
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    GraphQLSchema,
    NamedTypeNode,
    Node,
    SchemaDefinitionNode,
    TypeDefinitionNode,
    build_ast_schema,
)

from gateway.errors import SupergraphError
from gateway.supergraph import Supergraph
from schema.links import read_links

N = TypeVar("N", bound=Node)


def api_schema(sg: Supergraph) -> GraphQLSchema:
    inaccessible = sg.prefix("inaccessible")  # the directive is named after its prefix
    prefixes = {link.prefix for link in sg.links} - {inaccessible}
    imported = {n for f in read_links(sg.document) for n in f.imports} - {inaccessible}

    def machinery(name: str) -> bool:
        return (
            name in prefixes or name in imported or any(name.startswith(f"{p}__") for p in prefixes)
        )

    def hidden(node: Any) -> bool:
        return inaccessible is not None and any(
            d.name.value == inaccessible for d in node.directives or ()
        )

    removed = {
        d.name.value
        for d in sg.document.definitions
        if isinstance(d, TypeDefinitionNode) and (machinery(d.name.value) or hidden(d))
    }

    def strip(directives: Any) -> tuple[DirectiveNode, ...]:
        return tuple(
            d
            for d in directives or ()
            if not machinery(d.name.value) and d.name.value != inaccessible
        )

    def clean(node: N) -> N:
        changes: dict[str, Any] = {"directives": strip(getattr(node, "directives", None))}
        for name in ("fields", "arguments", "values"):  # members, minus the hidden ones
            members = getattr(node, name, None)
            if members is not None:
                changes[name] = tuple(clean(m) for m in members if not hidden(m))
        for name in ("types", "interfaces"):  # union members, implemented interfaces
            if getattr(node, name, None) is not None:
                changes[name] = _visible(getattr(node, name), removed)
        return dataclasses.replace(node, **changes)  # type: ignore[type-var]

    definitions: list[Node] = []
    for d in sg.document.definitions:
        if isinstance(d, DirectiveDefinitionNode):
            if not machinery(d.name.value) and d.name.value != inaccessible:
                definitions.append(d)  # custom executable directives stay
        elif isinstance(d, SchemaDefinitionNode) or (
            isinstance(d, TypeDefinitionNode) and d.name.value not in removed
        ):
            definitions.append(clean(d))
    try:
        return build_ast_schema(DocumentNode(definitions=tuple(definitions)))
    except Exception as e:
        raise SupergraphError(f"the supergraph's API schema is not valid: {e}") from None


def _visible(types: Any, removed: set[str]) -> tuple[NamedTypeNode, ...]:
    return tuple(t for t in types or () if t.name.value not in removed)
