"""Federation 1 subgraphs (no @link to the federation spec v2) compose as @apollo/composition
composes them: each case is composed by both, and the supergraphs must be the same (joins and
API schema); what Apollo refuses, we refuse, naming the subgraph, type and field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.supergraph import load_supergraph
from schema.composition import compose
from schema.errors import SchemaError, SchemaErrors
from schema.subgraph_reader import read_subgraph
from tests.support.supergraphs import same

ROOT = Path(__file__).parents[2]

FED2 = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", '
    'import: ["@key", "@shareable", "@external", "@requires", "@provides", "@extends", '
    '"@interfaceObject"])\n'
)

ACCOUNTS = """
type Query { me: User shared: String }
type User @key(fields: "id") { id: ID! name: String username: String }
type Money { amount: Int currency: String }
"""
PRODUCTS = """
type Query { topProducts(first: Int = 5): [Product] shared: String }
type Product @key(fields: "upc") { upc: String! name: String price: Int weight: Int cost: Money }
type Money { amount: Int currency: String }
"""
INVENTORY = """
extend type Product @key(fields: "upc") {
  upc: String! @external
  weight: Int @external
  price: Int @external
  name: String @external
  inStock: Boolean
  shippingEstimate: Int @requires(fields: "price weight")
}
"""
REVIEWS = """
type Review @key(fields: "id") {
  id: ID! body: String author: User @provides(fields: "username") product: Product
}
extend type User @key(fields: "id") {
  id: ID! @external username: String @external reviews: [Review]
}
type Product @extends @key(fields: "upc") { upc: String! @external name: String reviews: [Review] }
extend type Query { reviews: [Review] }
"""

CASES = {
    # extend type / @extends entities, implied @external keys, an unused @external removed,
    # value types and root fields of several subgraphs shareable, entity fields resolved twice
    "classic": {
        "accounts": ACCOUNTS,
        "products": PRODUCTS,
        "inventory": INVENTORY,
        "reviews": REVIEWS,
    },
    # a Federation 2 subgraph beside them: its @shareable meets the implied ones
    "mixed": {
        "accounts": ACCOUNTS,
        "products": PRODUCTS,
        "users2": FED2
        + """
type User @key(fields: "id") {
  id: ID! name: String @shareable
  username: String @external nick: String @requires(fields: "username")
}
type Money @shareable { amount: Int currency: String }
type Query { shared: String @shareable }
""",
    },
    # @key and @external on an interface are dropped; @requires keeps its @external leaves;
    # @provides on a scalar field goes; a key field from an extension is resolvable
    "interfaces": {
        "a": """
interface Node @key(fields: "id") { id: ID! @external }
type Thing implements Node @key(fields: "id") {
  id: ID! label: String @provides(fields: "x") price: Int @requires(fields: "id cost")
  cost: Int @external
}
type Query { things: [Thing] node(id: ID!): Node }
""",
        "b": """
extend type Thing @key(fields: "id") { id: ID! @external cost: Int other: Int }
type Query { shared: String }
""",
    },
    # a list as `fields:`; a nested key whose extension's key field is implied not external;
    # a root field's @provides of a nested field
    "nested_keys": {
        "owner": """
type Query { box: Box }
type Box @key(fields: "id") @key(fields: "sku { code }") { id: ID! sku: Sku size: Int }
type Sku { code: String! label: String }
""",
        "extra": """
extend type Box @key(fields: "id") {
  id: ID! @external size: Int @external volume: Int @requires(fields: ["size"])
}
""",
        "third": """
extend type Box @key(fields: "sku { code }") { sku: Sku @external weight: Int }
type Sku { code: String! label: String }
type Query { heavy: [Box] }
""",
    },
    # a @provides and a @requires of fields that are not @external are dropped; value types,
    # enums and unions that differ between subgraphs; root type extensions; several keys
    "inactive_and_value_types": {
        "a": """
type Query { node(id: ID!): Node things: [Thing] pet: Pet }
interface Node { id: ID! }
type Thing implements Node @key(fields: "id") @key(fields: "sku") {
  id: ID! sku: String! label: String kind: Kind owner: Owner
}
type Owner { name: String age: Int }
enum Kind { BIG SMALL }
union Pet = Cat | Dog
type Cat { meow: String }
type Dog { bark: String }
type Mutation { touch(id: ID!): Thing }
""",
        "b": """
extend type Query { more: [Thing] @provides(fields: "label") }
extend type Mutation { poke: Boolean }
interface Node { id: ID! @external }
extend type Thing implements Node @key(fields: "id") @key(fields: "sku") {
  id: ID! @external sku: String! @external label: String extra: Int @requires(fields: "label")
  owner: Owner
}
type Owner { name: String city: String }
enum Kind { BIG MEDIUM }
union Pet = Cat | Bird
type Cat { meow: String }
type Bird { tweet: String }
""",
        "c": """
