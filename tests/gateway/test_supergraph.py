"""Reading supergraphs: who resolves what, and what clients may see."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from graphql import build_schema, lexicographic_sort_schema, print_schema

from gateway.api_schema import api_schema
from gateway.errors import SupergraphError
from gateway.supergraph import FieldJoin, TypeJoin, load_supergraph
from tests.peers.apollo import PEER_DIR, ensure_installed

FIXTURES = Path(__file__).parents[1] / "fixtures" / "supergraphs"
SUPERGRAPHS = sorted(FIXTURES.glob("*.graphql"))


def shop():  # type: ignore[no-untyped-def]
    return load_supergraph((FIXTURES / "shop.graphql").read_text())


def test_subgraphs_types_and_keys() -> None:
    sg = shop()
    assert sg.join_version == "0.3" and sg.federation_version == 2
    assert sorted(sg.subgraphs) == ["accounts", "inventory", "products", "reviews", "shipping"]
    assert sg.subgraphs["products"].url == "http://127.0.0.1:0/products"
    assert sg.type_graphs("User") == ("accounts", "products", "reviews")
    assert sg.keys("User", "accounts") == ("id", "email")
    assert sg.types["Product"][0] == TypeJoin("inventory", "upc", interface_object=True)


@pytest.mark.parametrize(
    ("type_name", "field_name", "graphs"),
    [
        ("Furniture", "weight", ("products",)),  # external in shipping
        ("User", "name", ("accounts",)),  # external where provided
        ("User", "reviewCount", ("reviews",)),  # overridden away from accounts
        ("Book", "inStock", ("inventory",)),  # through Product @interfaceObject
        ("DeliveryEstimate", "fastestDelivery", ("inventory",)),  # no @join__field
        ("Query", "search", ("products",)),
    ],
)
def test_which_subgraphs_resolve_a_field(type_name: str, field_name: str, graphs: tuple) -> None:
    assert shop().field_graphs(type_name, field_name) == graphs


def test_requires_provides_and_abstract_types() -> None:
    sg = shop()
    assert sg.field_join("Furniture", "shippingEstimate", "shipping") == FieldJoin(
        "shipping", requires="weight"
    )
    assert sg.field_join("Furniture", "seller", "products").provides == "name"  # type: ignore[union-attr]
    assert sg.union_members["SearchResult"] == (("products", "Book"), ("products", "Furniture"))
    assert sg.implements["Book"] == (("products", "Product"),)
    assert sg.enum_values["Role", "INTERNAL"] == ("accounts",)


def test_federation_1_ownership_rules() -> None:
    sg = load_supergraph((FIXTURES / "fed1-accounts-reviews.graphql").read_text())
    assert sg.federation_version == 1
    assert sg.field_graphs("Review", "body") == ("reviews",)  # the owner
    assert sg.field_graphs("User", "id") == ("accounts", "reviews")  # keys resolve locally
    assert sg.field_graphs("User", "reviews") == ("reviews",)


def test_the_api_schema_hides_inaccessible_and_machinery() -> None:
    text = print_schema(api_schema(shop()))
    assert "ssn" not in text and "INTERNAL" not in text
    assert "join__" not in text and "link__" not in text and "@inaccessible" not in text
    assert "type User implements Node" in text


@pytest.mark.parametrize(
    ("sdl", "message"),
    [
        ("type Query { a: Int }", "no join spec is linked"),
        ("type Query {", "not valid GraphQL"),
        (
            (FIXTURES / "shop.graphql")
            .read_text()
            .replace(
                '@link(url: "https://specs.apollo.dev/link/v1.0")',
                '@link(url: "https://specs.apollo.dev/link/v1.0")\n  '
                '@link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)',
            ),
            "authenticated/v0.1 for SECURITY",
        ),
    ],
)
def test_unservable_supergraphs_are_refused(sdl: str, message: str) -> None:
    with pytest.raises(SupergraphError, match=message):
        load_supergraph(sdl)


@pytest.mark.slow
@pytest.mark.parametrize("path", SUPERGRAPHS, ids=[p.stem for p in SUPERGRAPHS])
def test_api_schema_equals_apollos(path: Path) -> None:
    ensure_installed()
    apollo = subprocess.run(
        ["node", "api_schema.mjs", str(path)],
        cwd=PEER_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    ours = api_schema(load_supergraph(path.read_text()))
    expected = lexicographic_sort_schema(build_schema(apollo))
    assert print_schema(lexicographic_sort_schema(ours)) == print_schema(expected)
