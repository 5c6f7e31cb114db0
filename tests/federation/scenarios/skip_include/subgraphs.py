"""@skip and @include with variables: on fields, fragments and jumps (interfaces subgraphs)."""

from tests.federation.scenarios.interfaces.subgraphs import SUBGRAPHS

__all__ = ["SUBGRAPHS"]

PLAN_DEVIATIONS = {
    "include-false": "a fetch under an inline fragment's @include(if: $v) gets no Include node "
    "(it runs, and its selection carries the directive); Apollo skips it",
    "include-true": "as include-false",
}
PLAN_DEVIATIONS["literal"] = (
    "for copies @include(if: false) Apollo still asks for Book's key; shardgate asks nothing"
)