extend type Thing @key(fields: "id") {
  id: ID! @external label: String @external summary: String @requires(fields: "label")
}
type Query { cx: Int }
""",
    },
    # a definition and a GraphQL extension in one subgraph: not a Federation 1 extension, its
    # key stays an extension key
    "definition_and_extension": {
        "m1": 'type Query { t: T } type T { id: ID! a: Int } extend type T @key(fields: "id")',
        "m2": 'type T @key(fields: "id") { id: ID! b: Int }',
    },
    # an extension without @key: the fields of the owner's first key are its own
    "keyless_extension": {
        "k1": 'type User @key(fields: "id") { id: ID! } type Query { ping: Int }',
        "k2": "type Query { me: User } extend type User { id: ID! @external nick: String }",
    },
    # Federation 2 subgraphs only: `extend type` keys are extensions, and not external
    "fed2_extensions": {
        "a": FED2 + 'type Query { t: T } type T @key(fields: "id") { id: ID! a: Int }',
        "b": FED2
        + 'extend type T @key(fields: "id") { id: ID! @external b: Int }\n'
        + 'type U @key(fields: "id") @extends { id: ID! @external c: Int }',
        "c": FED2 + 'type Query { u: U } type U @key(fields: "id") { id: ID! }',
    },
}


def ours(sdls: dict[str, str]) -> str:
    return compose([read_subgraph(n, f"http://127.0.0.1:0/{n}", s) for n, s in sdls.items()])


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_same_supergraph_as_apollo(case: str) -> None:
    from tests.peers.apollo import compose as apollo_compose

    sdls = CASES[case]
    urls = {n: f"http://127.0.0.1:0/{n}" for n in sdls}
    same(load_supergraph(ours(sdls)), load_supergraph(apollo_compose(sdls, urls=urls)))


def test_upgrade_marks_and_removes_what_apollo_does() -> None:
    """The rules in the supergraph's own terms (the differential test shows they are Apollo's)."""
    sg = load_supergraph(ours(CASES["classic"]))
    assert sg.field_graphs("Product", "upc") == ("inventory", "products", "reviews")
    assert sg.field_graphs("Product", "name") == ("products", "reviews")  # both resolve it
    assert not any(j.graph == "inventory" for j in sg.fields[("Product", "name")])  # unused
    assert sg.field_graphs("Query", "shared") == ("accounts", "products")
    assert [(j.graph, j.extension) for j in sg.types["Product"]] == [
        ("inventory", False),  # `extend type` became a definition
        ("products", False),
        ("reviews", True),  # @extends stays
    ]


REFUSALS = {
    "fed2_directive": (
        {
            "a": ACCOUNTS,
            "b": 'type Query { x: T } type T @key(fields: "id") { id: ID! v: Int @shareable }',
        },
        'subgraph "b" is a Federation 1 subgraph (its SDL has no @link to the federation spec v2) '
        'but uses Federation 2 directives: @shareable on "T.v"',
        "INVALID_GRAPHQL",
    ),
    "extension_with_no_base": (
        {"a": ACCOUNTS, "b": 'extend type Nope @key(fields: "id") { id: ID! @external z: Int }'},
        'type "Nope" is an extension in subgraph "b" but no subgraph defines it',
        "EXTENSION_WITH_NO_BASE",
    ),
    "only_unused_externals": (
        {"a": ACCOUNTS, "b": "type Query { o: Only } type Only { a: Int @external }"},
        'type "Only" in subgraph "b" has only @external fields, and no @key, @requires or '
        "@provides uses them",
        "TYPE_WITH_ONLY_UNUSED_EXTERNAL",
    ),
    "fed1_resolves_a_fed2_non_shareable_field": (
        {"a": ACCOUNTS, "b": FED2 + 'type User @key(fields: "id") { id: ID! name: String }'},
        'non-shareable field "User.name" is resolved from several subgraphs: "a" and "b"',
        "INVALID_FIELD_SHARING",
    ),
    "interface_object_over_fed1_interface_key": (
        {
            "a": 'interface I @key(fields: "id") { id: ID! } '
            'type T implements I @key(fields: "id") { id: ID! } type Query { i: I }',
            "b": FED2 + 'type I @key(fields: "id") @interfaceObject { id: ID! extra: Int }',
        },
        '@interfaceObject on "I" in subgraph "b" needs other subgraphs to resolve its '
        "__typename through an interface @key, but a @key on an interface does nothing in the "
        'Federation 1 subgraphs "a"',
        "INTERFACE_OBJECT_USAGE_ERROR",
    ),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_refusals_name_subgraph_type_and_field(case: str) -> None:
    sdls, message, _ = REFUSALS[case]
    with pytest.raises((SchemaError, SchemaErrors)) as refused:
        ours(sdls)
    assert message in str(refused.value)


@pytest.mark.slow
@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_apollo_refuses_them_too(case: str) -> None:
    from tests.peers.apollo import CompositionFailed
    from tests.peers.apollo import compose as apollo_compose

    sdls, _, code = REFUSALS[case]
    with pytest.raises(CompositionFailed) as refused:
        apollo_compose(sdls)
    assert code in refused.value.codes


@pytest.mark.slow
def test_shardgate_compose_writes_apollos_supergraph_from_fed1_files(tmp_path: Path) -> None:
    from tests.peers.apollo import compose as apollo_compose

    sdls = CASES["classic"]
    files, urls = [], {}
    for name, sdl in sdls.items():
        (tmp_path / f"{name}.graphql").write_text(sdl)
        files.append(f"{name}={tmp_path / f'{name}.graphql'}")
        urls[name] = f"http://127.0.0.1:4000/{name}/graphql"
    args = files + [arg for n, u in urls.items() for arg in ("--url", f"{n}={u}")]
    out = tmp_path / "supergraph.graphql"
    result = shardgate("compose", *args, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{out}: supergraph of 4 subgraphs\n"
    same(load_supergraph(out.read_text()), load_supergraph(apollo_compose(sdls, urls=urls)))


@pytest.mark.slow
def test_shardgate_compose_refuses_fed2_directives_in_a_fed1_file(tmp_path: Path) -> None:
    sdls, message, _ = REFUSALS["fed2_directive"]
    for name, sdl in sdls.items():
        (tmp_path / f"{name}.graphql").write_text(sdl)
    result = shardgate("compose", *(f"{n}={tmp_path / f'{n}.graphql'}" for n in sdls))
    assert result.returncode != 0 and result.stdout == ""
    assert message in result.stderr and "Traceback" not in result.stderr


def shardgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=ROOT,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
