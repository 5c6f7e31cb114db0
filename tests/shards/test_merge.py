"""The gateway's merge order must equal the shards' SQL ORDER BY, or paging breaks."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from shards.filters import compile_order_by
from shards.merge import aggregate_docs, merge_aggregates, sort_key

values = st.one_of(st.none(), st.integers(-5, 5), st.floats(-5, 5, allow_nan=False))
texts = st.one_of(st.none(), st.text("abcAB é", max_size=3))
docs = st.lists(
    st.fixed_dictionaries({"n": values, "s": texts, "b": st.one_of(st.none(), st.booleans())}),
    max_size=25,
)
terms = st.lists(
    st.fixed_dictionaries(
        {
            "field": st.sampled_from(["n", "s", "b"]),
            "direction": st.sampled_from(["ASC", "DESC"]),
            "nulls": st.sampled_from(["FIRST", "LAST"]),
        }
    ),
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(docs, terms)
def test_sort_key_orders_as_sqlite_does(rows: list[dict], order: list[dict]) -> None:
    keyed = [{**row, "id": f"k{i}"} for i, row in enumerate(rows)]
    with closing(sqlite3.connect(":memory:")) as db:
        db.execute("CREATE TABLE t(key TEXT, body TEXT)")
        db.executemany(
            "INSERT INTO t VALUES (?, ?)", [(d["id"], orjson.dumps(d).decode()) for d in keyed]
        )
        sql = f"SELECT key FROM t ORDER BY {compile_order_by(order)}"
        expected = [k for (k,) in db.execute(sql)]
    ours = [d["id"] for d in sorted(keyed, key=sort_key(order, "id"))]
    assert ours == expected


def test_aggregates_merge_like_one_big_aggregate() -> None:
    rows = [{"n": 3, "s": "b"}, {"n": None, "s": "a"}, {"n": 1.5}, {"s": "c"}]
    whole = aggregate_docs(rows, ["n", "s"])
    parts = merge_aggregates(
        [aggregate_docs(rows[:1], ["n", "s"]), aggregate_docs(rows[1:], ["n", "s"])], ["n", "s"]
    )
    assert whole == parts
    assert whole["count"] == 4
    assert whole["fields"]["n"] == {"count": 2, "sum": 4.5, "min": 1.5, "max": 3}
    assert whole["fields"]["s"] == {"count": 3, "sum": None, "min": "a", "max": "c"}
