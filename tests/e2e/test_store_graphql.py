"""The generated store API, through the gateway, on a real 3-shard cluster (replication 2)."""

from __future__ import annotations

import json

import pytest

from tests.support.cluster import Cluster

pytestmark = pytest.mark.slow

USER_FIELDS = 'role: MEMBER, createdAt: "2026-01-01"'


def insert_users(cluster: Cluster, *rows: tuple[str, str, str | None]) -> None:
    objects = ", ".join(
        f'{{id: "{i}", email: "{e}", name: {json.dumps(n)}, {USER_FIELDS}}}' for i, e, n in rows
    )
    cluster.graphql(f"mutation {{ insertUsers(objects: [{objects}]) {{ id }} }}")


def test_insert_then_read_by_key_list_and_aggregate(cluster: Cluster) -> None:
    insert_users(
        cluster, ("a1", "a1@x.io", "Ann"), ("a2", "a2@x.io", "Bob"), ("a3", "a3@x.io", None)
    )
    data = cluster.graphql("""{
      user(id: "a2") { id email name }
      users(where: {id: {_in: ["a1", "a2", "a3"]}}, orderBy: [{name: ASC}]) { id }
      usersAggregate(where: {id: {_in: ["a1", "a2", "a3"]}}) { count }
    }""")
    assert data["user"] == {"id": "a2", "email": "a2@x.io", "name": "Bob"}
    # ASC puts nulls last, as Postgres does.
    assert [u["id"] for u in data["users"]] == ["a1", "a2", "a3"]
    assert data["usersAggregate"]["count"] == 3


def test_each_document_lives_on_exactly_replication_shards(cluster: Cluster) -> None:
    insert_users(cluster, *[(f"p{i}", f"p{i}@x.io", f"P{i}") for i in range(30)])
    keys = [f"p{i}" for i in range(30)]
    copies = dict.fromkeys(keys, 0)
    for shard_id in cluster.shard_ports:
        for key, doc in zip(keys, cluster.shard_get(shard_id, "users.User", keys), strict=True):
            if doc is not None:
                copies[key] += 1
    assert set(copies.values()) == {2}
    # And a list over the whole cluster returns each once, not once per replica.
    data = cluster.graphql('{ users(where: {email: {_like: "p%@x.io"}}) { id } }')
    assert sorted(u["id"] for u in data["users"]) == sorted(keys)


def test_global_order_limit_and_offset_across_shards(cluster: Cluster) -> None:
    objects = ", ".join(
        f'{{id: "q{i}", sku: "Q{i}", name: "item {i:02d}", price: {(i * 37) % 50}.5, stock: {i}}}'
        for i in range(40)
    )
    cluster.graphql(f"mutation {{ insertProducts(objects: [{objects}]) {{ id }} }}")
    data = cluster.graphql("""{
      products(where: {sku: {_like: "Q%"}}, orderBy: [{price: DESC}, {name: ASC}],
               limit: 5, offset: 3) { name price }
      productsAggregate(where: {sku: {_like: "Q%"}}) {
        count sum { price stock } min { price } max { price } avg { stock }
      }
    }""")
    expected = sorted(
        ((((i * 37) % 50) + 0.5, f"item {i:02d}") for i in range(40)), key=lambda t: (-t[0], t[1])
    )[3:8]
    assert [(p["price"], p["name"]) for p in data["products"]] == expected
    agg = data["productsAggregate"]
    assert agg["count"] == 40
    assert agg["sum"]["stock"] == sum(range(40))
    assert agg["min"]["price"] == 0.5 and agg["max"]["price"] == 49.5
    assert agg["avg"]["stock"] == pytest.approx(19.5)


def test_references_resolve_across_services(cluster: Cluster) -> None:
    insert_users(cluster, ("r1", "r1@x.io", "Rita"))
    cluster.graphql(
        'mutation { insertProduct(object: {id: "rp1", sku: "RP1", name: "Lamp", '
        "price: 30, stock: 1}) { id } }"
    )
    cluster.graphql(
        'mutation { insertOrder(object: {id: "ro1", userId: "r1", '
        'productIds: ["rp1", "missing"], total: 30, status: PAID, '
        'createdAt: "2026-03-01"}) { id } }'
    )
    data = cluster.graphql('{ order(id: "ro1") { id user { name } products { name } } }')
    # A reference to a document that does not exist is null in the list (as in Apollo).
    assert data["order"] == {
        "id": "ro1",
        "user": {"name": "Rita"},
        "products": [{"name": "Lamp"}, None],
    }


def test_update_upsert_and_delete(cluster: Cluster) -> None:
    insert_users(cluster, ("u1", "u1@x.io", "Una"))
    data = cluster.graphql('mutation { updateUser(id: "u1", set: {name: "Uma"}) { name email } }')
    assert data["updateUser"] == {"name": "Uma", "email": "u1@x.io"}
    data = cluster.graphql(
        f'mutation {{ upsertUser(object: {{id: "u1", email: "u1b@x.io", '
        f'name: "U", {USER_FIELDS}}}) {{ email }} }}'
    )
    assert data["upsertUser"] == {"email": "u1b@x.io"}
    # The old unique value was released by the upsert.
    insert_users(cluster, ("u2", "u1@x.io", "Other"))
    assert cluster.graphql('mutation { deleteUser(id: "u1") { id } }') == {
        "deleteUser": {"id": "u1"}
    }
    assert cluster.graphql('{ user(id: "u1") { id } }') == {"user": None}
    assert cluster.graphql('mutation { deleteUser(id: "u1") { id } }') == {"deleteUser": None}
    assert cluster.graphql('mutation { updateUser(id: "u1", set: {name: "x"}) { id } }') == {
        "updateUser": None
    }


def test_update_and_delete_many_by_filter(cluster: Cluster) -> None:
    insert_users(cluster, *[(f"m{i}", f"m{i}@x.io", "many") for i in range(12)])
    n = cluster.graphql(
        'mutation { updateUsers(where: {name: {_eq: "many"}}, set: {bio: "bulk"}) }'
    )["updateUsers"]
    assert n == 12
    data = cluster.graphql('{ usersAggregate(where: {bio: {_eq: "bulk"}}) { count } }')
    assert data["usersAggregate"]["count"] == 12
    assert cluster.graphql('mutation { deleteUsers(where: {bio: {_eq: "bulk"}}) }') == {
        "deleteUsers": 12
    }
    assert cluster.graphql('{ users(where: {name: {_eq: "many"}}) { id } }') == {"users": []}


def test_unique_is_enforced_across_the_whole_cluster(cluster: Cluster) -> None:
    insert_users(cluster, ("x1", "same@x.io", "First"))
    # Keys that land on other shards still collide on the unique value.
    for key in ("x2", "x3", "x4", "x5"):
        errors = cluster.errors(
            f'mutation {{ insertUser(object: {{id: "{key}", '
            f'email: "same@x.io", {USER_FIELDS}}}) {{ id }} }}'
        )
        assert errors[0]["extensions"]["code"] == "CONSTRAINT_VIOLATION"
        assert "email" in errors[0]["message"]
        assert errors[0]["path"] == ["insertUser"]
        assert cluster.graphql(f'{{ user(id: "{key}") {{ id }} }}') == {"user": None}
    # A batch that collides with itself is refused whole.
    errors = cluster.errors(
        f'mutation {{ insertUsers(objects: [{{id: "y1", email: "y@x.io", '
        f'{USER_FIELDS}}}, {{id: "y2", email: "y@x.io", {USER_FIELDS}}}]) '
        "{ id } }"
    )
    assert errors[0]["extensions"]["code"] == "CONSTRAINT_VIOLATION"
    assert cluster.graphql('{ users(where: {id: {_in: ["y1", "y2"]}}) { id } }') == {"users": []}


def test_inserting_an_existing_key_is_refused(cluster: Cluster) -> None:
    insert_users(cluster, ("k1", "k1@x.io", "K"))
    errors = cluster.errors(
        f'mutation {{ insertUser(object: {{id: "k1", email: "k1b@x.io", '
        f"{USER_FIELDS}}}) {{ id }} }}"
    )
    assert errors[0]["extensions"]["code"] == "CONSTRAINT_VIOLATION"
    assert "upsertUser" in errors[0]["message"]
    assert cluster.graphql('{ user(id: "k1") { email } }') == {"user": {"email": "k1@x.io"}}
    # Refused with its own unique value: the existing document keeps its claim on it.
    errors = cluster.errors(
        f'mutation {{ insertUser(object: {{id: "k1", email: "k1@x.io", {USER_FIELDS}}}) {{ id }} }}'
    )
    assert "already exists" in errors[0]["message"]
    errors = cluster.errors(
        f'mutation {{ insertUser(object: {{id: "k2", email: "k1@x.io", {USER_FIELDS}}}) {{ id }} }}'
    )
    assert "must be unique" in errors[0]["message"]
    # A batch with one taken key writes none of its documents.
    errors = cluster.errors(
        f'mutation {{ insertUsers(objects: [{{id: "k3", email: "k3@x.io", '
        f'{USER_FIELDS}}}, {{id: "k1", email: "k1c@x.io", {USER_FIELDS}}}]) '
        "{ id } }"
    )
    assert errors[0]["extensions"]["code"] == "CONSTRAINT_VIOLATION"
    assert cluster.graphql('{ user(id: "k3") { id } }') == {"user": None}
    insert_users(cluster, ("k3", "k3@x.io", "now fine"), ("k4", "k1c@x.io", "released"))


