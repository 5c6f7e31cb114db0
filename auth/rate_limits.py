"""Rate limits in a moving window (auth/rate_windows.py), in memory or in Redis.

    limiter = RateLimiter(RateLimitSettings.from_sources({"default": "100/minute"}, {}))
    caller = limiter.caller(session, "203.0.113.9")     # who is counted
    decision = await limiter.hit(caller, "SearchUsers", cost=1)
    decision.allowed, decision.headers()                 # RateLimit, RateLimit-Policy, ...
    await limiter.close()

A caller is keyed by its JWT subject; a token without a subject by its role (a service
account); a caller without a token (the anonymous role, or no authentication) by its client
address. Each caller has the `default` limit, or its role's; an operation with a limit of its
own also counts against that, per caller. In cost mode an operation costs its root fields plus
its aliases (fragments expanded) instead of 1.

Headers follow draft-ietf-httpapi-ratelimit-headers (-10):
    RateLimit-Policy: "default";q=100;w=60, "operation:SearchUsers";q=10;w=60
    RateLimit: "default";r=42;t=17, "operation:SearchUsers";r=9;t=58
and a refused request also gets Retry-After (seconds).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from limits import RateLimitItem

from auth.rate_limit_settings import RateLimitSettings
from auth.rate_windows import MemoryWindows, RedisWindows, StorageUnreachable, Window
from auth.session import Session

log = logging.getLogger("shardgate.rate_limits")
WARN_EVERY = 10.0  # seconds between two "storage unreachable" warnings


class RateLimitUnavailable(Exception):
    """The shared counters cannot be reached and the limits are configured to fail closed."""


@dataclass(frozen=True)
class Caller:
    key: str  # "subject:u1", "role:service", "address:203.0.113.9"
    role: str | None
    exempt: bool = False


@dataclass(frozen=True)
class Policy:
    """One limit that applies: its name in the headers, and the counter it keeps per caller."""

    name: str
    scope: str  # keeps counters apart: "default", "role:service", "operation:Search"
    item: RateLimitItem
    _around: tuple[str, str] = ("", "")  # the window key before and after the caller's

    @classmethod
    def of(cls, name: str, scope: str, item: RateLimitItem) -> Policy:
        before, after = item.key_for(scope, "\0").split("\0")
        return cls(name, scope, item, (before, after))

    def key(self, caller: Caller) -> str:
        """`item.key_for(scope, caller.key)`, as the `limits` library names the window."""
        return f"{self._around[0]}{caller.key}{self._around[1]}"


@dataclass(frozen=True)
class PolicyState:
    name: str
    item: RateLimitItem
    remaining: int
    reset_in: int  # seconds until the window has room again


@dataclass(frozen=True)
class Decision:
    allowed: bool = True
    states: tuple[PolicyState, ...] = ()
    retry_after: int | None = None

    def headers(self) -> dict[str, str]:
        if not self.states:
            return {}
        out = {
            "ratelimit-policy": ", ".join(_policy_header(s.name, s.item) for s in self.states),
            "ratelimit": ", ".join(
                f"{_sf(s.name)};r={s.remaining};t={s.reset_in}" for s in self.states
            ),
        }
        if self.retry_after is not None:
            out["retry-after"] = str(self.retry_after)
        return out


def combined(decisions: list[Decision]) -> Decision:
    """Several decisions of one HTTP request (a batch) as one: the latest state of each policy,
    the longest Retry-After."""
    if len(decisions) == 1:
        return decisions[0]
    states: dict[str, PolicyState] = {}
    retries = [d.retry_after for d in decisions if d.retry_after is not None]
    for d in decisions:
        states.update((s.name, s) for s in d.states)
    return Decision(
        all(d.allowed for d in decisions), tuple(states.values()), max(retries, default=None)
    )


@lru_cache(maxsize=256)  # policy names come from the settings: a handful
def _sf(name: str) -> str:
    """An HTTP structured-field string."""
    cleaned = "".join(c for c in name if " " <= c <= "~")
    return '"' + cleaned.replace("\\", "\\\\").replace('"', '\\"') + '"'


@lru_cache(maxsize=256)
def _policy_header(name: str, item: RateLimitItem) -> str:
    return f"{_sf(name)};q={item.amount};w={item.get_expiry()}"


@dataclass
class RateLimiter:
    settings: RateLimitSettings
    anonymous_role: str | None = None
    clock: Callable[[], float] = time.time  # the moving window itself uses wall time
    windows: MemoryWindows | RedisWindows = field(init=False)
    _last_warning: float = field(default=-math.inf, init=False)
    _policies: dict[tuple[str | None, str | None], tuple[Policy, ...]] = field(
        default_factory=dict, init=False
    )

    def __post_init__(self) -> None:
        if self.settings.shared:
            try:
                self.windows = RedisWindows(self.settings.storage, self.settings.timeout)
            except ImportError:
                raise RuntimeError(
                    "[rate_limits] storage is Redis but the redis client is not installed: "
                    "pip install 'shardgate[redis]'"
                ) from None
        else:
            self.windows = MemoryWindows()

    @property
    def active(self) -> bool:
        return self.settings.active

    def caller(self, session: Session | None, address: str) -> Caller:
        if session is None:
            return Caller(f"address:{address}", None)
        exempt = session.is_admin and self.settings.exempt_admin
        if session.subject is not None:
            return Caller(f"subject:{session.subject}", session.role, exempt)
        if session.is_admin or session.role != self.anonymous_role:
            return Caller(f"role:{session.role}", session.role, exempt)
        return Caller(f"address:{address}", session.role, exempt)

    def policies(self, caller: Caller, operation: str | None) -> tuple[Policy, ...]:
        """The limits that apply, worked out once per configured role and operation."""
        s = self.settings
        role = caller.role if caller.role is not None and caller.role in s.roles else None
        named = operation if operation is not None and operation in s.operations else None
        found = self._policies.get((role, named))
        if found is None:
            scope, items = (f"role:{role}", s.roles[role]) if role else ("default", s.default)
            out = [Policy.of(_name(scope, i, items), scope, i) for i in items]
            if named is not None:
                scope, items = f"operation:{named}", s.operations[named]
                out += [Policy.of(_name(scope, i, items), scope, i) for i in items]
            found = self._policies[(role, named)] = tuple(out)
        return found

    async def hit(self, caller: Caller, operation: str | None, cost: int = 1) -> Decision:
        if caller.exempt or not self.active:
            return Decision()
        try:
            return await self._hit(caller, operation, cost)
        except StorageUnreachable as e:
            now = self.clock()
            if now - self._last_warning >= WARN_EVERY:
                self._last_warning = now
                log.warning(
                    "rate limits: storage unreachable (%s); failing %s",
                    type(e.cause).__name__,
                    self.settings.fail,
                )
            if self.settings.fail == "closed":
                raise RateLimitUnavailable() from None
            return Decision()

    async def _hit(self, caller: Caller, operation: str | None, cost: int) -> Decision:
        policies = self.policies(caller, operation)
        if not policies:
            return Decision()
        windows = [Window(p.key(caller), p.item.amount, p.item.get_expiry()) for p in policies]
        now = self.clock()
        results = await self.windows.hit(windows, cost, now)
        states, allowed, retry = [], True, None
        for p, (acquired, used, oldest) in zip(policies, results, strict=True):
            item = p.item
            reset_in = max(1, math.ceil(oldest + item.get_expiry() - now))
            states.append(PolicyState(p.name, item, max(0, item.amount - used), reset_in))
            if not acquired:
                # cost over the whole limit never fits: say when the window is empty again
                wait = reset_in if cost <= item.amount else item.get_expiry()
                allowed, retry = False, max(retry or 0, wait)
        return Decision(allowed, tuple(states), retry)

    async def close(self) -> None:
        await self.windows.close()


def _name(scope: str, item: RateLimitItem, items: tuple[RateLimitItem, ...]) -> str:
    return scope if len(items) == 1 else f"{scope}/{item.get_expiry()}s"
