"""The `shardgate` command as a user runs it: `up`, `push`, `status`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.cluster import EXAMPLES, REPO, Cluster
from tests.support.ports import free_port
from tests.support.processes import ManagedProcess, start_process

pytestmark = pytest.mark.slow


def shardgate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        cwd=REPO,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )


def start_up(data: Path, port: int, *extra: str) -> ManagedProcess:
    proc = start_process(
        [sys.executable, "-m", "gateway", "up", "--port", str(port), "--data", str(data), *extra],
        name="up",
        cwd=REPO,
    )
    proc.wait_for_line("shardgate is up", timeout=90)
    return proc


def post(port: int, query: str) -> dict:
    return httpx.post(
        f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=30, trust_env=False
    ).json()


def cluster_pids(proc: ManagedProcess) -> list[int]:
    out = subprocess.run(
        ["pgrep", "-g", str(proc.pid)], capture_output=True, text=True, check=False
    )
    return [int(p) for p in out.stdout.split()]


def wait_gone(proc: ManagedProcess, pids: list[int]) -> None:
    def gone() -> bool:
        for pid in pids:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                continue
            return False
        return True

    proc.wait_until(gone, "every process of the cluster has exited", 30)


def test_up_keeps_acknowledged_data_across_restarts_and_stops_whole(tmp_path: Path) -> None:
    port = free_port()
    up = start_up(tmp_path, port, "--services", str(EXAMPLES))
    try:
        pids = cluster_pids(up)
        assert len(pids) == 5  # supervisor, 3 shards, gateway
        result = post(
            port,
            'mutation { insertProduct(object: {id: "keep", sku: "K", '
            'name: "Kept", price: 1, stock: 1}) { id } }',
        )
        assert result == {"data": {"insertProduct": {"id": "keep"}}}
        up.popen.send_signal(signal.SIGTERM)  # to the supervisor only, as an init system does
        assert up.popen.wait(30) == 0
        wait_gone(up, pids)
    finally:
        up.stop()
    # Started again on the same data, without --services: the registry lives in the store.
    up = start_up(tmp_path, port)
    try:
        assert post(port, '{ product(id: "keep") { name } }') == {
            "data": {"product": {"name": "Kept"}}
        }
        pids = cluster_pids(up)
        os.killpg(up.pid, signal.SIGINT)  # Ctrl-C in a terminal reaches the whole group
        up.popen.wait(30)
        wait_gone(up, pids)
        assert "Traceback" not in up.output("stderr")
    finally:
        up.stop()


def test_up_refuses_another_layout_on_the_same_data(tmp_path: Path) -> None:
    (tmp_path / "cluster.json").write_text(
        '{"shards": ["shard-0", "shard-1"], "replication": 2, "vnodes": 128}'
    )
    result = shardgate("up", "--port", str(free_port()), "--data", str(tmp_path))
    assert result.returncode != 0
    assert "2 shards" in result.stderr and "rebalancing" in result.stderr


def test_push_status_and_schema_evolution(tmp_path: Path) -> None:
    port = free_port()
    gateway = f"http://127.0.0.1:{port}"
    up = start_up(tmp_path, port)
    try:
        v1 = tmp_path / "notes.graphql"
        v1.write_text('type Note @collection @key(fields: "id") { id: ID! text: String! }')
        result = shardgate("push", "notes", str(v1), "--gateway", gateway)
        assert result.returncode == 0, result.stderr
        assert "applied" in result.stdout
        assert post(port, 'mutation { insertNote(object: {id: "n1", text: "hi"}) { id } }') == {
            "data": {"insertNote": {"id": "n1"}}
        }

        # Additive: applies live, old documents read with the new field as null.
        v2 = tmp_path / "notes2.graphql"
        v2.write_text(
            'type Note @collection @key(fields: "id") { id: ID! text: String! tag: String @index }'
        )
        result = shardgate("push", "notes", str(v2), "--gateway", gateway)
        assert result.returncode == 0, result.stderr
        assert "Note.tag" in result.stdout
        assert post(port, '{ note(id: "n1") { text tag } }') == {
            "data": {"note": {"text": "hi", "tag": None}}
        }

        # Breaking: refused with a report; the live schema is unchanged.
        v3 = tmp_path / "notes3.graphql"
        v3.write_text('type Note @collection @key(fields: "id") { id: ID! tag: String }')
        result = shardgate("push", "notes", str(v3), "--gateway", gateway)
        assert result.returncode == 1
        assert "BREAKING" in result.stdout and "Note.text" in result.stdout
        assert "refused" in result.stderr
        assert post(port, '{ note(id: "n1") { text } }') == {"data": {"note": {"text": "hi"}}}

        # Invalid: file, line, column, what and how to fix.
        bad = tmp_path / "bad.graphql"
        bad.write_text('type Note @collection @key(fields: "id") {\n  id: ID!\n  text: Strng\n}')
        result = shardgate("push", "notes", str(bad), "--gateway", gateway)
        assert result.returncode == 1
        assert "bad.graphql:3:9:" in result.stderr and 'did you mean "String"' in result.stderr

        # Another service may not define a type this one owns.
        clash = tmp_path / "clash.graphql"
        clash.write_text('type Note @collection @key(fields: "id") { id: ID! }')
        result = shardgate("push", "journal", str(clash), "--gateway", gateway)
        assert result.returncode == 1
        assert "notes" in result.stderr and "journal" in result.stderr
        assert "Note" in result.stderr

        result = shardgate("status", "--gateway", gateway)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert "replication 2" in lines[0] and "notes" in lines[0]
        assert lines[1].split() == ["SHARD", "STATE", "OWNERSHIP", "DOCUMENTS", "URL"]
        rows = [line.split() for line in lines[2:]]
        assert [r[0] for r in rows] == ["shard-0", "shard-1", "shard-2"]
        assert all(r[1] == "up" for r in rows)
        assert sum(float(r[2].rstrip("%")) for r in rows) == pytest.approx(100, abs=0.2)
        assert sum(int(r[3]) for r in rows) == 2  # one note, two replicas
    finally:
        up.stop()


def test_cli_errors_are_one_clear_line(tmp_path: Path) -> None:
    result = shardgate("status", "--gateway", f"http://127.0.0.1:{free_port()}")
    assert result.returncode != 0
    assert "cannot reach the gateway" in result.stderr and "Traceback" not in result.stderr
    result = shardgate("push", "x", str(tmp_path / "missing.graphql"))
    assert result.returncode != 0 and "cannot read" in result.stderr


def test_up_refuses_a_bad_layout_before_recording_it(tmp_path: Path) -> None:
    result = shardgate(
        "up",
        "--port",
        str(free_port()),
        "--data",
        str(tmp_path),
        "--shards",
        "2",
        "--replication",
        "3",
    )
    assert result.returncode != 0 and "--replication 3 needs between 1 and 2" in result.stderr
    assert not (tmp_path / "cluster.json").exists()


def test_status_and_push_default_to_the_configured_port(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "shardgate.toml"
    config.write_text(f"[gateway]\nport = {port}\n")
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "--config", str(config), "status"],
        cwd=REPO,
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert f"127.0.0.1:{port}/admin/status" in result.stderr


def test_a_push_reaches_every_gateway(tmp_path: Path) -> None:
    from tests.support.cluster import running_cluster

    with running_cluster(tmp_path, services=None) as c:
        second = Cluster(c.data, c.replication, c.shard_ports, free_port())
        try:
            second.start_gateway()
            sdl = 'type Memo @collection @key(fields: "id") { id: ID! text: String }'
            resp = c.http.post(
                c.url + "/admin/services/memos", content=sdl, headers={"content-type": "text/plain"}
            )
            assert resp.status_code == 200, resp.text
            query = 'mutation { insertMemo(object: {id: "m1", text: "hi"}) { id } }'
            assert second.gateway is not None
            second.gateway.wait_until(
                lambda: "errors" not in second.post(query),
                "the second gateway serves memos",
                15,
            )
            assert c.graphql('{ memo(id: "m1") { text } }') == {"memo": {"text": "hi"}}
        finally:
            second.close()


def test_a_gateway_with_another_ring_refuses_to_serve(tmp_path: Path) -> None:
    from tests.support.cluster import running_cluster

    with running_cluster(tmp_path, services=None) as c:
        other = Cluster(c.data, 3, c.shard_ports, free_port())  # replication 3, not 2
        swapped = dict(zip(c.shard_ports, reversed(list(c.shard_ports.values())), strict=True))
        liar = Cluster(c.data, 2, swapped, free_port())  # ids bound to the wrong URLs
        try:
            other.start_gateway(wait=False)
            liar.start_gateway(wait=False)
            assert other.gateway is not None and liar.gateway is not None

            def health(cluster: Cluster) -> dict:
                try:
                    return httpx.get(cluster.url + "/healthz", trust_env=False).json()
                except httpx.HTTPError:
                    return {}

            other.gateway.wait_until(
                lambda: health(other).get("status") == "refused",
                "the gateway with another ring refuses",
                30,
            )
            assert "replication 3" in health(other)["error"]
            liar.gateway.wait_until(
                lambda: "answers as shard" in str(health(liar).get("shards", {})),
                "the gateway sees shards answering under other ids",
                30,
            )
            shards = health(liar)["shards"]
            assert "answers as shard 'shard-2', not 'shard-0'" in shards["shard-0"]["error"]
        finally:
            other.close()
            liar.close()


def test_up_restarts_a_crashed_shard(tmp_path: Path) -> None:
    port = free_port()
    up = start_up(tmp_path, port, "--services", str(EXAMPLES))
    try:
        post(
            port,
            'mutation { insertProduct(object: {id: "r1", sku: "R1", name: "Kept", '
            "price: 1, stock: 1}) { id } }",
        )
        found = subprocess.run(
            ["pgrep", "-g", str(up.pid), "-f", "gateway shard --id shard-1"],
            capture_output=True,
            text=True,
            check=False,
        )
        [victim] = [int(p) for p in found.stdout.split()]
        os.kill(victim, signal.SIGKILL)
        up.wait_for_line("shard-1 exited with code -9; restarting it", stream="stderr")

        def restarted() -> bool:
            again = subprocess.run(
                ["pgrep", "-g", str(up.pid), "-f", "gateway shard --id shard-1"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.split()
            return bool(again) and int(again[0]) != victim

        up.wait_until(restarted, "a new shard-1 process", 30)
        up.wait_until(
            lambda: (
                post(port, '{ product(id: "r1", consistency: ALL) { name } }')
                == {"data": {"product": {"name": "Kept"}}}
            ),
            "the cluster serves ALL reads again",
            30,
        )
        assert up.returncode is None  # the cluster kept running
    finally:
        up.stop()
