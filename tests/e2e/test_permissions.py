"""Permissions per role on a real cluster: row filters, columns, checks, presets, service
roles, per-role introspection, and the session passed on to an external subgraph.

The example services (users, orders, products), the JWT secret and admin secret of
test_auth.py, and this shardgate.toml:
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from tests.support.cluster import Cluster, running_cluster
from tests.support.ports import free_port
from tests.support.processes import HttpReady, running_process

pytestmark = pytest.mark.slow

SECRET = "p" * 32
ADMIN = "admin-secret-for-permission-tests"
NS = "https://shardgate.dev/claims"
REPO = Path(__file__).resolve().parents[2]

CONFIG = """
[gateway.subgraphs]
echo = "http://127.0.0.1:{echo_port}/graphql"

[permissions.user.User.select]
filter = { id = { _eq = "X-Shardgate-User-Id" } }
columns = ["id", "name", "email", "embedding"]

[permissions.user.User.update]
filter = { id = { _eq = "X-Shardgate-User-Id" } }
columns = ["name"]

[permissions.user.Order.select]
columns = "*"
aggregate = true

[permissions.user.Order.insert]
check = { total = { _lt = 1000 } }
columns = ["id", "productIds", "total", "createdAt"]
set = { userId = "X-Shardgate-User-Id", status = "PENDING" }

[permissions.user.Order.delete]
filter = { userId = { _eq = "X-Shardgate-User-Id" }, status = { _eq = "PENDING" } }

[permissions.guest.Product.select]
columns = ["id", "name", "price"]
limit = 2

