"""CPU time of the server behind a loopback port, read from /proc (Linux).

    pgid = listener_group(8000)        # the process group of whatever listens on port 8000
    before = group_cpu_seconds(pgid)
    ...                                # load it
    used = group_cpu_seconds(pgid) - before

The bench's servers each lead their own process group (tests/support/processes.py), so a
group's CPU is the server's, workers included. Elsewhere than Linux both return None.
"""

from __future__ import annotations

import os
from pathlib import Path

_PROC = Path("/proc")
_LISTEN = "0A"  # TCP state in /proc/net/tcp


def listener_group(port: int) -> int | None:
    """The process group of the process listening on TCP `port`, or None if not found."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    for pid_dir in _PROC.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            for fd in (pid_dir / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return os.getpgid(int(pid_dir.name))
        except OSError:  # gone, or not ours to look at
            continue
    return None


def group_cpu_seconds(pgid: int | None) -> float | None:
    """User + system CPU seconds used so far by the live processes of group `pgid`."""
    if pgid is None or not _PROC.is_dir():
        return None
    ticks = 0
    for pid_dir in _PROC.iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            stat = (pid_dir / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces: split after its closing parenthesis.
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[2]) == pgid:  # fields[0] is field 3 (state), so pgrp is fields[2]
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (_PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes
