"""A hybrid logical clock: versions that follow wall time but never go backwards.

A version is a 64-bit int `(unix_ms << 16) | counter`, so versions compare as plain ints and
their high bits read as a timestamp:

    >>> clock = HybridClock(now_ms=lambda: 1_000)
    >>> clock.tick(), clock.tick()            # same millisecond: the counter moves
    (65536000, 65536001)
    >>> clock.observe(70_000_000)             # a remote coordinator is ahead
    >>> clock.tick()
    70000001

When more than 65,536 versions are taken in one millisecond the counter carries into the time
bits: versions stay strictly increasing and the clock runs ahead of the wall by a millisecond
until the wall catches up.
"""

from __future__ import annotations

import time
from collections.abc import Callable

LOGICAL_BITS = 16


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


def version_ms(version: int) -> int:
    """The wall-clock millisecond a version was taken at."""
    return version >> LOGICAL_BITS


class HybridClock:
    """Hands out strictly increasing versions; `observe` merges versions seen from peers."""

    def __init__(self, now_ms: Callable[[], int] = wall_ms) -> None:
        self._now_ms = now_ms
        self._last = 0

    def tick(self) -> int:
        physical = self._now_ms() << LOGICAL_BITS
        self._last = physical if physical > self._last else self._last + 1
        return self._last

    def observe(self, version: int) -> None:
        if version > self._last:
            self._last = version

    @property
    def last(self) -> int:
        """The highest version issued or observed so far."""
        return self._last
