"""OpenTelemetry traces from real processes, exported over OTLP/HTTP to a real receiver.

One cluster (gateway and 3 shards, auth on) and one `shardgate gateway` in front of its
subgraphs, all exporting to the receiver of tests/support/otlp.py, which decodes the protobuf
exports. The edge gateway's `products` subgraph points at a closed port, so fetches from it fail.
"""

from __future__ import annotations

import base64
import json
import secrets
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from tests.support.cluster import REPO, Cluster, running_cluster
from tests.support.gateways import shardgate_gateway
from tests.support.otlp import OtlpReceiver, Spans, otlp_receiver
from tests.support.ports import free_port
from tests.support.processes import OutputLine, running_process

pytestmark = pytest.mark.slow

JWT_SECRET = "jwt-secret-for-telemetry-tests-0123456789"
ADMIN = "admin-secret-for-telemetry-tests"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"telemetry-tests-webhook-secret!!").decode()
NS = "https://shardgate.dev/claims"
MARKER = "variable-value-that-must-not-be-traced"


def token() -> str:
    claims = {
        "sub": "u1",
        "exp": int(time.time()) + 600,
        NS: {"default-role": "user", "allowed-roles": ["user"], "user-id": "u1"},
    }
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(JWT_SECRET.encode()))


TOKEN = token()


def traceparent() -> tuple[str, str, str]:
    """(header, trace id, parent span id) of a sampled client span."""
    trace_id, span_id = secrets.token_hex(16), secrets.token_hex(8)
    return f"00-{trace_id}-{span_id}-01", trace_id, span_id


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with otlp_receiver() as r:
        yield r


def exporting(receiver: OtlpReceiver, service: str) -> dict[str, str]:
    return {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,  # alone, it turns the OTLP exporter on
        "OTEL_BSP_SCHEDULE_DELAY": "50",  # ms between exports: the test polls for spans
        "OTEL_SERVICE_NAME": service,
    }


@pytest.fixture(scope="module")
def webhooks() -> Iterator[str]:
    port = free_port()
    argv = [sys.executable, "-m", "tests.support.receiver", "--port", str(port)]
    with running_process(
        [*argv, "--secret", WEBHOOK_SECRET],
        ready=OutputLine(r"^READY \d+$"),
        cwd=REPO,
        name="webhooks",
    ):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, receiver: OtlpReceiver) -> Iterator[Cluster]:
    env = {
        **exporting(receiver, "store"),
        "SHARDGATE_JWT_SECRET": JWT_SECRET,
        "SHARDGATE_ADMIN_SECRET": ADMIN,
        "SHARDGATE_ANONYMOUS_ROLE": "guest",  # the edge gateway forwards no token
        "SHARDGATE_TRIGGERS_ALLOW_PRIVATE": "1",
    }
    with running_cluster(tmp_path_factory.mktemp("telemetry"), env=env) as c:
        c.http.headers["authorization"] = f"Bearer {TOKEN}"
        c.graphql(
            "mutation { insertUsers(objects: ["
            '{id: "t1", email: "t1@x.io", name: "Tia", role: ADMIN, createdAt: "t",'
            " embedding: [1, 0, 0, 0, 0, 0, 0, 0]},"
            '{id: "t2", email: "t2@x.io", name: "Tom", role: MEMBER, createdAt: "t",'
            " embedding: [0, 1, 0, 0, 0, 0, 0, 0]}]) { id } }"
        )
        c.graphql(
            "mutation { insertOrders(objects: ["
            '{id: "to1", userId: "t1", productIds: ["tp1"], total: 5, status: PAID,'
            ' createdAt: "t"},'
            '{id: "to2", userId: "t2", productIds: [], total: 7, status: PAID, createdAt: "t"}'
            "]) { id } }"
        )
        yield c


