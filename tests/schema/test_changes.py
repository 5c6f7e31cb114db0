"""What a pushed schema change breaks, and what applies live."""

from __future__ import annotations

import pytest

from schema.changes import breaking, diff_services
from schema.parser import parse_service

BASE = """
type Note @collection @key(fields: "id") {
  id: ID!
  text: String!
  tag: String
  kind: Kind
}
enum Kind { A B }
"""


def changes(after: str) -> list[str]:
    old = parse_service("notes", BASE)
    return [str(c) for c in diff_services(old, parse_service("notes", after))]


def test_additions_apply_live() -> None:
    found = changes(
        BASE.replace("tag: String", "tag: String @index\n  extra: Int").replace(
            "enum Kind { A B }", "enum Kind { A B C }\nenum Other { X }"
        )
    )
    assert found == [
        "safe  Note.tag: @index added",
        "safe  Note.extra: field added",
        "safe  Kind.C: enum value added",
        "safe  Other: enum added",
    ]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (BASE.replace("  tag: String\n", ""), "Note.tag: field removed"),
        (BASE.replace("tag: String", "tag: Int"), "type changed from String to Int"),
        (BASE.replace("tag: String", "tag: String!"), "made non-null"),
        (BASE.replace("text: String!", "text: String"), "made nullable"),
        (BASE.replace("tag: String", "tag: String @unique"), "@unique added"),
        (BASE.replace("enum Kind { A B }", "enum Kind { A }"), "Kind.B: enum value removed"),
        (BASE.replace("tag: String", "tag: String\n  due: String!"), "non-null field added"),
        (
            BASE.replace(
                '@collection @key(fields: "id")', '@collection(shardKey: "text") @key(fields: "id")'
            ),
            "shard key changed",
        ),
    ],
)
def test_breaking_changes_are_named(after: str, expected: str) -> None:
    old = parse_service("notes", BASE)
    report = breaking(diff_services(old, parse_service("notes", after)))
    assert report and any(expected in str(c) for c in report), report


def test_removing_a_collection_is_breaking() -> None:
    two = BASE + 'type Tag @collection @key(fields: "id") { id: ID! }'
    found = diff_services(parse_service("notes", two), parse_service("notes", BASE))
    assert [str(c) for c in breaking(found)] == [
        "BREAKING  Tag: collection removed (its documents would be lost)"
    ]


def test_a_new_service_is_all_additions() -> None:
    found = diff_services(None, parse_service("notes", BASE))
    assert [str(c) for c in found] == ["safe  Note: collection added"]


def test_vector_index_settings_apply_live_but_shape_changes_break() -> None:
    def diff(before: str, after: str) -> list[str]:
        base = BASE.replace("tag: String", "tag: String\n  v: [Float!] @vector(ARGS)")
        old = parse_service("notes", base.replace("ARGS", before))
        new = parse_service("notes", base.replace("ARGS", after))
        return [str(c) for c in diff_services(old, new)]

    assert diff("dimensions: 4", "dimensions: 4, index: HNSW, efSearch: 99") == [
        "safe  Note.v: @vector index settings changed"
    ]
    assert diff("dimensions: 4", "dimensions: 5") == [
        "BREAKING  Note.v: @vector dimensions or metric changed"
    ]
    assert diff("dimensions: 4", "dimensions: 4, metric: L2") == [
        "BREAKING  Note.v: @vector dimensions or metric changed"
    ]
    assert diff("dimensions: 4, index: HNSW", "dimensions: 4, index: IVF, nlist: 64") == [
        "safe  Note.v: @vector index settings changed"
    ]


def test_a_vector_starting_or_stopping_to_come_from_text_breaks() -> None:
    def diff(before: str, after: str) -> list[str]:
        base = BASE.replace("tag: String", "tag: String\n  v: [Float!] @vector(ARGS)")
        old = parse_service("notes", base.replace("ARGS", before))
        new = parse_service("notes", base.replace("ARGS", after))
        return [str(c) for c in diff_services(old, new)]

    computed = 'dimensions: 384, from: "tag"'
    for before, after in (("dimensions: 384", computed), (computed, "dimensions: 384")):
        assert diff(before, after) == [
            "BREAKING  Note.v: @vector from/model changed: stored vectors were made otherwise "
            "and are not recomputed; add a new vector field instead"
        ]
