"""Apollo Gateway and Apollo composition as oracles, run from the pinned npm project in apollo/.

with apollo_gateway({"users": "http://127.0.0.1:4001/graphql"}) as url:
    httpx.post(url, json={"query": "{ users { id } }"})

supergraph_sdl = compose({"users": users_sdl, "reviews": reviews_sdl})
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.ports import LOOPBACK, free_port
from tests.support.processes import OutputLine, running_process

PEER_DIR = Path(__file__).parent / "apollo"
MIN_NODE_MAJOR = 20
NPM_CI_TIMEOUT = 600.0

# The peer talks to loopback subgraphs only: never through a proxy, never to Apollo's cloud.
_PEER_ENV = {
    "NO_PROXY": f"{LOOPBACK},localhost",
    "no_proxy": f"{LOOPBACK},localhost",
    "APOLLO_TELEMETRY_DISABLED": "true",
}


class ApolloPeerError(RuntimeError):
    """The Apollo peer cannot be installed or run; the message says what to do."""


@dataclass(frozen=True)
class CompositionIssue:
    code: str
    message: str


class CompositionFailed(Exception):
    """Apollo composition rejected the subgraphs (an expected outcome in differential tests)."""

    def __init__(self, errors: list[CompositionIssue]) -> None:
        self.errors = errors
        super().__init__("\n".join(f"[{e.code}] {e.message}" for e in errors))

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self.errors]


def ensure_installed(peer_dir: Path = PEER_DIR) -> Path:
    """Install the pinned npm packages of `peer_dir` if needed; returns the peer directory.

    Reinstalls (`npm ci`) when node_modules is missing or older than package-lock.json. A file
    lock serialises concurrent callers (e.g. pytest-xdist workers).
    """
    node, npm = _require_tool("node"), _require_tool("npm")
    _check_node_version(node)
    lock_path = Path(tempfile.gettempdir()) / f"shardgate-{peer_dir.name}-peer-install.lock"
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _needs_install(peer_dir):
            _npm_ci(npm, peer_dir)
    return peer_dir


@contextmanager
def apollo_gateway(subgraphs: Mapping[str, str], *, timeout: float = 60.0) -> Iterator[str]:
    """Run Apollo Gateway over `subgraphs` (name -> URL); yields its GraphQL URL.

    The subgraphs must already be serving: the gateway composes them by introspection at start.
    The gateway's process group is always stopped on exit.
    """
    peer_dir = ensure_installed()
    port = free_port()
    env = {
        **_PEER_ENV,
        "PORT": str(port),
        "SUBGRAPHS": json.dumps([{"name": n, "url": u} for n, u in subgraphs.items()]),
    }
    with running_process(
        [_require_tool("node"), "gateway.mjs"],
        name="apollo-gateway",
        env=env,
        cwd=peer_dir,
        ready=OutputLine(rf"^READY {port}$"),
        timeout=timeout,
    ):
        yield f"http://{LOOPBACK}:{port}/graphql"


def compose(
    sdls: Mapping[str, str], *, urls: Mapping[str, str] | None = None, timeout: float = 60.0
) -> str:
    """The supergraph SDL Apollo composes from `sdls` (subgraph name -> SDL).

    Raises CompositionFailed with Apollo's error codes if composition fails. `urls` sets the
    `join__graph` URLs; Apollo writes "" for subgraphs without one.
    """
    peer_dir = ensure_installed()
    with tempfile.TemporaryDirectory(prefix="shardgate-compose-") as tmp:
        args: list[str] = []
        for index, (name, sdl) in enumerate(sdls.items()):
            path = Path(tmp) / f"{index}.graphql"  # index: names need not be valid file names
            path.write_text(sdl)
            args.append(f"{name}={path}")
        for name, url in (urls or {}).items():
            args += ["--url", f"{name}={url}"]
        result = subprocess.run(
            [_require_tool("node"), "compose.mjs", *args],
            cwd=peer_dir,
            env={**os.environ, **_PEER_ENV},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    if result.returncode == 0:
        return result.stdout
    if result.returncode == 1:
        raise CompositionFailed(_parse_issues(result.stderr))
    raise ApolloPeerError(f"compose.mjs failed (exit {result.returncode}):\n{result.stderr}")


def _parse_issues(stderr: str) -> list[CompositionIssue]:
    issues = []
    for line in stderr.splitlines():
        try:
            issue = json.loads(line)
        except json.JSONDecodeError:
            continue  # e.g. a Node warning between the JSON lines
        issues.append(CompositionIssue(code=issue["code"], message=issue["message"]))
    if not issues:
        raise ApolloPeerError(f"compose.mjs failed without reporting an error:\n{stderr}")
    return issues


def _require_tool(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ApolloPeerError(
            f"`{tool}` is not on PATH. The Apollo peer needs Node.js >= {MIN_NODE_MAJOR} with npm; "
            "install them (e.g. from your OS packages or nodejs.org) and re-run the tests."
        )
    return path


def _check_node_version(node: str) -> None:
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout.strip()
    major = int(version.lstrip("v").split(".")[0])
    if major < MIN_NODE_MAJOR:
        raise ApolloPeerError(
            f"Node.js {version} is too old for the Apollo peer; "
            f"install Node.js >= {MIN_NODE_MAJOR}."
        )


def _needs_install(peer_dir: Path) -> bool:
    # npm writes this hidden lockfile on every install, so its age is the install's age.
    marker = peer_dir / "node_modules" / ".package-lock.json"
    lock = peer_dir / "package-lock.json"
    return not marker.exists() or marker.stat().st_mtime < lock.stat().st_mtime


def _npm_ci(npm: str, peer_dir: Path) -> None:
    try:
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=peer_dir,
            capture_output=True,
            text=True,
            timeout=NPM_CI_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise ApolloPeerError(
            f"`npm ci` in {peer_dir} took over {NPM_CI_TIMEOUT:g}s; is the npm registry reachable?"
        ) from error
    if result.returncode != 0:
        raise ApolloPeerError(
            f"`npm ci` in {peer_dir} failed (exit {result.returncode}); check that the npm "
            f"registry is reachable, then run it by hand to see more.\n{result.stderr[-4000:]}"
        )


def apollo_plan(supergraph: Path, operation: str, operation_name: str | None = None) -> str:
    """Apollo's query plan for `operation` over the supergraph file, in its text form."""
    peer_dir = ensure_installed()
    with tempfile.NamedTemporaryFile("w", suffix=".graphql") as op:
        op.write(operation)
        op.flush()
        argv = [_require_tool("node"), "plan.mjs", str(supergraph), op.name]
        done = subprocess.run(
            [*argv, *([operation_name] if operation_name else [])],
            cwd=peer_dir,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    if done.returncode != 0:
        raise ApolloPeerError(f"Apollo could not plan the operation: {done.stderr.strip()}")
    return done.stdout.rstrip("\n")


@contextmanager
def shop_subgraphs(*, timeout: float = 60.0) -> Iterator[dict[str, str]]:
    """The shop federation's subgraphs running (one Node process); yields name -> URL."""
    peer_dir = ensure_installed()
    with running_process(
        [_require_tool("node"), "shop_subgraphs.mjs"],
        name="shop-subgraphs",
        env=_PEER_ENV,
        cwd=peer_dir,
        ready=OutputLine(r"^READY \{"),
        timeout=timeout,
    ) as process:
        line = process.wait_for_line(r"^READY (\{.*\})$", timeout=timeout)
        yield json.loads(line.group(1))


@contextmanager
def apollo_gateways(
    gateways: Mapping[str, tuple[Path, Mapping[str, str]]], *, timeout: float = 60.0
) -> Iterator[str]:
    """Apollo Gateways in one process: name -> (supergraph file, subgraph name -> URL). Yields
    the base URL; each gateway serves `<base>/<name>/graphql`."""
    peer_dir = ensure_installed()
    port = free_port()
    config = {n: {"supergraph": str(p), "urls": dict(u)} for n, (p, u) in gateways.items()}
    with running_process(
        [_require_tool("node"), "gateways.mjs"],
        name="apollo-gateways",
        env={**_PEER_ENV, "PORT": str(port), "GATEWAYS": json.dumps(config)},
        cwd=peer_dir,
        ready=OutputLine(rf"^READY {port}$"),
        timeout=timeout,
    ):
        yield f"http://{LOOPBACK}:{port}"


def apollo_plans(
    supergraph: Path, operations: Mapping[str, str], *, refused: str | None = None
) -> dict[str, str]:
    """Apollo's plans (text form) for several operations (name -> text) over one supergraph,
    planned in one Node process. Raises ApolloPeerError if Apollo refuses one, unless
    `refused` is given: then that operation's entry is `refused` followed by Apollo's error."""
    peer_dir = ensure_installed()
    with tempfile.TemporaryDirectory(prefix="shardgate-plans-") as tmp:
        paths = {}
        for index, (name, text) in enumerate(operations.items()):
            paths[name] = Path(tmp) / f"{index}.graphql"
            paths[name].write_text(text)
        done = subprocess.run(
            [_require_tool("node"), "plans.mjs", str(supergraph), *map(str, paths.values())],
            cwd=peer_dir,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if done.returncode != 0:
        raise ApolloPeerError(f"plans.mjs failed: {done.stderr.strip()}")
    plans = json.loads(done.stdout)
    out = {}
    for name, path in paths.items():
        plan = plans[str(path)]
        if isinstance(plan, dict) and refused is not None:
            plan = f"{refused}{plan['error']}"
        elif isinstance(plan, dict):
            raise ApolloPeerError(f"Apollo could not plan {name}: {plan['error']}")
        out[name] = plan
    return out
