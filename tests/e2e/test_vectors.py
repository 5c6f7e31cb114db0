"""Vector search through GraphQL on a real 3-shard cluster (replication 2), checked against
numpy brute force over the same documents: exact top-k with and without `where`, after
updates and deletes, bad input refused with BAD_USER_INPUT, and a shard killed during writes
whose indexes come back equal to its SQLite."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from gateway.supervisor import Layout, gateway_argv
from shards.ring import Ring
from tests.support.cluster import REPO, VNODES, Cluster
from tests.support.ports import free_port
from tests.support.processes import start_process

pytestmark = pytest.mark.slow

D = 8  # examples/users.graphql: embedding: [Float!] @vector(dimensions: 8, metric: COSINE)
ROLES = ("ADMIN", "MEMBER", "GUEST")
SEARCH = """query($v: [Float!]!, $k: Int, $where: UserWhere, $min: Float, $c: Consistency) {
  searchUsers(vector: $v, k: $k, where: $where, minScore: $min, consistency: $c) {
    score user { id role } }
}"""


def clustered(rng: np.random.Generator, n: int) -> np.ndarray:
    """A Gaussian mixture: 6 centres, spread 0.3 around each."""
    centres = rng.normal(size=(6, D))
    return centres[rng.integers(0, 6, n)] + 0.3 * rng.normal(size=(n, D))


def insert(cluster: Cluster, prefix: str, vectors: np.ndarray) -> dict[str, tuple[np.ndarray, str]]:
    docs = {}
    objects = []
    for i, v in enumerate(vectors):
        key, role = f"{prefix}{i}", ROLES[i % 3]
        docs[key] = (v, role)
        objects.append(
            {"id": key, "email": f"{key}@x.io", "role": role, "createdAt": "t",
             "embedding": v.tolist()}
        )  # fmt: skip
    for start in range(0, len(objects), 100):
        cluster.graphql(
            "mutation($o: [UserInput!]!) { insertUsers(objects: $o) { id } }",
            {"o": objects[start : start + 100]},
        )
    return docs


def brute(
    docs: dict[str, tuple[np.ndarray, str]], q: np.ndarray, k: int, role: str | None = None
) -> list[tuple[str, float]]:
    scored = [
        (key, float(v @ q / (np.linalg.norm(v) * np.linalg.norm(q))))
        for key, (v, r) in docs.items()
        if role is None or r == role
    ]
    return sorted(scored, key=lambda s: -s[1])[:k]


def search(
    cluster: Cluster, q: np.ndarray, k: int, consistency: str | None = None, **kw: Any
) -> list[tuple[str, float]]:
    data = cluster.graphql(SEARCH, {"v": q.tolist(), "k": k, "c": consistency, **kw})
    return [(h["user"]["id"], h["score"]) for h in data["searchUsers"]]


def same(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    assert [k for k, _ in got] == [k for k, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)


@pytest.fixture(scope="module")
def docs(cluster: Cluster) -> dict[str, tuple[np.ndarray, str]]:
    rng = np.random.default_rng(7)
    return insert(cluster, "v", clustered(rng, 600))


def test_exact_top_k_equals_brute_force(
    cluster: Cluster, docs: dict[str, tuple[np.ndarray, str]]
) -> None:
    rng = np.random.default_rng(8)
    for q in clustered(rng, 5):
        same(search(cluster, q, 10), brute(docs, q, 10))
        admins = search(cluster, q, 10, where={"role": {"_eq": "ADMIN"}})
        same(admins, brute(docs, q, 10, "ADMIN"))
        assert all(k in docs for k, _ in admins)
    q = clustered(rng, 1)[0]
    # Selective (one in ~600) and broad filters, and k beyond what matches.
    same(search(cluster, q, 5, where={"id": {"_in": ["v3", "v77"]}}), [
        (k, s) for k, s in brute(docs, q, 600) if k in ("v3", "v77")
    ])  # fmt: skip
    broad = {"role": {"_neq": "GUEST"}}
    want = [(k, s) for k, s in brute(docs, q, 600) if docs[k][1] != "GUEST"]
    same(search(cluster, q, 1000, where=broad), want)
    best = brute(docs, q, 1)[0][1]
    assert [k for k, _ in search(cluster, q, 10, min=best - 1e-6)] == [brute(docs, q, 1)[0][0]]
    # Hits carry their vectors only when asked (through a fragment too): shards leave them
    # out otherwise.
    with_vectors = """query($v: [Float!]!) { searchUsers(vector: $v, k: 3) {
      user { id ...V } } } fragment V on User { embedding }"""
    for hit in cluster.graphql(with_vectors, {"v": q.tolist()})["searchUsers"]:
        assert hit["user"]["embedding"] == pytest.approx(docs[hit["user"]["id"]][0].tolist())


def test_updates_and_deletes_are_seen_at_once(cluster: Cluster) -> None:
    rng = np.random.default_rng(9)
    docs = insert(cluster, "w", clustered(rng, 120))
    q = clustered(rng, 1)[0]
    where = {"email": {"_like": "w%"}}
    for step in range(6):
        top = brute(docs, q, 3)
        gone, moved = top[0][0], top[1][0]
        cluster.graphql(f'mutation {{ deleteUser(id: "{gone}") {{ id }} }}')
        del docs[gone]
        away = (-q + 0.01 * step).tolist()
        cluster.graphql(
            "mutation($id: ID!, $v: [Float!]) { updateUser(id: $id, set: {embedding: $v}) { id } }",
            {"id": moved, "v": away},
        )
        docs[moved] = (np.array(away), docs[moved][1])
        got = search(cluster, q, 200, where=where)
        same(got, brute(docs, q, 200))
        assert gone not in dict(got) and dict(got)[moved] < 0


def test_bad_input_is_refused(cluster: Cluster, docs: dict[str, Any]) -> None:
    def error(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        errors = cluster.errors(query, variables)
        return errors[0]

    cases = [
        ("{ searchUsers(vector: [1, 2]) { score } }", "vector has 2 dimensions; User.embedding"),
        ("{ searchUsers(vector: [1,1,1,1,1,1,1,1], k: 0) { score } }", "k must be between 1"),
        ("{ searchUsers(vector: [1,1,1,1,1,1,1,1], k: 1001) { score } }", "k must be between 1"),
        ("{ searchUsers(vector: [1,1,1,1,1,1,1,1e400]) { score } }", "NaN or infinite"),
        ('{ searchUsers(vector: [1,1,1,1,1,1,1,1], field: "bio") { score } }', "not a vector"),
    ]
    for query, message in cases:
        e = error(query)
        assert message in e["message"], (query, e)
        assert e["extensions"]["code"] == "BAD_USER_INPUT", e
        assert e["path"] == ["searchUsers"]
    data = cluster.graphql(
        '{ searchUsers(vector: [1,1,1,1,1,1,1,1], field: "embedding", k: 2) { score } }'
    )
    assert len(data["searchUsers"]) == 2
    assert json.dumps(data)  # plain JSON all the way


def test_quorum_search_drops_what_a_newer_replica_deleted(
    cluster: Cluster, docs: dict[str, tuple[np.ndarray, str]]
) -> None:
    rng = np.random.default_rng(14)
    q = clustered(rng, 1)[0]
    mine = {"email": {"_like": "v%"}}
    same(search(cluster, q, 10, consistency="QUORUM", where=mine), brute(docs, q, 10))
    # One replica of the best document takes a delete the other never sees (as if the
    # gateway died between the two writes).
    best = brute(docs, q, 1)[0][0]
    ring = Ring.build(cluster.shard_ports, vnodes=VNODES, replication=2)
    token = ring.token_of(best)
    first, second = ring.preference_list(token)
    delete = {"collection": "users.User", "key": best, "token": token, "op": "delete",
              "body": None, "version": 2**62, "origin": "test"}  # fmt: skip
    written = cluster.http.post(cluster.shard_url(second) + "/write", json={"writes": [delete]})
    assert written.status_code == 200, written.text
    try:
        # At ONE the replica that still holds it may answer for it; at QUORUM both do, the
        # newer version wins, and the deleted document is gone.
        assert best in dict(search(cluster, q, 10, where=mine))
        got = search(cluster, q, 10, consistency="QUORUM", where=mine)
        assert best not in dict(got)
        assert [k for k, _ in got] == [k for k, _ in brute(docs, q, 11)[1:11]][: len(got)]
    finally:  # put it back on both replicas for the other tests of the module
        v, role = docs[best]
        put = {**delete, "op": "put", "version": 2**62 + 1,
               "body": {"id": best, "email": f"{best}@x.io", "role": role, "createdAt": "t",
                        "embedding": v.tolist()}}  # fmt: skip
        for shard in (first, second):
            cluster.http.post(cluster.shard_url(shard) + "/write", json={"writes": [put]})


def test_a_down_shard_fails_over_or_the_answer_says_it_is_partial(
    own_cluster: Cluster, tmp_path: Path
) -> None:
    c = own_cluster
    docs = insert(c, "p", clustered(np.random.default_rng(15), 300))
    # A second gateway over the same shards, configured for partial answers.
    config = tmp_path / "partial.toml"
    config.write_text("[vectors]\npartial = true\n")
    port = free_port()
    layout = Layout(tuple(c.shard_ports), c.replication, VNODES)
    argv = gateway_argv(port, {s: c.shard_url(s) for s in c.shard_ports}, layout, c.services)
    env = {**c.env, "SHARDGATE_CONFIG": str(config)}
    partial_gateway = start_process(argv, name="gateway-partial", cwd=REPO, env=env)
    partial_url = f"http://127.0.0.1:{port}"
    try:
        partial_gateway.wait_for_http(partial_url + "/healthz", timeout=60,
                                      accept=lambda status: status == 200)  # fmt: skip
        q = clustered(np.random.default_rng(16), 1)[0]
        variables = {"v": q.tolist(), "k": 20}

        def ask(url: str, path: str = "/graphql") -> dict[str, Any]:
            return c.http.post(url + path, json={"query": SEARCH, "variables": variables}).json()

        def keys(answer: dict[str, Any]) -> list[str]:
            return [h["user"]["id"] for h in answer["data"]["searchUsers"]]

        c.kill_shard("shard-1")  # failover: its ranges' other replicas answer for them
        want = [k for k, _ in brute(docs, q, 20)]
        for url in (c.url, partial_url):
            answer = ask(url)
            assert keys(answer) == want and "extensions" not in answer, answer
        quorum = c.errors(SEARCH, {**variables, "c": "QUORUM"})
        assert quorum[0]["extensions"]["code"] == "CONSISTENCY_NOT_MET", quorum
        c.kill_shard("shard-2")  # now the ranges held by shards 1 and 2 have no live replica
        refused = ask(c.url)
        assert refused["errors"][0]["extensions"]["code"] == "SHARD_UNAVAILABLE", refused
        assert refused["errors"][0]["path"] == ["searchUsers"]
        ring = Ring.build(c.shard_ports, vnodes=VNODES, replication=2)
        left = {k: d for k, d in docs.items() if "shard-0" in ring.replicas_for_key(k)}
        assert 0 < len(left) < len(docs)
        for path in ("/graphql", "/subgraphs/users/graphql"):
            answer = ask(partial_url, path)
            assert keys(answer) == [k for k, _ in brute(left, q, 20)], answer
            [note] = answer["extensions"]["partial"]
            assert note["path"] == ["searchUsers"]
            assert note["unavailable"] == ["shard-1", "shard-2"]
            held = sum(r.hi - r.lo + 1 for r in ring.ranges() if "shard-0" in r.replicas)
            assert note["coverage"] == pytest.approx(held / 2**64, abs=1e-4)  # about 2/3
    finally:
        partial_gateway.stop()


def test_indexes_equal_sqlite_after_a_kill_during_writes(own_cluster: Cluster) -> None:
    c = own_cluster
    rng = np.random.default_rng(11)
    docs = insert(c, "c", clustered(rng, 300))
    # `shardgate vectors rebuild` also saves every index file: later changes must be replayed.
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "vectors", "rebuild", "User", "--gateway", c.url],
        cwd=REPO, text=True, capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("rebuilt users.User (embedding: ") == 3
    for key in list(docs)[:100]:  # acknowledged by both replicas (QUORUM of 2)
        c.graphql(f'mutation {{ deleteUser(id: "{key}") {{ id }} }}')
        del docs[key]
    stop = threading.Event()
    churned = {"n": 0}
    writer = threading.Thread(target=churn, args=(c.url, stop, churned), daemon=True)
    writer.start()
    try:
        wait_for(lambda: churned["n"] >= 40, "writes under way")
        c.kill_shard("shard-1")  # SIGKILL in the middle of them
        wait_for(lambda: churned["n"] >= 80, "writes continue on the other replicas")
    finally:
        stop.set()
        writer.join(30)
    # With shard-1 down its ranges are asked of their other replicas: still the exact top-k.
    q = clustered(rng, 1)[0]
    same(search(c, q, 50, where={"email": {"_like": "c%"}}), brute(docs, q, 50))
    c.start_shard("shard-1")
    c.wait_shard_state("shard-1", alive=True)
    for shard in c.shard_ports:
        verified = c.http.get(c.shard_url(shard) + "/vectors/verify").json()["users.User@embedding"]
        assert verified["missing"] == [] and verified["extra"] == [], (shard, verified)
    stats = c.http.get(c.shard_url("shard-1") + "/stats").json()["vectors"]
    assert stats["users.User@embedding"]["loaded"] == "file+replay"
    # No deleted document comes back, and the survivors rank as brute force says.
    got = search(c, q, 1000, where={"email": {"_like": "c%"}})
    same(got, brute(docs, q, 1000))


def churn(url: str, stop: threading.Event, churned: dict[str, int]) -> None:
    """Insert and delete other documents at ONE until stopped (errors while a shard dies are
    expected; only acknowledged writes matter)."""
    rng = np.random.default_rng(12)
    insert_one = (
        "mutation($id: ID!, $email: String!, $v: [Float!]) { insertUser(consistency: ONE, "
        'object: {id: $id, email: $email, role: GUEST, createdAt: "t", embedding: $v}) { id } }'
    )
    delete_one = "mutation($id: ID!) { deleteUser(id: $id, consistency: ONE) { id } }"
    with httpx.Client(timeout=10, trust_env=False) as http:
        i = 0
        while not stop.is_set():
            v = rng.normal(size=D).tolist()
            for query, variables in (
                (insert_one, {"id": f"x{i}", "email": f"x{i}@x.io", "v": v}),
                (delete_one, {"id": f"x{i - 1}"}),
            ):
                with contextlib.suppress(httpx.HTTPError):
                    http.post(url + "/graphql", json={"query": query, "variables": variables})
            churned["n"] += 1
            i += 1


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


HNSW_SERVICE = """
type Doc @collection @key(fields: "id") {
  id: ID!
  group: Int! @index
  v: [Float!] @vector(dimensions: 16, metric: L2, index: HNSW)
}
"""


def test_hnsw_recall_across_shards(cluster: Cluster) -> None:
    pushed = cluster.http.post(cluster.url + "/admin/services/docs", content=HNSW_SERVICE)
    assert pushed.status_code == 200, pushed.text
    rng = np.random.default_rng(13)
    centres = rng.normal(size=(20, 16)) * 4
    x = centres[rng.integers(0, 20, 2020)] + rng.normal(size=(2020, 16))
    data, queries = x[:2000], x[2000:]
    objects = [{"id": f"d{i}", "group": i % 10, "v": v.tolist()} for i, v in enumerate(data)]
    for start in range(0, len(objects), 250):
        cluster.graphql(
            "mutation($o: [DocInput!]!) { insertDocs(objects: $o) { id } }",
            {"o": objects[start : start + 250]},
        )
    query = """query($v: [Float!]!, $where: DocWhere) {
      searchDocs(vector: $v, k: 10, where: $where) { score doc { id group } } }"""
    found = found_filtered = 0
    for q in queries:
        distances = np.sqrt(((data - q) ** 2).sum(axis=1))
        truth = np.argsort(distances)[:10]
        hits = cluster.graphql(query, {"v": q.tolist()})["searchDocs"]
        found += len({f"d{i}" for i in truth} & {h["doc"]["id"] for h in hits})
        for h in hits:  # L2 scores are Euclidean distances, nearest first
            assert h["score"] == pytest.approx(distances[int(h["doc"]["id"][1:])], rel=1e-4)
        assert [h["score"] for h in hits] == sorted(h["score"] for h in hits)
        in_group = np.flatnonzero(np.arange(2000) % 10 == 3)
        truth = in_group[np.argsort(distances[in_group])[:10]]
        hits = cluster.graphql(query, {"v": q.tolist(), "where": {"group": {"_eq": 3}}})
        got = {h["doc"]["id"] for h in hits["searchDocs"]}
        assert all(h["doc"]["group"] == 3 for h in hits["searchDocs"])
        found_filtered += len({f"d{i}" for i in truth} & got)
    assert found / (10 * len(queries)) >= 0.95
    assert found_filtered / (10 * len(queries)) >= 0.95
    errors = cluster.errors('{ searchDocs(vector: [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0], '
                            "minScore: 1) { score } }")  # fmt: skip
    assert "L2, whose scores are distances" in errors[0]["message"]


def test_shardgate_import_loads_vectors_and_stops_at_a_bad_one(
    cluster: Cluster, tmp_path: Path
) -> None:
    rng = np.random.default_rng(17)
    vectors = clustered(rng, 30)
    lines = [
        json.dumps({"id": f"m{i}", "email": f"m{i}@x.io", "role": "MEMBER", "createdAt": "t",
                    "embedding": v.tolist()})
        for i, v in enumerate(vectors)
    ]  # fmt: skip
    good = tmp_path / "users.ndjson"
    good.write_text("\n".join(lines) + "\n")

    def shardgate_import(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gateway", "import", "User", str(path), "--batch", "7",
             "--gateway", cluster.url],
            cwd=REPO, text=True, capture_output=True, timeout=120, check=False,
        )  # fmt: skip

    done = shardgate_import(good)
    assert done.returncode == 0, done.stderr
    assert "30 documents inserted into users.User" in done.stdout
    docs = {f"m{i}": (v, "MEMBER") for i, v in enumerate(vectors)}
    q = clustered(rng, 1)[0]
    same(search(cluster, q, 5, where={"email": {"_like": "m%"}}), brute(docs, q, 5))
    bad = tmp_path / "bad.ndjson"
    short = {"id": "n1", "email": "n1@x.io", "role": "MEMBER", "createdAt": "t",
             "embedding": [1.0, 2.0]}  # fmt: skip
    bad.write_text(json.dumps(short) + "\n")
    done = shardgate_import(bad)
    assert done.returncode == 1
    assert "document 1: User.embedding needs 8 numbers, got 2" in done.stderr, done.stderr


def test_bench_vectors_runs_and_reports_ratios() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "bench", "vectors", "--vectors", "500",
         "--dimensions", "8", "--clusters", "20", "--seconds", "0.3"],
        cwd=REPO, text=True, capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-2])
    for label in ("flat", "flat, ~10% filter", "HNSW", "HNSW, ~10% filter", "IVF"):
        assert summary[label]["shardgate"]["queries"] > 0
        assert summary[label]["faiss"]["per_second"] > 0
    assert summary["flat"]["shardgate"]["recall"] == 1.0
    assert summary["flat, ~10% filter"]["shardgate"]["recall"] == 1.0
    assert "q/s ratio" in done.stdout
