"""Which fields the field directives fit: `@unique`, `@index`, `@vector`, `@reference`.

Each rule reports a misfit and returns what the model records (False / None when refused).
Whether a reference's `field` exists and holds keys is checked later, by `schema.checks`,
once all of the type's fields are known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from graphql.language import FieldDefinitionNode

from schema import embeddings
from schema.directives import Applied
from schema.model import Reference, TypeKind, TypeRef, VectorIndexKind, VectorMetric, VectorSpec
from schema.naming import lower_first
from schema.problems import Problems
from shards.vector_spec import MAX_NLIST

MAX_DIMENSIONS = 65536
Owner = Literal["collection", "embedded", "stub"]


@dataclass(frozen=True)
class FieldSite:
    """One field being read: where to report, what it is, and what kind of type owns it."""

    problems: Problems
    node: FieldDefinitionNode
    where: str  # "User.email", for messages
    ref: TypeRef
    owner: Owner


def _on_collection(site: FieldSite, directive: Applied, need: str) -> bool:
    if site.owner == "collection":
        return True
    site.problems.add(
        directive.node,
        f"@{directive.name} on {site.where}: only fields of a @collection type can be {need}",
        f"remove @{directive.name}",
    )
    return False


def unique(site: FieldSite, directive: Applied | None) -> bool:
    if directive is None or not _on_collection(site, directive, "unique"):
        return False
    ref = site.ref
    if ref.kind is TypeKind.SCALAR and ref.name != "JSON" and not ref.is_list:
        return True
    site.problems.add(
        directive.node,
        f"@unique needs a scalar field (ID, String, Int, Float, Boolean) that is not a list, "
        f"{site.where} is {ref.sdl()}",
        "remove @unique",
    )
    return False


def index(site: FieldSite, directive: Applied | None) -> bool:
    if directive is None or not _on_collection(site, directive, "indexed"):
        return False
    ref = site.ref
    fits = ref.kind is TypeKind.ENUM or (ref.kind is TypeKind.SCALAR and ref.name != "JSON")
    if fits and not ref.is_list:
        return True
    site.problems.add(
        directive.node,
        f"@index needs a scalar or enum field that is not a list, {site.where} is {ref.sdl()}",
        "remove @index",
    )
    return False


# @vector tuning arguments: (argument, VectorSpec field, the index kind it applies to, maximum)
_TUNING = (
    ("m", "m", VectorIndexKind.HNSW, 4096),
    ("efConstruction", "ef_construction", VectorIndexKind.HNSW, 4096),
    ("efSearch", "ef_search", VectorIndexKind.HNSW, 4096),
    ("nlist", "nlist", VectorIndexKind.IVF, MAX_NLIST),
    ("nprobe", "nprobe", VectorIndexKind.IVF, MAX_NLIST),
)


def vector(site: FieldSite, directive: Applied | None) -> VectorSpec | None:
    if directive is None or not _on_collection(site, directive, "vectors"):
        return None
    ok = True
    if not (site.ref.is_list and site.ref.name == "Float"):
        ok = False
        site.problems.add(
            directive.node,
            f"@vector needs a list of floats, {site.where} is {site.ref.sdl()}",
            f"declare it as {site.node.name.value}: [Float!] @vector(dimensions: ...)",
        )
    dims = directive.args.get("dimensions")
    if isinstance(dims, int) and not 1 <= dims <= MAX_DIMENSIONS:
        ok = False
        site.problems.add(
            directive.at("dimensions"),
            f"@vector(dimensions:) must be between 1 and {MAX_DIMENSIONS}, got {dims}",
            "give the length of the embedding vectors, e.g. dimensions: 384",
        )
    if not ok or not isinstance(dims, int):
        return None
    metric = VectorMetric(str(directive.args.get("metric", VectorMetric.COSINE.value)))
    given = directive.args.get("index")
    kind = None if given is None else VectorIndexKind(str(given))
    tuning: dict[str, int | None] = {}
    for arg, name, owner, limit in _TUNING:
        value = directive.args.get(arg)
        if value is not None and kind is not owner:
            ok = False
            site.problems.add(
                directive.at(arg),
                f"@vector({arg}:) applies to {owner} indexes only, {site.where} does not say "
                f"index: {owner}",
                f"add index: {owner}, or remove {arg}",
            )
        elif isinstance(value, int) and not 1 <= value <= limit:
            ok = False
            site.problems.add(
                directive.at(arg),
                f"@vector({arg}:) must be between 1 and {limit}, got {value}",
                "the defaults (m: 32, efConstruction: 64, efSearch: 64; nlist: 1024, "
                "nprobe: 32) suit most data",
            )
        tuning[name] = value if isinstance(value, int) else None
    source, model = _text_model(site, directive, dims)
    if not ok or (source is None) != (model is None):
        return None
    return VectorSpec(dims, metric, kind, **tuning, source=source, model=model)


def _text_model(site: FieldSite, directive: Applied, dims: int) -> tuple[str | None, str | None]:
    """`from:` and `model:` of a vector computed from text, checked; (None, None) when the
    vector is given by clients. Whether `from` names a text field is for `schema.checks`."""
    source, name = directive.args.get("from"), directive.args.get("model")
    if source is None and name is None:
        return None, None
    example = '@vector(dimensions: 384, from: "bio", model: "all-MiniLM-L6-v2")'
    if not isinstance(source, str):
        site.problems.add(
            directive.at("model"),
            f"@vector(model:) on {site.where} needs from: the text field to embed",
            f"add from, as in {example}",
        )
        return None, None
    model = embeddings.model_named(name if isinstance(name, str) else "all-MiniLM-L6-v2")
    if model is None:
        site.problems.add(
            directive.at("model"),
            f"@vector(model:) {name!r} on {site.where} is not a known embedding model",
            f"use one of {', '.join(repr(m) for m in embeddings.MODELS)}",
        )
        return None, None
    if dims != model.dimensions:
        site.problems.add(
            directive.at("dimensions"),
            f"{model.name} makes vectors of {model.dimensions} dimensions, {site.where} "
            f"declares {dims}",
            f"dimensions: {model.dimensions}",
        )
        return None, None
    problem = embeddings.missing(model)
    if problem:
        site.problems.add(
            directive.at("model"),
            f"{site.where} is computed by {model.name}, which is not installed here: {problem}",
            "install those on every gateway, or give the vectors yourself (remove from and model)",
        )
        return None, None
    return source, model.name


def reference(site: FieldSite, directive: Applied | None) -> Reference | None:
    ref = site.ref
    if ref.kind is TypeKind.COLLECTION and site.owner != "collection":
        site.problems.add(
            site.node.type,
            f"{site.where} has the collection type {ref.name}, but only collections can "
            "refer to collections",
            f"store the {ref.name} key in a scalar field instead (e.g. an ID)",
        )
        return None
    if ref.kind is TypeKind.COLLECTION and directive is None:
        guess = lower_first(ref.name) + ("Ids" if ref.is_list else "Id")
        site.problems.add(
            site.node.type,
            f"{site.where} has the collection type {ref.name} but no @reference",
            f'add @reference(field: "{guess}") naming the stored field that holds the '
            f"{ref.name} key{'s' if ref.is_list else ''}",
        )
        return None
    if directive is None or not _on_collection(site, directive, "references"):
        return None
    if ref.kind is not TypeKind.COLLECTION:
        site.problems.add(
            directive.node,
            f"@reference needs a field of collection type, {site.where} is {ref.sdl()}",
            "remove @reference, or give the field the referenced collection type, e.g. "
            'user: User @reference(field: "userId")',
        )
        return None
    holder = directive.args.get("field")
    return Reference(holder) if isinstance(holder, str) else None