@pytest.fixture(scope="module")
def edge(cluster: Cluster, receiver: OtlpReceiver) -> Iterator[str]:
    urls = {s: f"{cluster.url}/subgraphs/{s}/graphql" for s in ("users", "orders", "products")}
    dead = f"http://127.0.0.1:{free_port()}/graphql"
    with shardgate_gateway(
        compose_from=urls,
        extra=["--subgraph-url", f"products={dead}"],
        env=exporting(receiver, "edge"),
    ) as url:
        yield url


def in_trace(spans: Spans, trace_id: str) -> Spans:
    return [s for s in spans if s["trace_id"] == trace_id]


def named(spans: Spans, name: str) -> Spans:
    return [s for s in spans if s["name"] == name]


def one(spans: Spans, name: str) -> dict[str, Any]:
    found = named(spans, name)
    assert len(found) == 1, f"{name}: {[s['name'] for s in spans]}"
    return found[0]


def children(spans: Spans, parent: dict[str, Any]) -> Spans:
    return [s for s in spans if s["parent_span_id"] == parent["span_id"]]


def calls_answered(spans: Spans, *fetches: str) -> bool:
    """Whether every shard call (and these fetches) has its server span in the receiver: the
    processes export on their own schedules. A server span ends after its children, so they
    are exported with it or before."""
    calls = [s for s in spans if s["name"].startswith("shard /") or s["name"] in fetches]
    parents = {s["parent_span_id"] for s in spans if s["kind"] == "SERVER"}
    return all(c["span_id"] in parents for c in calls)


def assert_connected(spans: Spans, root_parent: str) -> None:
    """Every span's parent is in the trace, except the root's, which is the client's span."""
    ids = {s["span_id"] for s in spans}
    orphans = [s["name"] for s in spans if s["parent_span_id"] not in ids]
    roots = [s for s in spans if s["parent_span_id"] == root_parent]
    assert len(roots) == 1 and len(orphans) == 1, orphans


def test_a_request_is_one_trace_from_the_gateway_through_the_shards(
    cluster: Cluster, receiver: OtlpReceiver
) -> None:
    header, trace_id, client_span = traceparent()
    query = "query Recent($n: Int) { orders(limit: $n) { id user { name } } }"
    resp = cluster.http.post(
        cluster.url + "/graphql",
        json={"query": query, "variables": {"n": 5}},
        headers={"traceparent": header},
    )
    assert resp.status_code == 200 and not resp.json().get("errors"), resp.text

    def complete(spans: Spans) -> bool:
        spans = in_trace(spans, trace_id)
        names = {s["name"] for s in spans}
        wanted = {"POST /graphql", "shard /query", "shard /get"}
        return wanted <= names and calls_answered(spans)

    spans = in_trace(
        receiver.wait_for(complete, "the request's spans from every process"), trace_id
    )
    server = one(spans, "POST /graphql")
    assert server["parent_span_id"] == client_span  # the client's traceparent, continued
    assert server["kind"] == "SERVER"
    assert server["resource"]["service.name"] == "store"
    assert server["attributes"]["graphql.operation.name"] == "Recent"
    assert server["attributes"]["graphql.operation.type"] == "query"
    assert server["attributes"]["http.response.status_code"] == 200
    assert "graphql.document" not in server["attributes"]  # not configured
    stages = [s["name"] for s in sorted(children(spans, server), key=lambda s: s["start"])]
    assert stages == [
        "authenticate",
        "graphql.parse",
        "graphql.validate",
        "graphql.plan",
        "graphql.execute",
    ]
    assert one(spans, "graphql.plan")["attributes"]["shardgate.cache.hit"] is False
    execute = one(spans, "graphql.execute")
    fetches = children(spans, execute)
    assert {s["name"] for s in fetches} == {"subgraph orders", "subgraph users"}
    assert all(s["kind"] == "CLIENT" for s in fetches)
    assert {s["attributes"]["subgraph.name"] for s in fetches} == {"orders", "users"}
    # Shard calls: a CLIENT span in the gateway, a SERVER span in the shard process under it,
    # and the SQLite work under that.
    calls = [s for s in spans if s["name"].startswith("shard /")]
    assert calls and all(s["kind"] == "CLIENT" for s in calls)
    fetch_ids = {s["span_id"] for s in fetches}
    assert all(s["parent_span_id"] in fetch_ids for s in calls)
    for call in calls:
        [served] = children(spans, call)
        assert served["kind"] == "SERVER"
        assert served["resource"]["service.name"] == "store-shard"
        shard = served["resource"]["service.instance.id"]
        assert shard == call["attributes"]["shardgate.shard.id"]
        operation = call["attributes"]["shardgate.shard.operation"]
        assert served["name"] == f"POST /{operation}"
        [work] = children(spans, served)
        assert work["name"] == f"sqlite {operation}"
        assert work["attributes"]["db.system.name"] == "sqlite"
    assert_connected(spans, client_span)
    assert all(s["status"]["code"] != "ERROR" for s in spans)


