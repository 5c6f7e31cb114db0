"""Identity at the gateway, on a real cluster with a JWT secret and an admin secret."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from tests.support.cluster import Cluster, running_cluster

pytestmark = pytest.mark.slow

SECRET = "s" * 32  # HS256 needs at least 32 bytes
ADMIN = "admin-secret-for-tests"
NS = "https://shardgate.dev/claims"


def token(roles: list[str], default: str, **extra: Any) -> str:
    claims = {
        "sub": "u1",
        "exp": int(time.time()) + 300,
        NS: {"default-role": default, "allowed-roles": roles, "user-id": "u1", **extra},
    }
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(SECRET.encode()))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    env = {
        "SHARDGATE_JWT_SECRET": SECRET,
        "SHARDGATE_ADMIN_SECRET": ADMIN,
        "SHARDGATE_MAX_ALIASES": "3",
        "SHARDGATE_RATE_LIMIT": "1000/hour",
        "SHARDGATE_INTROSPECTION_ROLES": "editor",
    }
    with running_cluster(tmp_path_factory.mktemp("auth"), env=env) as c:
        yield c


def post(
    c: Cluster,
    headers: dict[str, str],
    query: str = "{ usersAggregate { count } }",
    path: str = "/graphql",
) -> httpx.Response:
    return c.http.post(c.url + path, json={"query": query}, headers=headers)


def test_no_token_is_401_with_a_coded_error(cluster: Cluster) -> None:
    resp = post(cluster, {})
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"
    [error] = resp.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_valid_token_is_served(cluster: Cluster) -> None:
    resp = post(cluster, {"authorization": f"Bearer {token(['user'], 'user')}"})
    assert resp.status_code == 200 and resp.json() == {"data": {"usersAggregate": {"count": 0}}}


def test_role_selection_is_checked(cluster: Cluster) -> None:
    bearer = {"authorization": f"Bearer {token(['user', 'editor'], 'user')}"}
    assert post(cluster, {**bearer, "x-shardgate-role": "editor"}).status_code == 200
    refused = post(cluster, {**bearer, "x-shardgate-role": "admin"})
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_a_tampered_or_expired_token_is_refused(cluster: Cluster) -> None:
    good = token(["user"], "user")
    head, body, sig = good.split(".")
    forged = f"{head}.{body}.{sig[:-2]}AA"
    assert post(cluster, {"authorization": f"Bearer {forged}"}).status_code == 401
    expired = jwt.encode(
        {"alg": "HS256"},
        {"sub": "u1", "exp": int(time.time()) - 3600},
        OctKey.import_key(SECRET.encode()),
    )
    assert post(cluster, {"authorization": f"Bearer {expired}"}).status_code == 401
    assert "Traceback" not in post(cluster, {"authorization": "Bearer nonsense"}).text


def test_the_admin_api_needs_the_admin_role(cluster: Cluster, tmp_path: Path) -> None:
    user = {"authorization": f"Bearer {token(['user'], 'user')}"}
    assert cluster.http.get(cluster.url + "/admin/status").status_code == 401
    denied = cluster.http.get(cluster.url + "/admin/status", headers=user)
    assert denied.status_code == 403 and "admin" in denied.json()["errors"][0]["message"]
    ok = cluster.http.get(
        cluster.url + "/admin/status", headers={"x-shardgate-admin-secret": ADMIN}
    )
    assert ok.status_code == 200 and len(ok.json()["shards"]) == 3
    wrong = cluster.http.get(
        cluster.url + "/admin/status", headers={"x-shardgate-admin-secret": "guess"}
    )
    assert wrong.status_code == 401
    # Health stays open for load balancers.
    assert cluster.http.get(cluster.url + "/healthz").status_code == 200


def test_operation_limits_come_from_the_environment(cluster: Cluster) -> None:
    bearer = {"authorization": f"Bearer {token(['user'], 'user')}"}
    query = "{ " + " ".join(f"a{i}: usersAggregate {{ count }}" for i in range(4)) + " }"
    refused = post(cluster, bearer, query).json()
    assert refused["errors"][0]["extensions"]["code"] == "MAX_ALIASES_LIMIT"
    assert post(cluster, bearer, "{ a: usersAggregate { count } }").status_code == 200


def test_the_store_gateway_applies_rate_limits_csrf_and_introspection(cluster: Cluster) -> None:
    user = {"authorization": f"Bearer {token(['user', 'editor'], 'user', **{'user-id': 'rl'})}"}
    resp = post(cluster, user)
    assert resp.status_code == 200
    assert resp.headers["ratelimit-policy"] == '"default";q=1000;w=3600'
    assert resp.headers["ratelimit"].startswith('"default";r=')
    admin = post(cluster, {"x-shardgate-admin-secret": ADMIN})
    assert admin.status_code == 200 and "ratelimit" not in admin.headers  # exempt
    forged = cluster.http.post(
        cluster.url + "/graphql",
        content=b'{"query": "{ usersAggregate { count } }"}',
        headers={**user, "content-type": "text/plain"},
    )
    assert forged.status_code == 400
    assert forged.json()["errors"][0]["extensions"]["code"] == "CSRF_ERROR"
    schema = "{ __schema { queryType { name } } }"
    refused = post(cluster, user, schema).json()
    assert refused["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
    allowed = post(cluster, {**user, "x-shardgate-role": "editor"}, schema).json()
    assert allowed == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


def test_healthz_shows_addresses_to_the_admin_only(cluster: Cluster) -> None:
    anyone = cluster.http.get(cluster.url + "/healthz").json()
    assert anyone["status"] == "ok"
    assert all(set(s) == {"alive"} for s in anyone["shards"].values())
    assert "127.0.0.1" not in str(anyone)
    admin = cluster.http.get(cluster.url + "/healthz", headers={"x-shardgate-admin-secret": ADMIN})
    assert all(s["url"].startswith("http://127.0.0.1:") for s in admin.json()["shards"].values())
