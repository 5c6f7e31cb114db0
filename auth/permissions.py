"""Permissions per role, per collection, per operation, as Hasura's: row filters in the `where`
language with session variables, column allow-lists, checks and presets.

    [permissions.user.Order.select]                      # role "user", collection Order
    filter = { userId = { _eq = "X-Shardgate-User-Id" } }
    columns = ["id", "userId", "total"]                  # or "*"
    aggregate = true                                     # may use ordersAggregate
    limit = 100                                          # at most this many rows per list

    [permissions.user.Order.insert]
    check = { userId = { _eq = "X-Shardgate-User-Id" } } # the new document must match
    columns = ["id", "total"]                            # what the caller may give
    set = { userId = "X-Shardgate-User-Id" }             # presets, from the session or literal

    [permissions.user.Order.update]                      # filter (before), check (after),
    filter = ...                                         # columns, set
    [permissions.user.Order.delete]
    filter = ...

    perms = Permissions.from_section(toml.get("permissions"))
    perms.unrestricted(session)                          # admin, or no [permissions]
    access = Access(session, perms.rules_for(session.role, owners))  # gateway/role_views.py
    rule = access.require("Order", "select")             # Forbidden when not granted
    where = access.bind(rule.filter, "Order")            # session variables substituted

Deny by default: once any role is configured, a role may do only what it is granted. A role
named like a service may do everything with that service's own collections (a microservice
writing its data) and nothing more with other services' than what is granted, which may not
include writes. The admin role (admin secret, or open mode) bypasses; the admin acting as
another role through X-Shardgate-Role gets that role's permissions, as in Hasura.

A string starting with `X-Shardgate-` (any case) in a filter or preset is a session variable:
`X-Shardgate-User-Id` is the token's `user-id` claim, `X-Shardgate-Role` the role, any other
`X-Shardgate-<name>` the namespace claim `<name>`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from auth.errors import ConfigError, Forbidden
from auth.session import Session

Operation = Literal["select", "insert", "update", "delete"]
RoleRules = Mapping[str, Mapping[Operation, "Rule"]]
OPERATIONS: tuple[Operation, ...] = ("select", "insert", "update", "delete")
VARIABLE_PREFIX = "x-shardgate-"
_ALL = "*"


@dataclass(frozen=True)
class Rule:
    """One operation on one collection for one role; empty parts allow everything."""

    filter: Mapping[str, Any] | None = None  # rows the operation may touch (select/update/delete)
    check: Mapping[str, Any] | None = None  # what a written document must match (insert/update)
    columns: frozenset[str] | None = None  # None: every column
    presets: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    aggregate: bool = False  # select only
    limit: int | None = None  # select only

    def allows(self, column: str) -> bool:
        return self.columns is None or column in self.columns


FULL_RULES: Mapping[Operation, Rule] = MappingProxyType(
    {op: Rule(aggregate=op == "select") for op in OPERATIONS}
)


@dataclass(frozen=True)
class Permissions:
    """role -> collection type name -> operation -> rule."""

    roles: Mapping[str, Mapping[str, Mapping[Operation, Rule]]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    admin_role: str = "admin"

    @property
    def enforced(self) -> bool:
        """Without any [permissions], every role may do everything (said loudly at start)."""
        return bool(self.roles)

    @classmethod
    def from_section(cls, section: object, admin_role: str = "admin") -> Permissions:
        if section is None:
            return cls(admin_role=admin_role)
        if not isinstance(section, Mapping):
            raise ConfigError("[permissions] must be a table of roles")
        roles: dict[str, dict[str, Mapping[Operation, Rule]]] = {}
        for role, collections in section.items():
            where = f"[permissions.{role}]"
            if not isinstance(collections, Mapping):
                raise ConfigError(f"{where} must be a table of collections")
            roles[role] = {}
            for collection, ops in collections.items():
                name = collection.rpartition(".")[2]  # "orders.Order" or "Order"
                roles[role][name] = _rules(f"[permissions.{role}.{collection}]", ops)
        if admin_role in roles:
            raise ConfigError(
                f"[permissions.{admin_role}]: the admin role may do everything; "
                "it takes no permissions"
            )
        return cls(MappingProxyType(roles), admin_role)

    def startup_warnings(self, open_mode: bool) -> list[str]:
        if self.enforced or open_mode:
            return []
        return [
            "permissions: no [permissions] are configured, so EVERY authenticated role may "
            "read and write every collection; see docs/auth.md#permissions"
        ]

    def check_service_roles(self, services: Mapping[str, Iterable[str]]) -> list[str]:
        """Problems with grants to service roles: `services` is service -> its collections."""
        problems = []
        for service, collections in services.items():
            own = set(collections)
            for collection, ops in self.roles.get(service, {}).items():
                if collection in own:
                    continue
                written = [op for op in ops if op != "select"]
                if written:
                    problems.append(
                        f"[permissions.{service}.{collection}]: role {service!r} is the "
                        f"{service} service's own role and may not {'/'.join(written)} another "
                        f"service's collection; grant select only, or use another role"
                    )
        return problems

    def unrestricted(self, session: Session | None) -> bool:
        """The admin acting as itself, or no [permissions] at all."""
        if session is None or not self.enforced:
            return True
        return session.is_admin and session.role == self.admin_role

    def rules_for(self, role: str, services: Mapping[str, Iterable[str]]) -> RoleRules:
        """collection -> operation -> rule for `role`; `services`: service -> its collections."""
        granted = dict(self.roles.get(role, {}))
        own = set(services.get(role, ()))
        for collection in own:  # a service's own role
            granted[collection] = FULL_RULES
        if role in services:  # and only reads of others' collections (refused at start)
            granted = {
                c: ops if c in own else {op: r for op, r in ops.items() if op == "select"}
                for c, ops in granted.items()
            }
        return MappingProxyType(granted)


@dataclass(frozen=True)
class Access:
    """One caller's permissions, with its session variables at hand."""

    session: Session
    collections: Mapping[str, Mapping[Operation, Rule]]

    @property
    def role(self) -> str:
        return self.session.role

    def rule(self, collection: str, op: Operation) -> Rule | None:
        return self.collections.get(collection, {}).get(op)

    def require(self, collection: str, op: Operation) -> Rule:
        rule = self.rule(collection, op)
        if rule is None:
            raise Forbidden(f"role {self.role!r} may not {op} {collection}")
        return rule

    def bind(self, value: Any, collection: str) -> Any:
        """`value` (a filter or preset) with every session variable replaced by its value."""
        if isinstance(value, str):
            if value.lower().startswith(VARIABLE_PREFIX):
                return self.variable(value, collection)
            return value
        if isinstance(value, Mapping):
            return {k: self.bind(v, collection) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.bind(v, collection) for v in value]
        return value

    def variable(self, name: str, collection: str) -> Any:
        short = name.lower().removeprefix(VARIABLE_PREFIX)
        if short == "role":
            return self.session.role
        found = self.session.variables.get(short)
        if found is None and short == "user-id":
            found = self.session.subject
        if found is None:
            raise Forbidden(
                f"the permissions of role {self.role!r} on {collection} need the session "
                f"variable {name}, which this request does not carry",
                f"put {short!r} under the token's claims namespace",
            )
        return found


