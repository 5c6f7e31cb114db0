"""GraphQL over HTTP, in process: media types, status codes, caching, masking."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import GraphQLError, build_schema
from starlette.applications import Starlette
from starlette.routing import Route

from gateway.graphql_http import DocumentCache, Executable, GraphQLEndpoint

SCHEMA = build_schema("""
  type Query { hello(name: String): String  boom: String  coded: String }
  type Mutation { touch: Int }
""")


def _boom(*_: Any) -> str:
    raise RuntimeError("SELECT password FROM users")  # an internal detail


def _coded(*_: Any) -> str:
    raise GraphQLError("nope", extensions={"code": "FORBIDDEN"})


SCHEMA.query_type.fields["hello"].resolve = lambda _o, _i, name="world": f"hello {name}"  # type: ignore[union-attr]
SCHEMA.query_type.fields["boom"].resolve = _boom  # type: ignore[union-attr]
SCHEMA.query_type.fields["coded"].resolve = _coded  # type: ignore[union-attr]
SCHEMA.mutation_type.fields["touch"].resolve = lambda *_: 1  # type: ignore[union-attr]
EXECUTABLE = Executable(SCHEMA, "test@1", lambda _session: None)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    endpoint = GraphQLEndpoint(lambda _request: EXECUTABLE)
    app = Starlette(routes=[Route("/graphql", endpoint.handle, methods=["GET", "POST"])])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_post_json_and_variables(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/graphql",
        json={"query": "query($n: String) { hello(name: $n) }", "variables": {"n": "ann"}},
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json() == {"data": {"hello": "hello ann"}}


async def test_graphql_response_media_type_uses_status_codes(client: httpx.AsyncClient) -> None:
    accept = {"accept": "application/graphql-response+json"}
    bad = await client.post("/graphql", json={"query": "{ nope }"}, headers=accept)
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/graphql-response+json")
    ok = await client.post("/graphql", json={"query": "{ hello }"}, headers=accept)
    assert ok.status_code == 200
    # application/json keeps 200 for GraphQL errors, as the spec says for legacy clients.
    legacy = await client.post("/graphql", json={"query": "{ nope }"})
    assert legacy.status_code == 200 and legacy.json()["errors"]


async def test_get_runs_queries_but_never_mutations(client: httpx.AsyncClient) -> None:
    preflight = {"x-shardgate-csrf": "1"}  # a GET has no content type: CSRF needs a header
    ok = await client.get("/graphql", params={"query": "{ hello }"}, headers=preflight)
    assert ok.json() == {"data": {"hello": "hello world"}}
    refused = await client.get(
        "/graphql", params={"query": "mutation { touch }"}, headers=preflight
    )
    assert refused.status_code == 405 and refused.headers["allow"] == "POST"


async def test_unexpected_errors_are_masked_coded_ones_kept(client: httpx.AsyncClient) -> None:
    resp = await client.post("/graphql", json={"query": "{ boom coded hello }"})
    body = resp.json()
    assert body["data"] == {"boom": None, "coded": None, "hello": "hello world"}
    by_path = {e["path"][0]: e for e in body["errors"]}
    assert by_path["boom"]["message"] == "Internal server error"
    assert by_path["boom"]["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "password" not in resp.text
    assert by_path["coded"]["extensions"] == {"code": "FORBIDDEN"}


@pytest.mark.parametrize(
    ("content", "headers", "status", "fragment"),
    [
        (b"{", {"content-type": "application/json"}, 400, "not valid JSON"),
        (b"[1]", {"content-type": "application/json"}, 400, "not enabled"),
        (b'{"query": 5}', {"content-type": "application/json"}, 400, "'query'"),
        (
            b'{"query": "{ hello }", "variables": [1]}',
            {"content-type": "application/json"},
            400,
            "'variables'",
        ),
        (b"{ hello }", {"content-type": "text/plain", "x-shardgate-csrf": "1"}, 415, "json"),
        (b"{ hello }", {"content-type": "application/graphql"}, 415, "application/json"),
    ],
)
async def test_malformed_requests(
    client: httpx.AsyncClient, content: bytes, headers: dict[str, str], status: int, fragment: str
) -> None:
    resp = await client.post("/graphql", content=content, headers=headers)
    assert resp.status_code == status
    assert fragment in resp.json()["errors"][0]["message"]


def test_document_cache_parses_once_and_validates_per_schema_version() -> None:
    cache = DocumentCache(size=2)
    doc1, errors = cache.get(EXECUTABLE, "{ hello }")
    assert doc1 is not None and not errors
    assert cache.get(EXECUTABLE, "{ hello }")[0] is doc1  # no second parse or validation
    without_hello = Executable(
        build_schema("type Query { boom: String }"), "test@2", lambda _: None
    )
    assert cache.get(without_hello, "{ hello }")[1]  # a new schema version revalidates
    cache.get(EXECUTABLE, "{ boom }")
    cache.get(EXECUTABLE, "{ coded }")
    assert cache.get(EXECUTABLE, "{ hello }")[0] is not doc1  # evicted (LRU of 2)
    assert cache.get(EXECUTABLE, "{ nope }")[1]  # validation errors are cached too


def test_document_cache_selects_and_measures_each_operation_once() -> None:
    cache = DocumentCache(size=8)
    text = "query A { x: hello y: hello } query B { hello }"
    parsed = cache.parse(text)
    a = cache.select(text, parsed, "A")
    assert a.name == "A" and a.measures is not None and a.measures.aliases == 2
    assert cache.select(text, parsed, "A") is a  # measured once, not per request
    assert cache.select(text, parsed, "B").name == "B"
    assert cache.select(text, parsed, None).operation is None  # two operations, none named
    assert cache.select(text, parsed, "C").measures is None  # validation says why
    broken = "{ hello"
    assert cache.select(broken, cache.parse(broken), None).operation is None


async def test_request_errors_have_no_data_entry(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/graphql", json={"query": "query($n: String) { hello(name: $n) }", "variables": {"n": 5}}
    )
    body = resp.json()
    assert resp.status_code == 200 and "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    resp = await client.post(
        "/graphql",
        json={"query": "{ hello }", "operationName": "Nope"},
        headers={"accept": "application/graphql-response+json"},
    )
    assert resp.status_code == 400 and "data" not in resp.json()


async def test_field_errors_keep_data_and_a_2xx(client: httpx.AsyncClient) -> None:
    resp = await client.post(
        "/graphql",
        json={"query": "{ boom }"},
        headers={"accept": "application/graphql-response+json"},
    )
    assert resp.status_code == 200
    assert resp.json()["data"] == {"boom": None}


async def test_syntax_errors_are_parse_failures(client: httpx.AsyncClient) -> None:
    resp = await client.post("/graphql", json={"query": "{ hello "})
    assert resp.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


async def test_bodies_over_the_limit_get_413() -> None:
    endpoint = GraphQLEndpoint(lambda _request: EXECUTABLE, max_body=100)
    app = Starlette(routes=[Route("/graphql", endpoint.handle, methods=["POST"])])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as c:
        resp = await c.post("/graphql", json={"query": "{ hello }", "pad": "x" * 200})
        assert resp.status_code == 413 and "over the limit" in resp.json()["errors"][0]["message"]
        ok = await c.post("/graphql", json={"query": "{ hello }"})
        assert ok.status_code == 200


async def test_operation_limits_refuse_before_anything_runs() -> None:
    from auth.operation_limits import OperationLimits

    endpoint = GraphQLEndpoint(lambda _request: EXECUTABLE, limits=OperationLimits(max_aliases=1))
    app = Starlette(routes=[Route("/graphql", endpoint.handle, methods=["POST"])])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as c:
        resp = await c.post(
            "/graphql",
            json={"query": "{ a: hello b: hello }"},
            headers={"accept": "application/graphql-response+json"},
        )
        assert resp.status_code == 400
        body = resp.json()
        assert "data" not in body
        assert body["errors"][0]["extensions"]["code"] == "MAX_ALIASES_LIMIT"
        ok = await c.post("/graphql", json={"query": "{ a: hello }"})
        assert ok.json() == {"data": {"a": "hello world"}}
