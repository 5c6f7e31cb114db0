"""Vectors computed from text on a real cluster: `@vector(from:, model:)` embeds the text at
write time (GraphQL inserts, updates, and the bulk import), `searchPersons(text:)` embeds the
query. The model's vectors are checked against sentence-transformers' (a fixture), searches
against meaning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cluster import Cluster

pytestmark = pytest.mark.slow  # the text model is installed by make test, never skipped

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "embeddings" / "all-MiniLM-L6-v2.json"
SDL = """
type Person @collection @key(fields: "id") {
  id: ID!
  name: String
  bio: String
  embedding: [Float!] @vector(dimensions: 384, from: "bio", model: "all-MiniLM-L6-v2")
}
"""
BIOS = {
    "p1": "A man is eating food.",
    "p2": "A man is riding a horse.",
    "p3": "Graph databases store relationships between entities.",
    "p4": "Ann bakes sourdough bread every Sunday and teaches pottery.",
}
SEARCH = """query($t: String, $v: [Float!], $k: Int) {
  searchPersons(text: $t, vector: $v, k: $k) { score person { id bio } } }"""


def top(cluster: Cluster, text: str, k: int = 4) -> list[str]:
    hits = cluster.graphql(SEARCH, {"t": text, "k": k})["searchPersons"]
    return [h["person"]["id"] for h in hits]


def test_vectors_are_computed_from_text_and_searched_by_text(cluster: Cluster) -> None:
    pushed = cluster.http.post(cluster.url + "/admin/services/people", content=SDL)
    assert pushed.status_code == 200, pushed.text
    objects = [{"id": key, "bio": bio} for key, bio in BIOS.items()]
    cluster.graphql(
        "mutation($o: [PersonInput!]!) { insertPersons(objects: $o) { id } }", {"o": objects}
    )
    reference = json.loads(FIXTURE.read_text())
    stored = cluster.graphql('{ person(id: "p1") { embedding } }')["person"]["embedding"]
    assert stored == pytest.approx(reference["embeddings"][0], abs=2e-6)
    # By meaning, not by words in common.
    assert top(cluster, "someone having a meal")[0] == "p1"
    assert top(cluster, "equestrian sport")[0] == "p2"
    assert top(cluster, "knowledge graphs and data modelling")[0] == "p3"
    exact = cluster.graphql(SEARCH, {"t": "A man is eating food.", "k": 1})["searchPersons"]
    assert exact[0]["score"] == pytest.approx(1.0, abs=1e-5)
    # A new text, a new vector; another field changed, the same vector.
    cluster.graphql('mutation { updatePerson(id: "p4", set: {bio: "A woman eats lunch."}) { id } }')
    assert set(top(cluster, "someone having a meal", 2)) == {"p1", "p4"}
    cluster.graphql('mutation { updatePerson(id: "p1", set: {name: "Bob"}) { id } }')
    again = cluster.graphql('{ person(id: "p1") { embedding } }')["person"]["embedding"]
    assert again == stored
    # The vector is the model's to write, and a search takes a vector or a text.
    errors = cluster.errors(
        'mutation { insertPerson(object: {id: "p9", embedding: [1.0]}) { id } }'
    )
    assert "embedding" in errors[0]["message"]
    errors = cluster.errors(SEARCH, {"t": "x", "v": [0.0] * 384})
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "either vector or text" in errors[0]["message"]


def test_bulk_import_embeds_and_names_a_bad_document(cluster: Cluster) -> None:
    cluster.http.post(cluster.url + "/admin/services/people", content=SDL)
    lines = [
        json.dumps({"id": "i1", "bio": "Volcanoes erupt molten lava.", "name": "V"}),
        json.dumps({"id": "i2", "bio": "Penguins live in Antarctica."}),
    ]
    done = cluster.http.post(cluster.url + "/admin/import/Person", content="\n".join(lines))
    assert done.status_code == 200, done.text
    assert done.json() == {"collection": "people.Person", "inserted": 2}
    assert top(cluster, "birds of the south pole", 1) == ["i2"]
    bad = cluster.http.post(
        cluster.url + "/admin/import/people.Person",
        content=json.dumps({"id": "i3", "name": 7}) + "\n" + json.dumps({"id": "i4"}),
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0].startswith("document 1: Person.name:"), bad.json()
    assert cluster.graphql('{ person(id: "i4") { id } }')["person"] is None  # nothing written
    again = cluster.http.post(cluster.url + "/admin/import/Person", content=lines[0])
    assert again.status_code == 409 and "already exists" in again.json()["errors"][0]
