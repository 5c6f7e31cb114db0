"""`@composeDirective`: custom directives kept in the supergraph as @apollo/composition keeps
them (the linked features, the newest definition, the applications), refused where Apollo
refuses them, and absent from the API schema clients see."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import print_schema

from gateway.api_schema import api_schema
from gateway.supergraph import load_supergraph
from schema.composition import compose
from schema.errors import SchemaErrors
from schema.subgraph_reader import read_subgraph
from tests.support.supergraphs import same, same_custom_directives

FIXTURES = Path(__file__).parents[1] / "fixtures"
SUBGRAPHS = sorted((FIXTURES / "subgraphs" / "custom_directives").glob("*.graphql"))
SUPERGRAPH = FIXTURES / "supergraphs" / "custom-directives.graphql"


def sdls() -> dict[str, str]:
    return {p.stem: p.read_text() for p in SUBGRAPHS}


def urls() -> dict[str, str]:
    return {p.stem: f"http://127.0.0.1:0/{p.stem}" for p in SUBGRAPHS}


def ours(subgraphs: dict[str, str], where: dict[str, str] | None = None) -> str:
    where = where or {}
    return compose([read_subgraph(n, where.get(n, ""), s) for n, s in subgraphs.items()])


def test_composed_directives_are_apollos() -> None:
    """products composes @hello (v1.0), @cache (imported as @cache from @cached) and
    @audit__log; inventory links hello v1.1 (its definition wins) and applies @hello with its
    default spelled out; legacy applies @cache without composing it (its applications count
    where another subgraph keeps @cache, and nowhere else); @private is not composed."""
    mine, apollos = load_supergraph(ours(sdls(), urls())), load_supergraph(SUPERGRAPH.read_text())
    same(mine, apollos)
    same_custom_directives(mine, apollos)


def test_composed_directives_stay_out_of_the_api_schema() -> None:
    text = print_schema(api_schema(load_supergraph(ours(sdls()))))
    assert "@hello" not in text and "@cache" not in text and "audit" not in text
    assert "greeting: String" in text


@pytest.mark.slow
def test_the_fixture_is_what_apollo_composes() -> None:
    from tests.peers.apollo import compose as apollo_compose

    same_custom_directives(
        load_supergraph(apollo_compose(sdls(), urls=urls())),
        load_supergraph(SUPERGRAPH.read_text()),
    )


LINKS = (
    "extend schema\n"
    '  @link(url: "https://specs.apollo.dev/federation/v2.1", '
    'import: ["@key", "@composeDirective"])\n'
)
QUERY = "type Query { x: Int @hello }\n"

REFUSALS = {
    "no_at": (
        LINKS + '  @link(url: "https://my.dev/hello/v1.0", import: ["@hello"])\n'
        '  @composeDirective(name: "hello")\n'
        "directive @hello on FIELD_DEFINITION\n" + QUERY,
        '@composeDirective(name: "hello") in subgraph "a": the name must start with @',
    ),
    "undefined": (
        LINKS + '  @link(url: "https://my.dev/hello/v1.0", import: ["@hello"])\n'
        '  @composeDirective(name: "@hola")\n'
        "directive @hello on FIELD_DEFINITION\n" + QUERY,
        '@composeDirective(name: "@hola") in subgraph "a": the subgraph defines no directive @hola',
    ),
    "not_linked": (
        LINKS
        + '  @composeDirective(name: "@hello")\ndirective @hello on FIELD_DEFINITION\n'
        + QUERY,
        '@composeDirective(name: "@hello") in subgraph "a": @hello is not from a linked feature',
    ),
    "federation_directive": (
        'extend schema @link(url: "https://specs.apollo.dev/federation/v2.1", '
        'import: ["@key", "@composeDirective", "@shareable"])\n'
        '  @composeDirective(name: "@shareable")\n'
        "type Query { x: Int @shareable }\n",
        '@composeDirective(name: "@shareable") in subgraph "a": a federation directive cannot '
        "be composed this way",
    ),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_refusals_name_the_subgraph_and_directive(case: str) -> None:
    sdl, message = REFUSALS[case]
    with pytest.raises(SchemaErrors) as refused:
        ours({"a": sdl})
    assert message in str(refused.value)


def test_major_versions_must_agree() -> None:
    def linking(version: str) -> str:
        return (
            LINKS + f'  @link(url: "https://my.dev/hello/{version}", import: ["@hello"])\n'
            '  @composeDirective(name: "@hello")\ndirective @hello on FIELD_DEFINITION\n'
        )

    with pytest.raises(SchemaErrors) as refused:
        ours({"a": linking("v1.0") + QUERY, "b": linking("v2.0") + "type Query { y: Int }"})
    assert '@hello (composed in "a", "b"): the feature "https://my.dev/hello" is linked with ' in (
        str(refused.value)
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_apollo_refuses_them_too(case: str) -> None:
    from tests.peers.apollo import CompositionFailed
    from tests.peers.apollo import compose as apollo_compose

    with pytest.raises(CompositionFailed) as refused:
        apollo_compose({"a": REFUSALS[case][0]})
    assert refused.value.codes == ["DIRECTIVE_COMPOSITION_ERROR"]
