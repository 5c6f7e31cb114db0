"""Plans as data, printed exactly as Apollo prints them."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, SelectionSetNode, parse

from gateway.plan import Condition, Fetch, Flatten, Parallel, QueryPlan, Sequence, format_plan
from tests.peers.apollo import apollo_plan

SHOP = Path(__file__).parents[1] / "fixtures" / "supergraphs" / "shop.graphql"


def sel(text: str) -> SelectionSetNode:
    [operation] = parse(text).definitions
    assert isinstance(operation, OperationDefinitionNode)
    return operation.selection_set


PRODUCTS_WITH_STOCK = QueryPlan(
    Sequence(
        (
            Fetch("products", sel("{ topProducts { __typename upc name } }")),
            Flatten(
                ("topProducts", "@"),
                Fetch(
                    "inventory",
                    sel("{ ... on Product { inStock } }"),
                    requires=sel("{ ... on Product { __typename upc } }"),
                ),
            ),
        )
    )
)


@pytest.mark.slow
def test_the_text_form_is_apollos() -> None:
    expected = apollo_plan(SHOP, "{ topProducts { name inStock } }")
    assert format_plan(PRODUCTS_WITH_STOCK) == expected


def test_parallel_and_condition_nodes() -> None:
    plan = QueryPlan(
        Parallel(
            (
                Fetch("accounts", sel("{ me { name } }")),
                Condition("withReviews", if_clause=Fetch("reviews", sel("{ a }"))),
                Condition(
                    "x", if_clause=Fetch("a", sel("{ b }")), else_clause=Fetch("c", sel("{ d }"))
                ),
            )
        )
    )
    assert (
        format_plan(plan)
        == """QueryPlan {
  Parallel {
    Fetch(service: "accounts") {
      {
        me {
          name
        }
      }
    },
    Include(if: $withReviews) {
      Fetch(service: "reviews") {
        {
          a
        }
      }
    },
    Condition(if: $x) {
      Then {
        Fetch(service: "a") {
          {
            b
          }
        },
      }
      Else {
        Fetch(service: "c") {
          {
            d
          }
        },
      }
    },
  },
}"""
    )


def test_an_empty_plan() -> None:
    assert format_plan(QueryPlan(None)) == "QueryPlan {}"  # as Apollo prints it
