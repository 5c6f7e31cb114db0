"""Query planning, first version: a greedy walk of the operation over the supergraph.

Each selection is placed in the fetch group of the current subgraph when that subgraph can
resolve it (its own field, or one a `@provides` above made local); otherwise the walk jumps:
the current group selects `__typename` and a key the target subgraph accepts, and a child
group fetches the field through `_entities` at the same response path. `@requires` fields are
planned first, from the current position, and join the child's representations. A type the
target does not have is reached through its `@interfaceObject` there.

What it gives up for now (FEDERATION-PLANNING.md section 2, "a safe first version"): no cost
comparison between alternatives (the current subgraph is always preferred, then the first
subgraph that can resolve a field), Condition nodes only where @skip/@include(if: $v) decide a
whole entity fetch (elsewhere they travel inside fetches), no @defer, no internal aliases for
conflicting field types.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_abstract_type,
    is_composite_type,
    is_list_type,
    print_ast,
    visit,
)
from graphql.language import Visitor

from gateway.errors import GatewayError
from gateway.plan import Condition, Fetch, Flatten, Parallel, PlanNode, QueryPlan
from gateway.plan import Sequence as SequenceNode
from gateway.selections import Selections, parse_field_set
from gateway.supergraph import Supergraph


class PlanningError(GatewayError):
    """The operation cannot be planned over this supergraph."""


@dataclass(eq=False)
class Group:
    service: str
    path: tuple[str, ...]  # where its results merge ("@" for list items); () at the root
    entity: str | None  # the type of its `_entities` call; None for a root fetch
    selections: Selections = field(default_factory=Selections)
    requires: Selections = field(default_factory=Selections)  # inside `... on entity`
    parents: list[Group] = field(default_factory=list)
    # (variable, include): the group runs only when the variable is true (or false, @skip)
    condition: tuple[str, bool] | None = None

    def fetch(self, kind: str) -> Fetch:
        if self.entity is None:
            selection = self.selections.to_ast()
            return Fetch(self.service, selection, None, kind, _variables(selection))
        outer = Selections()
        outer.fragment(self.entity).merge(self.selections)
        requires = Selections()
        requires.fragment(self.entity).merge(self.requires)
        selection = outer.to_ast()
        return Fetch(self.service, selection, requires.to_ast(), "query", _variables(selection))


class Planner:
    def __init__(self, supergraph: Supergraph) -> None:
        self.sg = supergraph
        self.schema: GraphQLSchema = supergraph.schema

    def plan(self, document: DocumentNode, operation_name: str | None = None) -> QueryPlan:
        operation = _operation(document, operation_name)
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._groups: list[Group] = []
        self._levels: list[Sequence[SelectionNode]] = []  # the client's selections being walked
        self._alias_count = 0
        self._touched: list[Group] = []  # every group a jump went to, new or not, in order
        root_type = self.schema.get_root_type(operation.operation)
        if root_type is None:
            raise PlanningError(f"the supergraph has no {operation.operation.value} type")
        roots: list[Group] = []
        mutation = operation.operation == OperationType.MUTATION
        for selection in self._flatten(operation.selection_set.selections, root_type.name):
            assert isinstance(selection, FieldNode)
            if selection.name.value in ("__typename", "__schema", "__type"):
                continue  # answered by the gateway itself: __typename when shaping, the
                # introspection fields from the API schema
            graphs = self.sg.field_graphs(root_type.name, selection.name.value)
            if not graphs:
                raise PlanningError(f"no subgraph resolves {root_type.name}.{selection.name.value}")
            # Queries share one fetch per subgraph; mutations run in order, merging only
            # consecutive fields of one subgraph.
            if mutation:
                group = roots[-1] if roots and roots[-1].service == graphs[0] else None
            else:
                group = next((g for g in roots if g.service in graphs), None)
            if group is None:
                # A @shareable root field: from the subgraph that resolves most of what is
                # asked below it, so that fewer fetches follow (the first one on a tie).
                field_type = root_type.fields[selection.name.value].type
                best = max(graphs, key=lambda g: self._score(g, field_type, selection))
                group = self._group(best, (), None, [])
                roots.append(group)
            self._field(group, group.selections, root_type.name, selection, (), frozenset())
        kind = operation.operation.value
        if any(len(g.parents) > 1 for g in self._groups):
            return QueryPlan(self._waves(kind))
        nodes = [self._node([g], kind) for g in roots]
        if not nodes:
            return QueryPlan(None)
        if len(nodes) == 1:
            return QueryPlan(nodes[0])
        return QueryPlan(SequenceNode(tuple(nodes)) if mutation else Parallel(tuple(nodes)))

    # -- the walk ---------------------------------------------------------------------------

    def _selections(
        self,
        group: Group,
        at: Selections,
        parent: str,
        selections: Iterable[SelectionNode],
        path: tuple[str, ...],
        provided: frozenset[str],
    ) -> None:
        selections = list(selections)
        self._levels.append(selections)
        try:
            self._walk(group, at, parent, selections, path, provided)
        finally:
            self._levels.pop()

    def _walk(
        self,
        group: Group,
        at: Selections,
        parent: str,
        selections: Sequence[SelectionNode],
        path: tuple[str, ...],
        provided: frozenset[str],
    ) -> None:
        # Fields before fragments, as Apollo walks them: plans (and their order) then match.
        for selection in sorted(selections, key=lambda s: not isinstance(s, FieldNode)):
            if isinstance(selection, FieldNode):
                self._field(group, at, parent, selection, path, provided)
                continue
            condition, directives, inner = self._fragment_parts(selection, parent)
            if (condition == parent or condition in self._interfaces(parent)) and not directives:
                self._selections(group, at, parent, inner, path, provided)
                continue
            if group.service not in self.sg.type_graphs(condition) and self._is_interface_object(
                parent, group.service
            ):
                # A type the subgraph only knows as its @interfaceObject: its owner types it.
                owners = self._owners(parent)
                child, _ = self._enter(group, at, parent, path, provided, owners, condition)
                inner_at = child.selections.fragment(condition, directives)
                self._selections(child, inner_at, condition, inner, path, frozenset())
                continue
            if group.service not in self.sg.type_graphs(condition) and self._is_interface(parent):
                continue  # a member this subgraph does not know: it never returns one here
            if group.service not in self.sg.type_graphs(condition) and not self._is_interface(
                condition
            ):
                raise PlanningError(
                    f"a fragment on {condition} below {parent} in subgraph {group.service} "
                    "is not supported yet"
                )
            self._selections(
                group, at.fragment(condition, directives), condition, inner, path, provided
            )

    def _field(
        self,
        group: Group,
        at: Selections,
        parent: str,
        node: FieldNode,
        path: tuple[str, ...],
        provided: frozenset[str],
    ) -> None:
        name = node.name.value
        if name == "__typename":
            at.field(name, node.alias.value if node.alias else None, composite=False)
            if self._is_interface_object(parent, group.service):
                self._jump(group, at, parent, node, path, provided, self._owners(parent))
            return
        gql_type = self.schema.get_type(parent)
        definition = gql_type.fields[name]  # type: ignore[union-attr]
        graphs = self.sg.field_graphs(parent, name)
        local = group.service in graphs or name in provided
        if local and not self._needs_elsewhere(group.service, parent, name):
            self._local(group, at, parent, node, path, provided, definition.type)
            return
        if not graphs:
            raise PlanningError(f"no subgraph resolves {parent}.{name}")
        if _never(node):
            return  # @skip(if: true) or @include(if: false): no fetch for it
        if self._is_interface(parent) and not any(self.sg.keys(parent, g) for g in graphs):
            # An interface field this subgraph lacks: asked of each implementation it returns.
            for t in self._implementations(parent, group.service):
                self._field(group, at.fragment(t), t, node, path, provided)
            return
        self._jump(group, at, parent, node, path, provided, graphs)

    def _local(
        self,
        group: Group,
        at: Selections,
        parent: str,
        node: FieldNode,
        path: tuple[str, ...],
        provided: frozenset[str],
        field_type: object,
    ) -> None:
        name = node.name.value
        named = get_named_type(field_type)  # type: ignore[arg-type]
        composite = is_composite_type(named)
        selected = at.field(
            name,
            node.alias.value if node.alias else None,
            node.arguments,
            node.directives,
            composite=composite,
        )
        if not composite or node.selection_set is None:
            return
        assert selected.sub is not None
        response = node.alias.value if node.alias else name
        child_path = (*path, response, *("@",) * _list_depth(field_type))
        join = self.sg.field_join(parent, name, group.service)
        child_provided = (
            frozenset(
                f.name.value for f in _shallow_fields(parse_field_set(join.provides).selections)
            )
            if join is not None and join.provides
            else frozenset()
        )
        if is_abstract_type(named):
            selected.sub.field("__typename", composite=False)
        self._selections(
            group,
            selected.sub,
            named.name,
            node.selection_set.selections,
            child_path,
            child_provided,
        )

    def _jump(
        self,
        group: Group,
        at: Selections,
        parent: str,
        node: FieldNode,
        path: tuple[str, ...],
        provided: frozenset[str],
        graphs: Sequence[str],
    ) -> None:
        name = node.name.value
        # A field under @include/@skip(if: $v) gets a fetch of its own, run only when the
        # variable says so (a Condition node), instead of a fetch that returns nothing.
        condition = _condition(node)
        if condition is not None:
            node = _without_condition(node)
        child, entity = self._enter(group, at, parent, path, provided, graphs, name, condition)
        if name == "__typename":  # the type of an @interfaceObject, from the interface's owner
            return
        join = self.sg.field_join(parent, name, child.service)
        if join is not None and join.requires:
            required = self._aliased(parse_field_set(join.requires).selections)
            before = len(self._touched)
            self._selections(group, at, parent, required, path, provided)
            for helper in self._touched[before:]:  # groups that fetch parts of the requirement
                if helper is not child and helper not in child.parents:
                    child.parents.append(helper)
            _add(child.requires, required)
        # The target resolves the field, its requirements ride in the representations.
        owner = self.schema.get_type(entity)
        definition = owner.fields[name]  # type: ignore[union-attr]
        self._local(child, child.selections, entity, node, path, frozenset(), definition.type)

    def _enter(
        self,
        group: Group,
        at: Selections,
        parent: str,
        path: tuple[str, ...],
        provided: frozenset[str],
        graphs: Sequence[str],
        name: str,
        condition: tuple[str, bool] | None = None,
    ) -> tuple[Group, str]:
        """The group that fetches from one of `graphs` at `path` through `_entities`, with its
        entity type: the current group hands over __typename and a key (which lead its
        selection); a key it cannot resolve itself is fetched first from a subgraph that can
        (a hop). Entering the owner of an interface that is an @interfaceObject here also
        asks for the object's real `__typename`."""
        existing = {g.service for g in self._groups if g.path == path and group in g.parents}
        target, entity, key, direct = self._target(group.service, parent, name, graphs, existing)
        at.field("__typename", composite=False)
        key_set = parse_field_set(key)
        before = len(self._touched)
        self._selections(group, at, parent, key_set.selections, path, provided)
        key_helpers = [] if direct else self._touched[before:]
        at.promote(["__typename", *(f.name.value for f in key_set.selections)])  # type: ignore[attr-defined]
        child = self._child(target, path, entity, group, condition)
        for helper in key_helpers:
            if helper is not child and helper not in child.parents:
                child.parents.append(helper)
        child.requires.field("__typename", composite=False)
        _add(child.requires, key_set.selections)
        if self._is_interface(entity) and not self._is_interface_object(entity, target):
            child.selections.field("__typename", composite=False)
            child.selections.promote(["__typename"])
        return child, entity

    def _target(
        self,
        source: str,
        parent: str,
        name: str,
        graphs: Sequence[str],
        existing: set[str],
    ) -> tuple[str, str, str, bool]:
        """(subgraph, entity type, key, direct) to fetch `parent.name` from. Direct: `source`
        can supply the key; otherwise the key's fields are fetched first (from a subgraph
        that `source` can enter), as Apollo does when only a third subgraph knows both keys."""
        ordered = sorted(graphs, key=lambda g: g not in existing)  # stable: keeps graphs order
        for target in ordered:
            entry = self._entry(source, parent, target)
            if entry is not None:
                return target, *entry, True
        for target in ordered:
            entry = self._entry(source, parent, target, any_key=True)
            if entry is not None:
                return target, *entry, False
        raise PlanningError(
            f"cannot reach {parent}.{name} in subgraph {graphs[0]} from subgraph {source}: "
            "no key of it that the first can supply"
        )

    def _aliased(self, required: Sequence[SelectionNode]) -> list[SelectionNode]:
        """The requirement, with an internal alias on each field with arguments whose response
        key the client uses at this level with other arguments: the client's field is kept,
        and the representation reads the aliased one (Apollo's planner would return the
        required value for the client's field, federation#2276)."""
        client: dict[str, list[FieldNode]] = {}
        for s in _shallow_fields(self._levels[-1] if self._levels else ()):
            client.setdefault(s.alias.value if s.alias else s.name.value, []).append(s)
        out: list[SelectionNode] = []
        for s in required:
            if isinstance(s, FieldNode) and s.arguments:
                theirs = client.get(s.name.value, [])
                if any(_arguments(c) != _arguments(s) for c in theirs):
                    alias = f"_internal_qp_alias_{self._alias_count}"
                    self._alias_count += 1
                    s = dataclasses.replace(s, alias=NameNode(value=alias))
            out.append(s)
        return out

    def _needs_elsewhere(self, service: str, parent: str, name: str) -> bool:
        """Whether the field's @requires in `service` names fields `service` cannot resolve
        (then they are fetched elsewhere and the field is asked for through `_entities`)."""
        join = self.sg.field_join(parent, name, service)
        if join is None or not join.requires:
            return False
        required = parse_field_set(join.requires).selections
        return not all(
            service in self.sg.field_graphs(parent, f.name.value)  # type: ignore[attr-defined]
            for f in required
        )

    def _entry(
        self, source: str, parent: str, target: str, *, any_key: bool = False
    ) -> tuple[str, str] | None:
        """The entity type and key to enter `target` with, from an object of `parent` in
        `source`: a key `source` can supply (any resolvable key, with `any_key`)."""
        candidates = [parent]
        if target not in self.sg.type_graphs(parent):  # reachable through an @interfaceObject
            candidates = [
                i
                for i in self._interfaces(parent)
                if any(j.graph == target and j.interface_object for j in self.sg.types.get(i, ()))
            ]
        for entity in candidates:
            for key in self.sg.keys(entity, target):
                fields = [
                    f.name.value
                    for f in parse_field_set(key).selections  # type: ignore[attr-defined]
                ]
                if any_key or all(source in self.sg.field_graphs(parent, f) for f in fields):
                    return entity, key
        return None

    # -- groups and plan nodes --------------------------------------------------------------

    def _group(
        self, service: str, path: tuple[str, ...], entity: str | None, parents: list[Group]
    ) -> Group:
        group = Group(service, path, entity, parents=list(parents))
        self._groups.append(group)
        return group

    def _child(
        self,
        service: str,
        path: tuple[str, ...],
        entity: str,
        parent: Group,
        condition: tuple[str, bool] | None = None,
    ) -> Group:
        for g in self._groups:
            same = (g.service, g.path, g.entity, g.condition) == (service, path, entity, condition)
            if same and parent in g.parents:
                self._touched.append(g)
                return g
        group = self._group(service, path, entity, [parent])
        group.condition = condition
        self._touched.append(group)
        return group

    def _node(self, groups: list[Group], kind: str) -> PlanNode:
        return _conditional(groups[0], self._subtree(groups, kind))

    def _subtree(self, groups: list[Group], kind: str) -> PlanNode:
        fetch = _fetch(groups, kind)
        node: PlanNode = Flatten(groups[0].path, fetch) if groups[0].path else fetch
        children = [g for g in self._groups if g.parents and any(g.parents[0] is p for p in groups)]
        if not children:
            return node
        after = [self._node(bucket, "query") for bucket in _buckets(children)]
        if len(after) > 1:
            return SequenceNode((node, Parallel(tuple(after))))
        # A sequence directly inside a sequence is spliced into it, as Apollo prints plans.
        rest = after[0].nodes if isinstance(after[0], SequenceNode) else (after[0],)
        return SequenceNode((node, *rest))

    def _waves(self, kind: str) -> PlanNode:
        """Kahn's algorithm: each wave of groups whose parents are done runs in parallel. Used
        when a group waits on several others (a @requires fetched from several subgraphs)."""
        done: set[int] = set()
        waves: list[PlanNode] = []
        while len(done) < len(self._groups):
            ready = [
                g
                for g in self._groups
                if id(g) not in done and all(id(p) in done for p in g.parents)
            ]
            nodes: list[PlanNode] = []
            for bucket in _buckets(ready):
                fetch = _fetch(bucket, kind if not bucket[0].parents else "query")
                path = bucket[0].path
                nodes.append(_conditional(bucket[0], Flatten(path, fetch) if path else fetch))
            waves.append(nodes[0] if len(nodes) == 1 else Parallel(tuple(nodes)))
            done |= {id(g) for g in ready}
        return waves[0] if len(waves) == 1 else SequenceNode(tuple(waves))

    # -- helpers ----------------------------------------------------------------------------

    def _fragment_parts(
        self, selection: SelectionNode, parent: str
    ) -> tuple[str, tuple, Sequence[SelectionNode]]:
        if isinstance(selection, FragmentSpreadNode):
            fragment = self._fragments[selection.name.value]
            return (
                fragment.type_condition.name.value,
                tuple(selection.directives or ()),
                fragment.selection_set.selections,
            )
        assert isinstance(selection, InlineFragmentNode)
        condition = selection.type_condition.name.value if selection.type_condition else parent
        return condition, tuple(selection.directives or ()), selection.selection_set.selections

    def _flatten(self, selections: Iterable[SelectionNode], parent: str) -> list[SelectionNode]:
        """Root selections with fragments (on the root type) spread out."""
        out: list[SelectionNode] = []
        for s in selections:
            if isinstance(s, FieldNode):
                out.append(s)
            else:
                _, _, inner = self._fragment_parts(s, parent)
                out += self._flatten(inner, parent)
        return out

    def _interfaces(self, type_name: str) -> list[str]:
        return [i.name for i in getattr(self.schema.get_type(type_name), "interfaces", ())]

    def _score(self, service: str, field_type: object, node: FieldNode) -> int:
        """How many of the fields selected below `node` `service` resolves (two levels)."""
        named = get_named_type(field_type)  # type: ignore[arg-type]
        if node.selection_set is None or not hasattr(named, "fields"):
            return 0
        score = 0
        for f in _shallow_fields(node.selection_set.selections):
            definition = named.fields.get(f.name.value)
            if definition is None:
                continue
            if service in self.sg.field_graphs(named.name, f.name.value):
                score += 1 + self._score(service, definition.type, f)
        return score

    def _implementations(self, interface: str, service: str) -> list[str]:
        """The object types implementing `interface` in the subgraph `service`."""
        gql_type = self.schema.get_type(interface)
        out = []
        for t in self.schema.get_possible_types(gql_type):  # type: ignore[arg-type]
            joins = self.sg.implements.get(t.name, ())
            known = service in self.sg.type_graphs(t.name)
            if known and (not joins or (service, interface) in joins):
                out.append(t.name)
        return out

    def _is_interface_object(self, type_name: str, service: str) -> bool:
        return any(
            j.graph == service and j.interface_object for j in self.sg.types.get(type_name, ())
        )

    def _owners(self, interface: str) -> list[str]:
        """The subgraphs where an interface is a real interface with a key (not an object)."""
        return [
            j.graph
            for j in self.sg.types.get(interface, ())
            if j.key and j.resolvable and not j.interface_object
        ]

    def _is_interface(self, type_name: str) -> bool:
        return is_abstract_type(self.schema.get_type(type_name))


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode:
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