[permissions.orders.User.select]
columns = ["id", "name"]
"""


def token(role: str, user_id: str = "u1", **extra: Any) -> str:
    claims = {
        "sub": user_id,
        "exp": int(time.time()) + 600,
        NS: {"default-role": role, "allowed-roles": [role], "user-id": user_id, **extra},
    }
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(SECRET.encode()))


class Caller:
    def __init__(self, cluster: Cluster, headers: dict[str, str]) -> None:
        self.cluster = cluster
        self.headers = headers

    def post(
        self, query: str, variables: dict[str, Any] | None = None, path: str = "/graphql"
    ) -> dict[str, Any]:
        resp = self.cluster.http.post(
            self.cluster.url + path,
            json={"query": query, "variables": variables or {}},
            headers=self.headers,
        )
        assert resp.status_code in (200, 400), resp.text
        body: dict[str, Any] = resp.json()
        return body

    def data(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        body = self.post(query, variables, **kw)
        assert not body.get("errors"), body
        return body["data"]

    def error(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> str:
        body = self.post(query, variables, **kw)
        assert body.get("errors"), body
        message: str = body["errors"][0]["message"]
        return message + " " + str(body["errors"][0].get("extensions", {}).get("code"))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    data = tmp_path_factory.mktemp("permissions")
    echo_port = free_port()
    config = data / "shardgate.toml"
    config.write_text(CONFIG.replace("{echo_port}", str(echo_port)))
    env = {
        "SHARDGATE_JWT_SECRET": SECRET,
        "SHARDGATE_ADMIN_SECRET": ADMIN,
        "SHARDGATE_CONFIG": str(config),
    }
    echo = [sys.executable, "-m", "tests.support.echo_subgraph", str(echo_port)]
    ready = HttpReady(f"http://127.0.0.1:{echo_port}/graphql", accept=lambda s: s < 500)
    with (
        running_process(echo, ready=ready, name="echo", cwd=REPO),
        running_cluster(data / "cluster", env=env) as c,
    ):
        seed(Caller(c, {"x-shardgate-admin-secret": ADMIN}))
        yield c


def seed(admin: Caller) -> None:
    users = [
        {
            "id": f"u{i}",
            "email": f"u{i}@example.com",
            "name": f"User {i}",
            "bio": f"secret bio {i}",
            "role": "MEMBER",
            "createdAt": "2026-01-01",
            "embedding": [float(i == j) for j in range(8)],
        }
        for i in (1, 2)
    ]
    admin.data("mutation($o: [UserInput!]!) { insertUsers(objects: $o) { id } }", {"o": users})
    orders = [
        {
            "id": f"o{i}-{u}",
            "userId": u,
            "productIds": ["p1"],
            "total": 10.0 * i,
            "status": "PENDING" if i == 1 else "PAID",
            "createdAt": "2026-02-01",
        }
        for u in ("u1", "u2")
        for i in (1, 2)
    ]
    admin.data("mutation($o: [OrderInput!]!) { insertOrders(objects: $o) { id } }", {"o": orders})
    products = [
        {"id": f"p{i}", "sku": f"S{i}", "name": f"P{i}", "price": 1.0 * i, "stock": i}
        for i in range(1, 5)
    ]
    admin.data(
        "mutation($o: [ProductInput!]!) { insertProducts(objects: $o) { id } }", {"o": products}
    )


@pytest.fixture
def admin(cluster: Cluster) -> Caller:
    return Caller(cluster, {"x-shardgate-admin-secret": ADMIN})


@pytest.fixture
def u1(cluster: Cluster) -> Caller:
    return Caller(cluster, {"authorization": f"Bearer {token('user', 'u1')}"})


# -- row filters ------------------------------------------------------------------------------


def test_a_user_lists_only_the_rows_its_filter_admits(u1: Caller) -> None:
    assert u1.data("{ users { id } }") == {"users": [{"id": "u1"}]}


def test_where_cannot_reach_another_users_rows(u1: Caller) -> None:
    query = '{ users(where: {_or: [{id: {_eq: "u2"}}, {name: {_like: "%"}}]}) { id } }'
    assert u1.data(query) == {"users": [{"id": "u1"}]}
    assert u1.data('{ user(id: "u2") { id } }') == {"user": None}


def test_a_reference_does_not_leak_the_row_it_points_to(u1: Caller) -> None:
    seeded = '["o1-u1", "o1-u2", "o2-u1", "o2-u2"]'
    query = f"{{ orders(where: {{id: {{_in: {seeded}}}}}, orderBy: [{{id: ASC}}]) "
    orders = u1.data(query + "{ id user { id email } } }")["orders"]
    assert [(o["id"], o["user"]) for o in orders] == [
        ("o1-u1", {"id": "u1", "email": "u1@example.com"}),
        ("o1-u2", None),
        ("o2-u1", {"id": "u1", "email": "u1@example.com"}),
        ("o2-u2", None),
    ]


def test_entities_do_not_leak_rows_either(u1: Caller) -> None:
    query = """query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }"""
    reps = [{"__typename": "User", "id": "u2"}, {"__typename": "User", "id": "u1"}]
    data = u1.data(query, {"r": reps}, path="/subgraphs/users/graphql")
    assert data == {"_entities": [None, {"id": "u1"}]}


def test_vector_search_candidates_pass_the_row_filter(u1: Caller) -> None:
    query = "{ searchUsers(vector: [0, 1, 0, 0, 0, 0, 0, 0], k: 5) { user { id } } }"
    assert u1.data(query) == {"searchUsers": [{"user": {"id": "u1"}}]}


def test_select_limit_caps_every_list(cluster: Cluster) -> None:
    guest = Caller(cluster, {"authorization": f"Bearer {token('guest')}"})
    assert len(guest.data("{ products { id } }")["products"]) == 2
    assert len(guest.data("{ products(limit: 10) { id } }")["products"]) == 2


# -- columns and introspection ------------------------------------------------------------------


def test_columns_the_role_may_not_read_are_not_in_its_schema(u1: Caller, admin: Caller) -> None:
    assert "Cannot query field 'bio'" in u1.error('{ user(id: "u1") { bio } }')
    assert "Cannot query field 'usersAggregate'" in u1.error("{ usersAggregate { count } }")
    fields = '{ __type(name: "User") { fields { name } } }'
    seen = {f["name"] for f in u1.data(fields)["__type"]["fields"]}
    assert {"id", "name", "email", "embedding"} <= seen
    assert not seen & {"bio", "role", "address", "createdAt"}
    everything = {f["name"] for f in admin.data(fields)["__type"]["fields"]}
    assert {"bio", "role", "createdAt"} <= everything


def test_a_role_without_mutations_sees_no_mutation_type(cluster: Cluster) -> None:
    guest = Caller(cluster, {"authorization": f"Bearer {token('guest')}"})
    data = guest.data("{ __schema { mutationType { name } types { name } } }")
    assert data["__schema"]["mutationType"] is None
    names = {t["name"] for t in data["__schema"]["types"]}
    assert "Product" in names
    assert not names & {"User", "Order", "UserInput", "ProductInput"}


# -- writes: columns, presets, checks, filters -----------------------------------------------


def test_insert_presets_come_from_the_session(u1: Caller, admin: Caller) -> None:
    order = {"id": "o-new", "productIds": ["p2"], "total": 50.0, "createdAt": "2026-03-01"}
    u1.data("mutation($o: OrderInput!) { insertOrder(object: $o) { id } }", {"o": order})
    stored = admin.data('{ order(id: "o-new") { userId status total } }')["order"]
    assert stored == {"userId": "u1", "status": "PENDING", "total": 50.0}


def test_a_preset_column_cannot_be_given(u1: Caller) -> None:
    order = {"id": "o-x", "userId": "u2", "productIds": [], "total": 1.0, "createdAt": "x"}
    message = u1.error("mutation($o: OrderInput!) { insertOrder(object: $o) { id } }", {"o": order})
    assert "userId" in message


def test_a_failed_check_writes_nothing(u1: Caller, admin: Caller) -> None:
    orders = [
        {"id": "o-ok", "productIds": [], "total": 5.0, "createdAt": "x"},
        {"id": "o-big", "productIds": [], "total": 5000.0, "createdAt": "x"},
    ]
    message = u1.error(
        "mutation($o: [OrderInput!]!) { insertOrders(objects: $o) { id } }", {"o": orders}
    )
    assert "FORBIDDEN" in message and "check" in message
    assert admin.data('{ a: order(id: "o-ok") { id } b: order(id: "o-big") { id } }') == {
        "a": None,
        "b": None,
    }


def test_update_only_own_row_and_only_granted_columns(u1: Caller, admin: Caller) -> None:
    mutation = 'mutation($id: ID!) { updateUser(id: $id, set: {name: "Renamed"}) { id name } }'
    assert u1.data(mutation, {"id": "u1"}) == {"updateUser": {"id": "u1", "name": "Renamed"}}
    assert u1.data(mutation, {"id": "u2"}) == {"updateUser": None}
    assert admin.data('{ user(id: "u2") { name } }') == {"user": {"name": "User 2"}}
    assert "bio" in u1.error('mutation { updateUser(id: "u1", set: {bio: "x"}) { id } }')
    assert u1.data('mutation { updateUsers(where: {}, set: {name: "All"}) }') == {"updateUsers": 1}
    assert admin.data('{ user(id: "u2") { name } }') == {"user": {"name": "User 2"}}


def test_delete_only_rows_the_delete_filter_admits(u1: Caller, admin: Caller) -> None:
    mine = [("d1", "u1", "PENDING"), ("d2", "u1", "PAID"), ("d3", "u2", "PENDING")]
    orders = [
        {"id": i, "userId": u, "status": s, "productIds": [], "total": 1.0, "createdAt": "x"}
        for i, u, s in mine
    ]
    admin.data("mutation($o: [OrderInput!]!) { insertOrders(objects: $o) { id } }", {"o": orders})
    assert u1.data('mutation { deleteOrder(id: "d3") { id } }') == {"deleteOrder": None}
    assert u1.data('mutation { deleteOrder(id: "d2") { id } }') == {"deleteOrder": None}
    many = 'mutation { deleteOrders(where: {id: {_in: ["d1", "d2", "d3"]}}) }'
    assert u1.data(many) == {"deleteOrders": 1}
    left = admin.data('{ orders(where: {id: {_in: ["d1", "d2", "d3"]}}) { id } }')["orders"]
    assert sorted(o["id"] for o in left) == ["d2", "d3"]


# -- service roles, admin acting as a role, propagation --------------------------------------


def test_a_service_role_writes_its_own_collections_only(cluster: Cluster) -> None:
    orders = Caller(cluster, {"authorization": f"Bearer {token('orders', 'svc')}"})
    order = {
        "id": "o-svc",
        "userId": "u2",
        "productIds": [],
        "total": 99999.0,
        "status": "PAID",
        "createdAt": "x",
    }
    mutation = "mutation($o: OrderInput!) { insertOrder(object: $o) { id userId } }"
    assert orders.data(mutation, {"o": order}) == {"insertOrder": {"id": "o-svc", "userId": "u2"}}
    assert orders.data('{ user(id: "u2") { name } }') == {"user": {"name": "User 2"}}
    assert "insertUser" in orders.error('mutation { insertUser(object: {id: "z"}) { id } }')


def test_the_admin_can_try_a_role_out(cluster: Cluster) -> None:
    as_user = Caller(
        cluster,
        {
            "x-shardgate-admin-secret": ADMIN,
            "x-shardgate-role": "user",
            "x-shardgate-user-id": "u2",
        },
    )
    assert as_user.data("{ users { id } }") == {"users": [{"id": "u2"}]}


def test_the_verified_session_reaches_external_subgraphs(cluster: Cluster) -> None:
    spoofed = {
        "authorization": f"Bearer {token('user', 'u1', **{'org-id': 'o7'})}",
        "x-shardgate-user-id": "someone-else",
        "x-shardgate-org-id": "evil",
        "x-shardgate-role": "user",
    }
    caller = Caller(cluster, spoofed).data("{ caller { role userId orgId } }")["caller"]
    assert caller == {"role": "user", "userId": "u1", "orgId": "o7"}


def test_no_token_no_data(cluster: Cluster) -> None:
    resp = httpx.post(cluster.url + "/graphql", json={"query": "{ users { id } }"})
    assert resp.status_code == 401
