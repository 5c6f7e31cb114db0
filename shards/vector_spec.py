"""What a shard needs to know about one vector field: the `vectors` entries of a collection
descriptor, checked, and the checks of query and stored vectors against them. No FAISS here,
so storage can validate descriptors without loading it.

    {"field": "embedding", "dimensions": 8, "metric": "COSINE", "index": "FLAT"}
    {"field": "embedding", "dimensions": 384, "metric": "L2", "index": "HNSW",
     "m": 32, "ef_construction": 64, "ef_search": 64}
    {"field": "embedding", "dimensions": 128, "metric": "IP", "index": "IVF",
     "nlist": 1024, "nprobe": 32}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

from shards.errors import BadRequest
from shards.filters import FIELD_PATH

Metric = Literal["COSINE", "IP", "L2"]
IndexKind = Literal["FLAT", "HNSW", "IVF"]
METRICS: tuple[Metric, ...] = ("COSINE", "IP", "L2")
INDEX_KINDS: tuple[IndexKind, ...] = ("FLAT", "HNSW", "IVF")
MAX_DIMENSIONS = 65_536
MAX_K = 1000  # the most hits one search returns
# HNSW defaults: recall@10 >= 0.95 on clustered data (tests/shards/test_vector_recall.py).
HNSW_DEFAULTS = {"m": 32, "ef_construction": 64, "ef_search": 64}
# IVF defaults: lists, and lists probed per search (tests/shards/test_vector_recall.py).
IVF_DEFAULTS = {"nlist": 1024, "nprobe": 32}
MAX_NLIST = 65_536


def ivf_problem(nlist: object, nprobe: object) -> str | None:
    """What is wrong with IVF settings, or None."""
    if type(nlist) is not int or not 1 <= nlist <= MAX_NLIST:
        return f"nlist must be an integer in 1..{MAX_NLIST}"
    if type(nprobe) is not int or not 1 <= nprobe <= MAX_NLIST:
        return f"nprobe must be an integer in 1..{MAX_NLIST}"
    return None


@dataclass(frozen=True)
class IndexDefaults:
    """What a `@vector` field gets when its directive does not say: `[vectors]` in
    shardgate.toml. Every gateway of a cluster must use the same, or they would keep telling
    the shards different settings (and the shards rebuild the index each time)."""

    index: str = "FLAT"  # FLAT, HNSW or IVF
    m: int = HNSW_DEFAULTS["m"]
    ef_construction: int = HNSW_DEFAULTS["ef_construction"]
    ef_search: int = HNSW_DEFAULTS["ef_search"]
    nlist: int = IVF_DEFAULTS["nlist"]
    nprobe: int = IVF_DEFAULTS["nprobe"]
    # Not an index setting: searches that miss token ranges (no live replica) answer from the
    # rest, saying so in the response's extensions, instead of failing (docs/vectors.md).
    partial: bool = False

    def __post_init__(self) -> None:
        if self.index not in INDEX_KINDS:
            raise ValueError(f"[vectors] index must be one of {', '.join(INDEX_KINDS)}")
        for name in HNSW_DEFAULTS:
            value = getattr(self, name)
            if type(value) is not int or not 1 <= value <= 4096:
                raise ValueError(f"[vectors] {name} must be an integer in 1..4096")
        problem = ivf_problem(self.nlist, self.nprobe)
        if problem:
            raise ValueError(f"[vectors] {problem}")


DEFAULTS = IndexDefaults()


class VectorFieldSpec(TypedDict):
    field: str  # a top-level field of the document holding a list of numbers
    dimensions: int
    metric: Metric
    index: IndexKind
    m: NotRequired[int]  # HNSW: graph degree
    ef_construction: NotRequired[int]  # HNSW: candidate list size while building
    ef_search: NotRequired[int]  # HNSW: candidate list size while searching
    nlist: NotRequired[int]  # IVF: inverted lists (k-means centroids)
    nprobe: NotRequired[int]  # IVF: lists searched per query


def check_specs(value: object, collection: str) -> list[VectorFieldSpec]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRequest(f"{collection}: 'vectors' must be a list of vector field specs")
    specs = [check_spec(v, collection) for v in value]
    fields = [s["field"] for s in specs]
    if len(set(fields)) != len(fields):
        raise BadRequest(f"{collection}: a vector field is declared twice in 'vectors'")
    return specs


def check_spec(value: object, collection: str) -> VectorFieldSpec:
    if not isinstance(value, Mapping):
        raise BadRequest(f"{collection}: each vector spec must be an object")
    field = value.get("field")
    if not isinstance(field, str) or not FIELD_PATH.fullmatch(field) or "." in field:
        raise BadRequest(f"{collection}: vector field {field!r} must be a top-level field name")
    dims = value.get("dimensions")
    if type(dims) is not int or not 1 <= dims <= MAX_DIMENSIONS:
        raise BadRequest(f"{collection}.{field}: dimensions must be 1..{MAX_DIMENSIONS}")
    metric, kind = value.get("metric", "COSINE"), value.get("index", "FLAT")
    if metric not in METRICS:
        raise BadRequest(f"{collection}.{field}: metric must be one of {', '.join(METRICS)}")
    if kind not in INDEX_KINDS:
        raise BadRequest(f"{collection}.{field}: index must be one of {', '.join(INDEX_KINDS)}")
    spec = VectorFieldSpec(field=field, dimensions=dims, metric=metric, index=kind)
    if kind == "HNSW":
        for name, default in HNSW_DEFAULTS.items():
            v: Any = value.get(name, default)
            if type(v) is not int or not 1 <= v <= 4096:
                raise BadRequest(f"{collection}.{field}: {name} must be an integer in 1..4096")
            spec[name] = v  # type: ignore[literal-required]
    if kind == "IVF":
        nlist = value.get("nlist", IVF_DEFAULTS["nlist"])
        nprobe = value.get("nprobe", IVF_DEFAULTS["nprobe"])
        problem = ivf_problem(nlist, nprobe)
        if problem:
            raise BadRequest(f"{collection}.{field}: {problem}")
        spec["nlist"], spec["nprobe"] = nlist, min(nprobe, nlist)  # more probes every list
    return spec


def check_query(vector: object, spec: VectorFieldSpec) -> list[float]:
    """A query vector of the field's dimensions with finite numbers, or BadRequest."""
    if not isinstance(vector, list) or not all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in vector
    ):
        raise BadRequest("vector must be a list of numbers")
    if len(vector) != spec["dimensions"]:
        raise BadRequest(
            f"vector has {len(vector)} dimensions; {spec['field']} has {spec['dimensions']}"
        )
    if not all(math.isfinite(x) for x in vector):
        raise BadRequest("vector holds a NaN or infinite value")
    return [float(x) for x in vector]


def stored_vector(value: object, spec: VectorFieldSpec) -> list[float] | None:
    """A stored vector usable for the index, or None (absent, or not of the field's shape)."""
    if not isinstance(value, list) or len(value) != spec["dimensions"]:
        return None
    if not all(isinstance(x, int | float) and math.isfinite(x) for x in value):
        return None
    return value
