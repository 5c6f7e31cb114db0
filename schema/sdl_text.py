"""Writing SDL text: descriptions, definition blocks, and the definitions every store subgraph
shares byte for byte (federation composes shared inputs and enums only when identical)."""

from __future__ import annotations

from collections.abc import Iterable

from graphql.language.block_string import print_block_string
from graphql.language.print_string import print_string

from schema.naming import comparison_type

INDENT = "  "
MAX_LINE = 100
FEDERATION_LINK = (
    'extend schema\n  @link(url: "https://specs.apollo.dev/federation/v2.3", '
    'import: ["@key", "@shareable"])'
)


def describe(text: str | None, indent: str = "") -> list[str]:
    """The description lines to put before a definition or field (none when `text` is empty)."""
    if not text:
        return []
    if "\n" not in text:
        return [indent + print_string(text)]
    return [indent + line if line else line for line in print_block_string(text).split("\n")]


def block(head: str, lines: Iterable[str], description: str | None = None) -> str:
    """`head { lines }` with the lines indented, preceded by its description."""
    body = [INDENT + line if line else line for line in lines]
    return "\n".join([*describe(description), head + " {", *body, "}"])


def member(line: str, description: str | None = None) -> list[str]:
    """One field or enum value line with its description, for `block`."""
    return [*describe(description), line]


def field_with_args(
    name: str, args: Iterable[str], result: str, description: str | None = None
) -> list[str]:
    """A field taking arguments, for `block`: on one line when it fits in 100 columns."""
    args = list(args)
    line = f"{name}({', '.join(args)}): {result}"
    if len(INDENT + line) <= MAX_LINE:
        return member(line, description)
    return [*describe(description), f"{name}(", *(INDENT + a for a in args), f"): {result}"]


def enum_block(name: str, values: Iterable[str], description: str | None = None) -> str:
    return block(f"enum {name}", values, description)


# -- shared definitions --------------------------------------------------------------------

_ORDERED_OPS = ("_eq", "_neq", "_gt", "_gte", "_lt", "_lte")
_LIKE_DOC = {
    "_like": "SQL LIKE: % matches any run of characters, _ any one character; case-sensitive.",
    "_ilike": "As _like, ignoring the case of ASCII letters.",
}
_IS_NULL_DOC = "true: the field is null or missing; false: it has a value."


def comparison_block(type_name: str, operators: Iterable[str], value: str) -> str:
    """An `<X>Comparison` input: one optional argument per operator."""
    lines: list[str] = []
    for op in operators:
        if op in ("_in", "_nin"):
            lines.append(f"{op}: [{value}!]")
        elif op == "_is_null":
            lines += member("_is_null: Boolean", _IS_NULL_DOC)
        else:
            lines += member(f"{op}: {value}", _LIKE_DOC.get(op))
    return block(
        f"input {comparison_type(type_name)}",
        lines,
        f"Conditions on {type_name} fields; all given must hold. "
        "Comparisons never match null: use _is_null.",
    )


def enum_comparison(enum: str) -> str:
    return comparison_block(enum, ("_eq", "_neq", "_in", "_nin", "_is_null"), enum)


def _shared() -> tuple[str, ...]:
    ordered = (*_ORDERED_OPS, "_in", "_nin")
    return (
        '"Any JSON value: object, array, string, number, boolean or null."\nscalar JSON',
        enum_block(
            "Consistency",
            [
                *member("ONE", "One replica."),
                *member("QUORUM", "A majority of the replicas."),
                *member("ALL", "Every replica."),
            ],
            "How many replicas must answer a read or acknowledge a write.",
        ),
        enum_block(
            "OrderDirection",
            [
                *member("ASC", "Ascending, nulls last."),
                *member("DESC", "Descending, nulls first."),
                "ASC_NULLS_FIRST",
                "ASC_NULLS_LAST",
                "DESC_NULLS_FIRST",
                "DESC_NULLS_LAST",
            ],
            "Sort direction; by default nulls sort as if larger than any value, as in Postgres.",
        ),
        comparison_block("ID", (*ordered, "_is_null"), "ID"),
        comparison_block("String", (*ordered, "_like", "_ilike", "_is_null"), "String"),
        comparison_block("Int", (*ordered, "_is_null"), "Int"),
        comparison_block("Float", (*ordered, "_is_null"), "Float"),
        comparison_block("Boolean", ("_eq", "_neq", "_is_null"), "Boolean"),
        comparison_block("JSON", ("_is_null",), "JSON"),
    )


# Identical in every store subgraph and once in the merged schema.
SHARED_DEFINITIONS: tuple[str, ...] = _shared()

# What graphql-core needs to build a subgraph SDL as an executable schema.
FEDERATION_DEFINITIONS: tuple[str, ...] = (
    "directive @link(url: String!, as: String, import: [link__Import], for: link__Purpose) "
    "repeatable on SCHEMA",
    "directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE",
    "directive @shareable repeatable on OBJECT | FIELD_DEFINITION",
    "scalar link__Import",
    enum_block("link__Purpose", ["SECURITY", "EXECUTION"]),
    '"A representation of an entity: its __typename and key."\nscalar _Any',
    block("type _Service", ["sdl: String"]),
)
