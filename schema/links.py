"""The features a schema links (`@link(url:, as:, import:)` on its schema definition), and
which feature a directive name belongs to.

    @link(url: "https://myspecs.dev/caching/v0.2", import: [{name: "@cached", as: "@cache"}])
        -> Feature(identity="https://myspecs.dev/caching", name="caching", major=0, minor=2,
                   prefix="caching", imports={"cache": "cached"})
    feature_of(links, "cache")        -> (that feature, "cached")
    feature_of(links, "caching__ttl") -> (that feature, "ttl")
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, SchemaDefinitionNode, SchemaExtensionNode, value_from_ast_untyped

_VERSION = re.compile(r"^(?P<identity>.+)/(?P<name>[^/]+)/v(?P<major>\d+)\.(?P<minor>\d+)/?$")


@dataclass(frozen=True)
class Feature:
    url: str
    identity: str  # the url without its version
    name: str
    major: int
    minor: int
    prefix: str  # `as:`, else the name: its directives are `@<prefix>__<name>`
    imports: dict[str, str] = field(default_factory=dict)  # local directive -> name in spec

    @property
    def version(self) -> tuple[int, int]:
        return (self.major, self.minor)


def link_arguments(document: DocumentNode) -> Iterator[dict[str, Any]]:
    """The arguments of each `@link` on the schema definition and its extensions."""
    for d in document.definitions:
        if not isinstance(d, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for link in d.directives or ():
            if link.name.value == "link":
                yield {a.name.value: value_from_ast_untyped(a.value) for a in link.arguments or ()}


def read_links(document: DocumentNode) -> list[Feature]:
    out = []
    for args in link_arguments(document):
        match = _VERSION.match(str(args.get("url", "")))
        if match is None:
            continue
        out.append(
            Feature(
                url=str(args["url"]),
                identity=f"{match['identity']}/{match['name']}",
                name=match["name"],
                major=int(match["major"]),
                minor=int(match["minor"]),
                prefix=str(args.get("as") or match["name"]),
                imports=_directive_imports(args.get("import")),
            )
        )
    return out


def _directive_imports(items: Any) -> dict[str, str]:
    out = {}
    for item in items or ():
        if isinstance(item, str) and item.startswith("@"):
            out[item[1:]] = item[1:]
        elif isinstance(item, dict) and str(item.get("name", "")).startswith("@"):
            out[str(item.get("as") or item["name"])[1:]] = str(item["name"])[1:]
    return out


def feature_of(links: list[Feature], directive: str) -> tuple[Feature, str] | None:
    """The feature a directive (by its name here) comes from, and its name in that feature."""
    for f in links:
        if directive in f.imports:
            return f, f.imports[directive]
    for f in links:
        if directive.startswith(f"{f.prefix}__"):
            return f, directive.removeprefix(f"{f.prefix}__")
        if directive == f.prefix:
            return f, f.name
    return None
