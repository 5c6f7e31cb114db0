"""Compile the protocol's `where`, `order_by` and token ranges into parameterised SQL.

Documents are JSON text in a `body` column; a field path becomes exactly the expression the
expression indexes are built on, so the planner can use them:

    >>> compile_where({"address": {"city": {"_eq": "Oslo"}}, "total": {"_gt": 10}})
    Sql(text="(json_extract(body, '$.address.city') = ? AND json_extract(body, '$.total') > ?)",
        params=('Oslo', 10))

Only validated field paths are spliced into SQL; every value is a `?` parameter.

Null semantics are SQL's (as Hasura's on Postgres): a comparison with a null or missing value
is never true, and `_not` of it is not true either; `_is_null` is the way to match nulls.
Ordering follows SQLite's type order (NULL < numbers < text; text by code point, booleans as
0/1), each term with its NULLS FIRST/LAST, then `key` so that the order is total.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import orjson

from shards.errors import BadRequest

NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*")
FIELD_PATH = re.compile(r"[_A-Za-z][_0-9A-Za-z]*(\.[_A-Za-z][_0-9A-Za-z]*)*")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_DEPTH = 32  # nesting of _and/_or/_not and embedded objects
MAX_TERMS = 2_000  # leaves per filter; keeps SQL small and under SQLite's parameter limit

_COMPARISONS = {"_eq": "=", "_neq": "<>", "_gt": ">", "_gte": ">=", "_lt": "<", "_lte": "<="}
_OPERATORS = frozenset({*_COMPARISONS, "_in", "_nin", "_like", "_ilike", "_is_null"})
_LOGICAL = frozenset({"_and", "_or", "_not"})


class Sql(NamedTuple):
    text: str
    params: tuple[Any, ...]


TRUE = Sql("1", ())
FALSE = Sql("0", ())


def field_expr(path: object) -> str:
    """`a.b` -> `json_extract(body, '$.a.b')`; anything but a GraphQL-name path is refused."""
    if not isinstance(path, str) or not FIELD_PATH.fullmatch(path):
        raise BadRequest(
            f"invalid field path {path!r}: use GraphQL names joined by dots, e.g. 'address.city'"
        )
    return f"json_extract(body, '$.{path}')"


def compile_where(where: Mapping[str, Any] | None) -> Sql:
    if where is None:
        return TRUE
    compiler = _WhereCompiler()
    text = compiler.bool_exp(where, None, 0)
    return Sql(text, tuple(compiler.params))


class _WhereCompiler:
    def __init__(self) -> None:
        self.params: list[Any] = []
        self.terms = 0

    def bool_exp(self, exp: object, prefix: str | None, depth: int) -> str:
        """A filter object. Under a field (`prefix`), operator keys compare that field and other
        keys are fields of the embedded object; `_and`/`_or`/`_not` combine at either level."""
        if not isinstance(exp, Mapping):
            where = f"under {prefix!r}" if prefix else "at the top level"
            raise BadRequest(f"filter {where} must be an object, got {_kind(exp)}")
        if depth > MAX_DEPTH:
            raise BadRequest(f"filter nested deeper than {MAX_DEPTH} levels; flatten it")
        parts: list[str] = []
        for name, arg in exp.items():
            if name in _LOGICAL:
                parts.append(self.logical(name, arg, prefix, depth))
            elif name in _OPERATORS:
                if prefix is None:
                    raise BadRequest(
                        f"operator {name} must be under a field, e.g. {{'f': {{...}}}}"
                    )
                parts.append(self.operator(name, arg, prefix))
            elif NAME.fullmatch(name) and (isinstance(arg, Mapping) or not name.startswith("_")):
                path = name if prefix is None else f"{prefix}.{name}"
                parts.append(self.bool_exp(arg, path, depth + 1))
            else:
                raise BadRequest(
                    f"unknown operator or field {name!r} in filter; operators are "
                    + ", ".join(sorted(_OPERATORS | _LOGICAL))
                )
        return _join("AND", parts, empty="1")

    def logical(self, name: str, arg: object, prefix: str | None, depth: int) -> str:
        if name == "_not":
            return f"NOT {self.bool_exp(arg, prefix, depth + 1)}"
        if not isinstance(arg, list):
            raise BadRequest(f"{name} takes a list of filters, got {_kind(arg)}")
        parts = [self.bool_exp(item, prefix, depth + 1) for item in arg]
        # Empty _and is true and empty _or is false, as in SQL and Hasura.
        return _join("AND" if name == "_and" else "OR", parts, empty="1" if name == "_and" else "0")

    def operator(self, op: str, arg: object, path: str) -> str:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise BadRequest(f"filter has more than {MAX_TERMS} conditions; use _in lists")
        expr = field_expr(path)
        if op in _COMPARISONS:
            if arg is None:
                raise BadRequest(f"{path}: {op} null never matches in SQL; use _is_null instead")
            self.params.append(_scalar(arg, path, op))
            return f"{expr} {_COMPARISONS[op]} ?"
        if op in ("_in", "_nin"):
            if not isinstance(arg, list):
                raise BadRequest(f"{path}: {op} takes a list of values, got {_kind(arg)}")
            if not arg:  # SQL semantics: nothing is in an empty set; _nin keeps non-nulls
                return "0" if op == "_in" else f"{expr} IS NOT NULL"
            values = [_scalar(v, path, op) for v in arg]
            # One JSON array parameter: any list length, still an indexed IN lookup.
            self.params.append(orjson.dumps(values).decode())
            negate = "NOT " if op == "_nin" else ""
            return f"{expr} {negate}IN (SELECT value FROM json_each(?))"
        if op in ("_like", "_ilike"):
            if not isinstance(arg, str):
                raise BadRequest(f"{path}: {op} takes a string pattern, got {_kind(arg)}")
            tokens = _like_tokens(arg, path)
            if op == "_like":  # GLOB is case-sensitive, unlike SQLite's LIKE
                self.params.append("".join(_GLOB.get(t, t) for t in tokens))
                return f"{expr} GLOB ?"
            self.params.append("".join(_LIKE.get(t, t) for t in tokens))
            return f"{expr} LIKE ? ESCAPE '\\'"
        # _is_null
        if not isinstance(arg, bool):
            raise BadRequest(f"{path}: _is_null takes true or false, got {_kind(arg)}")
        return f"{expr} IS NULL" if arg else f"{expr} IS NOT NULL"


# LIKE patterns (Postgres syntax: % any run, _ any one character, backslash escapes) are
# tokenised once, then rendered for GLOB (_like) or for SQLite's LIKE with ESCAPE (_ilike).
_ANY_RUN, _ANY_ONE = object(), object()
_GLOB: dict[object, str] = {_ANY_RUN: "*", _ANY_ONE: "?", "*": "[*]", "?": "[?]", "[": "[[]"}
_LIKE: dict[object, str] = {_ANY_RUN: "%", _ANY_ONE: "_", "%": "\\%", "_": "\\_", "\\": "\\\\"}


def _like_tokens(pattern: str, path: str) -> list[Any]:
    tokens: list[Any] = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            escaped = next(chars, None)
            if escaped is None:
                raise BadRequest(f"{path}: a LIKE pattern must not end with '\\'; write '\\\\'")
            tokens.append(escaped)
        else:
            tokens.append(_ANY_RUN if ch == "%" else _ANY_ONE if ch == "_" else ch)
    return tokens


def _scalar(value: object, path: str, op: str) -> Any:
    if isinstance(value, bool):
        return int(value)  # json_extract gives 1/0 for true/false
    if isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise BadRequest(f"{path}: {op} value {value} does not fit in 64 bits")
        return value
    if isinstance(value, float | str):
        return value
    raise BadRequest(
        f"{path}: {op} compares scalars, got {_kind(value)}; "
        "filter embedded objects field by field, and nulls with _is_null"
    )


def _join(op: str, parts: Sequence[str], empty: str) -> str:
    """Join balanced, so long lists stay far below SQLite's expression depth limit (1000)."""
    if not parts:
        return empty
    if len(parts) <= 8:
        return parts[0] if len(parts) == 1 else "(" + f" {op} ".join(parts) + ")"
    mid = len(parts) // 2
    return f"({_join(op, parts[:mid], empty)} {op} {_join(op, parts[mid:], empty)})"


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def compile_order_by(terms: Iterable[Mapping[str, Any]] | None) -> str:
    """`[{"field": "total", "direction": "DESC"}]` ->
    `json_extract(body, '$.total') DESC NULLS FIRST, key ASC`. Default nulls: LAST for ASC,
    FIRST for DESC (Postgres). `key ASC` always ends the list so the order is total."""
    parts = []
    for term in terms or ():
        if not isinstance(term, Mapping):
            raise BadRequest(f"order_by terms must be objects, got {_kind(term)}")
        direction = term.get("direction", "ASC")
        if direction not in ("ASC", "DESC"):
            raise BadRequest(f"order_by direction must be ASC or DESC, got {direction!r}")
        nulls = term.get("nulls") or ("LAST" if direction == "ASC" else "FIRST")
        if nulls not in ("FIRST", "LAST"):
            raise BadRequest(f"order_by nulls must be FIRST or LAST, got {nulls!r}")
        parts.append(f"{field_expr(term.get('field'))} {direction} NULLS {nulls}")
    parts.append("key ASC")
    return ", ".join(parts)