def _buckets(groups: Sequence[Group]) -> list[list[Group]]:
    """Groups that can share one fetch: entity groups of one subgraph at one path (for
    different types of an abstract selection) become one `_entities` call."""
    buckets: dict[object, list[Group]] = {}
    for g in groups:
        key = (g.service, g.path, g.condition) if g.entity is not None else id(g)
        buckets.setdefault(key, []).append(g)
    return list(buckets.values())


def _fetch(groups: Sequence[Group], kind: str) -> Fetch:
    if len(groups) == 1:
        return groups[0].fetch(kind)
    outer, requires = Selections(), Selections()
    for g in groups:
        outer.fragment(g.entity).merge(g.selections)
        requires.fragment(g.entity).merge(g.requires)
    selection = outer.to_ast()
    return Fetch(groups[0].service, selection, requires.to_ast(), "query", _variables(selection))


def _condition(node: FieldNode) -> tuple[str, bool] | None:
    """(variable, include) for a field whose only directive is @include/@skip(if: $v)."""
    directives = node.directives or ()
    if len(directives) != 1 or directives[0].name.value not in ("include", "skip"):
        return None
    [argument] = directives[0].arguments or (None,)
    if argument is None or not isinstance(argument.value, VariableNode):
        return None
    return argument.value.name.value, directives[0].name.value == "include"


