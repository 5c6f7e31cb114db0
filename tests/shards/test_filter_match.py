"""Permission checks match documents with the shards' own SQL semantics."""

from __future__ import annotations

import pytest

from shards.errors import BadRequest
from shards.filter_match import matching

DOCS = [
    {"id": "a", "total": 12, "tags": ["x"], "address": {"city": "Oslo"}, "ok": True},
    {"id": "b", "total": 3, "address": {"city": "Bergen"}, "ok": False},
    {"id": "c"},
]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        (None, [True, True, True]),
        ({"total": {"_gt": 10}}, [True, False, False]),
        ({"_not": {"total": {"_gt": 10}}}, [False, True, False]),  # null: neither
        ({"total": {"_is_null": True}}, [False, False, True]),
        ({"address": {"city": {"_in": ["Oslo", "Rome"]}}}, [True, False, False]),
        ({"id": {"_like": "A%"}}, [False, False, False]),
        ({"id": {"_ilike": "A%"}}, [True, False, False]),
        ({"ok": {"_eq": True}}, [True, False, False]),
        ({"_or": [{"id": {"_eq": "c"}}, {"total": {"_lt": 5}}]}, [False, True, True]),
        ({"_and": []}, [True, True, True]),
    ],
)
def test_matching_follows_sql_semantics(where: dict | None, expected: list[bool]) -> None:
    assert matching(where, DOCS) == expected


def test_no_documents_no_answers() -> None:
    assert matching({"id": {"_eq": "a"}}, []) == []


def test_an_invalid_filter_is_refused_as_the_shards_refuse_it() -> None:
    with pytest.raises(BadRequest, match="_is_null"):
        matching({"id": {"_eq": None}}, DOCS)
