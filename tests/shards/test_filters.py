"""The filter compiler, checked by running its SQL over real documents in SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from shards.errors import BadRequest
from shards.filters import (
    FALSE,
    TRUE,
    compile_order_by,
    compile_ranges,
    compile_where,
    field_expr,
    merge_ranges,
)

DOCS: dict[str, dict[str, Any]] = {
    "a": {"name": "Alice", "age": 30, "score": 1.5, "active": True, "address": {"city": "Oslo"}},
    "b": {"name": "alice", "age": 25, "score": 2, "active": False, "address": {"city": "Bergen"}},
    "c": {"name": "Carol", "age": None, "address": None},
    "d": {"name": "100% _x*[y]?", "age": 40, "address": {"city": None}},
    "e": {},
}


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE docs(key TEXT PRIMARY KEY, token INTEGER, body TEXT)")
    conn.executemany(
        "INSERT INTO docs VALUES (?, ?, ?)",
        [(k, i * 10, orjson.dumps(v).decode()) for i, (k, v) in enumerate(DOCS.items())],
    )
    yield conn
    conn.close()


def matching(db: sqlite3.Connection, where: dict[str, Any] | None) -> set[str]:
    sql = compile_where(where)
    return {k for (k,) in db.execute(f"SELECT key FROM docs WHERE {sql.text}", sql.params)}


def test_field_is_exactly_the_index_expression() -> None:
    assert field_expr("address.city") == "json_extract(body, '$.address.city')"


@pytest.mark.parametrize(
    "path", ["", "1a", "a-b", "a..b", "a.", "a b", "a\n", "x') OR 1=1 --", "$.a", 3, None]
)
def test_invalid_field_paths_are_refused(path: object) -> None:
    with pytest.raises(BadRequest, match="field path"):
        field_expr(path)


def test_values_are_parameters_never_sql() -> None:
    sql = compile_where({"name": {"_eq": "x' OR '1'='1"}})
    assert sql == ("json_extract(body, '$.name') = ?", ("x' OR '1'='1",))


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (None, "abcde"),
        ({}, "abcde"),
        ({"name": {"_eq": "Alice"}}, "a"),
        ({"age": {"_eq": 30}}, "a"),
        ({"score": {"_eq": 2}}, "b"),  # 2 and 2.0 compare as numbers
        ({"active": {"_eq": True}}, "a"),
        ({"active": {"_eq": False}}, "b"),
        ({"age": {"_neq": 30}}, "bd"),  # nulls and missing never match _neq
        ({"age": {"_gt": 25}}, "ad"),
        ({"age": {"_gte": 25}}, "abd"),
        ({"age": {"_lt": 40}}, "ab"),
        ({"age": {"_lte": 30}}, "ab"),
        ({"age": {"_in": [25, 40]}}, "bd"),
        ({"age": {"_in": []}}, ""),
        ({"age": {"_nin": [25]}}, "ad"),  # _nin keeps only non-null values
        ({"age": {"_nin": []}}, "abd"),
        ({"active": {"_in": [True]}}, "a"),
        ({"age": {"_is_null": True}}, "ce"),  # null and missing alike
        ({"age": {"_is_null": False}}, "abd"),
        ({"age": {"_gt": 20, "_lt": 35}}, "ab"),  # several operators on one field: AND
    ],
)
def test_operators(db: sqlite3.Connection, where: dict[str, Any] | None, expected: str) -> None:
    assert matching(db, where) == set(expected)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"name": {"_like": "Al%"}}, "a"),  # case-sensitive, as in Postgres
        ({"name": {"_like": "al%"}}, "b"),
        ({"name": {"_like": "_lice"}}, "ab"),
        ({"name": {"_like": "%ICE"}}, ""),
        ({"name": {"_ilike": "%ICE"}}, "ab"),
        ({"name": {"_ilike": "AL_CE"}}, "ab"),
        ({"name": {"_like": "100%"}}, "d"),
        ({"name": {"_like": "100\\% \\_x%"}}, "d"),  # escaped % and _ are literal
        ({"name": {"_like": "100\\%x%"}}, ""),
        ({"name": {"_like": "%*[y]?"}}, "d"),  # GLOB's own wildcards are literal here
        ({"name": {"_like": "%*"}}, ""),
        ({"name": {"_ilike": "100\\%%[Y]?"}}, "d"),
        ({"name": {"_ilike": "%\\_x%"}}, "d"),
    ],
)
def test_like_and_ilike(db: sqlite3.Connection, where: dict[str, Any], expected: str) -> None:
    assert matching(db, where) == set(expected)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ({"_and": [{"age": {"_gt": 20}}, {"name": {"_ilike": "a%"}}]}, "ab"),
        ({"_or": [{"age": {"_eq": 40}}, {"name": {"_eq": "Carol"}}]}, "cd"),
        ({"_and": []}, "abcde"),
        ({"_or": []}, ""),
        ({"_not": {"age": {"_eq": 30}}}, "bd"),  # NOT of a null comparison is not true
        ({"_not": {"age": {"_is_null": True}}}, "abd"),
        ({"_not": {}}, ""),
        ({"address": {"city": {"_eq": "Oslo"}}}, "a"),
        ({"address": {"city": {"_is_null": True}}}, "cde"),
        ({"address": {"_is_null": True}}, "ce"),
        ({"address": {"_or": [{"city": {"_eq": "Oslo"}}, {"city": {"_eq": "Bergen"}}]}}, "ab"),
        ({"address": {"_not": {"city": {"_eq": "Oslo"}}}}, "b"),
    ],
)
def test_logic_and_embedded_objects(
    db: sqlite3.Connection, where: dict[str, Any], expected: str
) -> None:
    assert matching(db, where) == set(expected)


def test_long_lists_stay_within_sqlite_limits(db: sqlite3.Connection) -> None:
    many = {"_or": [{"age": {"_eq": n}} for n in range(1_500)]}
    assert matching(db, many) == set("abd")
    assert matching(db, {"age": {"_in": list(range(50_000))}}) == set("abd")


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"age": {"_eq": None}}, "use _is_null"),
        ({"age": {"_neq": None}}, "use _is_null"),
        ({"age": {"_eqq": 1}}, "unknown operator or field '_eqq'"),
        ({"age": {"_in": 1}}, "list"),
        ({"age": {"_in": [1, None]}}, "scalars"),
        ({"age": {"_eq": {"a": 1}}}, "scalars"),
        ({"age": {"_eq": 2**64}}, "64 bits"),
        ({"age": {"_is_null": "yes"}}, "true or false"),
        ({"name": {"_like": 5}}, "string pattern"),
        ({"name": {"_like": "abc\\"}}, "must not end with"),
        ({"_eq": 1}, "must be under a field"),
        ({"age": 30}, "must be an object"),
        ({"_and": {"age": {"_eq": 1}}}, "list of filters"),
        ({"a-b": {"_eq": 1}}, "unknown operator or field 'a-b'"),
    ],
)
def test_bad_filters_say_what_to_fix(where: dict[str, Any], message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        compile_where(where)


def test_deep_nesting_is_refused() -> None:
    where: dict[str, Any] = {"age": {"_eq": 1}}
    for _ in range(40):
        where = {"_not": where}
    with pytest.raises(BadRequest, match="deeper"):
        compile_where(where)


def test_order_by_text_and_defaults() -> None:
    assert compile_order_by(None) == "key ASC"
    assert compile_order_by(
        [
            {"field": "age", "direction": "ASC"},
            {"field": "address.city", "direction": "DESC"},
            {"field": "name", "direction": "ASC", "nulls": "FIRST"},
        ]
    ) == (
        "json_extract(body, '$.age') ASC NULLS LAST, "
        "json_extract(body, '$.address.city') DESC NULLS FIRST, "
        "json_extract(body, '$.name') ASC NULLS FIRST, key ASC"
    )


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ([{"field": "age", "direction": "ASC"}], "badce"),  # nulls last, then key
        ([{"field": "age", "direction": "DESC"}], "cedab"),  # nulls first, then key
        ([{"field": "age", "direction": "DESC", "nulls": "LAST"}], "dabce"),
        ([{"field": "age", "direction": "ASC", "nulls": "FIRST"}], "cebad"),
        ([{"field": "address.city", "direction": "ASC"}], "bacde"),
        ([], "abcde"),
    ],
)
def test_ordering(db: sqlite3.Connection, order_by: list[dict[str, Any]], expected: str) -> None:
    rows = db.execute(f"SELECT key FROM docs ORDER BY {compile_order_by(order_by)}")
    assert "".join(k for (k,) in rows) == expected


@pytest.mark.parametrize(
    "term",
    [
        {"field": "age", "direction": "UP"},
        {"field": "age", "direction": "ASC", "nulls": "MIDDLE"},
        {"field": "age; DROP TABLE docs", "direction": "ASC"},
        "age",
    ],
)
def test_bad_order_terms(term: Any) -> None:
    with pytest.raises(BadRequest):
        compile_order_by([term])


@pytest.mark.parametrize(
    ("ranges", "merged"),
    [
        ([[5, 9], [0, 4], [20, 30], [25, 40]], [(0, 9), (20, 40)]),  # adjacent and overlapping
        ([[0, 100], [10, 20]], [(0, 100)]),  # contained
        ([[0, 4], [6, 9]], [(0, 4), (6, 9)]),  # a gap of one token stays a gap
        ([(-(2**63), 2**63 - 1)], [(-(2**63), 2**63 - 1)]),
        ([], []),
    ],
)
def test_merge_ranges(ranges: list[Any], merged: list[tuple[int, int]]) -> None:
    assert merge_ranges(ranges) == merged


@pytest.mark.parametrize("bad", [[[5, 4]], [[1]], [[1, "2"]], [[True, 2]], [[0, 2**63]], [3]])
def test_bad_ranges(bad: list[Any]) -> None:
    with pytest.raises(BadRequest, match="token range"):
        merge_ranges(bad)


def test_compile_ranges(db: sqlite3.Connection) -> None:
    assert compile_ranges(None) == TRUE
    assert compile_ranges([]) == FALSE
    sql = compile_ranges([[0, 9], [10, 10], [35, 50]])  # tokens: a=0 b=10 c=20 d=30 e=40
    assert sql.text == "(token BETWEEN ? AND ? OR token BETWEEN ? AND ?)"
    assert sql.params == (0, 10, 35, 50)
    keys = {k for (k,) in db.execute(f"SELECT key FROM docs WHERE {sql.text}", sql.params)}
    assert keys == {"a", "b", "e"}
