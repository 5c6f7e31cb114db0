"""A supergraph served: validate against the API schema, plan (cached), execute, shape.

    federation = Federation(load_supergraph(sdl), HttpSubgraphs(urls))
    Executable(federation.api, version, context, run=federation.run)   # for GraphQLEndpoint

Parse and validation results are cached by GraphQLEndpoint's DocumentCache; plans here, per
(document text, operation name) and the supergraph they were made for.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    VariableNode,
    execute,
    get_operation_ast,
)
from graphql.execution.values import get_variable_values
from starlette.requests import Request

from gateway.api_schema import api_schema
from gateway.executor import PlanExecutor, Subgraphs
from gateway.plan import QueryPlan
from gateway.planner import Planner, PlanningError
from gateway.projection import Projection, Shapes
from gateway.supergraph import Supergraph
from gateway.telemetry import describe_operation
from shards.telemetry.tracing import Tracing, current_span, fail


@dataclass(frozen=True)
class Prepared:
    """What a request for this (document, operation name) needs beyond its variables,
    worked out once: its plan, its fetches' texts (filled on first use), how to shape it."""

    operation: OperationDefinitionNode
    plan: QueryPlan
    texts: dict[int, str]
    fragments: dict[str, FragmentDefinitionNode]
    introspects: bool
    conditions: tuple[str, ...]  # the variables @skip/@include read
    shapes: Shapes = field(default_factory=Shapes)


class Federation:
    def __init__(
        self,
        supergraph: Supergraph,
        subgraphs: Subgraphs,
        plan_cache: int = 1024,
        tracing: Tracing | None = None,
    ) -> None:
        self.supergraph = supergraph
        self.api = api_schema(supergraph)
        self.planner = Planner(supergraph)
        self.tracing = tracing or Tracing.off()
        self.executor = PlanExecutor(supergraph, subgraphs, self.tracing)
        self._prepared: OrderedDict[tuple[str, str | None], Prepared] = OrderedDict()
        self._plan_cache = plan_cache

    def plan(self, query: str, document: DocumentNode, operation_name: str | None) -> QueryPlan:
        operation = get_operation_ast(document, operation_name)
        assert isinstance(operation, OperationDefinitionNode), "validated first"
        return self.prepare(query, document, operation, operation_name).plan

    def prepare(
        self,
        query: str,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        operation_name: str | None,
    ) -> Prepared:
        key = (query, operation_name)
        prepared = self._prepared.get(key)
        if prepared is not None:
            self._prepared.move_to_end(key)
            return prepared
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        prepared = self._prepared[key] = Prepared(
            operation,
            self.planner.plan(document, operation_name),
            {},
            fragments,
            _introspects(operation),
            _condition_variables(operation, fragments),
        )
        if len(self._prepared) > self._plan_cache:
            self._prepared.popitem(last=False)
        return prepared

    async def run(
        self,
        query: str,
        document: DocumentNode,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        request: Request | None = None,
        api: GraphQLSchema | None = None,
    ) -> ExecutionResult:
        """`api`: what the caller may see (its role's API schema; validated against already),
        for variables and introspection. Plans are the supergraph's, shared by every role."""
        api = self.api if api is None else api
        session = getattr(request.state, "session", None) if request is not None else None
        prepared = self._prepared.get((query, operation_name))
        if prepared is not None:
            operation = prepared.operation
        else:
            found = get_operation_ast(document, operation_name)
            if not isinstance(found, OperationDefinitionNode):
                message = (
                    f"Unknown operation named '{operation_name}'."
                    if operation_name
                    else "Must provide operation name if query contains multiple operations."
                )
                return ExecutionResult(None, [GraphQLError(message)])
            operation = found
        if self.tracing.enabled:
            describe_operation(current_span(), operation)
        coerced: Any = None  # graphql-core's VariableValues, which @skip/@include read
        values: dict[str, Any] = {}
        if operation.variable_definitions or variables:
            definitions = operation.variable_definitions or ()
            coerced = get_variable_values(api, definitions, variables or {})
            if isinstance(coerced, list):
                return ExecutionResult(None, coerced)
            # graphql-core 3.3: the coerced values (defaults applied) beside their sources.
            values = getattr(coerced, "coerced", coerced)
        if prepared is None:
            with self.tracing.span(
                "graphql.plan", attributes={"shardgate.cache.hit": False}
            ) as span:
                try:
                    prepared = self.prepare(query, document, operation, operation_name)
                except PlanningError as e:
                    fail(span, f"QUERY_PLANNING_FAILED: {e.message}")
                    return ExecutionResult(
                        None,
                        [GraphQLError(e.message, extensions={"code": "QUERY_PLANNING_FAILED"})],
                    )
        elif self.tracing.enabled:
            with self.tracing.span("graphql.plan", attributes={"shardgate.cache.hit": True}):
                pass
        with self.tracing.span("graphql.execute") as span:
            data, raw_errors, extensions = await self.executor.execute(
                prepared.plan, operation, values, prepared.texts, session
            )
            if raw_errors:  # messages as the client gets them
                span.set_attribute("graphql.error.count", len(raw_errors))
                fail(span, str(raw_errors[0].get("message", "subgraph error")))
        if prepared.introspects:
            introspected = execute(
                api, document, variable_values=variables, operation_name=operation_name
            )
            assert isinstance(introspected, ExecutionResult)  # no resolver of its is async
            data.update({k: v for k, v in (introspected.data or {}).items() if k not in data})
        conditions = tuple(values.get(n) for n in prepared.conditions)
        projection = Projection(
            self.api, prepared.fragments, coerced, raw_errors, prepared.shapes, conditions
        )
        shaped = projection.response(operation, data)
        if projection.completion:
            extensions["valueCompletion"] = projection.completion
        return ExecutionResult(shaped, [_error(e) for e in raw_errors] or None, extensions or None)


def _condition_variables(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDefinitionNode]
) -> tuple[str, ...]:
    """The variables an @skip or @include reads, anywhere in the operation."""
    names: set[str] = set()
    for root in (operation, *fragments.values()):
        for node in _walk(root):
            for directive in getattr(node, "directives", None) or ():
                if directive.name.value in ("skip", "include"):
                    for argument in directive.arguments or ():
                        if isinstance(argument.value, VariableNode):
                            names.add(argument.value.name.value)
    return tuple(sorted(names))


def _walk(node: Any) -> Any:
    yield node
    selection_set = getattr(node, "selection_set", None)
    for child in selection_set.selections if selection_set else ():
        yield from _walk(child)


def _introspects(operation: OperationDefinitionNode) -> bool:
    return any(
        isinstance(s, FieldNode) and s.name.value in ("__schema", "__type")
        for s in operation.selection_set.selections
    )


def _error(raw: dict[str, Any]) -> GraphQLError:
    extensions = raw.get("extensions") if isinstance(raw.get("extensions"), dict) else None
    path = raw.get("path") if isinstance(raw.get("path"), list) else None
    return GraphQLError(
        str(raw.get("message", "subgraph error")),
        path=path,
        extensions=extensions or {"code": "DOWNSTREAM_SERVICE_ERROR"},
    )
