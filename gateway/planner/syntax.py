"""Small helpers over the operation's syntax tree (graphql-core AST nodes)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    VariableNode,
    get_nullable_type,
    is_list_type,
    print_ast,
    visit,
)
from graphql.language import Visitor

from gateway.errors import PlanningError


def operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode:
    """The operation to plan: the one named, or the only one."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is not None:
        operations = [o for o in operations if o.name and o.name.value == name]
    if len(operations) != 1:
        raise PlanningError(
            f"no operation named {name!r}"
            if name
            else f"give operationName: the document has {len(operations)} operations"
        )
    return operations[0]


Wrapper = tuple[str | None, tuple[DirectiveNode, ...]]  # a fragment's type and directives


def fragment_parts(
    fragments: Mapping[str, FragmentDefinitionNode], selection: SelectionNode, parent: str
) -> tuple[str, tuple[DirectiveNode, ...], Sequence[SelectionNode]]:
    """(type condition, directives, selections) of an inline fragment or a spread."""
    if isinstance(selection, FragmentSpreadNode):
        fragment = fragments[selection.name.value]
        return (
            fragment.type_condition.name.value,
            tuple(selection.directives or ()),
            fragment.selection_set.selections,
        )
    assert isinstance(selection, InlineFragmentNode)
    condition = selection.type_condition.name.value if selection.type_condition else parent
    return condition, tuple(selection.directives or ()), selection.selection_set.selections


def flatten(
    fragments: Mapping[str, FragmentDefinitionNode],
    selections: Iterable[SelectionNode],
    parent: str,
    above: tuple[Wrapper, ...] = (),
) -> list[tuple[FieldNode, tuple[Wrapper, ...]]]:
    """Root fields with fragments (on the root type) spread out; each with the fragments
    with directives it was under (type condition or None, directives), which stay."""
    out: list[tuple[FieldNode, tuple[Wrapper, ...]]] = []
    for s in selections:
        if isinstance(s, FieldNode):
            out.append((s, above))
            continue
        condition, directives, inner = fragment_parts(fragments, s, parent)
        if directives:
            untyped = isinstance(s, InlineFragmentNode) and s.type_condition is None
            wrapper = (None if untyped else condition, directives)
            out += flatten(fragments, inner, parent, (*above, wrapper))
        else:
            out += flatten(fragments, inner, parent, above)
    return out


def list_depth(field_type: object) -> int:
    """How many lists wrap the type (`[[A]!]` -> 2): the `@`s of a response path."""
    depth, t = 0, get_nullable_type(field_type)  # type: ignore[arg-type]
    while is_list_type(t):
        depth += 1
        t = get_nullable_type(t.of_type)
    return depth


def arguments(node: FieldNode) -> str:
    return ", ".join(print_ast(a) for a in node.arguments or ())


def shallow_fields(selections: Iterable[SelectionNode]) -> Iterable[FieldNode]:
    """The fields of a selection set, with those of its inline fragments."""
    for s in selections:
        if isinstance(s, FieldNode):
            yield s
        elif isinstance(s, InlineFragmentNode):
            yield from shallow_fields(s.selection_set.selections)


def variables(node: object) -> tuple[str, ...]:
    """The variables used in a syntax tree, in order of first use."""
    names: list[str] = []

    class Collect(Visitor):
        def enter_variable(self, variable: VariableNode, *_: object) -> None:
            if variable.name.value not in names:
                names.append(variable.name.value)

    visit(node, Collect())  # type: ignore[arg-type]
    return tuple(names)
