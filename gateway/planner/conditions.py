"""@skip and @include in plans, as Apollo's planner decides them.

The conditions of a fetch are those every top-level selection of it shares: a fetch group
whose whole selection sits under `@include(if: $v)` runs under `Include(if: $v)` (and the
directive leaves its selection); one whose selections differ keeps the directives inside the
fetch. An entity fetch starts under the conditions met on the way to it:

    { items { ... on Book @include(if: $r) { reviews { stars } } } }

    catalog:  { items { __typename ... on Book @include(if: $r) { __typename id } } }
    reviews:  { ... on Book @include(if: $r) { reviews { stars } } }  ->  Include(if: $r)

Conditions are True (always), False (never: `@skip(if: true)`, `@include(if: false)`), or
a tuple of (variable, include) pairs, all of which must hold.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql import BooleanValueNode, DirectiveNode, VariableNode

from gateway.plan import Condition, PlanNode
from gateway.selections import FieldSelection, FragmentSelection, Selections

Conditions = bool | tuple[tuple[str, bool], ...]


def conditionals(directives: Sequence[DirectiveNode] | None) -> list[DirectiveNode]:
    """The @skip and @include among `directives` (what an entity fetch below inherits)."""
    return [d for d in directives or () if d.name.value in ("skip", "include")]


def of_directives(directives: Sequence[DirectiveNode] | None) -> Conditions:
    found: list[tuple[str, bool]] = []
    for kind in ("skip", "include"):
        for d in directives or ():
            if d.name.value != kind or not d.arguments:
                continue
            value = d.arguments[0].value
            if isinstance(value, BooleanValueNode):
                if value.value == (kind == "skip"):
                    return False  # @skip(if: true), @include(if: false)
            elif isinstance(value, VariableNode):
                found.append((value.name.value, kind == "include"))
    if len(found) == 2 and found[0][0] == found[1][0]:
        return False  # @skip(if: $v) @include(if: $v)
    return tuple(found) or True


def of_selections(selections: Selections) -> Conditions:
    """The conditions all selections share; True if they differ."""
    items = [i for i in selections.items.values() if not _empty(i)]
    if not items:
        return False
    first = _of_item(items[0])
    for item in items[1:]:
        if not _same(first, _of_item(item)):
            return True
    return first


def _of_item(item: FieldSelection | FragmentSelection) -> Conditions:
    element = of_directives(item.directives)
    if item.sub is None:
        return element
    if isinstance(element, bool) and (not element or isinstance(item, FieldSelection)):
        return element
    return merge(element, of_selections(item.sub))


def merge(a: Conditions, b: Conditions) -> Conditions:
    """Both a and b."""
    if isinstance(a, bool):
        return b if a else False
    if isinstance(b, bool):
        return a if b else False
    merged = list(a)
    for variable, include in b:
        mine = next((c for c in a if c[0] == variable), None)
        if mine is None:
            merged.append((variable, include))
        elif mine[1] != include:
            return False
    return tuple(merged)


def _same(a: Conditions, b: Conditions) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return len(a) == len(b) and set(a) == set(b)


def unhandled(new: Conditions, handled: Conditions) -> Conditions:
    """The conditions of `new` that an enclosing Condition node does not decide already."""
    if isinstance(new, bool) or isinstance(handled, bool):
        return new
    out = []
    for variable, include in new:
        theirs = next((c for c in handled if c[0] == variable), None)
        if theirs is None:
            out.append((variable, include))
        elif theirs[1] != include:
            return False
    return tuple(out) or True


def strip(selections: Selections, handled: Conditions | None) -> Selections:
    """The selections without the @skip/@include that Condition nodes decide (and without
    literal ones, then); without any, for None (representations). Fragments stay, even bare:
    Apollo's fetches keep them too."""
    if isinstance(handled, bool):
        return selections
    out = Selections()
    for item in selections.items.values():
        directives = [d for d in item.directives if not _decided(d, handled)]
        if isinstance(item, FragmentSelection):
            out.fragment(item.type_condition, directives).merge(strip(item.sub, handled))
            continue
        field = out.field(
            item.name, item.alias, item.arguments, directives, composite=item.sub is not None
        )
        if item.sub is not None and field.sub is not None:
            field.sub.merge(strip(item.sub, handled))
    return out


def _decided(directive: DirectiveNode, handled: tuple[tuple[str, bool], ...] | None) -> bool:
    kind = directive.name.value
    if kind not in ("skip", "include") or not directive.arguments:
        return False
    value = directive.arguments[0].value
    if handled is None or not isinstance(value, VariableNode):
        return True
    return (value.name.value, kind == "include") in handled


def _empty(item: FieldSelection | FragmentSelection) -> bool:
    if isinstance(item, FieldSelection):
        return False
    return all(_empty(i) for i in item.sub.items.values())


def wrap(conditions: Conditions, node: PlanNode) -> PlanNode | None:
    """`node` under Condition nodes for the conditions (None: it never runs)."""
    if isinstance(conditions, bool):
        return node if conditions else None
    for variable, include in conditions:
        node = (
            Condition(variable, if_clause=node)
            if include
            else Condition(variable, else_clause=node)
        )
    return node