def test_a_second_request_hits_the_caches(cluster: Cluster, receiver: OtlpReceiver) -> None:
    query = "query Again { users(limit: 1) { id } }"
    cluster.graphql(query)
    header, trace_id, _ = traceparent()
    cluster.http.post(
        cluster.url + "/graphql", json={"query": query}, headers={"traceparent": header}
    )
    spans = receiver.wait_for(
        lambda spans: named(in_trace(spans, trace_id), "graphql.execute"), "the second request"
    )
    spans = in_trace(spans, trace_id)
    assert one(spans, "graphql.validate")["attributes"]["shardgate.cache.hit"] is True
    assert one(spans, "graphql.plan")["attributes"]["shardgate.cache.hit"] is True


def test_vector_searches_have_faiss_spans(cluster: Cluster, receiver: OtlpReceiver) -> None:
    header, trace_id, _ = traceparent()
    query = "{ searchUsers(vector: [1, 0, 0, 0, 0, 0, 0, 0], k: 1) { score user { id } } }"
    resp = cluster.http.post(
        cluster.url + "/graphql", json={"query": query}, headers={"traceparent": header}
    )
    assert resp.json()["data"]["searchUsers"][0]["user"]["id"] == "t1", resp.text

    def searched(spans: Spans) -> bool:  # each with its parent, which ends later
        ids = {s["span_id"] for s in spans}
        found = named(in_trace(spans, trace_id), "faiss search")
        return bool(found) and all(s["parent_span_id"] in ids for s in found)

    spans = receiver.wait_for(searched, "faiss search spans and their parents")
    for search in named(in_trace(spans, trace_id), "faiss search"):
        assert search["attributes"]["shardgate.vector.field"] == "embedding"
        assert search["attributes"]["shardgate.vector.k"] == 1
        parent = [s for s in spans if s["span_id"] == search["parent_span_id"]]
        # Searches to a shard in one event-loop turn go out as one POST /searches.
        assert parent and parent[0]["name"] == "POST /searches"


def test_two_gateways_one_trace_and_a_failing_subgraph_is_an_error(
    cluster: Cluster, edge: str, receiver: OtlpReceiver
) -> None:
    header, trace_id, client_span = traceparent()
    resp = httpx.post(
        edge,
        json={"query": "query Shop { orders(limit: 2) { id products { name } } }"},
        headers={"traceparent": header},
        timeout=30,
        trust_env=False,
    )
    body = resp.json()
    assert body["data"]["orders"] and body["errors"], body

    def complete(spans: Spans) -> bool:
        spans = in_trace(spans, trace_id)
        names = {s["name"] for s in spans}
        wanted = {"POST /graphql", "POST /subgraphs/{service}/graphql", "shard /query"}
        return wanted <= names and calls_answered(spans, "subgraph orders")

    spans = in_trace(receiver.wait_for(complete, "spans of both gateways and the shards"), trace_id)
    edge_server = one(spans, "POST /graphql")
    assert edge_server["resource"]["service.name"] == "edge"
    assert edge_server["parent_span_id"] == client_span
    failed = one(spans, "subgraph products")
    assert failed["status"]["code"] == "ERROR"
    assert failed["status"]["message"].startswith("subgraph products failed: unreachable")
    [execute] = named(children(spans, edge_server), "graphql.execute")
    assert execute["status"]["code"] == "ERROR"
    # The edge's fetch from `orders` continues in the store gateway, then in the shards.
    orders = one(spans, "subgraph orders")
    [store] = children(spans, orders)
    assert store["name"] == "POST /subgraphs/{service}/graphql"
    assert store["resource"]["service.name"] == "store"
    assert store["attributes"]["url.path"] == "/subgraphs/orders/graphql"
    assert {s["resource"]["service.name"] for s in spans} == {"edge", "store", "store-shard"}
    assert_connected(spans, client_span)


