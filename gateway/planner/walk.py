"""The walk over the client's operation that places each selection in a fetch group."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLSchema,
    InlineFragmentNode,
    NameNode,
    OperationType,
    SelectionNode,
    get_named_type,
    is_abstract_type,
    is_composite_type,
)

from gateway.errors import PlanningError
from gateway.plan import Fetch, QueryPlan
from gateway.planner.assembly import assemble
from gateway.planner.choice import Chooser
from gateway.planner.conditions import Conditions, conditionals
from gateway.planner.groups import Group, add_field_set, fetch_of
from gateway.planner.routing import Routing
from gateway.planner.syntax import arguments, flatten, fragment_parts, list_depth, shallow_fields
from gateway.planner.syntax import operation as operation_of
from gateway.selections import Selections, parse_field_set
from gateway.supergraph import Supergraph


class Planner:
    def __init__(self, supergraph: Supergraph) -> None:
        self.sg = supergraph
        self.schema: GraphQLSchema = supergraph.schema
        self.routing = Routing(supergraph)

    def plan(self, document: DocumentNode, operation_name: str | None = None) -> QueryPlan:
        operation = operation_of(document, operation_name)
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._groups: list[Group] = []
        self._levels: list[Sequence[SelectionNode]] = []  # the client's selections being walked
        self._chooser = Chooser(self.routing, self._fragments)
        self._choices: list[dict[tuple[str, int], tuple[str, str]]] = []  # (service, target)
        self._alias_count = 0
        self._made: list[FieldNode] = []  # nodes the plan made, alive while it is made
        self._touched: list[Group] = []  # every group a jump went to, new or not, in order
        self._context: list[DirectiveNode] = []  # the @skip/@include on the way here, outer first
        root_type = self.schema.get_root_type(operation.operation)
        if root_type is None:
            raise PlanningError(f"the supergraph has no {operation.operation.value} type")
        roots: list[Group] = []
        mutation = operation.operation == OperationType.MUTATION
        for selection, wrappers in flatten(
            self._fragments, operation.selection_set.selections, root_type.name
        ):
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
            parts = [(group, selection)]
            if group is None:
                split = None if mutation else self._chooser.split(graphs, root_type.name, selection)
                if split is not None:
                    # A @shareable root field two subgraphs answer in parts, at once.
                    parts = [(self._root(roots, service), part) for service, part in split]
                    self._made += [part for _, part in split]  # (choices go by node ids)
                else:
                    # A @shareable root field: from the subgraph that resolves most of what
                    # is asked below it, so that fewer fetches follow (the first on a tie).
                    field_type = root_type.fields[selection.name.value].type
                    best = max(graphs, key=lambda g: self.routing.score(g, field_type, selection))
                    parts = [(self._root(roots, best, new=mutation), selection)]
            for group, part in parts:
                assert group is not None
                at = group.selections
                for type_condition, directives in wrappers:
                    at = at.fragment(type_condition, directives)
                    self._context += conditionals(directives)
                self._field(group, at, root_type.name, part, (), frozenset())
                self._context.clear()
        kind = operation.operation.value
        root = root_type.name

        def make(bucket: list[Group], kind: str, handled: Conditions) -> Fetch:
            return fetch_of(bucket, kind, handled, self.sg, root, self._fragments)

        return QueryPlan(assemble(self._groups, roots, kind, mutation, make))

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
        existing = {g.service for g in self._groups if g.path == path and group in g.parents}
        choices = self._chooser.choose(group.service, parent, selections, provided, existing)
        outer = self._choices[-1] if self._choices else {}
        # a fragment's fields were chosen for already, with their siblings outside it
        self._choices.append({**{k: (group.service, t) for k, t in choices.items()}, **outer})
        self._levels.append(selections)
        try:
            self._walk(group, at, parent, selections, path, provided)
        finally:
            self._levels.pop()
            self._choices.pop()

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
            pushed = conditionals(fragment_parts(self._fragments, selection, parent)[1])
            self._context += pushed
            try:
                self._fragment(group, at, parent, selection, path, provided)
            finally:
                del self._context[len(self._context) - len(pushed) :]

    def _fragment(
        self,
        group: Group,
        at: Selections,
        parent: str,
        selection: SelectionNode,
        path: tuple[str, ...],
        provided: frozenset[str],
    ) -> None:
        condition, directives, inner = fragment_parts(self._fragments, selection, parent)
        if (condition == parent or condition in self.routing.interfaces(parent)) and not directives:
            self._selections(group, at, parent, inner, path, provided)
            return
        if group.service not in self.sg.type_graphs(condition) and self.routing.is_interface_object(
            parent, group.service
        ):
            # A type the subgraph only knows as its @interfaceObject: its owner types it.
            owners = self.routing.owners(parent)
            child, entry, _, _ = self._enter(group, at, parent, path, provided, owners, condition)
            inner_at = entry.fragment(condition, directives)
            self._selections(child, inner_at, condition, inner, path, frozenset())
            return
        if group.service not in self.sg.type_graphs(condition) and self.routing.is_interface(
            parent
        ):
            return  # a member this subgraph does not know: it never returns one here
        if group.service not in self.sg.type_graphs(condition) and not self.routing.is_interface(
            condition
        ):
            raise PlanningError(
                f"a fragment on {condition} below {parent} in subgraph {group.service} "
                "is not supported yet"
            )
        untyped = isinstance(selection, InlineFragmentNode) and selection.type_condition is None
        typed = None if untyped else condition  # `... @include(if: $v) {` stays so
        self._selections(group, at.fragment(typed, directives), condition, inner, path, provided)

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
            if self.routing.is_interface_object(parent, group.service):
                self._jump(group, at, parent, node, path, provided, self.routing.owners(parent))
            return
        gql_type = self.schema.get_type(parent)
        definition = gql_type.fields[name]  # type: ignore[union-attr]
        graphs = self.sg.field_graphs(parent, name)
        local = group.service in graphs or name in provided
        chosen = self._choices[-1] if self._choices else {}
        service, prefer = chosen.get((parent, id(node)), (None, None))
        if service != group.service:
            prefer = None  # chosen for another fetch's walk
        if (
            local
            and prefer is None
            and not self.routing.needs_elsewhere(group.service, parent, name)
        ):
            self._local(group, at, parent, node, path, provided, definition.type)
            return
        if not graphs:
            raise PlanningError(f"no subgraph resolves {parent}.{name}")
        if self.routing.is_interface(parent) and not any(self.sg.keys(parent, g) for g in graphs):
            # An interface field this subgraph lacks: asked of each implementation it returns.
            for t in self.routing.implementations(parent, group.service):
                self._field(group, at.fragment(t), t, node, path, provided)
            return
        self._jump(group, at, parent, node, path, provided, graphs, prefer)

    def _local(
        self,
        group: Group,
        at: Selections,
        parent: str,
        node: FieldNode,
        path: tuple[str, ...],
        provided: frozenset[str],
        field_type: object,
        rank: int = 0,
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
            rank=rank,
        )
        if not composite or node.selection_set is None:
            return
        assert selected.sub is not None
        response = node.alias.value if node.alias else name
        child_path = (*path, response, *("@",) * list_depth(field_type))
        child_provided = self.routing.provided_below(parent, name, group.service)
        if is_abstract_type(named):
            selected.sub.field("__typename", composite=False)
        pushed = conditionals(node.directives)
        self._context += pushed
        try:
            self._selections(
                group,
                selected.sub,
                named.name,
                node.selection_set.selections,
                child_path,
                child_provided,
            )
        finally:
            del self._context[len(self._context) - len(pushed) :]

    def _jump(
        self,
        group: Group,
        at: Selections,
        parent: str,
        node: FieldNode,
        path: tuple[str, ...],
        provided: frozenset[str],
        graphs: Sequence[str],
        prefer: str | None = None,
    ) -> None:
        name = node.name.value
        child, entry, inputs, entity = self._enter(
            group, at, parent, path, provided, graphs, name, prefer
        )
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
            add_field_set(inputs, required)
        # The target resolves the field, its requirements ride in the representations.
        owner = self.schema.get_type(entity)
        definition = owner.fields[name]  # type: ignore[union-attr]
        # (a field with a choice of subgraphs comes after the others in Apollo's fetches)
        rank = 1 if len(graphs) > 1 else 0
        self._local(child, entry, entity, node, path, frozenset(), definition.type, rank)

    def _enter(
        self,
        group: Group,
        at: Selections,
        parent: str,
        path: tuple[str, ...],
        provided: frozenset[str],
        graphs: Sequence[str],
        name: str,
        prefer: str | None = None,
    ) -> tuple[Group, Selections, Selections, str]:
        """The group that fetches from one of `graphs` at `path` through `_entities`, where
        its selection and its representations go (`... on <entity>`, under the @skip/@include
        met on the way), and its entity type. The current group hands over __typename and a
        key (which lead its selection); a key it cannot resolve itself is fetched first from
        a subgraph that can (a hop). Entering the owner of an interface that is an
        @interfaceObject here also asks for the object's real `__typename`."""
        existing = {g.service for g in self._groups if g.path == path and group in g.parents}
        target, entity, key, direct = self.routing.target(
            group.service, parent, name, graphs, existing, prefer
        )
        at.field("__typename", composite=False)
        key_set = parse_field_set(key)
        before = len(self._touched)
        self._selections(group, at, parent, key_set.selections, path, provided)
        key_helpers = [] if direct else self._touched[before:]
        at.promote(["__typename", *(f.name.value for f in key_set.selections)])  # type: ignore[attr-defined]
        child = self._child(target, path, entity, group)
        for helper in key_helpers:
            if helper is not child and helper not in child.parents:
                child.parents.append(helper)
        entry, inputs = child.selections, child.requires
        for directive in self._context or [None]:
            entry = entry.fragment(entity, [directive] if directive else [])
            if (
                directive is None
                or not self.routing.is_interface(entity)
                or inputs is child.requires
            ):
                # (representations of an interface entity keep one level: the executor
                # matches their types one level down only)
                inputs = inputs.fragment(entity, [directive] if directive else [])
        inputs.field("__typename", composite=False)
        add_field_set(inputs, key_set.selections)
        if self.routing.is_interface(entity) and not self.routing.is_interface_object(
            entity, target
        ):
            entry.field("__typename", composite=False)
            entry.promote(["__typename"])
        return child, entry, inputs, entity

    def _aliased(self, required: Sequence[SelectionNode]) -> list[SelectionNode]:
        """The requirement, with an internal alias on each field with arguments whose response
        key the client uses at this level with other arguments: the client's field is kept,
        and the representation reads the aliased one (Apollo's planner would return the
        required value for the client's field, federation#2276)."""
        client: dict[str, list[FieldNode]] = {}
        for s in shallow_fields(self._levels[-1] if self._levels else ()):
            client.setdefault(s.alias.value if s.alias else s.name.value, []).append(s)
        out: list[SelectionNode] = []
        for s in required:
            if isinstance(s, FieldNode) and s.arguments:
                theirs = client.get(s.name.value, [])
                if any(arguments(c) != arguments(s) for c in theirs):
                    alias = f"_internal_qp_alias_{self._alias_count}"
                    self._alias_count += 1
                    s = dataclasses.replace(s, alias=NameNode(value=alias))
            out.append(s)
        return out

    # -- helpers ----------------------------------------------------------------------------

    def _root(self, roots: list[Group], service: str, *, new: bool = False) -> Group:
        """The root fetch of `service`, new at the end of `roots` unless there is one."""
        found = None if new else next((g for g in roots if g.service == service), None)
        if found is None:
            found = self._group(service, (), None, [])
            roots.append(found)
        return found

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
    ) -> Group:
        for g in self._groups:
            same = (g.service, g.path, g.entity) == (service, path, entity)
            if same and parent in g.parents:
                self._touched.append(g)
                return g
        group = self._group(service, path, entity, [parent])
        self._touched.append(group)
        return group
