"""Shaping the response: the client's operation walked over the merged subgraph data.

No GraphQL execution runs again: each field is read under its response key, fragments apply
by the object's `__typename`, `__typename` is filled in, fields the plan added (keys,
requirements) are left out, @skip/@include are applied, and a null at a non-null position
nulls the nearest nullable ancestor, as the spec says. A "Cannot return null" error is added
only where no subgraph error already covers the path, and (as Apollo Gateway does) under the
response's `extensions.valueCompletion`, not `errors`: the data is what the subgraphs sent.

What an object shows (its fields under their response keys, fragments and directives
applied) depends only on its type, the selections asked of it and the values of the
variables @skip/@include read: it is worked out once and kept in `Shapes`, which live as long
as the operation's plan. Response paths are built only for errors.
"""

from __future__ import annotations

from collections.abc import Mapping
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
_FIELD, _TYPENAME, _INTROSPECTION = 0, 1, 2

Path = tuple[Any, ...]  # (parent path, key), () at the root: a list only when needed
# response key, kind, the field's type, the selections asked of its value, "Type.field"
Entry = tuple[str, int, GraphQLOutputType | None, tuple[SelectionSetNode, ...], str]


class Shapes:
    """What each (type, selections) shows, per values of the variables @skip/@include read;
    one per prepared operation, shared by its requests."""

    def __init__(self) -> None:
        self.by_conditions: dict[tuple[Any, ...], dict[tuple[Any, ...], list[Entry]]] = {}


class Projection:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Any,  # graphql-core's VariableValues: what @skip/@include read
        errors: list[dict[str, Any]],
        shapes: Shapes | None = None,
        conditions: tuple[Any, ...] = (),
    ) -> None:
        """`conditions`: the values of the variables @skip/@include read in the operation;
        shapes are shared between requests with the same ones."""
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.errors = errors
        self.completion: list[dict[str, Any]] = []  # nulls where the schema forbids them
        by_conditions = (shapes or Shapes()).by_conditions
        self.shapes = by_conditions.get(conditions)
        if self.shapes is None:
            self.shapes = by_conditions[conditions] = {}

    def response(self, operation: OperationDefinitionNode, data: dict[str, Any]) -> Any:
        root = self.schema.get_root_type(operation.operation)
        assert root is not None
        shaped = self._object(root, (operation.selection_set,), data, ())
        return None if shaped is _BUBBLE else shaped

    def _object(
        self,
        gql_type: GraphQLCompositeType,
        sets: tuple[SelectionSetNode, ...],
        value: dict[str, Any],
        path: Path,
    ) -> Any:
        runtime = gql_type
        if not isinstance(gql_type, GraphQLObjectType):  # abstract: the object says its type
            runtime = self.schema.get_type(str(value.get("__typename")))  # type: ignore[assignment]
            if not isinstance(runtime, GraphQLObjectType):
                return None  # the object's type never came back: nothing can be shown of it
        out: dict[str, Any] = {}
        for key, kind, field_type, child_sets, coordinate in self._shape(runtime, sets):
            if kind == _FIELD:
                shaped = self._value(
                    field_type, child_sets, value.get(key), (path, key), coordinate
                )  # type: ignore[arg-type]
                if shaped is _BUBBLE:
                    return _BUBBLE
                out[key] = shaped
            elif kind == _TYPENAME:
                out[key] = runtime.name
            elif not path:  # __schema, __type: executed from the API schema, at the root
                out[key] = value.get(key)
        return out

    def _value(
        self,
        gql_type: GraphQLOutputType,
        sets: tuple[SelectionSetNode, ...],
        value: Any,
        path: Path,
        coordinate: str,
    ) -> Any:
        if isinstance(gql_type, GraphQLNonNull):
            shaped = self._value(gql_type.of_type, sets, value, path, coordinate)
            if shaped is None or shaped is _BUBBLE:
                if shaped is None:
                    self._null_error(coordinate, path)
                return _BUBBLE
            return shaped
        if value is None:
            return None
        if isinstance(gql_type, GraphQLList):
            if not isinstance(value, list):
                return None
            inner = gql_type.of_type
            items = [
                self._value(inner, sets, v, (path, i), coordinate) for i, v in enumerate(value)
            ]
            return None if _BUBBLE in items else items
        if is_leaf_type(gql_type):
            return value
        if not isinstance(value, dict):
            return None
        shaped = self._object(gql_type, sets, value, path)  # type: ignore[arg-type]
        return None if shaped is _BUBBLE else shaped

    def _shape(self, runtime: GraphQLObjectType, sets: tuple[SelectionSetNode, ...]) -> list[Entry]:
        key = (runtime.name, *map(id, sets))
        entries = self.shapes.get(key)  # type: ignore[union-attr]
        if entries is None:
            entries = self.shapes[key] = self._entries(runtime, sets)  # type: ignore[index]
        return entries

    def _entries(
        self, runtime: GraphQLObjectType, sets: tuple[SelectionSetNode, ...]
    ) -> list[Entry]:
        grouped: dict[str, list[FieldNode]] = {}
        for selection in sets:
            self._collect(runtime, selection, grouped)
        entries: list[Entry] = []
        for key, nodes in grouped.items():
            name = nodes[0].name.value
            if name == "__typename":
                entries.append((key, _TYPENAME, None, (), ""))
            elif name in ("__schema", "__type"):
                entries.append((key, _INTROSPECTION, None, (), ""))
            elif (definition := runtime.fields.get(name)) is not None:
                child_sets = tuple(n.selection_set for n in nodes if n.selection_set)
                coordinate = f"{runtime.name}.{name}"
                entries.append((key, _FIELD, definition.type, child_sets, coordinate))
        return entries

    def _collect(
        self,
        runtime: GraphQLObjectType,
        selection: SelectionSetNode,
        out: dict[str, list[FieldNode]],
    ) -> None:
        for s in selection.selections:
            if s.directives and not self._included(s):
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
                self._collect(runtime, inner, out)

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

    def _null_error(self, coordinate: str, at: Path) -> None:
        path = _path_list(at)
        for error in self.errors:  # a subgraph error at or below this path explains it
            where = error.get("path")
            if isinstance(where, list) and where[: len(path)] == path:
                return
        self.completion.append(
            {
                "message": f"Cannot return null for non-nullable field {coordinate}.",
                "path": path,
                "extensions": {"code": "INVALID_GRAPHQL"},
            }
        )


def _path_list(path: Path) -> list[str | int]:
    keys: list[str | int] = []
    while path:
        path, key = path
        keys.append(key)
    keys.reverse()
    return keys
