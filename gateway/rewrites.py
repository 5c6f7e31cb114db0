"""Output rewrites: keys the planner aliased in a fetch (planner/aliases.py), renamed back
in the subgraph's answer before it is merged.

    rename_keys({"media": [{"__typename": "Film", "d__alias_0": 170}]},
                [(("media", "... on Film", "d__alias_0"), "d")])
    ->  {"media": [{"__typename": "Film", "d": 170}]}

A `... on T` step applies to objects whose `__typename` is T (or that have none)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FRAGMENT = "... on "


def rename_keys(value: Any, rewrites: Iterable[tuple[tuple[str, ...], str]]) -> None:
    for path, name in rewrites:
        _at(value, path, name)


def _at(value: Any, path: tuple[str, ...], name: str) -> None:
    if isinstance(value, list):
        for item in value:
            _at(item, path, name)
        return
    if not isinstance(value, dict):
        return
    first, rest = path[0], path[1:]
    if first.startswith(FRAGMENT):
        typename = value.get("__typename")
        if typename is None or typename == first[len(FRAGMENT) :]:
            _at(value, rest, name)
    elif not rest:
        if first in value:
            value[name] = value.pop(first)
    else:
        _at(value.get(first), rest, name)