def test_trigger_deliveries_are_traced_and_send_traceparent(
    cluster: Cluster, receiver: OtlpReceiver, webhooks: str
) -> None:
    trigger = {
        "name": "traced_users",
        "collection": "users.User",
        "ops": ["INSERT"],
        "url": f"{webhooks}/traced",
        "secret": WEBHOOK_SECRET,
    }
    added = cluster.http.post(
        cluster.url + "/admin/triggers", json=trigger, headers={"x-shardgate-admin-secret": ADMIN}
    )
    assert added.status_code == 200, added.text
    cluster.graphql(
        'mutation { insertUser(object: {id: "t3", email: "t3@x.io", name: "Tess", '
        'role: GUEST, createdAt: "t"}) { id } }'
    )
    deliveries: list[dict[str, Any]] = []

    def delivered() -> bool:
        found = cluster.http.get(webhooks + "/_deliveries").json()["deliveries"]
        deliveries[:] = [d for d in found if d["path"] == "/traced"]
        return bool(deliveries)

    cluster.gateway.wait_until(delivered, "the webhook delivery", 20)  # type: ignore[union-attr]
    _, trace_id, span_id, _ = deliveries[0]["headers"]["traceparent"].split("-")
    spans = receiver.wait_for(
        lambda spans: [s for s in spans if s["span_id"] == span_id], "the delivery's span"
    )
    [span] = [s for s in spans if s["span_id"] == span_id]
    assert span["trace_id"] == trace_id
    assert span["name"] == "webhook traced_users"
    assert span["kind"] == "CLIENT"
    assert span["attributes"]["shardgate.trigger.name"] == "traced_users"
    assert span["attributes"]["http.response.status_code"] == 204
    assert span["resource"]["service.name"] == "store-shard"


def test_no_token_secret_variable_host_or_sql_in_any_span(
    cluster: Cluster, edge: str, receiver: OtlpReceiver
) -> None:
    bad = cluster.http.post(
        cluster.url + "/graphql",
        json={"query": "{ users { id } }"},
        headers={"authorization": "Bearer not-a-token"},
    )
    assert bad.status_code == 401
    cluster.http.post(
        cluster.url + "/graphql",
        json={
            "query": "query Find($id: ID!) { user(id: $id) { id } }",
            "variables": {"id": MARKER},
        },
    )
    spans = receiver.wait_for(
        lambda spans: (
            any(s["name"] == "authenticate" and s["status"]["code"] == "ERROR" for s in spans)
            and any(s["attributes"].get("graphql.operation.name") == "Find" for s in spans)
        ),
        "the refused and the variables request",
    )
    refused = [s for s in spans if s["name"] == "authenticate" and s["status"]["code"] == "ERROR"]
    assert refused[0]["status"]["message"].startswith("UNAUTHENTICATED")
    # Background work (health checks, registry polls) is not traced: every trace starts at a
    # GraphQL request or a webhook delivery.
    roots = {s["name"] for s in spans if not s["parent_span_id"]}
    assert roots <= {"POST /graphql", "POST /subgraphs/{service}/graphql", "webhook traced_users"}
    text = json.dumps(spans)
    for secret in (TOKEN, JWT_SECRET, ADMIN, WEBHOOK_SECRET, "not-a-token", MARKER):
        assert secret not in text
    for leak in ("127.0.0.1", "localhost", "SELECT ", "INSERT ", "Traceback", "http://"):
        assert leak not in text, leak
