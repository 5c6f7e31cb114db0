"""Variables (defaults, in root and entity fetches), over the interfaces scenario's subgraphs."""

from tests.federation.scenarios.interfaces.subgraphs import SUBGRAPHS

__all__ = ["SUBGRAPHS"]

APOLLO_DEVIATIONS = {
    "missing-required": "the same error, worded by graphql-js rather than graphql-core",
}
