"""A role's view of a store subgraph: only what it may use, still a valid subgraph."""

from __future__ import annotations

from pathlib import Path

from graphql import build_schema

from auth.permissions import Permissions
from schema.composition import compose
from schema.parser import parse_service
from schema.role_view import role_sdl
from schema.subgraph import executable_subgraph_sdl, subgraph_sdl
from schema.subgraph_reader import read_subgraph

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
USERS = parse_service("users", (EXAMPLES / "users.graphql").read_text())
ORDERS = parse_service("orders", (EXAMPLES / "orders.graphql").read_text())
OWNERS = {"users": ["User"], "orders": ["Order"]}


def view(section: dict, role: str, model=USERS, inaccessible: bool = False):  # type: ignore[no-untyped-def]
    rules = Permissions.from_section(section).rules_for(role, OWNERS)
    sdl = (subgraph_sdl if inaccessible else executable_subgraph_sdl)(model)
    text = role_sdl(sdl, model, lambda c: rules.get(c, {}), inaccessible_keys=inaccessible)
    return text, build_schema(text) if not inaccessible else None


def fields(schema, name: str) -> set[str]:  # type: ignore[no-untyped-def]
    return set(schema.get_type(name).fields)


def test_columns_roots_and_inputs_follow_the_rules() -> None:
    section = {
        "user": {
            "User": {
                "select": {"columns": ["name", "email"]},
                "update": {"columns": ["name", "bio"], "set": {"bio": "x"}},
            }
        }
    }
    _, schema = view(section, "user")
    assert fields(schema, "User") == {"id", "name", "email"}  # the key stays for federation
    assert fields(schema, "UserWhere") == {"_and", "_or", "_not", "name", "email"}
    assert fields(schema, "UserSet") == {"name"}  # presets cannot be set
    assert fields(schema, "Query") >= {"user", "users", "searchUsers", "_entities"}
    assert "usersAggregate" not in fields(schema, "Query")
    assert fields(schema, "Mutation") == {"updateUser", "updateUsers"}
    for gone in ("UserInput", "UserAggregate", "Role", "AddressInput", "RoleComparison"):
        assert schema.get_type(gone) is None, gone


def test_a_role_with_nothing_keeps_only_the_federation_machinery() -> None:
    _, schema = view({"other": {"User": {"select": True}}}, "user")
    assert fields(schema, "Query") == {"_service"}
    assert schema.mutation_type is None
    assert schema.get_type("User") is None


def test_a_hidden_key_is_inaccessible_and_the_view_composes() -> None:
    section = {"user": {"User": {"select": {"columns": ["name"]}}, "Order": {"select": True}}}
    users, _ = view(section, "user", inaccessible=True)
    orders, _ = view(section, "user", ORDERS, inaccessible=True)
    assert "id: ID! @inaccessible" in users
    assert '"@inaccessible"' in users
    supergraph = compose(
        [
            read_subgraph("users", "http://u/graphql", users),
            read_subgraph("orders", "http://o/graphql", orders),
        ]
    )
    assert "type User" in supergraph


def test_a_service_role_sees_its_collections_whole() -> None:
    full = build_schema(executable_subgraph_sdl(ORDERS))
    _, schema = view({"user": {"User": {"select": True}}}, "orders", ORDERS)
    assert fields(schema, "Mutation") == set(full.mutation_type.fields)  # type: ignore[union-attr]
    assert fields(schema, "Order") == fields(full, "Order")
