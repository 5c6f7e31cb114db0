"""@skip and @include in plans: a literal exclusion drops a field's fetch, and a fetch decided
by one `@include(if: $v)`/`@skip(if: $v)` runs under a Condition node."""

from __future__ import annotations

import dataclasses

from graphql import BooleanValueNode, FieldNode, VariableNode

from gateway.plan import Condition, PlanNode


def condition(node: FieldNode) -> tuple[str, bool] | None:
    """(variable, include) for a field whose only directive is @include/@skip(if: $v)."""
    directives = node.directives or ()
    if len(directives) != 1 or directives[0].name.value not in ("include", "skip"):
        return None
    [argument] = directives[0].arguments or (None,)
    if argument is None or not isinstance(argument.value, VariableNode):
        return None
    return argument.value.name.value, directives[0].name.value == "include"


def never(node: FieldNode) -> bool:
    """Whether a literal @skip(if: true) or @include(if: false) excludes the field."""
    for d in node.directives or ():
        value = d.arguments[0].value if d.arguments else None
        literal = getattr(value, "value", None) if isinstance(value, BooleanValueNode) else None
        if (d.name.value, literal) in (("skip", True), ("include", False)):
            return True
    return False


def without_condition(node: FieldNode) -> FieldNode:
    return dataclasses.replace(node, directives=())


def conditional(when: tuple[str, bool] | None, node: PlanNode) -> PlanNode:
    """`node` under a Condition on `when` (variable, include), or `node` itself."""
    if when is None:
        return node
    variable, include = when
    if include:
        return Condition(variable, if_clause=node)
    return Condition(variable, else_clause=node)
