"""The generated names: a public contract (docs/schema-language.md, "Generated names")."""

from __future__ import annotations

import dataclasses

import pytest

from schema.naming import collection_names, lower_first, plural, reserved_name_reason


def test_every_name_generated_for_a_collection() -> None:
    names = collection_names("User")
    assert dataclasses.asdict(names) == {
        "type": "User",
        "by_key": "user",
        "list": "users",
        "aggregate": "usersAggregate",
        "insert_one": "insertUser",
        "insert_many": "insertUsers",
        "upsert": "upsertUser",
        "update_one": "updateUser",
        "update_many": "updateUsers",
        "delete_one": "deleteUser",
        "delete_many": "deleteUsers",
        "where": "UserWhere",
        "order_by": "UserOrderBy",
        "aggregate_type": "UserAggregate",
        "sum_fields": "UserSumFields",
        "avg_fields": "UserAvgFields",
        "min_fields": "UserMinFields",
        "max_fields": "UserMaxFields",
        "input": "UserInput",
        "set": "UserSet",
        "search": "searchUsers",
        "hit_field": "user",
        "hit": "UserHit",
    }
    assert names.query_fields == ("user", "users", "usersAggregate", "searchUsers")
    assert names.mutation_fields == (
        "insertUser",
        "insertUsers",
        "upsertUser",
        "updateUser",
        "updateUsers",
        "deleteUser",
        "deleteUsers",
    )


@pytest.mark.parametrize(
    ("singular", "expected"),
    [
        ("User", "Users"),
        ("Category", "Categories"),
        ("Key", "Keys"),  # vowel + y
        ("Address", "Addresses"),
        ("Box", "Boxes"),
        ("Match", "Matches"),
        ("Wish", "Wishes"),
        ("Quiz", "Quizes"),  # simple rules, not a dictionary
        ("Person", "Persons"),
        ("OrderItem", "OrderItems"),
        ("Series", "Series"),
        ("TvSeries", "TvSeries"),
        ("Metadata", "Metadata"),
    ],
)
def test_plural_follows_simple_english_rules(singular: str, expected: str) -> None:
    assert plural(singular) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [("User", "user"), ("OrderItem", "orderItem"), ("URLRecord", "urlRecord"), ("SKU", "sku")],
)
def test_lower_first_lowers_the_first_word(name: str, expected: str) -> None:
    assert lower_first(name) == expected


@pytest.mark.parametrize(
    ("type_name", "by_key", "listing", "insert_many"),
    [
        ("OrderItem", "orderItem", "orderItems", "insertOrderItems"),
        ("Category", "category", "categories", "insertCategories"),
        ("Series", "series", "seriesList", "insertSeriesList"),
        ("SKU", "sku", "skus", "insertSKUs"),
    ],
)
def test_root_field_names(type_name: str, by_key: str, listing: str, insert_many: str) -> None:
    names = collection_names(type_name)
    assert (names.by_key, names.list, names.insert_many) == (by_key, listing, insert_many)
    assert names.aggregate == listing + "Aggregate"
    assert names.by_key != names.list


@pytest.mark.parametrize(
    "name",
    [
        "JSON",
        "Consistency",
        "OrderDirection",
        "VectorMetric",
        "Query",
        "Mutation",
        "String",
        "UserWhere",
        "UserOrderBy",
        "UserInput",
        "UserSet",
        "StringComparison",
        "UserAggregate",
        "AggregateStats",
        "UserSumFields",
        "UserHit",
        "VectorIndex",
        "_Any",
        "_Entity",
        "_Service",
        "link__Import",
    ],
)
def test_reserved_type_names(name: str) -> None:
    assert reserved_name_reason(name)


@pytest.mark.parametrize("name", ["User", "OrderItem", "Settings", "Address", "Comparator"])
def test_ordinary_type_names_are_free(name: str) -> None:
    assert reserved_name_reason(name) is None
