"""Consistency levels and how many replicas each one needs.

replication 2: ONE=1, QUORUM=2, ALL=2        replication 3: ONE=1, QUORUM=2, ALL=3
"""

from __future__ import annotations

from enum import StrEnum


class Consistency(StrEnum):
    ONE = "ONE"
    QUORUM = "QUORUM"
    ALL = "ALL"

    def required(self, replication: int) -> int:
        if self is Consistency.ONE:
            return 1
        if self is Consistency.QUORUM:
            return replication // 2 + 1
        return replication


DEFAULT_READ = Consistency.ONE
DEFAULT_WRITE = Consistency.QUORUM
