"""Fetches that reuse the client's named fragments, as Apollo's planner writes them
(`Operation.optimize`): each fragment is cut down to what the subgraph has; where a
selection of the fetch holds all of a fragment's fields at that type, the fragment is spread
there instead; a fragment spread fewer than twice is written out again.

    client:  fragment Reviewed on Item {
               ... on Book { title reviews { stars } } ... on Movie { title } }
    catalog: { ... on Book { ...Reviewed } ... on Movie { ...Reviewed } }
             fragment Reviewed on Item { ... on Book { title } ... on Movie { title } }

A fragment cut down to one leaf field is not worth it (Apollo's isWorthUsing); fragments
that spread other fragments are not reused (they are written out, which asks the same).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    NameNode,
    SelectionSetNode,
    get_named_type,
    is_abstract_type,
    print_ast,
)

from gateway.selections import FieldSelection, FragmentSelection, Selections
from gateway.supergraph import Supergraph

MIN_USES = 2  # Apollo's DEFAULT_MIN_USAGES_TO_OPTIMIZE


class _Spread:
    """A `...Name` in a Selections tree (to_ast prints it)."""

    def __init__(self, name: str, directives: tuple = ()) -> None:
        self.name = name
        self.directives = directives
        self.sub = None

    def to_ast(self) -> FragmentSpreadNode:
        return FragmentSpreadNode(name=NameNode(value=self.name), directives=self.directives)


def reuse_fragments(
    tree: Selections,
    parent: str | None,
    service: str,
    supergraph: Supergraph,
    client: Mapping[str, FragmentDefinitionNode],
) -> tuple[Selections, tuple[FragmentDefinitionNode, ...]]:
    """The fetch's selections with the client's fragments spread where they fit, and the
    definitions it then needs (none, and `tree` itself, when no fragment is used twice)."""
    if not client:
        return tree, ()
    reuse = _Reuse(supergraph, service, client)
    if not reuse.rebased:
        return tree, ()
    names = list(reuse.rebased)
    while names:
        reuse.only = set(names)
        out = reuse.level(copy.deepcopy(tree), parent)
        uses: dict[str, int] = {}
        _count(out, uses)
        kept = [n for n in names if uses.get(n, 0) >= MIN_USES]
        if kept == names:
            definitions = tuple(reuse.definition(n) for n in names if uses.get(n))
            return out, definitions
        names = kept
    return tree, ()


class _Reuse:
    def __init__(
        self, sg: Supergraph, service: str, client: Mapping[str, FragmentDefinitionNode]
    ) -> None:
        self.sg = sg
        self.schema: GraphQLSchema = sg.schema
        self.service = service
        self.rebased: dict[str, tuple[str, Selections]] = {}
        self.only: set[str] = set()
        for name, fragment in client.items():
            if _has_spread(fragment.selection_set):
                continue
            on = fragment.type_condition.name.value
            if service not in sg.type_graphs(on):
                continue
            tree = self.at_type(self._rebase(fragment.selection_set, on), on, on)
            if _worth_using(tree):
                self.rebased[name] = (on, tree)

    def definition(self, name: str) -> FragmentDefinitionNode:
        on, tree = self.rebased[name]
        return FragmentDefinitionNode(
            name=NameNode(value=name),
            type_condition=NamedTypeNode(name=NameNode(value=on)),
            directives=(),
            selection_set=tree.to_ast(),
        )

    # -- the fragment as the subgraph can answer it ------------------------------------

    def _rebase(self, selection_set: SelectionSetNode, parent: str) -> Selections:
        out = Selections()
        for s in selection_set.selections:
            if isinstance(s, FieldNode):
                name = s.name.value
                if name != "__typename" and not self._has_field(parent, name):
                    continue
                definition = getattr(self.schema.get_type(parent), "fields", {}).get(name)
                if s.selection_set is not None and definition is not None:
                    sub = self._rebase(s.selection_set, get_named_type(definition.type).name)
                    if not sub.items:
                        continue
                    field = out.field(
                        name, s.alias.value if s.alias else None, s.arguments, s.directives
                    )
                    assert field.sub is not None
                    field.sub.merge(sub)
                else:
                    out.field(
                        name,
                        s.alias.value if s.alias else None,
                        s.arguments,
                        s.directives,
                        composite=False,
                    )
            elif isinstance(s, InlineFragmentNode):
                on = s.type_condition.name.value if s.type_condition else parent
                if self.service not in self.sg.type_graphs(on):
                    continue
                sub = self._rebase(s.selection_set, on)
                if sub.items:
                    typed = s.type_condition.name.value if s.type_condition else None
                    out.fragment(typed, s.directives or ()).merge(sub)
        return out

    def _has_field(self, parent: str, name: str) -> bool:
        if self.service in self.sg.field_graphs(parent, name):
            return True
        join = self.sg.field_join(parent, name, self.service)
        return join is not None  # @external there: still in its schema

    # -- a fragment's selection at a type ----------------------------------------------

    def at_type(self, tree: Selections, on: str, at: str) -> Selections:
        """The fragment's selections seen from type `at` (Apollo's normalize): fragments
        that cannot apply there are dropped, those that always do are merged in."""
        out = Selections()
        for item in tree.items.values():
            if isinstance(item, FieldSelection):
                out.items[_key(item)] = copy.deepcopy(item)
                continue
            assert isinstance(item, FragmentSelection)
            cond = item.type_condition or on
            if item.directives:
                out.items[_key(item)] = copy.deepcopy(item)
            elif cond == at or self._always(at, cond):
                out.merge(self.at_type(item.sub, cond, at))
            elif self._possible(at, cond):
                inner = self.at_type(item.sub, cond, cond)
                out.fragment(cond).merge(inner)
        return out

    def _always(self, at: str, cond: str) -> bool:
        """Whether every object of type `at` is a `cond`."""
        at_type, cond_type = self.schema.get_type(at), self.schema.get_type(cond)
        if is_abstract_type(at_type) or not is_abstract_type(cond_type):
            return at == cond
        return any(t.name == at for t in self.schema.get_possible_types(cond_type))  # type: ignore[arg-type]

    def _possible(self, at: str, cond: str) -> bool:
        at_type, cond_type = self.schema.get_type(at), self.schema.get_type(cond)
        if not is_abstract_type(at_type):
            return False
        mine = {t.name for t in self.schema.get_possible_types(at_type)}  # type: ignore[arg-type]
        if is_abstract_type(cond_type):
            theirs = {t.name for t in self.schema.get_possible_types(cond_type)}  # type: ignore[arg-type]
            return bool(mine & theirs)
        return cond in mine

    def _applies(self, on: str, at: str) -> bool:
        """Apollo's maybeApplyingDirectlyAtType."""
        return on == at or (not is_abstract_type(self.schema.get_type(at)) and self._always(at, on))

    # -- the fetch ---------------------------------------------------------------------

    def level(self, tree: Selections, parent: str | None) -> Selections:
        """The selections with fragments spread where they fit, below every field and
        inline fragment (not at the top: a fetch's own level is not a fragment's)."""
        out = Selections()
        for key, item in tree.items.items():
            if isinstance(item, FieldSelection) and item.sub is not None and parent is not None:
                definition = getattr(self.schema.get_type(parent), "fields", {}).get(item.name)
                if definition is not None:
                    named = get_named_type(definition.type).name
                    item.sub = self._try(item.sub, named)
            elif isinstance(item, FragmentSelection) and item.type_condition:
                found = self._full(item.sub, item.type_condition)
                if found is not None and self.rebased[found][0] == item.type_condition:
                    out.items[f"...{found} {key}"] = _Spread(found, item.directives)  # type: ignore[assignment]
                    continue
                item.sub = self._try(item.sub, item.type_condition)
            out.items[key] = item
        return out

    def _full(self, sub: Selections, at: str) -> str | None:
        for name in self._candidates(at):
            on, tree = self.rebased[name]
            mine = self.at_type(tree, on, at)
            if _useless(mine):
                continue
            if _contains(sub, mine) == "equal":
                return name
        return None

    def _try(self, sub: Selections, at: str) -> Selections:
        """Apollo's tryOptimizeSubselectionWithFragments, then the same below."""
        applying: list[tuple[str, Selections]] = []
        for name in self._candidates(at):
            on, tree = self.rebased[name]
            mine = self.at_type(tree, on, at)
            if _useless(mine):
                continue
            found = _contains(sub, mine)
            if found == "equal":
                out = Selections()
                out.items[f"...{name}"] = _Spread(name)  # type: ignore[assignment]
                return out
            if found == "contained":
                applying.append((name, mine))
        rest = sub
        if applying:
            remaining = sub
            for _, mine in applying:
                remaining = _minus(remaining, mine)
            rest = Selections()
            if "__typename" in remaining.items:  # printed first, as Apollo prints selections
                rest.items["__typename"] = remaining.items["__typename"]
            for name, _ in applying:
                rest.items[f"...{name}"] = _Spread(name)  # type: ignore[assignment]
            rest.merge(remaining)
        return self.level(rest, at)

    def _candidates(self, at: str) -> list[str]:
        return [
            n for n, (on, _) in self.rebased.items() if n in self.only and self._applies(on, at)
        ]


