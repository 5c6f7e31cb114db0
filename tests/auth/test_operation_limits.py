"""Operation limits count what an operation really asks for: fragments expanded."""

from __future__ import annotations

import pytest
from graphql import parse

from auth.operation_limits import OperationLimits, measure


def measures(query: str) -> tuple[int, int, int]:
    document = parse(query)
    operation = next(d for d in document.definitions if d.kind == "operation_definition")
    m = measure(document, operation)  # type: ignore[arg-type]
    return m.depth, m.aliases, m.root_fields


def test_plain_depth_aliases_and_root_fields() -> None:
    assert measures("{ a { b { c } } d }") == (3, 0, 2)
    assert measures("{ x: a { y: b } z: d }") == (2, 3, 2)


def test_fragments_cannot_hide_depth_or_aliases() -> None:
    nested = """
      { a { ...F } }
      fragment F on T { b { ...G } }
      fragment G on T { c { d } }
    """
    assert measures(nested)[0] == 4
    many = """
      { a { ...A ...A ...A } }
      fragment A on T { x1: f x2: f }
    """
    assert measures(many)[1] == 6  # each spread counts again
    inline = "{ ... on Query { r1: a r2: a } ... on Query { r3: a } }"
    assert measures(inline) == (1, 3, 3)


def test_limits_refuse_with_router_codes() -> None:
    limits = OperationLimits(max_depth=2, max_aliases=1, max_root_fields=1)
    errors = limits.check(parse("{ x: a { b { c } } y: d }"), None)
    assert [e.extensions["code"] for e in errors] == [  # type: ignore[index]
        "MAX_DEPTH_LIMIT",
        "MAX_ALIASES_LIMIT",
        "MAX_ROOT_FIELDS_LIMIT",
    ]
    assert "3 levels deep, over the limit of 2" in errors[0].message
    assert OperationLimits(max_depth=3).check(parse("{ a { b { c } } }"), None) == []


def test_settings_from_the_file_and_the_environment() -> None:
    limits = OperationLimits.from_sources({"max_depth": 8}, {"SHARDGATE_MAX_ALIASES": "20"})
    assert (limits.max_depth, limits.max_aliases, limits.max_root_fields) == (8, 20, None)
    assert not OperationLimits.from_sources(None, {}).active
    with pytest.raises(ValueError, match="max_depth must be a whole number"):
        OperationLimits.from_sources(None, {"SHARDGATE_MAX_DEPTH": "deep"})
    with pytest.raises(ValueError, match="at least 1"):
        OperationLimits.from_sources({"max_aliases": 0}, {})
