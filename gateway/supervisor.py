"""`shardgate up`: a whole cluster on loopback — N shard processes and one gateway process.

Every child stays in our process group (Ctrl-C in a terminal reaches all of them) and is
asked to die with us (PR_SET_PDEATHSIG), so a supervisor killed with SIGKILL leaves nothing
behind. SIGINT/SIGTERM stop the gateway first (it finishes in-flight requests), then the
shards; anything still alive after a grace period is killed.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shards.telemetry import TelemetrySettings

GRACE_SECONDS = 10.0
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Layout:
    """The cluster's identity, fixed at first start: rebalancing to a new layout comes later."""

    shards: tuple[str, ...]
    replication: int
    vnodes: int

    @classmethod
    def load_or_create(cls, data: Path, shards: int, replication: int, vnodes: int) -> Layout:
        wanted = cls(tuple(f"shard-{i}" for i in range(shards)), replication, vnodes)
        path = data / "cluster.json"
        if path.exists():
            stored = json.loads(path.read_text())
            existing = cls(tuple(stored["shards"]), stored["replication"], stored["vnodes"])
            if existing != wanted:
                raise SystemExit(
                    f"{data} holds a cluster of {len(existing.shards)} shards with replication "
                    f"{existing.replication} and {existing.vnodes} vnodes; it cannot be started "
                    f"as {shards} shards, replication {replication}, {vnodes} vnodes yet "
                    "(rebalancing is not supported). Use the same settings or another --data."
                )
            return existing
        data.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {"shards": list(wanted.shards), "replication": replication, "vnodes": vnodes},
                indent=2,
            )
        )
        return wanted


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        # As the servers will: connections in TIME_WAIT must not make a port look taken.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def pick_ports(base: int, count: int) -> list[int]:
    """`count` ports after `base` when they are free, else any free ones."""
    wanted = list(range(base + 1, base + 1 + count))
    if all(port_is_free(p) for p in wanted):
        return wanted
    return [free_port() for _ in range(count)]


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def wait_http_ok(url: str, proc: subprocess.Popen[bytes], timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: the process exited with code {proc.returncode} at start")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)  # polling interval, bounded by the deadline
    raise SystemExit(f"{url} did not answer within {timeout:.0f}s")


@dataclass
class Child:
    name: str
    argv: list[str]
    proc: subprocess.Popen[bytes]
    restarts: list[float] = field(default_factory=list)  # monotonic times of restarts
    env: dict[str, str] | None = None  # None: ours


class Supervisor:
    """Starts children, restarts one that crashes (same command, port and data), and stops
    all of them together. A child that crashes more than MAX_RESTARTS times within
    RESTART_WINDOW seconds is given up on, and the whole cluster stops."""

    MAX_RESTARTS = 5
    RESTART_WINDOW = 60.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.children: list[Child] = []
        self._stopping = False
        self._clock = clock

    def spawn(
        self, name: str, argv: Sequence[str], env: Mapping[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """`env`: variables laid over ours for this child (and its restarts)."""
        full = None if env is None else {**os.environ, **env}
        proc = subprocess.Popen(list(argv), preexec_fn=_die_with_parent, env=full)
        self.children.append(Child(name, list(argv), proc, env=full))
        return proc

    def handle_signals(self) -> None:
        def on_signal(signum: int, _frame: object) -> None:
            self._stopping = True

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)

    def wait(self) -> int:
        """Block until a signal, or a child that keeps crashing; the exit code for `up`."""
        while not self._stopping:
            for child in self.children:
                crashed = child.proc.poll() is not None and not self._stopping
                if crashed and not self._restart(child):
                    self.stop()
                    return 1
            time.sleep(0.2)  # liveness poll of the children
        self.stop()
        return 0

    def _restart(self, child: Child) -> bool:
        now = self._clock()
        child.restarts = [t for t in child.restarts if now - t < self.RESTART_WINDOW]
        code = child.proc.returncode
        if len(child.restarts) >= self.MAX_RESTARTS:
            print(
                f"shardgate: {child.name} exited with code {code} "
                f"{len(child.restarts) + 1} times within {self.RESTART_WINDOW:.0f}s; "
                "stopping everything",
                file=sys.stderr,
                flush=True,
            )
            return False
        print(
            f"shardgate: {child.name} exited with code {code}; restarting it",
            file=sys.stderr,
            flush=True,
        )
        child.restarts.append(now)
        child.proc = subprocess.Popen(child.argv, preexec_fn=_die_with_parent, env=child.env)
        return True

    def stop(self) -> None:
        # Gateway first (started last), so no request meets a stopped shard.
        for child in reversed(self.children):
            proc = child.proc
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(GRACE_SECONDS)
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def shard_argv(shard_id: str, port: int, data: Path, durability: str = "NORMAL") -> list[str]:
    """The command that runs one shard process."""
    return [
        sys.executable,
        "-m",
        "gateway",
        "shard",
        "--id",
        shard_id,
        "--port",
        str(port),
        "--data",
        str(data),
        "--durability",
        durability,
    ]


def gateway_argv(
    port: int, shards: Mapping[str, str], layout: Layout, services: Path | None = None
) -> list[str]:
    """The command that runs the gateway over `shards` (id -> URL)."""
    argv = [
        sys.executable,
        "-m",
        "gateway",
        "serve",
        "--port",
        str(port),
        "--replication",
        str(layout.replication),
        "--vnodes",
        str(layout.vnodes),
    ]
    for shard_id, url in shards.items():
        argv += ["--shard", f"{shard_id}={url}"]
    if services is not None:
        argv += ["--services", str(services)]
    return argv


def start_cluster(
    sup: Supervisor,
    layout: Layout,
    *,
    data: Path,
    port: int,
    shard_ports: Sequence[int],
    services: Path | None = None,
    durability: str = "NORMAL",
    telemetry: TelemetrySettings | None = None,
) -> str:
    """Start the shards, then the gateway once they answer; returns the gateway's URL.
    Every process gets `telemetry` as the standard OTEL_* variables."""
    env = None if telemetry is None else telemetry.as_env()
    urls: dict[str, str] = {}
    started = []
    for shard_id, shard_port in zip(layout.shards, shard_ports, strict=True):
        proc = sup.spawn(shard_id, shard_argv(shard_id, shard_port, data, durability), env)
        urls[shard_id] = f"http://127.0.0.1:{shard_port}"
        started.append((urls[shard_id], proc))
    for url, proc in started:
        wait_http_ok(url + "/health", proc)
    gateway = sup.spawn("gateway", gateway_argv(port, urls, layout, services), env)
    base = f"http://127.0.0.1:{port}"
    wait_http_ok(base + "/healthz", gateway)
    return base


def run_up(
    *,
    port: int,
    shards: int,
    replication: int,
    vnodes: int,
    data: Path,
    services: Path | None,
    durability: str,
    telemetry: TelemetrySettings | None = None,
) -> int:
    # Check everything before the layout is recorded: a refused start must not fix it.
    if shards < 1 or vnodes < 1:
        raise SystemExit("--shards and --vnodes must be at least 1")
    if not 1 <= replication <= shards:
        raise SystemExit(
            f"--replication {replication} needs between 1 and {shards} shards (--shards)"
        )
    if not port_is_free(port):
        raise SystemExit(f"port {port} is in use: pass --port or stop what listens there")
    layout = Layout.load_or_create(data, shards, replication, vnodes)
    sup = Supervisor()
    sup.handle_signals()
    try:
        url = start_cluster(
            sup,
            layout,
            data=data,
            port=port,
            shard_ports=pick_ports(port, len(layout.shards)),
            services=services,
            durability=durability,
            telemetry=telemetry,
        )
    except BaseException:
        sup.stop()
        raise
    print(
        f"shardgate is up ({len(layout.shards)} shards, replication {layout.replication}, "
        f"data in {data}/); Ctrl-C stops it.\n"
        f"  GraphQL    {url}/graphql  (the supergraph of every service)\n"
        f"  subgraphs  {url}/subgraphs/<service>/graphql  (Apollo Federation v2)\n"
        f"  status     shardgate status --gateway {url}",
        flush=True,
    )
    return sup.wait()
