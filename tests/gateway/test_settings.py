"""Settings from shardgate.toml and the environment; mistakes named with file and setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.settings import load_settings


def test_defaults_need_no_file(tmp_path: Path) -> None:
    s = load_settings(tmp_path / "absent.toml", env={})
    assert (s.cluster.shards, s.cluster.replication, s.gateway.port) == (3, 2, 4000)
    assert s.gateway.store.max_document_bytes == 1 << 20


def test_file_then_environment(tmp_path: Path) -> None:
    path = tmp_path / "shardgate.toml"
    path.write_text(
        '[cluster]\nshards = 5\ndata = "d"\n[gateway]\nport = 4100\n'
        'services = "svc"\n[store]\ntimeout = 2\n'
    )
    s = load_settings(path, env={"SHARDGATE_PORT": "4200"})
    assert s.cluster.shards == 5 and s.cluster.data == Path("d")
    assert s.gateway.port == 4200 and s.gateway.services == Path("svc")
    assert s.gateway.store.timeout == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[gateway]\nprot = 1\n", "unknown setting(s) ['prot'] in [gateway]"),
        ('[gateway]\nport = "abc"\n', "[gateway] port = 'abc' should be a int"),
        ("[cluster]\nreplication = true\n", "[cluster] replication = True should be a int"),
        ("[cluster]\ndata = 5\n", "[cluster] data = 5 should be a str"),
    ],
)
def test_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "shardgate.toml"
    path.write_text(text)
    with pytest.raises(SystemExit) as exit_:
        load_settings(path, env={})
    assert message in str(exit_.value) and str(path) in str(exit_.value)


def test_vector_index_defaults(tmp_path: Path) -> None:
    path = tmp_path / "shardgate.toml"
    path.write_text('[vectors]\nindex = "HNSW"\nef_search = 128\n')
    v = load_settings(path, env={}).gateway.vectors
    assert (v.index, v.m, v.ef_construction, v.ef_search) == ("HNSW", 32, 64, 128)
    path.write_text('[vectors]\nindex = "IVF"\nnlist = 256\n')
    v = load_settings(path, env={}).gateway.vectors
    assert (v.index, v.nlist, v.nprobe) == ("IVF", 256, 32)
    path.write_text('[vectors]\nindex = "PQ"\n')
    with pytest.raises(SystemExit, match="index must be one of FLAT, HNSW, IVF"):
        load_settings(path, env={})
    path.write_text("[vectors]\nnlist = 0\n")
    with pytest.raises(SystemExit, match=r"nlist must be an integer in 1\.\.65536"):
        load_settings(path, env={})


def test_external_subgraphs_are_a_table(tmp_path: Path) -> None:
    path = tmp_path / "shardgate.toml"
    path.write_text('[gateway.subgraphs]\nreviews = "http://127.0.0.1:4001/graphql"\n')
    s = load_settings(path, env={})
    assert s.gateway.subgraphs == {"reviews": "http://127.0.0.1:4001/graphql"}
    path.write_text('[gateway]\nsubgraphs = "reviews"\n')
    with pytest.raises(SystemExit, match="subgraphs = 'reviews' should be a dict"):
        load_settings(path, env={})
