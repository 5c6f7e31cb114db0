"""Subgraphs served by this process (the store's), run without an HTTP hop.

A fetch the planner sends to a store subgraph is executed by graphql-core against that
subgraph's executable schema, exactly as `/subgraphs/<service>/graphql` would, minus the
network: parsed once per distinct operation (the planner's fetches repeat), not validated
again (the planner only writes valid operations), errors formatted as over HTTP.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from typing import Any

from graphql import DocumentNode, ExecutionResult, execute, parse

from auth.session import Session
from gateway.executor import Subgraphs
from gateway.graphql_http import Executable, format_error


class LocalSubgraphs:
    """`executable(service, session)`: the subgraph as that caller may use it (its role's
    view: a role's variables are coerced against its own input types, presets left out)."""

    def __init__(
        self,
        services: Collection[str],
        executable: Callable[[str, Session | None], Executable | None],
        cache: int = 1024,
    ) -> None:
        self.services = services
        self.executable = executable
        self._documents: OrderedDict[str, DocumentNode] = OrderedDict()
        self._cache = cache

    def __contains__(self, service: str) -> bool:
        return service in self.services

    async def fetch(
        self,
        service: str,
        query: str,
        variables: Mapping[str, Any],
        session: Session | None = None,
    ) -> Any:
        executable = self.executable(service, session)
        assert executable is not None, f"no local subgraph {service}"
        document = self._documents.get(query)
        if document is None:
            document = self._documents[query] = parse(query)
            if len(self._documents) > self._cache:
                self._documents.popitem(last=False)
        context = executable.context(session)
        result = execute(
            executable.schema,
            document,
            variable_values=dict(variables),
            context_value=context,
        )
        if not isinstance(result, ExecutionResult):
            result = await result
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [format_error(e) for e in result.errors]
        extensions = getattr(context, "extensions", None)  # e.g. partial search answers
        if extensions:
            answer["extensions"] = extensions
        return answer


class RoutedSubgraphs:
    """Local subgraphs in process, every other one over HTTP."""

    def __init__(self, local: LocalSubgraphs, remote: Subgraphs) -> None:
        self.local = local
        self.remote = remote

    async def fetch(
        self,
        service: str,
        query: str,
        variables: Mapping[str, Any],
        session: Session | None = None,
    ) -> Any:
        if service in self.local:
            return await self.local.fetch(service, query, variables, session)
        return await self.remote.fetch(service, query, variables, session)
