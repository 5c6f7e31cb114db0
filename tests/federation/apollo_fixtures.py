"""Apollo's side of the corpus, kept as fixture files: each scenario's supergraph as
`@apollo/composition` writes it, and Apollo's query plan for each operation. Both are
regenerated (through the Node peer) when what they were made from changed; commit them.

    python -m tests.federation.apollo_fixtures        # refresh every stale scenario
"""

from __future__ import annotations

import hashlib

from tests.federation.corpus import STAMP, Scenario, scenarios
from tests.peers.apollo import apollo_plans, compose

PLAN_STAMP = "STAMP"
REFUSED = "Apollo refuses: "  # the plan file of an operation that is invalid over the API schema


def refresh(scenario: Scenario) -> list[str]:
    """Regenerate what is stale; returns the files written."""
    written = []
    stamp = STAMP + scenario.sdl_hash()
    path = scenario.supergraph_path
    if not path.exists() or path.read_text().splitlines()[0] != stamp:
        path.write_text(f"{stamp}\n{compose(scenario.sdls())}")
        written.append(str(path))
    operations = {op.name: op.text for op in scenario.operations()}
    digest = hashlib.sha256(path.read_bytes())
    for name, text in sorted(operations.items()):
        digest.update(f"\0{name}\0{text}".encode())
    plans_dir = scenario.directory / "plans"
    stamp_path = plans_dir / PLAN_STAMP
    if stamp_path.exists() and stamp_path.read_text().strip() == digest.hexdigest()[:16]:
        return written
    plans_dir.mkdir(exist_ok=True)
    for old in plans_dir.glob("*.txt"):
        old.unlink()
    for name, plan in apollo_plans(path, operations, refused=REFUSED).items():
        (plans_dir / f"{name}.txt").write_text(plan + "\n")
        written.append(str(plans_dir / f"{name}.txt"))
    stamp_path.write_text(digest.hexdigest()[:16] + "\n")
    return written


if __name__ == "__main__":
    for s in scenarios():
        for file in refresh(s):
            print("wrote", file)
