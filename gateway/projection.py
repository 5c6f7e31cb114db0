"""Shaping the response: the client's operation walked over the merged subgraph data.

No GraphQL execution runs again: each field is read under its response key, fragments apply
by the object's `__typename`, `__typename` is filled in, fields the plan added (keys,
requirements) are left out, @skip/@include are applied, and a null at a non-null position
nulls the nearest nullable ancestor, as the spec says. A "Cannot return null" error is added
only where no subgraph error already covers the path, and (as Apollo Gateway does) under the
response's `extensions.valueCompletion`, not `errors`: the data is what the subgraphs sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLCompositeType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    is_abstract_type,
    is_leaf_type,
)
from graphql.execution.values import get_directive_values
from graphql.type import GraphQLIncludeDirective, GraphQLSkipDirective

_BUBBLE = object()  # a null where the type forbids one: the parent must become null


class Projection:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Any,  # graphql-core's VariableValues: what @skip/@include read
        errors: list[dict[str, Any]],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.errors = errors
        self.completion: list[dict[str, Any]] = []  # nulls where the schema forbids them

    def response(self, operation: OperationDefinitionNode, data: dict[str, Any]) -> Any:
        root = self.schema.get_root_type(operation.operation)
        assert root is not None
        shaped = self._object(root, operation.selection_set, data, [])
        return None if shaped is _BUBBLE else shaped

    def _object(
        self,
        gql_type: GraphQLCompositeType,
        selection: SelectionSetNode,
        value: dict[str, Any],
        path: list[str | int],
    ) -> Any:
        runtime = gql_type
        if is_abstract_type(gql_type):
            found = self.schema.get_type(str(value.get("__typename")))
            if not isinstance(found, GraphQLObjectType):
                return None  # the object's type never came back: nothing can be shown of it
            runtime = found
        assert isinstance(runtime, GraphQLObjectType)
        out: dict[str, Any] = {}
        for key, nodes in self._fields(runtime, selection).items():
            name = nodes[0].name.value
            if name == "__typename":
                out[key] = runtime.name
                continue
            if name in ("__schema", "__type") and not path:  # executed from the API schema
                out[key] = value.get(key)
                continue
            definition = runtime.fields.get(name)
            if definition is None:
                continue
            shaped = self._value(definition.type, nodes, value.get(key), [*path, key], runtime.name)
            if shaped is _BUBBLE:
                return _BUBBLE
            out[key] = shaped
        return out

    def _value(
        self,
        gql_type: GraphQLOutputType,
        nodes: Sequence[FieldNode],
        value: Any,
        path: list[str | int],
        parent: str,
    ) -> Any:
        if isinstance(gql_type, GraphQLNonNull):
            shaped = self._value(gql_type.of_type, nodes, value, path, parent)
            if shaped is None or shaped is _BUBBLE:
                if shaped is None:
                    self._null_error(f"{parent}.{nodes[0].name.value}", path)
                return _BUBBLE
            return shaped
        if value is None:
            return None
        if isinstance(gql_type, GraphQLList):
            if not isinstance(value, list):
                return None
            items = [
                self._value(gql_type.of_type, nodes, v, [*path, i], parent)
                for i, v in enumerate(value)
            ]
            return None if any(i is _BUBBLE for i in items) else items
        if is_leaf_type(gql_type):
            return value
        if not isinstance(value, dict):
            return None
        merged = SelectionSetNode(
            selections=tuple(
                s for n in nodes if n.selection_set for s in n.selection_set.selections
            )
        )
        shaped = self._object(gql_type, merged, value, path)  # type: ignore[arg-type]
        return None if shaped is _BUBBLE else shaped

    def _fields(
        self, runtime: GraphQLObjectType, selection: SelectionSetNode
    ) -> dict[str, list[FieldNode]]:
        out: dict[str, list[FieldNode]] = {}
        for s in selection.selections:
            if not self._included(s):
                continue
            if isinstance(s, FieldNode):
                out.setdefault(s.alias.value if s.alias else s.name.value, []).append(s)
                continue
            if isinstance(s, FragmentSpreadNode):
                fragment = self.fragments[s.name.value]
                condition, inner = fragment.type_condition.name.value, fragment.selection_set
            else:
                assert isinstance(s, InlineFragmentNode)
                condition = s.type_condition.name.value if s.type_condition else runtime.name
                inner = s.selection_set
            if self._applies(runtime, condition):
                for key, nodes in self._fields(runtime, inner).items():
                    out.setdefault(key, []).extend(nodes)
        return out

    def _applies(self, runtime: GraphQLObjectType, condition: str) -> bool:
        if condition == runtime.name:
            return True
        target = self.schema.get_type(condition)
        return is_abstract_type(target) and self.schema.is_sub_type(target, runtime)  # type: ignore[arg-type]

    def _included(self, node: Any) -> bool:
        skip = get_directive_values(GraphQLSkipDirective, node, self.variables)
        if skip and skip.get("if"):
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, self.variables)
        return not (include is not None and not include.get("if"))

    def _null_error(self, coordinate: str, path: list[str | int]) -> None:
        for error in self.errors:  # a subgraph error at or below this path explains it
            where = error.get("path")
            if isinstance(where, list) and where[: len(path)] == path:
                return
        self.completion.append(
            {
                "message": f"Cannot return null for non-nullable field {coordinate}.",
                "path": list(path),
                "extensions": {"code": "INVALID_GRAPHQL"},
            }
        )