def _never(node: FieldNode) -> bool:
    """Whether a literal @skip(if: true) or @include(if: false) excludes the field."""
    for d in node.directives or ():
        value = d.arguments[0].value if d.arguments else None
        literal = getattr(value, "value", None) if isinstance(value, BooleanValueNode) else None
        if (d.name.value, literal) in (("skip", True), ("include", False)):
            return True
    return False


def _without_condition(node: FieldNode) -> FieldNode:
    return dataclasses.replace(node, directives=())


def _conditional(group: Group, node: PlanNode) -> PlanNode:
    if group.condition is None:
        return node
    variable, include = group.condition
    if include:
        return Condition(variable, if_clause=node)
    return Condition(variable, else_clause=node)


def _list_depth(field_type: object) -> int:
    depth, t = 0, get_nullable_type(field_type)  # type: ignore[arg-type]
    while is_list_type(t):
        depth += 1
        t = get_nullable_type(t.of_type)
    return depth


def _add(into: Selections, selections: Iterable[SelectionNode]) -> None:
    """A field set (key or requirement) into a representation's selection, as written: an
    aliased field reads the alias and sends the field's name."""
    for s in selections:
        if isinstance(s, FieldNode):
            sub = s.selection_set
            alias = s.alias.value if s.alias else None
            selected = into.field(s.name.value, alias, composite=sub is not None)
            if sub is not None and selected.sub is not None:
                _add(selected.sub, sub.selections)
        elif isinstance(s, InlineFragmentNode):
            condition = s.type_condition.name.value if s.type_condition else None
            _add(into.fragment(condition), s.selection_set.selections)


def _arguments(node: FieldNode) -> str:
    return ", ".join(print_ast(a) for a in node.arguments or ())


def _shallow_fields(selections: Iterable[SelectionNode]) -> Iterable[FieldNode]:
    """The fields of a selection set, with those of its inline fragments."""
    for s in selections:
        if isinstance(s, FieldNode):
            yield s
        elif isinstance(s, InlineFragmentNode):
            yield from _shallow_fields(s.selection_set.selections)


def _variables(node: object) -> tuple[str, ...]:
    names: list[str] = []

    class Collect(Visitor):
        def enter_variable(self, variable: VariableNode, *_: object) -> None:
            if variable.name.value not in names:
                names.append(variable.name.value)

    visit(node, Collect())  # type: ignore[arg-type]
    return tuple(names)
