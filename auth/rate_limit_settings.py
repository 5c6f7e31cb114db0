"""Rate-limit settings: `[rate_limits]` of shardgate.toml, then SHARDGATE_* variables.

[rate_limits]
default = "100/minute"              # per caller; several with ";" ("10/second;500/hour")
cost = false                        # true: an operation costs its root fields + aliases
storage = "memory://"               # or "redis://127.0.0.1:6379" for several gateways
fail = "open"                       # Redis unreachable: "open" serves, "closed" answers 503
trusted_proxies = ["10.0.0.0/8"]    # X-Forwarded-For is read only from these peers
exempt_admin = true                 # the admin role is not limited
timeout = 0.5                       # seconds for one Redis call
[rate_limits.roles]                 # replaces `default` for callers in that role
service = "1000/minute"
[rate_limits.operations]            # by operation name, on top of the caller's limit
SearchUsers = "10/minute"

Environment: SHARDGATE_RATE_LIMIT, SHARDGATE_RATE_LIMIT_STORAGE, SHARDGATE_RATE_LIMIT_FAIL,
SHARDGATE_RATE_LIMIT_COST (1/true), SHARDGATE_TRUSTED_PROXIES (comma-separated).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from limits import RateLimitItem, parse_many

from auth.client_address import Network, parse_networks

_KNOWN = {
    "default",
    "roles",
    "operations",
    "cost",
    "storage",
    "fail",
    "trusted_proxies",
    "exempt_admin",
    "timeout",
}


def parse_limit(text: str, where: str) -> tuple[RateLimitItem, ...]:
    """'100/minute' or '10/second;500/hour' (the `limits` notation); ValueError names `where`."""
    try:
        items = tuple(parse_many(text))
    except ValueError:
        raise ValueError(
            f"{where} = {text!r} is not a rate limit; write e.g. '100/minute' or "
            "'10/second;1000/hour'"
        ) from None
    if any(i.amount < 1 for i in items):
        raise ValueError(f"{where} = {text!r}: a limit must allow at least 1 request")
    return items


@dataclass(frozen=True)
class RateLimitSettings:
    default: tuple[RateLimitItem, ...] = ()
    roles: Mapping[str, tuple[RateLimitItem, ...]] = field(default_factory=dict)
    operations: Mapping[str, tuple[RateLimitItem, ...]] = field(default_factory=dict)
    cost: bool = False
    storage: str = "memory://"
    fail: Literal["open", "closed"] = "open"
    trusted_proxies: tuple[Network, ...] = ()
    exempt_admin: bool = True
    timeout: float = 0.5

    @property
    def active(self) -> bool:
        return bool(self.default or self.roles or self.operations)

    @property
    def shared(self) -> bool:
        return self.storage.startswith(("redis://", "rediss://"))

    def describe(self) -> str:
        """For the start-up log; never the storage password."""
        where = "redis" if self.shared else "memory"
        default = ";".join(str(i) for i in self.default) or "none"
        return (
            f"rate limits: default {default}, {len(self.roles)} role and "
            f"{len(self.operations)} operation limit(s), {'cost' if self.cost else 'request'} "
            f"mode, {where} storage, fail {self.fail}"
        )

    @classmethod
    def from_sources(
        cls, section: Mapping[str, Any] | None, environ: Mapping[str, str]
    ) -> RateLimitSettings:
        s = dict(section or {})
        env = {k: v for k, v in environ.items() if v != ""}
        unknown = set(s) - _KNOWN
        if unknown:
            raise ValueError(f"unknown setting(s) {sorted(unknown)}; known: {sorted(_KNOWN)}")
        default = env.get("SHARDGATE_RATE_LIMIT", s.get("default"))
        values: dict[str, Any] = {}
        if default is not None:
            values["default"] = parse_limit(str(default), "default")
        for table in ("roles", "operations"):
            raw = s.get(table, {})
            if not isinstance(raw, Mapping):
                raise ValueError(f"[rate_limits.{table}] must be a table of name = 'n/period'")
            values[table] = {str(k): parse_limit(str(v), f"{table}.{k}") for k, v in raw.items()}
        cost = env.get("SHARDGATE_RATE_LIMIT_COST", s.get("cost", False))
        values["cost"] = cost if isinstance(cost, bool) else str(cost).lower() in ("1", "true")
        storage = str(env.get("SHARDGATE_RATE_LIMIT_STORAGE", s.get("storage", "memory://")))
        if not storage.startswith(("memory://", "redis://", "rediss://")):
            raise ValueError(f"storage must be memory:// or redis://HOST:PORT, got {storage!r}")
        values["storage"] = storage
        fail = str(env.get("SHARDGATE_RATE_LIMIT_FAIL", s.get("fail", "open"))).lower()
        if fail not in ("open", "closed"):
            raise ValueError(f"fail must be 'open' or 'closed', got {fail!r}")
        values["fail"] = fail
        proxies = env.get("SHARDGATE_TRUSTED_PROXIES", s.get("trusted_proxies", ()))
        if isinstance(proxies, str):
            proxies = [p for p in proxies.split(",") if p.strip()]
        values["trusted_proxies"] = parse_networks(proxies)
        exempt = s.get("exempt_admin", True)
        if not isinstance(exempt, bool):
            raise ValueError("exempt_admin must be true or false")
        values["exempt_admin"] = exempt
        timeout = s.get("timeout", 0.5)
        if not isinstance(timeout, int | float) or timeout <= 0:
            raise ValueError("timeout must be a positive number of seconds")
        values["timeout"] = float(timeout)
        return cls(**values)
