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


def test_a_fragment_bomb_is_counted_without_being_expanded() -> None:
    # Each fragment spreads the next twice: 2^40 fields once expanded. Counting must still be
    # instant (each fragment measured once) and the counts exact.
    levels = 40
    fragments = "\n".join(
        f"fragment F{i} on T {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    query = f"{{ a {{ ...F0 }} }}\n{fragments}\nfragment F{levels} on T {{ x: f }}"
    document = parse(query)
    operation = next(d for d in document.definitions if d.kind == "operation_definition")
    m = measure(document, operation)  # type: ignore[arg-type]
    assert (m.depth, m.aliases, m.fields) == (2, 2**levels, 2**levels + 1)
    errors = OperationLimits(max_height=1000, max_aliases=30).check(document, None)
    assert [e.extensions["code"] for e in errors] == [  # type: ignore[index]
        "MAX_ALIASES_LIMIT",
        "MAX_HEIGHT_LIMIT",
    ]


def test_cost_is_root_fields_plus_aliases() -> None:
    document = parse("{ a: users { x: id } b: users { id } orders { id } }")
    operation = next(d for d in document.definitions if d.kind == "operation_definition")
    assert measure(document, operation).cost == 3 + 3  # type: ignore[arg-type]


def test_batching_and_introspection_settings() -> None:
    limits = OperationLimits.from_sources(
        {"batching": True, "max_batch": 5, "introspection_roles": ["developer"]},
        {"SHARDGATE_MAX_TOKENS": "500"},
    )
    assert (limits.batching, limits.max_batch, limits.max_tokens) == (True, 5, 500)
    assert limits.may_introspect("developer", False) and limits.may_introspect("user", True)
    assert not limits.may_introspect("user", False)
    assert OperationLimits.from_sources(None, {}).may_introspect("anyone", False)
    env = {"SHARDGATE_BATCHING": "0", "SHARDGATE_INTROSPECTION_ROLES": "a, b"}
    limits = OperationLimits.from_sources({"batching": True}, env)
    assert not limits.batching and limits.introspection_roles == ("a", "b")
    with pytest.raises(ValueError, match="unknown setting"):
        OperationLimits.from_sources({"max_dept": 3}, {})
    with pytest.raises(ValueError, match="batching must be true or false"):
        OperationLimits.from_sources(None, {"SHARDGATE_BATCHING": "sometimes"})
