"""Schema change checks: what a pushed service schema changes, and whether that breaks anything.

A change is *breaking* when stored documents or existing clients could stop working:
removing a collection, field or enum value; changing a field's type, key, shard key or vector
dimensions; making a field non-null (old documents may lack it) or nullable (clients may get
nulls they do not expect); adding @unique to an existing field (old documents were never
checked). Everything else (new collections, nullable fields,
enum values, indexes, descriptions, dropping @unique or @index) applies live.
"""

from __future__ import annotations

from dataclasses import dataclass

from schema.model import Collection, Field, ServiceSchema


@dataclass(frozen=True)
class Change:
    path: str  # "User.email", "Role.ADMIN", "Order"
    message: str
    breaking: bool

    def __str__(self) -> str:
        return f"{'BREAKING' if self.breaking else 'safe'}  {self.path}: {self.message}"


def diff_services(old: ServiceSchema | None, new: ServiceSchema) -> list[Change]:
    if old is None:
        return [Change(c.name, "collection added", False) for c in new.collections]
    changes: list[Change] = []
    for c in old.collections:
        if new.collection(c.name) is None:
            changes.append(Change(c.name, "collection removed (its documents would be lost)", True))
    for c in new.collections:
        before = old.collection(c.name)
        if before is None:
            changes.append(Change(c.name, "collection added", False))
        else:
            changes.extend(_diff_collection(before, c))
    for o in old.objects:
        after = new.object(o.name)
        if after is None:
            continue  # the fields that used it are reported where they changed
        else:
            changes.extend(_diff_fields(o.name, o.fields, after.fields, stored_docs=True))
    for o in new.objects:
        if old.object(o.name) is None:
            changes.append(Change(o.name, "embedded type added", False))
    for e in old.enums:
        after_enum = new.enum(e.name)
        if after_enum is None:
            changes.append(Change(e.name, "enum removed", True))
            continue
        for v in e.values:
            if v not in after_enum.values:
                changes.append(Change(f"{e.name}.{v}", "enum value removed", True))
        for v in after_enum.values:
            if v not in e.values:
                changes.append(Change(f"{e.name}.{v}", "enum value added", False))
    for e in new.enums:
        if old.enum(e.name) is None:
            changes.append(Change(e.name, "enum added", False))
    return changes


def breaking(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.breaking]


def _diff_collection(old: Collection, new: Collection) -> list[Change]:
    changes: list[Change] = []
    if old.key != new.key:
        changes.append(Change(new.name, f"key changed from {old.key} to {new.key}", True))
    if old.shard_key != new.shard_key:
        changes.append(
            Change(
                new.name,
                f"shard key changed from {old.shard_key} to {new.shard_key} "
                "(documents would be on the wrong shards)",
                True,
            )
        )
    changes.extend(_diff_fields(new.name, old.fields, new.fields, stored_docs=True))
    return changes


def _diff_fields(
    owner: str, old: tuple[Field, ...], new: tuple[Field, ...], *, stored_docs: bool
) -> list[Change]:
    changes: list[Change] = []
    new_by_name = {f.name: f for f in new}
    old_by_name = {f.name: f for f in old}
    for f in old:
        path = f"{owner}.{f.name}"
        after = new_by_name.get(f.name)
        if after is None:
            changes.append(Change(path, "field removed", True))
            continue
        if (f.type.name, f.type.is_list, f.type.kind) != (
            after.type.name,
            after.type.is_list,
            after.type.kind,
        ):
            changes.append(
                Change(path, f"type changed from {f.type.sdl()} to {after.type.sdl()}", True)
            )
        elif (not f.type.non_null and after.type.non_null) or (
            not f.type.item_non_null and after.type.item_non_null
        ):
            changes.append(
                Change(
                    path,
                    f"made non-null ({f.type.sdl()} -> {after.type.sdl()}): "
                    "existing documents may hold nulls",
                    True,
                )
            )
        elif (f.type.non_null and not after.type.non_null) or (
            f.type.item_non_null and not after.type.item_non_null
        ):
            changes.append(
                Change(
                    path,
                    f"made nullable ({f.type.sdl()} -> {after.type.sdl()}): "
                    "clients may receive nulls they do not expect",
                    True,
                )
            )
        if after.unique and not f.unique:
            changes.append(
                Change(
                    path,
                    "@unique added to an existing field: existing documents "
                    "were never checked; add a new field instead",
                    True,
                )
            )
        if _vector_shape(f) != _vector_shape(after) and f.vector is not None:
            changes.append(Change(path, "@vector dimensions or metric changed", True))
        elif f.vector and after.vector and _vector_source(f) != _vector_source(after):
            changes.append(
                Change(
                    path,
                    "@vector from/model changed: stored vectors were made otherwise and are "
                    "not recomputed; add a new vector field instead",
                    True,
                )
            )
        elif f.vector != after.vector and f.vector is not None and after.vector is not None:
            # Shards rebuild the index for the new settings; stored vectors still fit.
            changes.append(Change(path, "@vector index settings changed", False))
        elif after.vector is not None and f.vector is None:
            changes.append(Change(path, "@vector added", False))
        if f.reference != after.reference:
            changes.append(Change(path, "@reference changed", f.reference is not None))
        if f.index != after.index:
            changes.append(Change(path, "@index added" if after.index else "@index removed", False))
    for f in new:
        if f.name in old_by_name:
            continue
        path = f"{owner}.{f.name}"
        if f.stored and f.type.non_null and stored_docs:
            changes.append(
                Change(
                    path,
                    f"non-null field added ({f.type.sdl()}): existing "
                    "documents lack it; make it nullable",
                    True,
                )
            )
        else:
            changes.append(Change(path, "field added", False))
    return changes


def _vector_source(f: Field) -> tuple[str | None, str | None]:
    return (None, None) if f.vector is None else (f.vector.source, f.vector.model)


def _vector_shape(f: Field) -> tuple[int, str] | None:
    """What stored vectors and clients depend on; the index kind and its settings are not."""
    return None if f.vector is None else (f.vector.dimensions, f.vector.metric)
