"""Running a query plan: fetches to subgraphs, merged into one result tree.

A root Fetch merges its data at the top. Under a Flatten, the objects at the path are
collected (`@` expands lists, nulls are skipped), each one's representation is projected
from the Fetch's `requires` selection, identical representations are sent once, and each
`_entities` answer is deep-merged back into every object that produced it. Subgraph errors
keep their paths, rewritten from `_entities` positions to the client's response paths.
Of subgraphs' `extensions`, `partial` (vector searches answered without some token ranges) is
passed on to the client's response; the rest stays with the gateway, as Apollo's does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import orjson
from graphql import (
    ArgumentNode,
    FieldNode,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    print_ast,
)
from opentelemetry.trace import SpanKind

from auth.session import Session
from gateway.errors import GatewayError
from gateway.plan import Condition, Fetch, Flatten, Parallel, PlanNode, QueryPlan
from gateway.plan import Sequence as SequenceNode
from gateway.rewrites import rename_keys
from gateway.supergraph import Supergraph
from shards.telemetry.tracing import Tracing, fail

log = logging.getLogger("shardgate.executor")

Data = dict[str, Any]


class Subgraphs(Protocol):
    """How fetches reach subgraphs: over HTTP, or in process for store subgraphs."""

    async def fetch(
        self,
        service: str,
        query: str,
        variables: Mapping[str, Any],
        session: Session | None = None,
    ) -> Data:
        """`session`: the verified caller, whose permissions and variables go along."""
        ...


class PlanExecutor:
    def __init__(
        self, supergraph: Supergraph, subgraphs: Subgraphs, tracing: Tracing | None = None
    ) -> None:
        self.sg = supergraph
        self.subgraphs = subgraphs
        self.tracing = tracing or Tracing.off()

    async def execute(
        self,
        plan: QueryPlan,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        texts: dict[int, str] | None = None,
        session: Session | None = None,
    ) -> tuple[Data, list[Data], Data]:
        """(data, errors, extensions). `texts` caches each fetch's operation text for the plan
        (it lives as long as the plan does): printing them is the executor's largest fixed
        cost per request."""
        run = _Run(self, operation, variables, {} if texts is None else texts, session)
        if plan.node is not None:
            await run.node(plan.node, ())
        return run.data, run.errors, run.extensions


class _Run:
    def __init__(
        self,
        executor: PlanExecutor,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        texts: dict[int, str],
        session: Session | None,
    ) -> None:
        self.session = session
        self.sg = executor.sg
        self.subgraphs = executor.subgraphs
        self.tracing = executor.tracing
        self.variables = variables
        self.operation = operation
        self.texts = texts
        self.data: Data = {}
        self.errors: list[Data] = []
        self.extensions: Data = {}

    async def node(self, node: PlanNode, path: tuple[str, ...]) -> None:
        if isinstance(node, SequenceNode):
            for child in node.nodes:
                await self.node(child, path)
        elif isinstance(node, Parallel):
            await asyncio.gather(*(self.node(child, path) for child in node.nodes))
        elif isinstance(node, Flatten):
            await self.node(node.node, node.path)
        elif isinstance(node, Condition):
            branch = node.if_clause if self.variables.get(node.variable) else node.else_clause
            if branch is not None:
                await self.node(branch, path)
        elif node.requires is None:
            await self.root_fetch(node)
        else:
            await self.entity_fetch(node, path)

    async def root_fetch(self, fetch: Fetch) -> None:
        query = self.operation_text(fetch, fetch.selection)
        # If the subgraph fails, the error belongs to each root field this fetch serves.
        fields = [
            (s.alias or s.name).value
            for s in fetch.selection.selections
            if isinstance(s, FieldNode)
        ]
        response = await self.call(fetch, query, {}, [(f,) for f in fields])
        if response is None:
            return
        data = response.get("data") or {}
        if fetch.output_rewrites:
            rename_keys(data, fetch.output_rewrites)
        _deep_merge(self.data, data)
        for error in response.get("errors") or ():
            self.errors.append(error)
        self.keep_extensions(response)

    def keep_extensions(self, response: Data) -> None:
        extensions = response.get("extensions")
        partial = extensions.get("partial") if isinstance(extensions, dict) else None
        if isinstance(partial, list):
            self.extensions.setdefault("partial", []).extend(partial)

    async def entity_fetch(self, fetch: Fetch, path: tuple[str, ...]) -> None:
        assert fetch.requires is not None
        targets = list(_objects_at(self.data, path, ()))
        representations: list[Data] = []
        positions: dict[bytes, int] = {}
        owners: list[list[tuple[Data, tuple[str | int, ...]]]] = []
        for obj, where in targets:
            rep = self.representation(obj, fetch.requires, fetch.service)
            if rep is None:
                continue
            key = orjson.dumps(rep, option=orjson.OPT_SORT_KEYS)
            if key not in positions:
                positions[key] = len(representations)
                representations.append(rep)
                owners.append([])
            owners[positions[key]].append((obj, where))
        if not representations:
            return
        selection = SelectionSetNode(
            selections=(
                FieldNode(
                    name=_name("_entities"),
                    arguments=(_argument("representations", "representations"),),
                    selection_set=fetch.selection,
                ),
            )
        )
        query = self.operation_text(fetch, selection, entities=True)
        response = await self.call(
            fetch,
            query,
            {"representations": representations},
            [w for group in owners for _, w in group],
        )
        if response is None:
            return
        entities = (response.get("data") or {}).get("_entities")
        if isinstance(entities, list) and len(entities) == len(representations):
            if fetch.output_rewrites:
                rename_keys(entities, fetch.output_rewrites)
            for entity, group in zip(entities, owners, strict=True):
                if isinstance(entity, dict):
                    for obj, _ in group:
                        _deep_merge(obj, entity)
        for error in response.get("errors") or ():
            self.errors.extend(_entity_error(error, owners))
        self.keep_extensions(response)

    def representation(self, obj: Data, requires: SelectionSetNode, service: str) -> Data | None:
        """The representation of `obj` for the fetch, or None when it does not apply to it
        (another type, or a key field missing because an earlier fetch failed)."""
        typename = obj.get("__typename")
        for fragment in requires.selections:
            assert isinstance(fragment, InlineFragmentNode) and fragment.type_condition
            condition = fragment.type_condition.name.value
            if typename != condition and not self.implements(typename, condition):
                continue
            rep = _project(obj, fragment.selection_set)
            if rep is None:
                return None
            if self.is_interface_object(condition, service):
                rep["__typename"] = condition  # the target knows the interface, not the type
            return rep
        return None

    def implements(self, typename: Any, interface: str) -> bool:
        gql_type = self.sg.schema.get_type(typename) if isinstance(typename, str) else None
        return any(i.name == interface for i in getattr(gql_type, "interfaces", ()))

    def is_interface_object(self, type_name: str, service: str) -> bool:
        return any(
            j.graph == service and j.interface_object for j in self.sg.types.get(type_name, ())
        )

    def operation_text(
        self, fetch: Fetch, selection: SelectionSetNode, *, entities: bool = False
    ) -> str:
        cached = self.texts.get(id(fetch))
        if cached is not None:
            return cached
        definitions = {
            v.variable.name.value: print_ast(v.type)
            + (f" = {print_ast(v.default_value)}" if v.default_value else "")
            for v in self.operation.variable_definitions or ()
        }
        variables = [
            f"${name}: {definitions[name]}" for name in fetch.variable_usages if name in definitions
        ]
        if entities:
            variables.insert(0, "$representations: [_Any!]!")
        header = fetch.operation_kind + (f"({', '.join(variables)})" if variables else "")
        text = f"{header} {print_ast(selection)}"
        for fragment in fetch.fragments:
            text += f" {print_ast(fragment)}"
        self.texts[id(fetch)] = text
        return text

    async def call(
        self,
        fetch: Fetch,
        query: str,
        extra: Data,
        paths: Sequence[tuple[str | int, ...]] = ((),),
    ) -> Data | None:
        variables = {n: self.variables[n] for n in fetch.variable_usages if n in self.variables}
        name = fetch.service
        attributes = {"subgraph.name": name}
        with self.tracing.span(f"subgraph {name}", SpanKind.CLIENT, attributes) as span:
            try:
                response = await self.subgraphs.fetch(
                    name, query, {**variables, **extra}, self.session
                )
            except Exception as e:  # an unreachable subgraph nulls its part, the rest stays
                if isinstance(e, GatewayError):  # our own words: never a URL, host or body
                    message = f"subgraph {name} failed: {e.message}"
                else:  # a bug: its text could hold anything, so it stays in the log
                    log.error("fetch from subgraph %s failed", name, exc_info=e)
                    message = f"subgraph {name} failed: internal error"
                fail(span, message)
                for path in paths or ((),):
                    self.errors.append(
                        {
                            "message": message,
                            "path": list(path),
                            "extensions": {"code": "SUBGRAPH_FETCH_FAILED", "service": name},
                        }
                    )
                return None
            errors = response.get("errors") if isinstance(response, dict) else None
            if errors and isinstance(errors, list):  # messages as the client will see them
                fail(span, str(_message(errors[0])))
            return response


def _message(error: Any) -> Any:
    return error.get("message", "subgraph error") if isinstance(error, dict) else error


def _objects_at(
    value: Any, path: tuple[str, ...], where: tuple[str | int, ...]
) -> list[tuple[Data, tuple[str | int, ...]]]:
    if value is None:
        return []
    if not path:
        if isinstance(value, list):
            return [o for i, v in enumerate(value) for o in _objects_at(v, (), (*where, i))]
        return [(value, where)] if isinstance(value, dict) else []
    head, rest = path[0], path[1:]
    if head == "@":
        if not isinstance(value, list):
            return []
        return [o for i, v in enumerate(value) for o in _objects_at(v, rest, (*where, i))]
    if not isinstance(value, dict):
        return []
    return _objects_at(value.get(head), rest, (*where, head))


def _project(obj: Any, selection: SelectionSetNode) -> Any:
    """`obj` cut down to a field set; None if a field it needs is missing. An aliased field
    (an internal alias the plan gave a requirement) is read under its alias and sent under its
    name; an inline fragment applies to objects of its type."""
    if isinstance(obj, list):
        return [_project(v, selection) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out: Data = {}
    for s in selection.selections:
        if isinstance(s, FieldNode):
            name = s.name.value
            key = s.alias.value if s.alias else name
            if key not in obj:
                return None
            value = obj[key]
            if s.selection_set is not None and value is not None:
                value = _project(value, s.selection_set)
                if value is None:
                    return None
            out[name] = value
        elif isinstance(s, InlineFragmentNode):
            typename = obj.get("__typename")
            condition = s.type_condition.name.value if s.type_condition else None
            if typename is not None and condition is not None and typename != condition:
                continue  # abstract conditions are not used in field sets below entities
            inner = _project(obj, s.selection_set)
            if inner is not None:
                out.update(inner)
    return out


def _deep_merge(into: Data, other: Data) -> None:
    for key, value in other.items():
        mine = into.get(key)
        if isinstance(mine, dict) and isinstance(value, dict):
            _deep_merge(mine, value)
        elif isinstance(mine, list) and isinstance(value, list) and len(mine) == len(value):
            for i, (a, b) in enumerate(zip(mine, value, strict=True)):
                if isinstance(a, dict) and isinstance(b, dict):
                    _deep_merge(a, b)
                else:
                    mine[i] = b
        else:
            into[key] = value


def _entity_error(
    error: Data, owners: Sequence[Sequence[tuple[Data, tuple[str | int, ...]]]]
) -> list[Data]:
    """`["_entities", i, ...rest]` becomes every client path that sent representation i."""
    path = error.get("path")
    if (
        isinstance(path, list)
        and len(path) >= 2
        and path[0] == "_entities"
        and isinstance(path[1], int)
        and path[1] < len(owners)
    ):
        return [{**error, "path": [*where, *path[2:]]} for _, where in owners[path[1]]]
    return [{**error, "path": list(owners[0][0][1]) if owners and owners[0] else []}]


def _name(value: str) -> NameNode:
    return NameNode(value=value)


def _argument(name: str, variable: str) -> ArgumentNode:
    return ArgumentNode(name=_name(name), value=VariableNode(name=_name(variable)))