def _key(item: FieldSelection | FragmentSelection) -> str:
    if isinstance(item, FieldSelection):
        directives = " ".join(print_ast(d) for d in item.directives)
        return (item.alias or item.name) + (" " + directives if directives else "")
    directives = " ".join(print_ast(d) for d in item.directives)
    return f"... on {item.type_condition} {directives}"


def _worth_using(tree: Selections) -> bool:
    """Apollo's isWorthUsing: more than one selection, or one that is not a leaf field."""
    items = list(tree.items.values())
    if len(items) != 1:
        return bool(items)
    return not (isinstance(items[0], FieldSelection) and items[0].sub is None)


def _useless(tree: Selections) -> bool:
    items = list(tree.items.values())
    return not items or (
        len(items) == 1 and isinstance(items[0], FieldSelection) and items[0].name == "__typename"
    )


def _same_field(a: FieldSelection, b: FieldSelection) -> bool:
    return (a.name, a.alias, _args(a), _dirs(a)) == (b.name, b.alias, _args(b), _dirs(b))


def _args(f: FieldSelection) -> str:
    return ", ".join(print_ast(a) for a in f.arguments)


def _dirs(f: FieldSelection | FragmentSelection) -> str:
    return " ".join(print_ast(d) for d in f.directives)


def _contains(this: Selections, that: Selections) -> str:
    """Apollo's SelectionSet.contains, ignoring a missing `__typename`: "equal",
    "contained" (strictly) or "no"."""
    mine = {_key(i): i for i in this.items.values() if not isinstance(i, _Spread)}
    equal, ignored = True, False
    for theirs in that.items.values():
        if isinstance(theirs, FieldSelection) and theirs.name == "__typename" and not theirs.alias:
            if "__typename" not in mine:
                ignored = True
            continue
        other = mine.get(_key(theirs))
        if other is None or type(other) is not type(theirs):
            return "no"
        if isinstance(other, FieldSelection):
            assert isinstance(theirs, FieldSelection)
            if not _same_field(other, theirs):
                return "no"
            if theirs.sub is not None:
                if other.sub is None:
                    return "no"
                found = _contains(other.sub, theirs.sub)
                if found == "no":
                    return "no"
                equal = equal and found == "equal"
        else:
            found = _contains(other.sub, theirs.sub)
            if found == "no":
                return "no"
            equal = equal and found == "equal"
    size = len(that.items) - (1 if ignored else 0)
    return "equal" if equal and size == len(this.items) else "contained"


def _minus(this: Selections, that: Selections) -> Selections:
    out = Selections()
    theirs = {_key(i): i for i in that.items.values()}
    for key, item in this.items.items():
        other = theirs.get(_key(item)) if not isinstance(item, _Spread) else None
        if other is None:
            out.items[key] = item
        elif item.sub is not None and other.sub is not None:
            rest = _minus(item.sub, other.sub)
            if rest.items:
                copied = copy.copy(item)
                copied.sub = rest
                out.items[key] = copied
    return out


def _count(tree: Selections, uses: dict[str, int]) -> None:
    for item in tree.items.values():
        if isinstance(item, _Spread):
            uses[item.name] = uses.get(item.name, 0) + 1
        elif item.sub is not None:
            _count(item.sub, uses)


def _has_spread(selection_set: SelectionSetNode | None) -> bool:
    if selection_set is None:
        return False
    for s in selection_set.selections:
        if isinstance(s, FragmentSpreadNode):
            return True
        if _has_spread(getattr(s, "selection_set", None)):
            return True
    return False
