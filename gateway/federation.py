"""A supergraph served: validate against the API schema, plan (cached), execute, shape.

    federation = Federation(load_supergraph(sdl), HttpSubgraphs(urls))
    Executable(federation.api, version, context, run=federation.run)   # for GraphQLEndpoint

Parse and validation results are cached by GraphQLEndpoint's DocumentCache; plans here, per
(document text, operation name) and the supergraph they were made for.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    execute,
    get_operation_ast,
)
from graphql.execution.values import get_variable_values
from starlette.requests import Request

from gateway.api_schema import api_schema
from gateway.executor import PlanExecutor, Subgraphs
from gateway.plan import QueryPlan
from gateway.planner import Planner, PlanningError
from gateway.projection import Projection
from gateway.supergraph import Supergraph
from gateway.telemetry import describe_operation
from shards.telemetry.tracing import Tracing, current_span, fail


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
        # Plans with their fetches' printed operation texts (filled on first use).
        self._plans: OrderedDict[tuple[str, str | None], tuple[QueryPlan, dict[int, str]]]
        self._plans = OrderedDict()
        self._plan_cache = plan_cache

    def plan(self, query: str, document: DocumentNode, operation_name: str | None) -> QueryPlan:
        return self._prepared(query, document, operation_name)[0]

    def _prepared(
        self, query: str, document: DocumentNode, operation_name: str | None
    ) -> tuple[QueryPlan, dict[int, str]]:
        key = (query, operation_name)
        entry = self._plans.get(key)
        if entry is None:
            entry = self._plans[key] = (self.planner.plan(document, operation_name), {})
            if len(self._plans) > self._plan_cache:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
        return entry

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
        operation = get_operation_ast(document, operation_name)
        if self.tracing.enabled:
            describe_operation(current_span(), operation)
        if not isinstance(operation, OperationDefinitionNode):
            message = (
                f"Unknown operation named '{operation_name}'."
                if operation_name
                else "Must provide operation name if query contains multiple operations."
            )
            return ExecutionResult(None, [GraphQLError(message)])
        coerced = get_variable_values(api, operation.variable_definitions or (), variables or {})
        if isinstance(coerced, list):
            return ExecutionResult(None, coerced)
        hit = {"shardgate.cache.hit": (query, operation_name) in self._plans}
        with self.tracing.span("graphql.plan", attributes=hit) as span:
            try:
                plan, texts = self._prepared(query, document, operation_name)
            except PlanningError as e:
                fail(span, f"QUERY_PLANNING_FAILED: {e.message}")
                return ExecutionResult(
                    None, [GraphQLError(e.message, extensions={"code": "QUERY_PLANNING_FAILED"})]
                )
        # graphql-core 3.3: the coerced values (defaults applied) beside their sources.
        values = getattr(coerced, "coerced", coerced)
        with self.tracing.span("graphql.execute") as span:
            data, raw_errors, extensions = await self.executor.execute(
                plan, operation, values, texts, session
            )
            if raw_errors:  # messages as the client gets them
                span.set_attribute("graphql.error.count", len(raw_errors))
                fail(span, str(raw_errors[0].get("message", "subgraph error")))
        if _introspects(operation):
            introspected = execute(
                api, document, variable_values=variables, operation_name=operation_name
            )
            assert isinstance(introspected, ExecutionResult)  # no resolver of its is async
            data.update({k: v for k, v in (introspected.data or {}).items() if k not in data})
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        projection = Projection(self.api, fragments, coerced, raw_errors)
        shaped = projection.response(operation, data)
        if projection.completion:
            extensions["valueCompletion"] = projection.completion
        return ExecutionResult(shaped, [_error(e) for e in raw_errors] or None, extensions or None)


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
