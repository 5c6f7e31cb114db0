"""Merging shard answers: the global order of sorted streams, summed aggregates (vector hits:
`shards.vector_scatter`).

`sort_key` must order documents exactly as the shard's SQL does (`shards.filters`):
per term ASC/DESC with NULLS FIRST/LAST, then the key as text, so that `heapq.merge` over
per-shard results gives the same answer as one big ORDER BY.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cmp_to_key
from typing import Any

from shards.protocol import AggregateResult, FieldAggregate, OrderTerm, StoredDoc


def field_value(doc: dict[str, Any], path: Sequence[str]) -> Any:
    value: Any = doc
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def keep_newest(newest: dict[str, StoredDoc], key: str, doc: StoredDoc | None) -> None:
    """Record `doc` for `key` if it is newer (version, then origin) than what is there."""
    if doc is not None and (
        key not in newest
        or (doc["version"], doc["origin"]) > (newest[key]["version"], newest[key]["origin"])
    ):
        newest[key] = doc


def sort_key(order_by: Sequence[OrderTerm], key_field: str) -> Callable[[dict[str, Any]], Any]:
    terms = [
        (t["field"].split("."), t["direction"] == "DESC", t["nulls"] == "FIRST") for t in order_by
    ]

    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        for path, desc, nulls_first in terms:
            va, vb = field_value(a, path), field_value(b, path)
            if va is None or vb is None:
                if va is None and vb is None:
                    continue
                return (-1 if va is None else 1) * (1 if nulls_first else -1)
            if va == vb:
                continue
            c = -1 if va < vb else 1
            return -c if desc else c
        ka, kb = str(a.get(key_field)), str(b.get(key_field))
        return (ka > kb) - (ka < kb)

    return cmp_to_key(compare)


def merge_aggregates(parts: Sequence[AggregateResult], fields: Sequence[str]) -> AggregateResult:
    merged: dict[str, FieldAggregate] = {}
    for f in fields:
        aggs = [p["fields"][f] for p in parts if f in p["fields"]]
        sums = [a["sum"] for a in aggs if a["sum"] is not None]
        mins = [a["min"] for a in aggs if a["min"] is not None]
        maxs = [a["max"] for a in aggs if a["max"] is not None]
        merged[f] = FieldAggregate(
            count=sum(a["count"] for a in aggs),
            sum=sum(sums) if sums else None,
            min=min(mins) if mins else None,
            max=max(maxs) if maxs else None,
        )
    return AggregateResult(count=sum(p["count"] for p in parts), fields=merged)


def aggregate_docs(docs: Sequence[dict[str, Any]], fields: Sequence[str]) -> AggregateResult:
    """The shard's aggregate, computed over documents (sums over numbers only, as SQL's)."""
    out: dict[str, FieldAggregate] = {}
    for f in fields:
        path = f.split(".")
        values = [v for d in docs if (v := field_value(d, path)) is not None]
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        out[f] = FieldAggregate(
            count=len(values),
            sum=sum(numbers) if numbers else None,
            min=min(values) if values else None,
            max=max(values) if values else None,
        )
    return AggregateResult(count=len(docs), fields=out)
