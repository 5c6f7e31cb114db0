"""When to try again: exponential backoff with jitter, or what the receiver asked for.

>>> backoff_ms(RetryPolicy(interval_s=1.0), retry=3, rand=lambda: 1.0)
8000
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from datetime import UTC

from shards.triggers.definitions import RetryPolicy

MAX_DELAY_MS = 3600_000


def backoff_ms(policy: RetryPolicy, retry: int, rand: Callable[[], float]) -> int:
    """Delay before retry number `retry` (0 for the first): interval * 2^retry, the upper
    half jittered ("equal jitter") so that a burst of failures does not retry in lockstep."""
    full = min(MAX_DELAY_MS, policy.interval_s * 1000 * 2 ** min(retry, 30))
    return int(full / 2 + full / 2 * rand())


def retry_after_ms(value: str | None, now_ms: int) -> int | None:
    """A Retry-After header (seconds or an HTTP date) as a delay, capped at an hour."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(MAX_DELAY_MS, int(value) * 1000)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    delay = int(when.timestamp() * 1000) - now_ms
    return max(0, min(MAX_DELAY_MS, delay))
