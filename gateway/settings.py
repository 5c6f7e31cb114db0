"""Settings, read once: `shardgate.toml` (optional), then environment, then CLI flags.

[cluster]                      # what `shardgate up` starts
shards = 3
replication = 2
vnodes = 128
data = ".shardgate"
durability = "NORMAL"          # SQLite synchronous: NORMAL or FULL (see docs/operations.md)

[gateway]
host = "127.0.0.1"
port = 4000
services = "examples"          # every <service>.graphql in it is loaded at start
max_request_bytes = 33554432   # larger GraphQL request bodies get HTTP 413
registry_poll = 2.0            # seconds between looks for schemas pushed through other gateways

[gateway.subgraphs]            # external federation subgraphs, composed with the store's
reviews = "http://10.0.0.7:4001/graphql"

[gateway.subgraph_timeouts]    # seconds per request, for some subgraphs (default: 6 x timeout)
reviews = 2.0

[store]
max_document_bytes = 1048576
timeout = 5.0                  # seconds per shard call

[triggers]                     # see docs/triggers.md
allow_private = false          # webhooks to loopback/private addresses (development only);
                               # also SHARDGATE_TRIGGERS_ALLOW_PRIVATE=1
grace_s = 30.0                 # a replica delivers once the key's primary is down this long
concurrency = 8                # webhook requests in flight per trigger per shard
retention_s = 604800.0         # delivered events older than this are deleted
[[triggers.definitions]]       # upserted into the store at gateway start
name = "new_user"
collection = "users.User"
ops = ["INSERT"]
url = "https://hooks.example.com/users"
[limits]                       # operation limits, batching, introspection (docs/auth.md)
max_depth = 12
max_tokens = 15000
batching = false
introspection_roles = ["developer"]
[rate_limits]                  # see docs/auth.md; also SHARDGATE_RATE_LIMIT=100/minute ...
default = "100/minute"
storage = "redis://127.0.0.1:6379"
[csrf]
required_headers = ["x-shardgate-csrf", "apollo-require-preflight"]
[vectors]                      # for @vector fields whose directive does not say (docs/vectors.md)
index = "FLAT"                 # FLAT (exact), HNSW or IVF
m = 32                         # HNSW settings
ef_construction = 64
ef_search = 64
nlist = 1024                   # IVF settings
nprobe = 32
partial = false                # true: a search missing token ranges (no live replica) answers
                               # from the rest and says so in extensions.partial

[telemetry]                    # OpenTelemetry tracing (telemetry/settings.py, docs/operations.md)
exporter = "none"              # none, console or otlp; OTEL_* variables win over the file
endpoint = "http://127.0.0.1:4318"
service_name = "shardgate"
sample_ratio = 1.0
include_document = false
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from auth import AuthSettings, ConfigError
from auth.operation_limits import OperationLimits
from auth.permissions import Permissions
from auth.rate_limit_settings import RateLimitSettings
from gateway.csrf import CsrfSettings
from shards.telemetry import TelemetrySettings
from shards.vector_spec import IndexDefaults

DEFAULT_CONFIG = Path("shardgate.toml")


@dataclass(frozen=True)
class ClusterSettings:
    shards: int = 3
    replication: int = 2
    vnodes: int = 128
    data: Path = Path(".shardgate")
    durability: str = "NORMAL"


@dataclass(frozen=True)
class StoreSettings:
    """How the gateway reaches and uses the store."""

    shards: dict[str, str] = field(default_factory=dict)  # shard id -> base URL
    replication: int = 2
    vnodes: int = 128
    max_document_bytes: int = 1 << 20
    timeout: float = 5.0


@dataclass(frozen=True)
class TriggerSettings:
    allow_private: bool = False
    grace_s: float = 30.0
    concurrency: int = 8
    retention_s: float = 7 * 86400.0
    definitions: tuple[dict[str, Any], ...] = ()  # checked when the gateway stores them

    def options(self) -> dict[str, Any]:
        """What every shard is sent with the definitions."""
        return {
            "allow_private": self.allow_private,
            "grace_s": self.grace_s,
            "concurrency": self.concurrency,
            "retention_s": self.retention_s,
        }


@dataclass(frozen=True)
class GatewaySettings:
    host: str = "127.0.0.1"
    port: int = 4000
    services: Path | None = None
    store: StoreSettings = field(default_factory=StoreSettings)
    graphiql: bool = True
    max_request_bytes: int = 32 << 20
    registry_poll: float = 2.0  # seconds between looks for schemas pushed elsewhere
    # External Apollo Federation subgraphs composed with the store's: name -> URL.
    subgraphs: dict[str, str] = field(default_factory=dict)
    subgraph_timeouts: dict[str, float] = field(default_factory=dict)  # seconds, by name
    # Identical subgraph queries in flight at once are sent once (gateway/in_flight.py).
    dedupe_subgraph_requests: bool = True
    auth: AuthSettings = field(default_factory=AuthSettings)
    limits: OperationLimits = field(default_factory=OperationLimits)
    permissions: Permissions = field(default_factory=Permissions)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    csrf: CsrfSettings = field(default_factory=CsrfSettings)
    triggers: TriggerSettings = field(default_factory=TriggerSettings)
    vectors: IndexDefaults = field(default_factory=IndexDefaults)
    telemetry: TelemetrySettings = field(default_factory=TelemetrySettings)


@dataclass(frozen=True)
class Settings:
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    gateway: GatewaySettings = field(default_factory=GatewaySettings)


def load_settings(path: Path | None = None, env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    path = path or Path(env.get("SHARDGATE_CONFIG", DEFAULT_CONFIG))
    raw: dict[str, Any] = {}
    if path.exists():
        with path.open("rb") as f:
            raw = tomllib.load(f)
    cluster_raw, gateway_raw, store_raw, vectors_raw = (
        raw.get(k, {}) for k in ("cluster", "gateway", "store", "vectors")
    )
    _reject_unknown(path, "cluster", cluster_raw, ClusterSettings)
    _reject_unknown(
        path,
        "gateway",
        gateway_raw,
        GatewaySettings,
        exclude={
            "store",
            "triggers",
            "vectors",
            "auth",
            "limits",
            "permissions",
            "rate_limits",
            "csrf",
            "telemetry",
        },
    )
    _reject_unknown(path, "vectors", vectors_raw, IndexDefaults)
    try:
        vectors = IndexDefaults(**vectors_raw)
    except ValueError as e:
        raise SystemExit(f"{path}: {e}") from None
    _reject_unknown(path, "store", store_raw, StoreSettings, exclude={"shards"})
    triggers_raw = dict(raw.get("triggers", {}))
    definitions = triggers_raw.pop("definitions", [])
    _reject_unknown(path, "triggers", triggers_raw, TriggerSettings, exclude={"definitions"})
    if not isinstance(definitions, list) or not all(isinstance(d, dict) for d in definitions):
        raise SystemExit(f"{path}: [[triggers.definitions]] must be tables")
    triggers = TriggerSettings(**triggers_raw, definitions=tuple(definitions))
    if env.get("SHARDGATE_TRIGGERS_ALLOW_PRIVATE", "") in ("1", "true"):
        triggers = replace(triggers, allow_private=True)
    cluster = ClusterSettings(
        **{**cluster_raw, **({"data": Path(cluster_raw["data"])} if "data" in cluster_raw else {})}
    )
    store = StoreSettings(**store_raw)
    auth = _auth(path, raw.get("auth"), env)
    gateway = GatewaySettings(
        **{
            **gateway_raw,
            **({"services": Path(gateway_raw["services"])} if "services" in gateway_raw else {}),
            "store": store,
            "triggers": triggers,
            "vectors": vectors,
            "auth": auth,
            "limits": _limits(path, raw.get("limits"), env),
            "permissions": _permissions(path, raw.get("permissions"), auth.admin_role),
            "rate_limits": _section(path, "rate_limits", RateLimitSettings.from_sources, raw, env),
            "csrf": _section(path, "csrf", lambda s, _env: CsrfSettings.from_sources(s), raw, env),
            "telemetry": _telemetry(path, raw.get("telemetry"), env),
        }
    )
    if "SHARDGATE_PORT" in env:
        gateway = replace(gateway, port=int(env["SHARDGATE_PORT"]))
    if "SHARDGATE_DATA" in env:
        cluster = replace(cluster, data=Path(env["SHARDGATE_DATA"]))
    return Settings(cluster=cluster, gateway=gateway)


def _auth(path: Path, section: Any, env: dict[str, str]) -> AuthSettings:
    """[auth] and the SHARDGATE_JWT_* / SHARDGATE_ADMIN_SECRET ... variables (docs/auth.md)."""
    try:
        return AuthSettings.from_sources(section, env)
    except ConfigError as e:
        raise SystemExit(f"{path}: [auth]: {e.message}") from None


def _permissions(path: Path, section: Any, admin_role: str) -> Permissions:
    """[permissions.<role>.<Collection>.<operation>] tables (docs/auth.md#permissions)."""
    try:
        return Permissions.from_section(section, admin_role)
    except ConfigError as e:
        raise SystemExit(f"{path}: {e.message}") from None


def _limits(path: Path, section: Any, env: dict[str, str]) -> OperationLimits:
    """[limits] and SHARDGATE_MAX_DEPTH / SHARDGATE_MAX_ALIASES / SHARDGATE_MAX_ROOT_FIELDS."""
    try:
        return OperationLimits.from_sources(section, env)
    except ValueError as e:
        raise SystemExit(f"{path}: [limits]: {e}") from None


def _section(path: Path, name: str, build: Any, raw: dict[str, Any], env: dict[str, str]) -> Any:
    """[rate_limits] (and SHARDGATE_RATE_LIMIT*), [csrf]: see docs/auth.md."""
    try:
        return build(raw.get(name), env)
    except ValueError as e:
        raise SystemExit(f"{path}: [{name}]: {e}") from None


def _telemetry(path: Path, section: Any, env: dict[str, str]) -> TelemetrySettings:
    """[telemetry] and the standard OTEL_* variables (shards/telemetry/settings.py)."""
    if section is not None and not isinstance(section, dict):
        raise SystemExit(f"{path}: [telemetry] must be a table")
    try:
        return TelemetrySettings.from_sources(section, env)
    except ValueError as e:
        raise SystemExit(f"{path}: [telemetry]: {e}") from None


def _reject_unknown(
    path: Path, section: str, values: dict[str, Any], cls: type, exclude: set[str] | None = None
) -> None:
    """Unknown names and values of the wrong type are refused with the file and setting."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in (exclude or set())}
    unknown = set(values) - set(fields)
    if unknown:
        raise SystemExit(
            f"{path}: unknown setting(s) {sorted(unknown)} in [{section}]; known: {sorted(fields)}"
        )
    for name, value in values.items():
        f = fields[name]
        default = f.default
        if default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()  # e.g. [gateway.subgraphs]: a table
        expected: tuple[type, ...] = (
            (str,)
            if default is None or isinstance(default, Path)
            else (int, float)
            if isinstance(default, float)
            else (type(default),)
        )
        if not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected):
            raise SystemExit(
                f"{path}: [{section}] {name} = {value!r} should be a "
                f"{' or '.join(t.__name__ for t in expected)}"
            )
