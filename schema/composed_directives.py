"""`@composeDirective`: custom directives kept in the supergraph, as `@apollo/composition`
keeps them.

A subgraph links the directive's feature and asks for it:

    extend schema
      @link(url: "https://specs.apollo.dev/federation/v2.1", import: ["@composeDirective"])
      @link(url: "https://myspecs.dev/hello/v1.0", import: ["@hello"])
      @composeDirective(name: "@hello")
    directive @hello(to: String) repeatable on FIELD_DEFINITION | OBJECT

The supergraph then links the feature (the newest minor version any subgraph links), defines
the directive as a subgraph of that version does, and keeps its applications on types, fields,
input fields and enum values: every distinct one (arguments compared with defaults filled in)
of a repeatable directive, else the one most subgraphs apply. An element keeps a directive when
a subgraph that composes it applies it there; the applications of every subgraph count then.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql import (
    DirectiveDefinitionNode,
    DirectiveNode,
    NonNullTypeNode,
    print_ast,
    value_from_ast_untyped,
)

from schema.errors import SchemaError
from schema.links import Feature, feature_of
from schema.subgraph_reader import Subgraph

Sources = Sequence[tuple[Subgraph, Sequence[DirectiveNode]]]  # an element in each subgraph

# Apollo's own features: never composed this way
_APOLLO = "https://specs.apollo.dev/"
_BY_DEFAULT = {"tag", "inaccessible", "authenticated", "requiresScopes", "policy", "context"}


class ComposedDirectives:
    def __init__(self, subgraphs: Sequence[Subgraph], errors: list[SchemaError]) -> None:
        self.errors = errors
        self.composing: dict[str, set[str]] = {}  # directive -> subgraphs composing it
        self.features: dict[str, Feature] = {}  # identity -> the newest version linked
        self.imports: dict[str, dict[str, str]] = {}  # identity -> {directive: name in spec}
        self.definitions: dict[str, DirectiveDefinitionNode] = {}
        found: dict[str, list[tuple[Subgraph, Feature, str]]] = {}
        for s in subgraphs:
            for requested in s.compose_directives:
                checked = self._check(s, requested)
                if checked is not None:
                    name, feature, in_spec = checked
                    found.setdefault(name, []).append((s, feature, in_spec))
        for name, items in found.items():
            self._add(name, items, subgraphs)

    def _check(self, s: Subgraph, requested: str) -> tuple[str, Feature, str] | None:
        where = f'@composeDirective(name: "{requested}") in subgraph "{s.name}"'
        if not requested.startswith("@"):
            self._error(f"{where}: the name must start with @", f'write "@{requested}"')
            return None
        name = requested[1:]
        source = feature_of(s.links, name)
        if source is not None and source[0].url.startswith(_APOLLO):
            if source[1] not in _BY_DEFAULT:  # those are composed anyway
                self._error(
                    f"{where}: a federation directive cannot be composed this way",
                    "remove the @composeDirective",
                )
            return None
        if name not in s.directive_definitions:
            self._error(
                f"{where}: the subgraph defines no directive @{name}",
                f"define it: directive @{name} on ...",
            )
            return None
        if source is None:
            self._error(
                f"{where}: @{name} is not from a linked feature",
                f'link its spec: @link(url: "https://.../{name}/v1.0", import: ["@{name}"])',
            )
            return None
        feature, in_spec = source
        return name, feature, in_spec

    def _add(
        self, name: str, items: list[tuple[Subgraph, Feature, str]], every: Sequence[Subgraph]
    ) -> None:
        identities = {f.identity for _, f, _ in items}
        in_spec = {n for _, _, n in items}
        names = ", ".join(f'"{s.name}"' for s, _, _ in items)
        where = f"@{name} (composed in {names})"
        if len(identities) > 1 or len(in_spec) > 1:
            self._error(
                f"{where} is not the same directive of the same feature in every subgraph",
                "link the same spec and import the same directive wherever it is composed",
            )
            return
        identity = identities.pop()
        composing = {s.name for s, _, _ in items}
        linked = [(s, f) for s in every for f in s.links if f.identity == identity]
        majors = {f.major for s, f in linked if s.name in composing}
        if len(majors) > 1:
            self._error(
                f'{where}: the feature "{identity}" is linked with different major versions',
                "link the same major version in every subgraph that composes it",
            )
            return
        major = majors.pop()
        newest = max(f.minor for s, f in linked if f.major == major)
        feature = next(f for s, f in linked if f.version == (major, newest))
        sources = [s for s, f in linked if f.version == feature.version]
        definition = next(
            (d for s in reversed(sources) if (d := s.directive_definitions.get(name))),
            None,
        )
        if definition is None:
            self._error(
                f'{where}: no subgraph linking "{feature.url}" defines @{name}',
                f"define @{name} in the subgraphs that link that version",
            )
            return
        self.composing[name] = composing
        self.features[identity] = feature
        self.imports.setdefault(identity, {})[name] = in_spec.pop()
        self.definitions[name] = definition

    def _error(self, message: str, suggestion: str) -> None:
        self.errors.append(SchemaError(message, suggestion=suggestion))

    def links(self) -> list[str]:
        """The supergraph's `@link`s of the composed features."""
        out = []
        for identity, feature in self.features.items():
            imports = ", ".join(
                f'"@{local}"' if local == spec else f'{{name: "@{spec}", as: "@{local}"}}'
                for local, spec in self.imports[identity].items()
            )
            alias = f', as: "{feature.prefix}"' if feature.prefix != feature.name else ""
            out.append(f'  @link(url: "{feature.url}"{alias}, import: [{imports}])')
        return out

    def definition_text(self) -> str:
        return "\n\n".join(print_ast(d) for _, d in sorted(self.definitions.items()))

    def applied(self, sources: Sources) -> str:
        """The composed directives one element keeps, printed: ` @hello @cache(ttl: 5)`."""
        return "".join(f" {text}" for text in self.applications(sources))

    def applications(self, sources: Sources) -> list[str]:
        """The composed directives one element keeps (each subgraph's applications there)."""
        names = list(
            dict.fromkeys(
                d.name.value
                for s, ds in sources
                for d in ds
                if s.name in self.composing.get(d.name.value, ())
            )
        )
        out: list[str] = []
        for name in names:
            applications = [(s, d) for s, ds in sources for d in ds if d.name.value == name]
            distinct: list[tuple[dict[str, Any], DirectiveNode, int]] = []
            for s, d in applications:
                args = self._arguments(s.directive_definitions.get(name), d)
                at = next((i for i, (a, _, _) in enumerate(distinct) if a == args), None)
                if at is None:
                    distinct.append((args, d, 1))
                else:
                    a, first, count = distinct[at]
                    distinct[at] = (a, first, count + 1)
            if self.definitions[name].repeatable:
                out += [print_ast(d) for _, d, _ in distinct]
            else:
                most = max(count for _, _, count in distinct)
                out.append(print_ast(next(d for _, d, count in distinct if count == most)))
        return out

    @staticmethod
    def _arguments(definition: DirectiveDefinitionNode | None, d: DirectiveNode) -> dict[str, Any]:
        """The application's arguments with the subgraph's own definition filled in: its
        defaults, and null for the other nullable arguments (so applications under different
        definitions seldom match, as in Apollo)."""
        args = {
            a.name.value: value_from_ast_untyped(a.default_value) if a.default_value else None
            for a in (definition.arguments or () if definition else ())
            if a.default_value is not None or not isinstance(a.type, NonNullTypeNode)
        }
        args.update({a.name.value: value_from_ast_untyped(a.value) for a in d.arguments or ()})
        return args
