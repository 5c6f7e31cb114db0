"""The request path's safety stages, in process with the real authenticator and limiter:
CSRF content types, batching caps, rate-limit responses and headers, token and field caps,
introspection per role and the suggestions that would leak names."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from graphql import build_schema
from joserfc import jwt
from joserfc.jwk import OctKey
from starlette.applications import Starlette
from starlette.routing import Route

from auth import AuthSettings, KeySpec
from auth.operation_limits import OperationLimits
from auth.rate_limit_settings import RateLimitSettings
from auth.rate_limits import RateLimiter
from gateway.authentication import Authenticator
from gateway.graphql_http import Executable, GraphQLEndpoint

SECRET = "k" * 32
ADMIN = "admin-secret"
NS = "https://shardgate.dev/claims"
SCHEMA = build_schema("""
  type Query { hello: String  secretSalary: Int  user: User }
  type User { name: String  friend: User }
  type Mutation { touch: Int }
""")
SCHEMA.query_type.fields["hello"].resolve = lambda *_: "hi"  # type: ignore[union-attr]
SCHEMA.query_type.fields["user"].resolve = lambda *_: {"name": "ann"}  # type: ignore[union-attr]
SCHEMA.mutation_type.fields["touch"].resolve = lambda *_: 1  # type: ignore[union-attr]
JSON = {"content-type": "application/json"}


def bearer(subject: str, role: str = "user") -> dict[str, str]:
    claims = {
        "sub": subject,
        "exp": int(time.time()) + 300,
        NS: {"default-role": role, "allowed-roles": [role], "user-id": subject},
    }
    token = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(SECRET.encode()))
    return {"authorization": f"Bearer {token}"}


Client = Callable[..., Any]


@pytest.fixture
async def make() -> AsyncIterator[Client]:
    """make(limits=..., rate_limits={...}) -> an httpx client on a fresh endpoint."""
    opened: list[Any] = []

    async def build(
        limits: OperationLimits | None = None, rate_limits: dict[str, Any] | None = None
    ) -> httpx.AsyncClient:
        auth = Authenticator(
            AuthSettings(
                keys=(KeySpec("secret", SECRET, ("HS256",)),),
                admin_secret=ADMIN,
                anonymous_role="anonymous",
            )
        )
        await auth.start()
        limiter = RateLimiter(
            RateLimitSettings.from_sources(rate_limits or {}, {}), anonymous_role="anonymous"
        )
        endpoint = GraphQLEndpoint(
            lambda _request: Executable(SCHEMA, "v1", lambda _request: None),
            authenticate=auth.session,
            limits=limits,
            rate_limits=limiter,
        )
        app = Starlette(routes=[Route("/graphql", endpoint.handle, methods=["GET", "POST"])])
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        opened.append((client, auth, limiter))
        return client

    yield build
    for client, auth, limiter in opened:
        await client.aclose()
        await auth.close()
        await limiter.close()


# -- CSRF ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "TEXT/PLAIN",
    ],
)
async def test_simple_content_types_are_refused_as_csrf(make: Client, content_type: str) -> None:
    client = await make()
    body = b'{"query": "mutation { touch }"}'
    resp = await client.post("/graphql", content=body, headers={"content-type": content_type})
    assert resp.status_code == 400
    [error] = resp.json()["errors"]
    assert error["extensions"]["code"] == "CSRF_ERROR" and "x-shardgate-csrf" in error["message"]
    # A header only JavaScript can add (after a preflight) lets it through to the media-type
    # check, which wants JSON.
    for header in ("x-shardgate-csrf", "apollo-require-preflight"):
        let = await client.post(
            "/graphql", content=body, headers={"content-type": content_type, header: "1"}
        )
        assert let.status_code == 415 and let.json()["errors"][0]["extensions"]["code"] != (
            "CSRF_ERROR"
        )


async def test_json_passes_and_get_needs_a_preflight_header(make: Client) -> None:
    client = await make()
    ok = await client.post("/graphql", json={"query": "mutation { touch }"})
    assert ok.json() == {"data": {"touch": 1}}
    no_type = await client.post("/graphql", content=b'{"query": "{ hello }"}')
    assert no_type.json()["errors"][0]["extensions"]["code"] == "CSRF_ERROR"
    get = await client.get("/graphql", params={"query": "{ hello }"})
    assert get.status_code == 400 and get.json()["errors"][0]["extensions"]["code"] == "CSRF_ERROR"
    preflighted = await client.get(
        "/graphql", params={"query": "{ hello }"}, headers={"apollo-require-preflight": "true"}
    )
    assert preflighted.json() == {"data": {"hello": "hi"}}


# -- batching --------------------------------------------------------------------------------


async def test_batches_are_off_unless_enabled(make: Client) -> None:
    client = await make()
    resp = await client.post("/graphql", json=[{"query": "{ hello }"}])
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["extensions"]["code"] == "BATCHING_NOT_ENABLED"


async def test_a_batch_runs_each_operation_and_is_capped(make: Client) -> None:
    client = await make(limits=OperationLimits(batching=True, max_batch=3, max_aliases=1))
    resp = await client.post(
        "/graphql",
        json=[
            {"query": "{ hello }"},
            {"query": "mutation M { touch }", "operationName": "M"},
            {"query": "{ a: hello b: hello }"},
        ],
    )
    assert resp.status_code == 200
    first, second, third = resp.json()
    assert first == {"data": {"hello": "hi"}} and second == {"data": {"touch": 1}}
    assert third["errors"][0]["extensions"]["code"] == "MAX_ALIASES_LIMIT"  # per entry
    over = await client.post("/graphql", json=[{"query": "{ hello }"}] * 4)
    assert over.status_code == 422
    error = over.json()["errors"][0]
    assert (
        error["extensions"]["code"] == "BATCH_LIMIT_EXCEEDED"
        and "4 operations" in (error["message"])
    )
    for bad in ([], [1], [{"query": 5}]):
        assert (await client.post("/graphql", json=bad)).status_code == 400


async def test_each_batch_entry_counts_for_rate_limits(make: Client) -> None:
    client = await make(limits=OperationLimits(batching=True), rate_limits={"default": "2/hour"})
    resp = await client.post("/graphql", json=[{"query": "{ hello }"}] * 3, headers=bearer("b1"))
    assert resp.status_code == 200
    ok1, ok2, limited = resp.json()
    assert ok1 == ok2 == {"data": {"hello": "hi"}}
    assert limited["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert resp.headers["ratelimit"] == '"default";r=0;t=3600' and "retry-after" in resp.headers
    again = await client.post("/graphql", json=[{"query": "{ hello }"}] * 2, headers=bearer("b1"))
    assert again.status_code == 429  # every entry refused


# -- rate limits -----------------------------------------------------------------------------


async def test_rate_limited_requests_get_429_and_every_answer_the_headers(make: Client) -> None:
    client = await make(rate_limits={"default": "2/hour", "operations": {"Hello": "1/hour"}})
    user = bearer("u1")
    first = await client.post("/graphql", json={"query": "{ hello }"}, headers=user)
    assert first.status_code == 200
    assert first.headers["ratelimit-policy"] == '"default";q=2;w=3600'
    assert first.headers["ratelimit"] == '"default";r=1;t=3600'
    named = await client.post("/graphql", json={"query": "query Hello { hello }"}, headers=user)
    assert named.headers["ratelimit-policy"] == (
        '"default";q=2;w=3600, "operation:Hello";q=1;w=3600'
    )
    limited = await client.post("/graphql", json={"query": "{ hello }"}, headers=user)
    assert limited.status_code == 429
    assert 3590 <= int(limited.headers["retry-after"]) <= 3600
    assert limited.headers["ratelimit"] == '"default";r=0;t=3600'
    [error] = limited.json()["errors"]
    assert error["extensions"]["code"] == "RATE_LIMITED" and "data" not in limited.json()
    # Others are not starved; the admin is exempt; a document that does not parse still counts.
    assert (
        await client.post("/graphql", json={"query": "{ hello }"}, headers=bearer("u2"))
    ).status_code == 200
    admin = {"x-shardgate-admin-secret": ADMIN}
    for _ in range(3):
        resp = await client.post("/graphql", json={"query": "{ hello }"}, headers=admin)
        assert resp.status_code == 200 and "ratelimit" not in resp.headers
    garbage = bearer("u3")
    for _ in range(2):
        await client.post("/graphql", json={"query": "{ hello"}, headers=garbage)
    assert (
        await client.post("/graphql", json={"query": "{ hello }"}, headers=garbage)
    ).status_code == 429


async def test_anonymous_callers_are_keyed_by_address_and_forwarded_for_is_ignored(
    make: Client,
) -> None:
    client = await make(rate_limits={"default": "1/hour"})
    assert (await client.post("/graphql", json={"query": "{ hello }"})).status_code == 200
    spoofed = {"x-forwarded-for": "203.0.113.77"}  # the peer is no trusted proxy
    resp = await client.post("/graphql", json={"query": "{ hello }"}, headers=spoofed)
    assert resp.status_code == 429


async def test_trusted_proxies_forward_the_client_address(make: Client) -> None:
    # httpx's ASGI transport connects from 127.0.0.1.
    client = await make(rate_limits={"default": "1/hour", "trusted_proxies": ["127.0.0.0/8"]})
    for address in ("203.0.113.1", "203.0.113.2"):
        headers = {"x-forwarded-for": f"{address}, 127.0.0.9"}
        assert (
            await client.post("/graphql", json={"query": "{ hello }"}, headers=headers)
        ).status_code == 200
    headers = {"x-forwarded-for": "203.0.113.1"}
    assert (
        await client.post("/graphql", json={"query": "{ hello }"}, headers=headers)
    ).status_code == 429


async def test_cost_mode_counts_root_fields_and_aliases(make: Client) -> None:
    client = await make(rate_limits={"default": "4/hour", "cost": True})
    user = bearer("c1")
    three = "{ a: hello b: user { name } }"  # 2 root fields + 2 aliases = 4
    assert (await client.post("/graphql", json={"query": three}, headers=user)).status_code == 200
    assert (
        await client.post("/graphql", json={"query": "{ hello }"}, headers=user)
    ).status_code == 429


# -- operation limits and introspection ------------------------------------------------------


async def test_token_and_field_caps_count_through_fragments(make: Client) -> None:
    client = await make(limits=OperationLimits(max_tokens=40, max_height=5, max_depth=3))
    long = "{ " + "hello " * 50 + "}"
    resp = await client.post("/graphql", json={"query": long})
    assert resp.json()["errors"][0]["extensions"]["code"] == "MAX_TOKENS_LIMIT"
    hidden = """
      { user { ...F ...F } }
      fragment F on User { name friend { name } }
    """  # 1 + 2 x 3 = 7 fields, 3 deep
    codes = {
        e["extensions"]["code"]
        for e in (await client.post("/graphql", json={"query": hidden})).json()["errors"]
    }
    assert codes == {"MAX_HEIGHT_LIMIT"}
    deep = "{ user { ...D } } fragment D on User { friend { friend { name } } }"
    codes = {
        e["extensions"]["code"]
        for e in (await client.post("/graphql", json={"query": deep})).json()["errors"]
    }
    assert codes == {"MAX_DEPTH_LIMIT"}


async def test_introspection_per_role_without_name_suggestions(make: Client) -> None:
    client = await make(limits=OperationLimits(introspection_roles=("developer",)))
    introspect = {"query": "{ __schema { types { name } } }"}
    user = bearer("u1")
    refused = (await client.post("/graphql", json=introspect, headers=user)).json()
    assert refused["errors"][0]["extensions"]["code"] == "INTROSPECTION_DISABLED"
    typo = (await client.post("/graphql", json={"query": "{ secretSalar }"}, headers=user)).json()
    assert "secretSalary" not in str(typo) and "Did you mean" not in str(typo)
    by_type = {"query": '{ __type(name: "User") { fields { name } } }'}
    assert (await client.post("/graphql", json=by_type, headers=user)).json()["errors"]
    # __typename is no introspection; developers and the admin may introspect.
    assert (
        await client.post("/graphql", json={"query": "{ __typename }"}, headers=user)
    ).json() == {"data": {"__typename": "Query"}}
    dev = (await client.post("/graphql", json=introspect, headers=bearer("d1", "developer"))).json()
    assert "data" in dev and "errors" not in dev
    admin = {"x-shardgate-admin-secret": ADMIN}
    assert "errors" not in (await client.post("/graphql", json=introspect, headers=admin)).json()
    hint = (await client.post("/graphql", json={"query": "{ secretSalar }"}, headers=admin)).json()
    assert "Did you mean 'secretSalary'?" in hint["errors"][0]["message"]


async def test_variable_errors_hide_suggestions_too() -> None:
    from gateway.pipeline import Pipeline

    schema = build_schema("enum Color { RED GREEN } type Query { paint(c: Color): Int }")
    query = {"query": "query($c: Color) { paint(c: $c) }", "variables": {"c": "REDD"}}
    messages = []
    for roles in (None, ()):  # everyone may introspect; nobody may
        pipeline = Pipeline(
            lambda _r: Executable(schema, "v2", lambda _r: None),
            limits=OperationLimits(introspection_roles=roles),
        )
        app = Starlette(routes=[Route("/graphql", pipeline.handle, methods=["POST"])])
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            messages.append((await c.post("/graphql", json=query)).json()["errors"][0]["message"])
    assert "Did you mean the enum value 'RED'?" in messages[0]
    assert "Did you mean" not in messages[1] and "'RED'" not in messages[1]
