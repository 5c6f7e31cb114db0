"""Rate limits across gateway processes: two `shardgate gateway` processes sharing one limit
in a real redis-server, and what each does when Redis goes away (fail open / fail closed)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey

from tests.support.cluster import REPO
from tests.support.ports import free_port
from tests.support.processes import HttpReady, ManagedProcess, running_process
from tests.support.redis import Redis, running_redis

pytestmark = pytest.mark.slow

SUPERGRAPH = REPO / "tests" / "fixtures" / "supergraphs" / "shop.graphql"
SECRET = "r" * 32
NS = "https://shardgate.dev/claims"
QUERY = {"query": "{ __typename }"}  # answered by the gateway itself: no subgraph needed


def bearer(subject: str) -> dict[str, str]:
    claims = {
        "sub": subject,
        "exp": int(time.time()) + 300,
        NS: {"default-role": "user", "allowed-roles": ["user"], "user-id": subject},
    }
    token = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(SECRET.encode()))
    return {"authorization": f"Bearer {token}"}


@contextmanager
def gateway(redis: Redis, fail: str) -> Iterator[tuple[str, ManagedProcess]]:
    port = free_port()
    argv = [sys.executable, "-m", "gateway", "gateway", "--port", str(port)]
    argv += ["--supergraph", str(SUPERGRAPH)]
    env = {
        "SHARDGATE_JWT_SECRET": SECRET,
        "SHARDGATE_RATE_LIMIT": "3/hour",
        "SHARDGATE_RATE_LIMIT_STORAGE": redis.url,
        "SHARDGATE_RATE_LIMIT_FAIL": fail,
    }
    with running_process(
        argv,
        name=f"gateway-fail-{fail}",
        cwd=REPO,
        env=env,
        ready=HttpReady(f"http://127.0.0.1:{port}/healthz"),
    ) as process:
        yield f"http://127.0.0.1:{port}/graphql", process


Setup = tuple[Redis, tuple[str, ManagedProcess], tuple[str, ManagedProcess]]


@pytest.fixture
def two_gateways() -> Iterator[Setup]:
    with ExitStack() as stack:
        redis = stack.enter_context(running_redis())
        fail_open = stack.enter_context(gateway(redis, "open"))
        fail_closed = stack.enter_context(gateway(redis, "closed"))
        yield redis, fail_open, fail_closed


def test_two_gateways_share_one_limit_in_redis(two_gateways: Setup) -> None:
    _, (a, _), (b, _) = two_gateways
    user = bearer("shared-user")
    with httpx.Client(timeout=10, trust_env=False) as http:
        answers = [http.post(url, json=QUERY, headers=user) for url in (a, b, a)]
        assert [r.status_code for r in answers] == [200, 200, 200]
        assert [r.headers["ratelimit"] for r in answers] == [
            '"default";r=2;t=3600',
            '"default";r=1;t=3600',
            '"default";r=0;t=3600',
        ]
        limited = http.post(b, json=QUERY, headers=user)  # the fourth, on the other gateway
        assert limited.status_code == 429
        assert limited.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert int(limited.headers["retry-after"]) > 3500
        assert limited.headers["ratelimit-policy"] == '"default";q=3;w=3600'
        other = http.post(b, json=QUERY, headers=bearer("someone-else"))
        assert other.status_code == 200 and other.json() == {"data": {"__typename": "Query"}}


def test_without_redis_one_fails_open_the_other_closed(two_gateways: Setup) -> None:
    redis, (fail_open, open_process), (fail_closed, closed_process) = two_gateways
    user = bearer("outage-user")
    with httpx.Client(timeout=10, trust_env=False) as http:
        assert http.post(fail_closed, json=QUERY, headers=user).status_code == 200
        redis.stop()
        served = http.post(fail_open, json=QUERY, headers=user)
        assert served.status_code == 200 and served.json() == {"data": {"__typename": "Query"}}
        assert "ratelimit" not in served.headers  # nothing is known about the quota
        refused = http.post(fail_closed, json=QUERY, headers=user)
        assert refused.status_code == 503
        [error] = refused.json()["errors"]
        assert error["extensions"]["code"] == "RATE_LIMIT_UNAVAILABLE"
        assert "127.0.0.1" not in error["message"] and "redis" not in error["message"].lower()
    for process, how in ((open_process, "open"), (closed_process, "closed")):
        process.wait_for_line(
            f"rate limits: storage unreachable .*; failing {how}", stream="stderr", timeout=10
        )
