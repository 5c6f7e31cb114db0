"""Permissions settings: parsing, session variables, service roles, who is unrestricted."""

from __future__ import annotations

from types import MappingProxyType

import pytest

from auth.errors import ConfigError, Forbidden
from auth.permissions import Access, Permissions, combine
from auth.session import Session
from gateway.role_views import RoleViews

SECTION = {
    "user": {
        "orders.Order": {
            "select": {"filter": {"userId": {"_eq": "X-Shardgate-User-Id"}}, "limit": 5},
            "insert": {"set": {"userId": "x-shardgate-user-id", "org": "X-Shardgate-Org-Id"}},
        },
        "Product": {"select": True},
    },
    "orders": {"User": {"select": {"columns": ["id", "name"]}}},
}
OWNERS = {"orders": ["Order"], "users": ["User"], "products": ["Product"]}


def session(role: str, **variables: object) -> Session:
    return Session("u1", role, (role,), MappingProxyType(dict(variables)))


def access(perms: Permissions, caller: Session) -> Access | None:
    """What resolvers get for this caller: the role views' context (None: unrestricted)."""
    views = RoleViews(1, {}, {}, perms, lambda name: f"http://127.0.0.1/{name}", ())
    return views.context(caller).access


def test_rules_parse_with_collection_ids_or_type_names() -> None:
    perms = Permissions.from_section(SECTION)
    rules = perms.rules_for("user", OWNERS)
    assert set(rules) == {"Order", "Product"}
    assert rules["Order"]["select"].limit == 5
    assert rules["Product"]["select"].columns is None  # true: every column
    assert "update" not in rules["Order"]


def test_session_variables_are_bound_case_insensitively() -> None:
    user = access(Permissions.from_section(SECTION), session("user", **{"org-id": "o7"}))
    assert user is not None
    rule = user.require("Order", "insert")
    assert user.bind(dict(rule.presets), "Order") == {"userId": "u1", "org": "o7"}
    assert user.bind({"r": {"_eq": "X-Shardgate-Role"}}, "Order") == {"r": {"_eq": "user"}}


def test_a_missing_session_variable_is_forbidden_and_named() -> None:
    user = access(Permissions.from_section(SECTION), session("user"))
    assert user is not None
    with pytest.raises(Forbidden, match="X-Shardgate-Org-Id"):
        user.bind({"org": "X-Shardgate-Org-Id"}, "Order")


def test_operations_not_granted_are_forbidden() -> None:
    user = access(Permissions.from_section(SECTION), session("user"))
    assert user is not None
    with pytest.raises(Forbidden, match="may not delete Order"):
        user.require("Order", "delete")
    assert user.rule("User", "select") is None


def test_a_service_role_owns_its_collections_and_only_reads_others() -> None:
    perms = Permissions.from_section(
        {**SECTION, "orders": {"User": {"select": True, "update": True}}}
    )
    rules = perms.rules_for("orders", OWNERS)
    assert set(rules["Order"]) == {"select", "insert", "update", "delete"}
    assert set(rules["User"]) == {"select"}
    [problem] = perms.check_service_roles(OWNERS)
    assert "may not update another service's collection" in problem


def test_admin_and_unconfigured_clusters_are_unrestricted() -> None:
    perms = Permissions.from_section(SECTION)
    admin = Session(None, "admin", ("admin",), is_admin=True)
    assert access(perms, admin) is None
    as_user = Session("u9", "user", ("user",), is_admin=True)  # the admin trying a role out
    assert access(perms, as_user) is not None
    assert access(Permissions(), session("user")) is None
    assert Permissions().startup_warnings(open_mode=False)
    assert not perms.startup_warnings(open_mode=False)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"user": {"Order": {"read": {}}}}, "unknown operation"),
        ({"user": {"Order": {"select": {"check": {}}}}}, "unknown key"),
        ({"user": {"Order": {"select": {"columns": "id"}}}}, "columns must be a list"),
        ({"user": {"Order": {"select": {"limit": 0}}}}, "limit must be"),
        ({"user": {"Order": {"select": {"filter": "x"}}}}, "filter must be a table"),
        ({"admin": {"Order": {"select": True}}}, "admin role"),
        ({"user": "everything"}, "table of collections"),
    ],
)
def test_bad_settings_name_the_table_and_the_fix(section: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Permissions.from_section(section)


def test_combine_ands_present_filters() -> None:
    assert combine(None, None) is None
    assert combine({"a": 1}, None) == {"a": 1}
    assert combine({"a": 1}, {"b": 2}) == {"_and": [{"a": 1}, {"b": 2}]}