@pytest.mark.parametrize(
    ("query", "code", "fragment"),
    [
        ("{ users { id nosuch } }", "GRAPHQL_VALIDATION_FAILED", "nosuch"),
        ("{ nosuchCollection { id } }", "GRAPHQL_VALIDATION_FAILED", "nosuchCollection"),
        (
            'mutation { insertUser(object: {id: "v1", email: 5}) { id } }',
            "GRAPHQL_VALIDATION_FAILED",
            "String",
        ),
        (
            'mutation { insertUser(object: {id: "v1"}) { id } }',
            "GRAPHQL_VALIDATION_FAILED",
            "email",
        ),
        ("{ users(where: {name: {_eq: null}}) { id } }", "BAD_USER_INPUT", "_is_null"),
        (
            "{ users(orderBy: [{name: ASC, email: DESC}]) { id } }",
            "BAD_USER_INPUT",
            "exactly one field",
        ),
        ("{ users(limit: -1) { id } }", "BAD_USER_INPUT", "limit"),
        (
            'mutation { insertUser(object: {id: "v2", email: "v2@x.io", role: MEMBER, '
            'createdAt: "t", embedding: [1, 2]}) { id } }',
            "BAD_USER_INPUT",
            "8 dimensions",
        ),
        ('mutation { updateUser(id: "nobody", set: {email: null}) { id } }', None, None),
    ],
)
def test_bad_input_gets_a_coded_error_never_a_traceback(
    cluster: Cluster, query: str, code: str | None, fragment: str | None
) -> None:
    result = cluster.post(query)
    if code is None:  # valid, harmless: updating nobody returns null
        assert "errors" not in result
        return
    error = result["errors"][0]
    assert error["extensions"]["code"] == code, error
    assert fragment in error["message"]
    assert "Traceback" not in str(result) and "sqlite" not in str(result).lower()


def test_oversized_document_is_refused_and_nothing_is_written(cluster: Cluster) -> None:
    big = "x" * (1 << 20)
    errors = cluster.errors(
        'mutation($bio: String) { insertUser(object: {id: "big", email: "big@x.io", '
        f"bio: $bio, {USER_FIELDS}}}) {{ id }} }}",
        {"bio": big},
    )
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "over the limit" in errors[0]["message"]
    for shard_id in cluster.shard_ports:
        assert cluster.shard_get(shard_id, "users.User", ["big"]) == [None]
    # Its unique value was never claimed.
    insert_users(cluster, ("big2", "big@x.io", "ok"))


def test_malformed_requests_get_http_errors(cluster: Cluster) -> None:
    resp = cluster.http.post(
        cluster.url + "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert resp.status_code == 400
    assert "not valid JSON" in resp.json()["errors"][0]["message"]
    resp = cluster.http.post(
        cluster.url + "/graphql", content=b"query", headers={"content-type": "text/plain"}
    )
    assert resp.status_code == 400  # a form could send that: CSRF
    assert resp.json()["errors"][0]["extensions"]["code"] == "CSRF_ERROR"
    resp = cluster.http.post(
        cluster.url + "/graphql",
        content=b"query",
        headers={"content-type": "text/plain", "x-shardgate-csrf": "1"},
    )
    assert resp.status_code == 415
    resp = cluster.http.get(
        cluster.url + "/graphql",
        params={"query": 'mutation { deleteUser(id: "a1") { id } }'},
        headers={"x-shardgate-csrf": "1"},
    )
    assert resp.status_code == 405
    resp = cluster.http.post(
        cluster.url + "/graphql",
        json={"query": "{ users { id "},
        headers={"accept": "application/graphql-response+json"},
    )
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_graphiql_for_browsers_and_get_queries(cluster: Cluster) -> None:
    page = cluster.http.get(cluster.url + "/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    resp = cluster.http.get(
        cluster.url + "/graphql",
        params={"query": "{ usersAggregate { count } }"},
        headers={"apollo-require-preflight": "true"},  # CSRF: a GET needs such a header
    )
    assert resp.status_code == 200 and "usersAggregate" in resp.json()["data"]


def test_each_service_is_a_federation_subgraph(cluster: Cluster) -> None:
    sdl = cluster.graphql("{ _service { sdl } }", path="/subgraphs/orders/graphql")
    text = sdl["_service"]["sdl"]
    assert "@link(" in text and 'type Order @key(fields: "id")' in text
    assert 'type User @key(fields: "id", resolvable: false)' in text
    insert_users(cluster, ("e1", "e1@x.io", "Eve"), ("e2", "e2@x.io", "Eli"))
    data = cluster.graphql(
        "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id name } } }",
        {
            "r": [
                {"__typename": "User", "id": "e2"},
                {"__typename": "User", "id": "none"},
                {"__typename": "User", "id": "e1"},
            ]
        },
        path="/subgraphs/users/graphql",
    )
    assert data["_entities"] == [{"id": "e2", "name": "Eli"}, None, {"id": "e1", "name": "Eve"}]
    resp = cluster.http.post(cluster.url + "/subgraphs/nope/graphql", json={"query": "{ a }"})
    assert resp.status_code == 404


def test_healthz_lists_every_shard(cluster: Cluster) -> None:
    health = cluster.health()
    assert health["status"] == "ok"
    assert set(health["shards"]) == set(cluster.shard_ports)
    assert all(s["alive"] for s in health["shards"].values())
    assert health["services"] == ["orders", "products", "users"]