def merge_ranges(ranges: Iterable[Sequence[int]]) -> list[tuple[int, int]]:
    """Sort inclusive token ranges and merge overlapping or adjacent ones:
    `[[5, 9], [0, 4], [20, 30], [25, 40]]` -> `[(0, 9), (20, 40)]`."""
    checked = []
    for r in ranges:
        if (
            not isinstance(r, list | tuple)
            or len(r) != 2
            or not all(type(t) is int and INT64_MIN <= t <= INT64_MAX for t in r)
            or r[0] > r[1]
        ):
            raise BadRequest(f"token range {r!r} must be [lo, hi]: int64 tokens with lo <= hi")
        checked.append((r[0], r[1]))
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(checked):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def compile_ranges(ranges: Iterable[Sequence[int]] | None) -> Sql:
    """None: every token; `[]`: none; else `(token BETWEEN ? AND ?) OR ...` over merged ranges."""
    if ranges is None:
        return TRUE
    if not isinstance(ranges, list | tuple):
        raise BadRequest(f"ranges must be a list of [lo, hi] pairs or null, got {_kind(ranges)}")
    merged = merge_ranges(ranges)
    parts = ["token BETWEEN ? AND ?"] * len(merged)
    return Sql(_join("OR", parts, empty="0"), tuple(t for r in merged for t in r))
