"""Generated SDL for service schemas: federation subgraphs and the merged store schema.

    subgraph_sdl(model)             what the gateway gets from `_service { sdl }`
    executable_subgraph_sdl(model)  the same plus the federation machinery, for build_schema()
    check_compatible(models)        refuse services that cannot be served side by side

Output order is stable: shared definitions, then each enum, embedded type and collection
followed by the types generated from it (in declaration order), stubs, Query, Mutation.
"""

from __future__ import annotations

from collections.abc import Iterable

from schema.compat import check_compatible
from schema.model import Collection, ServiceSchema
from schema.sdl_text import (
    FEDERATION_DEFINITIONS,
    FEDERATION_LINK,
    SHARED_DEFINITIONS,
    block,
    member,
)
from schema.subgraph_types import (
    collection_definitions,
    embedded_definitions,
    enum_definitions,
    mutation_fields,
    orderable_objects,
    query_fields,
    stub_type,
)

_ENTITY_FIELDS = (
    *member(
        "_entities(representations: [_Any!]!): [_Entity]!",
        "Federation: the entities with these keys, in order; null for those not found.",
    ),
    *member("_service: _Service!", "Federation: this subgraph's SDL."),
)


def subgraph_sdl(model: ServiceSchema) -> str:
    """The Apollo Federation v2 subgraph SDL of one service."""
    return _join(
        FEDERATION_LINK,
        *SHARED_DEFINITIONS,
        *_service_definitions(model, federated=True).values(),
        *(stub_type(model.external(name), federated=True) for name in model.external_types),
        *_roots(model.collections),
    )


def executable_subgraph_sdl(model: ServiceSchema) -> str:
    """`subgraph_sdl` plus the directive definitions, `_Entity`, `_Any`, `_Service`,
    `Query._entities` and `Query._service`, so that graphql-core can build and run it."""
    entities = " | ".join(c.name for c in model.collections)
    return _join(
        FEDERATION_LINK,
        *FEDERATION_DEFINITIONS,
        f"union _Entity = {entities}",
        *SHARED_DEFINITIONS,
        *_service_definitions(model, federated=True).values(),
        *(stub_type(model.external(name), federated=True) for name in model.external_types),
        *_roots(model.collections, extra_query=_ENTITY_FIELDS),
    )


def _service_definitions(model: ServiceSchema, *, federated: bool) -> dict[str, str]:
    """Every definition the service's types give rise to, by type name, in output order."""
    orderable = orderable_objects(model.objects)
    definitions: dict[str, str] = {}
    for e in model.enums:
        definitions.update(enum_definitions(e))
    for o in model.objects:
        definitions.update(embedded_definitions(o, federated, orderable))
    for c in model.collections:
        definitions.update(collection_definitions(c, federated, orderable))
    return definitions


def _roots(collections: Iterable[Collection], extra_query: Iterable[str] = ()) -> list[str]:
    collections = list(collections)
    query = [line for c in collections for line in query_fields(c)]
    mutation = [line for c in collections for line in mutation_fields(c)]
    return [block("type Query", [*query, *extra_query]), block("type Mutation", mutation)]


def _join(*definitions: str) -> str:
    return "\n\n".join(definitions) + "\n"


__all__ = ["check_compatible", "executable_subgraph_sdl", "subgraph_sdl"]