def _rules(where: str, ops: object) -> Mapping[Operation, Rule]:
    if not isinstance(ops, Mapping):
        raise ConfigError(f"{where} must be a table of operations ({', '.join(OPERATIONS)})")
    unknown = set(ops) - set(OPERATIONS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown operation(s) {sorted(unknown)}; use {', '.join(OPERATIONS)}"
        )
    return MappingProxyType({op: _rule(f"{where[:-1]}.{op}]", op, ops[op]) for op in ops})


_ALLOWED_KEYS: Mapping[Operation, frozenset[str]] = {
    "select": frozenset({"filter", "columns", "aggregate", "limit"}),
    "insert": frozenset({"check", "columns", "set"}),
    "update": frozenset({"filter", "check", "columns", "set"}),
    "delete": frozenset({"filter"}),
}


def _rule(where: str, op: Operation, raw: object) -> Rule:
    if raw is True or raw == {}:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where} must be a table (or true to allow everything)")
    unknown = set(raw) - _ALLOWED_KEYS[op]
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {sorted(unknown)}; {op} takes "
            f"{', '.join(sorted(_ALLOWED_KEYS[op]))}"
        )
    for key in ("filter", "check", "set"):
        if key in raw and not isinstance(raw[key], Mapping):
            raise ConfigError(f"{where}: {key} must be a table, e.g. {{ id = {{ _eq = ... }} }}")
    columns = raw.get("columns", _ALL)
    if columns != _ALL and (
        not isinstance(columns, list) or not all(isinstance(c, str) for c in columns)
    ):
        raise ConfigError(f'{where}: columns must be a list of field names, or "*"')
    aggregate = raw.get("aggregate", False)
    if not isinstance(aggregate, bool):
        raise ConfigError(f"{where}: aggregate must be true or false")
    limit = raw.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"{where}: limit must be a whole number of at least 1")
    return Rule(
        filter=_frozen(raw.get("filter")),
        check=_frozen(raw.get("check")),
        columns=None if columns == _ALL else frozenset(columns),
        presets=MappingProxyType(dict(raw.get("set", {}))),
        aggregate=aggregate,
        limit=limit,
    )


def _frozen(value: Any) -> Mapping[str, Any] | None:
    return None if value is None else MappingProxyType(dict(value))


def combine(*filters: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Filters ANDed; None (no filter) where all are None."""
    present = [dict(f) for f in filters if f]
    if not present:
        return None
    return present[0] if len(present) == 1 else {"_and": present}
