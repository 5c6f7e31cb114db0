r"""Start a process, wait until it is ready, and always stop it.

    with running_process(
        ["node", "gateway.mjs"], env={"PORT": "4000"}, ready=OutputLine(r"^READY \d+$")
    ) as gateway:
        ...  # serving; on leaving the block its whole process group is gone

    with running_process(
        [sys.executable, "-m", "uvicorn", "app:app", "--port", "8000"],
        ready=HttpReady("http://127.0.0.1:8000/health"),
    ):
        ...

Each process leads its own process group, so stopping it (SIGTERM, then SIGKILL after a grace
period) also stops anything it spawned, and a Ctrl-C at the terminal reaches only pytest, which
then cleans up. stdout and stderr go to files, not pipes, so a chatty process can never block on
a full pipe; their tails are put into every error, and attached as a note to any exception raised
inside the block, so a failing test shows what the process said.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

Stream = Literal["stdout", "stderr"]

POLL_INTERVAL = 0.05
"""Seconds between readiness polls: short, since this is the latency every test start pays."""

_live: set[ManagedProcess] = set()
_trackers: list[list[ManagedProcess]] = []


def _below_500(status: int) -> bool:
    return status < 500


class ProcessError(RuntimeError):
    """A process exited before it was ready or was not ready in time; says what it printed."""


class ManagedProcess:
    """A started process. Create with `start_process`; prefer `running_process`."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        popen: subprocess.Popen[bytes],
        log_dir: Path,
        *,
        owns_log_dir: bool,
    ) -> None:
        self.name = name
        self.command = tuple(command)
        self.popen = popen
        self.pid = popen.pid  # also the process group id: it leads its own group
        self.log_dir = log_dir
        self._owns_log_dir = owns_log_dir

    def __repr__(self) -> str:
        return f"<ManagedProcess {self.name} pid={self.pid} returncode={self.returncode}>"

    @property
    def returncode(self) -> int | None:
        """None while running; negative -N if killed by signal N."""
        return self.popen.poll()

    def log_path(self, stream: Stream) -> Path:
        return self.log_dir / f"{stream}.log"

    def output(self, stream: Stream = "stdout") -> str:
        try:
            return self.log_path(stream).read_text(errors="replace")
        except FileNotFoundError:  # logs already removed by stop()
            return ""

    def describe(self, max_lines: int = 40) -> str:
        """Command, status and the last lines of stdout and stderr, for error messages."""
        parts = [f"{self.name}: {' '.join(self.command)} (pid {self.pid}, {self._status()})"]
        for stream in ("stdout", "stderr"):
            lines = self.output(stream).splitlines()[-max_lines:]
            body = "\n".join(f"  | {line}" for line in lines) if lines else "  | (empty)"
            parts.append(f"--- last {len(lines)} lines of {stream} ---\n{body}")
        return "\n".join(parts)

    def group_alive(self) -> bool:
        """Whether any process of its group still exists (as the OS sees it)."""
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def _status(self) -> str:
        code = self.returncode
        if code is None:
            return "running"
        if code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exited with code {code}"

    def wait_until(self, check: Callable[[], bool], what: str, timeout: float) -> None:
        """Poll `check` until it returns True; fail if the process exits or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            if check():
                return
            if self.returncode is not None:
                # One last look: the process may have become ready just before it exited.
                if check():
                    return
                raise ProcessError(f"exited before {what}\n{self.describe()}")
            if time.monotonic() >= deadline:
                raise ProcessError(f"not ready after {timeout:g}s: {what}\n{self.describe()}")
            time.sleep(POLL_INTERVAL)

    def wait_for_line(
        self, pattern: str | re.Pattern[str], *, stream: Stream = "stdout", timeout: float = 30.0
    ) -> re.Match[str]:
        """The first complete output line matching `pattern` (searched, not anchored)."""
        regex = re.compile(pattern)
        found: list[re.Match[str]] = []
        offset = 0  # only whole lines are scanned, so a half-written line is never matched

        def check() -> bool:
            nonlocal offset
            with self.log_path(stream).open("rb") as log:
                log.seek(offset)
                chunk = log.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            offset += len(complete)
            for line in complete.decode(errors="replace").splitlines():
                if match := regex.search(line):
                    found.append(match)
                    return True
            return False

        self.wait_until(check, f"a {stream} line matching {regex.pattern!r}", timeout)
        return found[0]

    def wait_for_http(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        accept: Callable[[int], bool] = _below_500,
    ) -> int:
        """Poll `url` with GET until it answers with a status `accept`s; returns that status."""
        statuses: list[int] = []

        def check() -> bool:
            status = _http_status(url, timeout=1.0)
            if status is not None and accept(status):
                statuses.append(status)
                return True
            return False

        self.wait_until(check, f"GET {url} answers", timeout)
        return statuses[0]

    def stop(self, grace: float = 5.0) -> int:
        """SIGTERM the process group, SIGKILL what is left of it after `grace` seconds.

        Returns the leader's exit code. Idempotent. Removes the log files unless they live in a
        caller-given directory.
        """
        try:
            deadline = time.monotonic() + grace
            if self.popen.returncode is None:
                _signal_group(self.pid, signal.SIGTERM)
            # The whole group gets the grace period, not just the leader: a child may take
            # longer than its parent to shut down cleanly.
            with suppress(subprocess.TimeoutExpired):
                self.popen.wait(max(0.0, deadline - time.monotonic()))
            if not _poll(self.group_alive, until=deadline, want=False):
                _signal_group(self.pid, signal.SIGKILL)
                self.popen.wait()
                # Orphaned children are reaped by init, asynchronously.
                _poll(self.group_alive, until=time.monotonic() + 2.0, want=False)
            return self.popen.wait()
        finally:
            _live.discard(self)
            if self._owns_log_dir:
                shutil.rmtree(self.log_dir, ignore_errors=True)


class Readiness(Protocol):
    def wait(self, process: ManagedProcess, timeout: float) -> None: ...


@dataclass(frozen=True)
class OutputLine:
    """Ready once a line of `stream` matches `pattern`."""

    pattern: str
    stream: Stream = "stdout"

    def wait(self, process: ManagedProcess, timeout: float) -> None:
        process.wait_for_line(self.pattern, stream=self.stream, timeout=timeout)


@dataclass(frozen=True)
class HttpReady:
    """Ready once GET `url` answers with a status `accept`s (by default, any below 500)."""

    url: str
    accept: Callable[[int], bool] = _below_500

    def wait(self, process: ManagedProcess, timeout: float) -> None:
        process.wait_for_http(self.url, timeout=timeout, accept=self.accept)


def start_process(
    command: Sequence[str],
    *,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    inherit_env: bool = True,
    cwd: Path | str | None = None,
    log_dir: Path | None = None,
) -> ManagedProcess:
    """Start `command` in its own process group. The caller must `stop()` it.

    `env` is laid over the current environment (or used alone if `inherit_env` is False), after
    PYTHONUNBUFFERED=1 so that a Python child's readiness line reaches its log when printed.
    Logs go to `log_dir` if given (kept), else to a temporary directory removed on stop.
    """
    name = name or Path(command[0]).name
    full_env = {**(os.environ if inherit_env else {}), "PYTHONUNBUFFERED": "1", **(env or {})}
    owns_log_dir = log_dir is None
    if log_dir is None:
        log_dir = Path(tempfile.mkdtemp(prefix=f"shardgate-{name}-"))
    else:
        log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "stdout.log").open("wb") as out, (log_dir / "stderr.log").open("wb") as err:
        popen = subprocess.Popen(
            list(command),
            env=full_env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            process_group=0,
        )
    process = ManagedProcess(name, command, popen, log_dir, owns_log_dir=owns_log_dir)
    _live.add(process)
    for started in _trackers:
        started.append(process)
    return process


@contextmanager
def running_process(
    command: Sequence[str],
    *,
    ready: Readiness | None = None,
    timeout: float = 30.0,
    grace: float = 5.0,
    name: str | None = None,
    env: Mapping[str, str] | None = None,
    inherit_env: bool = True,
    cwd: Path | str | None = None,
    log_dir: Path | None = None,
) -> Iterator[ManagedProcess]:
    """Start `command`, wait up to `timeout` seconds for `ready`, yield, always stop it."""
    process = start_process(
        command, name=name, env=env, inherit_env=inherit_env, cwd=cwd, log_dir=log_dir
    )
    try:
        if ready is not None:
            ready.wait(process, timeout)  # its ProcessError already carries the output
        try:
            yield process
        except BaseException as error:
            error.add_note(process.describe())
            raise
    finally:
        process.stop(grace)


def live_processes() -> frozenset[ManagedProcess]:
    """Processes started here and not yet stopped."""
    return frozenset(_live)


@contextmanager
def track_processes() -> Iterator[list[ManagedProcess]]:
    """Collects every process started inside the block, e.g. for a fixture finalizer.

    with track_processes() as started:
        yield
    assert not still_running(started)
    """
    started: list[ManagedProcess] = []
    _trackers.append(started)
    try:
        yield started
    finally:
        _trackers.remove(started)


def still_running(processes: Iterable[ManagedProcess]) -> list[ManagedProcess]:
    """Those of `processes` not stopped, or whose process group still has members."""
    return [p for p in processes if p in _live or p.group_alive()]


def _poll(check: Callable[[], bool], *, until: float, want: bool) -> bool:
    """Whether `check()` returned `want` before the monotonic time `until`."""
    while check() != want:
        if time.monotonic() >= until:
            return False
        time.sleep(POLL_INTERVAL)
    return True


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):  # the whole group is already gone
        os.killpg(pgid, sig)


# Probes go straight to loopback, never through a proxy configured in the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _http_status(url: str, timeout: float) -> int | None:
    """The status GET `url` answers with, or None if nothing answers (yet)."""
    try:
        with _opener.open(url, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code
    except (urllib.error.URLError, OSError):
        return None
