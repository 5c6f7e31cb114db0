"""`shardgate gateway --workers N`: N processes answer on one port; SIGTERM stops them all."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.peers.apollo import shop_subgraphs
from tests.support.cluster import REPO
from tests.support.ports import free_port
from tests.support.processes import HttpReady, running_process

pytestmark = pytest.mark.slow

GATEWAY = [sys.executable, "-m", "gateway", "gateway"]
SUPERGRAPH = REPO / "tests" / "fixtures" / "supergraphs" / "shop.graphql"


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            if int(fields[1]) == pid:
                found.add(int(entry.name))
    return found


def workers_of(pid: int) -> set[int]:
    """uvicorn's supervisor starts each worker as a child of its own (multiprocessing spawn
    also starts a resource tracker, which is not one)."""
    return {
        c
        for c in children(pid)
        if b"multiprocessing.resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()
    }


def test_two_workers_answer_and_stop_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    with shop_subgraphs() as urls:
        argv = [*GATEWAY, "--port", str(port)]
        argv += ["--supergraph", str(SUPERGRAPH), "--workers", "2"]
        for name, url in urls.items():
            argv += ["--subgraph-url", f"{name}={url}"]
        with running_process(
            argv,
            name="shardgate-gateway-workers",
            cwd=REPO,
            ready=HttpReady(f"http://127.0.0.1:{port}/healthz"),
        ) as gateway:
            gateway.wait_until(lambda: len(workers_of(gateway.pid)) == 2, "2 workers", 30)
            workers = workers_of(gateway.pid)
            with httpx.Client(trust_env=False, timeout=30) as client:
                for _ in range(20):  # fresh connections: the kernel spreads them over workers
                    answer = client.post(
                        f"http://127.0.0.1:{port}/graphql",
                        json={"query": "{ me { name reviews { body } } }"},
                        headers={"connection": "close"},
                    ).json()
                    assert answer == {
                        "data": {"me": {"name": "Ada", "reviews": [{"body": "A classic"}]}}
                    }
            os.kill(gateway.pid, signal.SIGTERM)
            gateway.popen.wait(20)
            assert gateway.returncode is not None
            deadline = time.monotonic() + 20
            while any(Path(f"/proc/{w}").exists() for w in workers):  # all stopped with it
                assert time.monotonic() < deadline, "a worker outlived the gateway"
                time.sleep(0.05)


def test_workers_must_be_at_least_one() -> None:
    import subprocess

    done = subprocess.run(
        [*GATEWAY, "--supergraph", str(SUPERGRAPH), "--workers", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "--workers 0: expected 1 or more" in done.stderr
    assert "Traceback" not in done.stderr
