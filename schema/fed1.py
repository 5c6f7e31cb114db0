"""Federation 1 subgraphs, upgraded to Federation 2 before composition, as
`@apollo/composition` does (`upgradeSubgraphsIfNecessary` in @apollo/federation-internals):

- an `extend type` entity becomes a definition (`@extends` stays: `extension: true` in the
  supergraph); an extension with no definition in any subgraph is refused;
- an extension without a @key: its fields in another subgraph's first key are not @external;
- @external on an interface field is dropped, and @key, @requires and @provides on interfaces;
- @requires/@provides lose the leaves that are not @external (and go when nothing is left);
  @provides on a field of scalar or enum type goes;
- an @external field no @key, @requires, @provides or interface uses is removed (a type left
  with no field is removed, or refused when something refers to it);
- a field of an entity or root type that another subgraph also resolves becomes @shareable
  (key fields need not), and so does a value type another subgraph also defines.

    upgrade([fed1_users, fed2_reviews]) -> the same subgraphs, Federation 1 ones upgraded
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

from schema.errors import SchemaError, SchemaErrors
from schema.field_sets import base, targets, without
from schema.subgraph_reader import Subgraph, SubType

_COMPOSITE = {"OBJECT", "INTERFACE", "UNION"}


def upgrade(subgraphs: Sequence[Subgraph]) -> list[Subgraph]:
    """Every subgraph, Federation 1 ones upgraded (copies; the inputs are not changed)."""
    if all(s.federation_2 for s in subgraphs):
        return list(subgraphs)
    errors: list[SchemaError] = []
    out: list[Subgraph] = []
    interface_keys: dict[str, list[str]] = {}  # interface -> Fed1 subgraphs with a @key on it
    for s in subgraphs:
        if s.federation_2:
            out.append(s)
            continue
        upgraded = _Upgrade(s, subgraphs, errors)
        out.append(upgraded.sub)
        for name in upgraded.interface_keys:
            interface_keys.setdefault(name, []).append(s.name)
    for s in subgraphs:
        for t in s.types.values():
            if s.federation_2 and t.interface_object and t.name in interface_keys:
                errors.append(
                    SchemaError(
                        f'@interfaceObject on "{t.name}" in subgraph "{s.name}" needs other '
                        "subgraphs to resolve its __typename through an interface @key, but a "
                        "@key on an interface does nothing in the Federation 1 subgraphs "
                        + ", ".join(f'"{n}"' for n in interface_keys[t.name]),
                        suggestion="make those Federation 2 subgraphs, or remove the @key from "
                        "the interface there",
                    )
                )
    if errors:
        raise SchemaErrors(errors)
    return out


class _Upgrade:
    def __init__(
        self, original: Subgraph, every: Sequence[Subgraph], errors: list[SchemaError]
    ) -> None:
        self.original = original
        self.others = [o for o in every if o.name != original.name]
        self.sub = copy.deepcopy(original)
        self.errors = errors
        self.interface_keys: list[str] = []
        self.provided = {o.name: _provided(o) for o in self.others}
        self._extensions_have_bases()
        self._unexternal_interfaces()
        self._unexternal_keyless_extensions()
        self._drop_inactive_requires_provides()
        for t in self._composites():
            if self._is_extension(t) or self._is_root_extension(t):
                t.extension_keys.clear()  # an `extend type` entity is a definition now
        self._strip_interfaces()
        self._drop_provides_on_leaves()
        self._remove_unused_externals()
        self._add_shareable()

    def _composites(self) -> list[SubType]:
        return [t for t in self.sub.types.values() if t.kind in ("OBJECT", "INTERFACE")]

    def _is_extension(self, t: SubType) -> bool:
        return (t.extended or t.extends) and (t.extends or not t.defined)

    def _is_root(self, t: SubType) -> bool:
        return t.kind == "OBJECT" and t.name in self.sub.roots.values()

    def _is_root_extension(self, t: SubType) -> bool:
        return self._is_root(t) and (t.extends or (t.extended and not t.defined))

    def _extensions_have_bases(self) -> None:
        for t in self._composites():
            if not self._is_extension(t) or self._is_root_extension(t):
                continue
            if not any(
                o.types[t.name].defined
                for o in self.others
                if t.name in o.types and o.types[t.name].kind in ("OBJECT", "INTERFACE")
            ):
                self.errors.append(
                    SchemaError(
                        f'type "{t.name}" is an extension in subgraph "{self.sub.name}" but no '
                        "subgraph defines it",
                        suggestion=f'write "type {t.name}" (not "extend type") in the '
                        f"subgraph that owns it",
                    )
                )

    def _unexternal_interfaces(self) -> None:
        for t in self._composites():
            if t.kind == "INTERFACE":
                for f in t.fields.values():
                    f.external = False

    def _unexternal_keyless_extensions(self) -> None:
        """Fed1 resolved the fields of another subgraph's first key locally."""
        for t in self._composites():
            if t.keys or not (self._is_extension(t) or self._is_root_extension(t)):
                continue
            for o in self.others:
                other = o.types.get(t.name)
                if other is None or not other.keys or other.kind not in ("OBJECT", "INTERFACE"):
                    continue
                for name in {f for ty, f in targets(o, t.name, other.keys[0][0]) if ty == t.name}:
                    if name in t.fields:
                        t.fields[name].external = False

    def _external_here(self, type_name: str, field_name: str) -> bool:
        t = self.sub.types.get(type_name)
        f = t.fields.get(field_name) if t else None
        if f is None or t is None:
            return False
        if f.external:
            return True
        return t.kind == "INTERFACE" and any(
            impl.fields[field_name].external
            for impl in self.sub.types.values()
            if t.name in impl.interfaces and field_name in impl.fields
        )

    def _drop_inactive_requires_provides(self) -> None:
        for t in self._composites():
            for f in t.fields.values():
                if f.provides and base(f.type) in self.sub.types:
                    f.provides = without(self.sub, base(f.type), f.provides, self._external_here)
                if f.requires:
                    f.requires = without(self.sub, t.name, f.requires, self._external_here)

    def _strip_interfaces(self) -> None:
        for t in self._composites():
            if t.kind != "INTERFACE":
                continue
            if t.keys:
                self.interface_keys.append(t.name)
            t.keys = []
            for f in t.fields.values():
                f.requires = f.provides = None

    def _drop_provides_on_leaves(self) -> None:
        for t in self._composites():
            for f in t.fields.values():
                target = self.sub.types.get(base(f.type))
                if f.provides and (target is None or target.kind not in _COMPOSITE):
                    f.provides = None

    def _used(self, sub: Subgraph) -> set[tuple[str, str]]:
        """Fields a @key, @requires or @provides names, or that implement an interface."""
        used: set[tuple[str, str]] = set()
        for t in sub.types.values():
            for key, _ in t.keys:
                used.update(targets(sub, t.name, key))
            for f in t.fields.values():
                if f.requires:
                    used.update(targets(sub, t.name, f.requires))
                if f.provides:
                    used.update(targets(sub, base(f.type), f.provides))
            for iface in (sub.types[i] for i in t.interfaces if i in sub.types):
                used.update((t.name, n) for n in iface.fields if n in t.fields)
        return used

    def _remove_unused_externals(self) -> None:
        used = self._used(self.sub)
        referenced = {base(f.type) for t in self.sub.types.values() for f in t.fields.values()}
        referenced |= {m for t in self.sub.types.values() for m in t.members}
        referenced |= {i for t in self.sub.types.values() for i in t.interfaces}
        referenced |= set(self.sub.roots.values())
        for t in self._composites():
            kept = {n: f for n, f in t.fields.items() if not f.external or (t.name, n) in used}
            if kept or not t.fields:
                t.fields = kept
                continue
            if t.name in referenced:
                self.errors.append(
                    SchemaError(
                        f'type "{t.name}" in subgraph "{self.sub.name}" has only @external fields, '
                        "and no @key, @requires or @provides uses them",
                        suggestion="remove the unused fields and what refers to the type, or "
                        "use them",
                    )
                )
            else:
                del self.sub.types[t.name]

    def _shareable_originally(self) -> set[tuple[str, str]]:
        """Key fields, and the @external fields a @provides names, of the Fed1 subgraph."""
        sub = self.original
        out: set[tuple[str, str]] = set()
        for t in sub.types.values():
            for key, _ in t.keys:
                out.update(targets(sub, t.name, key))
            for f in t.fields.values():
                if f.provides:
                    out.update(
                        (ty, n)
                        for ty, n in targets(sub, base(f.type), f.provides)
                        if sub.types[ty].fields[n].external
                    )
        return out

    def _resolved_elsewhere(self, type_name: str, field_name: str) -> bool:
        """Another subgraph resolves the field, wholly or through a @provides."""
        for o in self.others:
            t = o.types.get(type_name)
            f = t.fields.get(field_name) if t and t.kind in ("OBJECT", "INTERFACE") else None
            if f is None:
                continue
            if not f.external or (type_name, field_name) in self.provided[o.name]:
                return True
        return False

    def _add_shareable(self) -> None:
        shareable = self._shareable_originally()
        subscription = self.sub.roots.get("subscription")
        for t in self.sub.types.values():
            if t.kind != "OBJECT" or t.name == subscription:
                continue
            if t.keys or self._is_root(t):
                for f in t.fields.values():
                    if (t.name, f.name) not in shareable and self._resolved_elsewhere(
                        t.name, f.name
                    ):
                        f.shareable = True
            elif any(
                t.name in o.types and o.types[t.name].kind in ("OBJECT", "INTERFACE")
                for o in self.others
            ):
                t.shareable = True
                for f in t.fields.values():
                    f.shareable = True


def _provided(sub: Subgraph) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for t in sub.types.values():
        for f in t.fields.values():
            if f.provides and base(f.type) in sub.types:
                out.update(targets(sub, base(f.type), f.provides))
    return out
