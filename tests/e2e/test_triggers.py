"""Event triggers on a real 3-shard cluster, delivering to a real receiver process that
verifies every signature with the `standardwebhooks` package."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.cluster import REPO, Cluster, running_cluster
from tests.support.ports import free_port
from tests.support.processes import ManagedProcess, OutputLine, running_process

pytestmark = pytest.mark.slow

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
ENV = {"SHARDGATE_TRIGGERS_ALLOW_PRIVATE": "1"}
FIELDS = 'role: MEMBER, createdAt: "2026-01-01"'


class Receiver:
    def __init__(self, process: ManagedProcess, port: int) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{port}"
        self.http = httpx.Client(timeout=10, trust_env=False)

    def deliveries(self) -> list[dict[str, Any]]:
        return self.http.get(self.url + "/_deliveries").json()["deliveries"]

    def behave(self, **behaviour: Any) -> None:
        self.http.post(self.url + "/_behave", json=behaviour).raise_for_status()

    def reset(self) -> None:
        self.http.post(self.url + "/_reset").raise_for_status()

    def wait_for(self, check: Any, what: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        found: list[list[dict[str, Any]]] = []

        def poll() -> bool:
            found[:] = [self.deliveries()]
            return bool(check(found[0]))

        self.process.wait_until(poll, what, timeout)
        return found[0]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    port = free_port()
    argv = [sys.executable, "-m", "tests.support.receiver", "--port", str(port)]
    with running_process(
        [*argv, "--secret", SECRET], ready=OutputLine(r"^READY \d+$"), cwd=REPO, name="receiver"
    ) as proc:
        rx = Receiver(proc, port)
        try:
            yield rx
        finally:
            rx.http.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("triggers"), env=ENV) as c:
        yield c


@pytest.fixture
def rx(receiver: Receiver) -> Receiver:
    receiver.reset()
    return receiver


def shardgate(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", *args, "--gateway", cluster.url],
        cwd=REPO,
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, **ENV},
    )
    assert done.returncode == 0, done.stderr
    return done


def add_trigger(cluster: Cluster, rx: Receiver, name: str, *extra: str) -> None:
    shardgate(
        cluster,
        "trigger",
        "add",
        name,
        "--collection",
        "users.User",
        "--on",
        "INSERT,UPDATE,DELETE",
        "--url",
        f"{rx.url}/{name}",
        "--secret",
        SECRET,
        *extra,
    )


def insert(cluster: Cluster, key: str, name: str = "A") -> dict[str, Any]:
    return cluster.post(
        f'mutation {{ insertUser(object: {{id: "{key}", email: "{key}@x.io", name: "{name}", '
        f"{FIELDS}}}) {{ id }} }}"
    )


def update(cluster: Cluster, key: str, name: str) -> None:
    cluster.graphql(f'mutation {{ updateUser(id: "{key}", set: {{name: "{name}"}}) {{ id }} }}')


def delete(cluster: Cluster, key: str) -> None:
    cluster.graphql(f'mutation {{ deleteUser(id: "{key}") {{ id }} }}')


def of(deliveries: list[dict[str, Any]], trigger: str) -> list[dict[str, Any]]:
    return [d for d in deliveries if d["path"] == f"/{trigger}"]


def test_insert_update_delete_deliver_signed_payloads_in_version_order(
    cluster: Cluster, rx: Receiver
) -> None:
    add_trigger(cluster, rx, "all_ops")
    assert "errors" not in insert(cluster, "t1", "Ann")
    update(cluster, "t1", "Bob")
    update(cluster, "t1", "Cid")
    delete(cluster, "t1")
    assert "errors" not in insert(cluster, "t2", "Dan")
    got = rx.wait_for(lambda ds: len(of(ds, "all_ops")) >= 5, "5 deliveries")
    got = of(got, "all_ops")
    assert all(d["verified"] for d in got), got
    assert len({d["id"] for d in got}) == len(got) == 5  # no duplicates on a healthy run
    for d in got:
        assert d["id"] == d["body"]["id"]
    t1 = [
        d["body"]
        for d in got
        if (d["body"]["event"]["data"]["new"] or d["body"]["event"]["data"]["old"])["id"] == "t1"
    ]
    assert [b["event"]["op"] for b in t1] == ["INSERT", "UPDATE", "UPDATE", "DELETE"]
    versions = [b["version"] for b in t1]
    assert versions == sorted(versions) and len(set(versions)) == 4
    names = (
        [(b["event"]["data"]["old"] or {}).get("name", None) for b in t1],
        [(b["event"]["data"]["new"] or {}).get("name", None) for b in t1],
    )
    assert names == ([None, "Ann", "Bob", "Cid"], ["Ann", "Bob", "Cid", None])
    assert t1[0]["event"]["data"]["old"] is None and t1[-1]["event"]["data"]["new"] is None
    first = t1[0]
    assert first["trigger"] == {"name": "all_ops"}
    assert first["collection"] == {"service": "users", "name": "User"}
    assert first["event"]["session_variables"] == {}
    assert first["delivery_info"] == {"current_retry": 0, "max_retries": 5}
    assert first["created_at"].endswith("Z")


def test_a_refused_write_produces_no_event(cluster: Cluster, rx: Receiver) -> None:
    add_trigger(cluster, rx, "refused")
    assert "errors" not in insert(cluster, "r1", "Ann")
    again = insert(cluster, "r1", "Eve")  # the key exists: refused, nothing applied
    assert again.get("errors"), again
    update(cluster, "r1", "Bob")
    # Events of one document are delivered in order: once the update's event is in, any
    # event of the refused insert would be in too.
    got = rx.wait_for(
        lambda ds: any(d["body"]["event"]["op"] == "UPDATE" for d in of(ds, "refused")),
        "the update's event",
    )
    ops = [d["body"]["event"]["op"] for d in of(got, "refused")]
    assert ops == ["INSERT", "UPDATE"]
    names = [d["body"]["event"]["data"]["new"]["name"] for d in of(got, "refused")]
    assert names == ["Ann", "Bob"]


def events(cluster: Cluster, *args: str) -> list[dict[str, Any]]:
    out = shardgate(cluster, "events", "list", "--json", *args).stdout
    return json.loads(out)["events"]


def test_failures_are_retried_then_dead_listed_and_redelivered(
    cluster: Cluster, rx: Receiver
) -> None:
    add_trigger(cluster, rx, "flaky", "--max-retries", "2", "--retry-interval", "0.05")
    rx.behave(path="/flaky", status=500, count=3)
    assert "errors" not in insert(cluster, "f1")
    cluster.gateway.wait_until(
        lambda: len(events(cluster, "--trigger", "flaky", "--status", "dead")) == 1,
        "the event is dead",
        20,
    )
    [dead] = events(cluster, "--trigger", "flaky")
    assert dead["tries"] == 3
    shown = json.loads(shardgate(cluster, "events", "show", dead["id"], "--json").stdout)
    codes = [a["code"] for a in shown["attempts"] if a["shard"] == dead["owner"]]
    assert codes == [500, 500, 500]
    assert shown["event"]["data"]["new"]["id"] == "f1"
    assert SECRET not in json.dumps(shown)
    shardgate(cluster, "events", "redeliver", dead["id"])
    got = rx.wait_for(lambda ds: any(d["answered"] == 204 for d in of(ds, "flaky")), "redelivery")
    assert {d["id"] for d in of(got, "flaky")} == {dead["id"]}  # one id on every attempt
    assert [d["body"]["delivery_info"]["current_retry"] for d in of(got, "flaky")] == [0, 1, 2, 0]


def test_retry_after_on_429_is_honoured(cluster: Cluster, rx: Receiver) -> None:
    add_trigger(cluster, rx, "limited", "--retry-interval", "0.01")
    rx.behave(path="/limited", status=429, count=1, retry_after="1")
    assert "errors" not in insert(cluster, "l1")
    got = of(rx.wait_for(lambda ds: len(of(ds, "limited")) == 2, "the retry"), "limited")
    assert got[1]["received_at"] - got[0]["received_at"] >= 0.95


def test_pause_keeps_events_queued_and_resume_sends_them_in_order(
    cluster: Cluster, rx: Receiver
) -> None:
    add_trigger(cluster, rx, "paused")
    shardgate(cluster, "trigger", "pause", "paused")
    assert "errors" not in insert(cluster, "p1", "A")
    update(cluster, "p1", "B")
    cluster.gateway.wait_until(
        lambda: len(events(cluster, "--trigger", "paused", "--status", "pending")) == 2,
        "two queued events",
        10,
    )
    assert of(rx.deliveries(), "paused") == []
    rows = [line.split() for line in shardgate(cluster, "trigger", "list").stdout.splitlines()]
    [row] = [r for r in rows if r[0] == "paused"]
    assert row[3:5] == ["paused", "2"]  # state, pending events
    shardgate(cluster, "trigger", "resume", "paused")
    got = of(rx.wait_for(lambda ds: len(of(ds, "paused")) == 2, "both events"), "paused")
    assert [d["body"]["event"]["op"] for d in got] == ["INSERT", "UPDATE"]


def test_410_disables_the_trigger_until_resumed(cluster: Cluster, rx: Receiver) -> None:
    add_trigger(cluster, rx, "gone")
    rx.behave(path="/gone", status=410, count=1)
    assert "errors" not in insert(cluster, "g1")
    rx.wait_for(lambda ds: len(of(ds, "gone")) == 1, "the 410")

    def disabled() -> bool:
        body = cluster.http.get(cluster.url + "/admin/triggers").json()
        [t] = [t for t in body["triggers"] if t["name"] == "gone"]
        return any(s["disabled"] for s in t["shards"].values())

    cluster.gateway.wait_until(disabled, "the trigger is disabled", 10)
    shardgate(cluster, "trigger", "resume", "gone")
    got = of(rx.wait_for(lambda ds: len(of(ds, "gone")) == 2, "delivery after resume"), "gone")
    assert got[0]["id"] == got[1]["id"] and got[1]["answered"] == 204


def test_manual_invocation_and_remove(cluster: Cluster, rx: Receiver) -> None:
    add_trigger(cluster, rx, "manual")
    assert "errors" not in insert(cluster, "m1", "Max")
    rx.wait_for(lambda ds: len(of(ds, "manual")) == 1, "the insert")
    event_id = shardgate(cluster, "trigger", "invoke", "manual", "m1").stdout.strip()
    got = of(rx.wait_for(lambda ds: len(of(ds, "manual")) == 2, "the manual event"), "manual")
    assert got[1]["id"] == event_id
    assert got[1]["body"]["event"]["op"] == "MANUAL"
    inserted = got[0]["body"]["event"]["data"]["new"]
    assert got[1]["body"]["event"]["data"] == {"old": None, "new": inserted}
    shardgate(cluster, "trigger", "pause", "manual")
    update(cluster, "m1", "Queued")
    cluster.gateway.wait_until(
        lambda: len(events(cluster, "--trigger", "manual", "--status", "pending")) == 1,
        "a queued event",
        10,
    )
    shardgate(cluster, "trigger", "remove", "manual")
    assert "manual" not in shardgate(cluster, "trigger", "list").stdout
    [cancelled] = events(cluster, "--trigger", "manual", "--status", "cancelled")
    assert cancelled["op"] == "UPDATE"  # a removed trigger's queued events are not sent


def test_cleanup_deletes_delivered_events(cluster: Cluster, rx: Receiver) -> None:
    add_trigger(cluster, rx, "cleaned")
    assert "errors" not in insert(cluster, "c1")
    # Delivered on the owner, and its replica told so (a copy still pending there would
    # turn delivered after the cleanup).
    cluster.gateway.wait_until(
        lambda: (
            len(events(cluster, "--trigger", "cleaned", "--status", "delivered")) == 1
            and not events(cluster, "--trigger", "cleaned", "--status", "pending")
        ),
        "delivered on every replica",
        10,
    )
    shardgate(cluster, "events", "cleanup", "--older-than", "0")
    assert events(cluster, "--trigger", "cleaned", "--status", "delivered") == []
