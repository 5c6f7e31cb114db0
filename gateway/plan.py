"""The query plan as data, and its text form (Apollo's queryPlanSerializer layout, so a plan
can be diffed against Apollo's planner for the same supergraph and operation).

    Fetch       one request to one subgraph: a root selection, or an `_entities` call whose
                `requires` selection builds the representations from data already fetched
    Flatten     run `node` at every object under `path` ("topProducts.@.seller"; @ = list items)
    Sequence    children one after another (each may need the previous ones' data)
    Parallel    children at the same time
    Condition   `if_clause` when the boolean variable is true, else `else_clause`

    QueryPlan {
      Sequence {
        Fetch(service: "products") {
          {
            topProducts {
              __typename
              upc
            }
          }
        },
        Flatten(path: "topProducts.@") {
          Fetch(service: "inventory") {
            {
              ... on Product {
                __typename
                upc
              }
            } =>
            {
              ... on Product {
                inStock
              }
            }
          },
        },
      },
    }
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import FragmentDefinitionNode, SelectionSetNode, print_ast


@dataclass(frozen=True)
class Fetch:
    service: str
    selection: SelectionSetNode  # what to ask for (under `_entities` when `requires` is set)
    requires: SelectionSetNode | None = None  # how to build each representation
    operation_kind: str = "query"
    variable_usages: tuple[str, ...] = ()
    input_rewrites: tuple[tuple[str, str], ...] = ()  # (type condition, __typename to send)
    # (path to a key the planner aliased, with "... on T" steps; the key it stands for):
    # renamed in the answer before it is merged (gateway/rewrites.py)
    output_rewrites: tuple[tuple[tuple[str, ...], str], ...] = ()
    # the client's named fragments the selection spreads, as this subgraph can answer them
    fragments: tuple[FragmentDefinitionNode, ...] = ()


@dataclass(frozen=True)
class Flatten:
    path: tuple[str, ...]
    node: PlanNode


@dataclass(frozen=True)
class Sequence:
    nodes: tuple[PlanNode, ...]


@dataclass(frozen=True)
class Parallel:
    nodes: tuple[PlanNode, ...]


@dataclass(frozen=True)
class Condition:
    variable: str
    if_clause: PlanNode | None = None
    else_clause: PlanNode | None = None


PlanNode = Fetch | Flatten | Sequence | Parallel | Condition


@dataclass(frozen=True)
class QueryPlan:
    node: PlanNode | None
    notes: tuple[str, ...] = field(default=(), compare=False)


def format_plan(plan: QueryPlan) -> str:
    if plan.node is None:
        return "QueryPlan {}"
    lines = ["QueryPlan {"]
    if plan.node is not None:
        lines += _node(plan.node, 1)
    lines.append("}")
    return "\n".join(lines)


def _node(node: PlanNode, depth: int) -> list[str]:
    pad = "  " * depth
    if isinstance(node, Fetch):
        out = [f'{pad}Fetch(service: "{node.service}") {{']
        if node.requires is not None:
            out += _block(node.requires, depth + 1)
            out[-1] += " =>"
        out += _block(node.selection, depth + 1)
        for fragment in node.fragments:  # as Apollo prints them: after a blank line
            out += [pad + "  ", *_block(fragment, depth + 1)]
        return [*out, f"{pad}}},"]
    if isinstance(node, Flatten):
        path = ".".join(node.path)
        return [f'{pad}Flatten(path: "{path}") {{', *_node(node.node, depth + 1), f"{pad}}},"]
    if isinstance(node, Sequence | Parallel):
        name = type(node).__name__
        inner = [line for child in node.nodes for line in _node(child, depth + 1)]
        return [f"{pad}{name} {{", *inner, f"{pad}}},"]
    if (node.if_clause is None) != (node.else_clause is None):  # Apollo's short forms
        name, clause = ("Include", node.if_clause) if node.if_clause else ("Skip", node.else_clause)
        assert clause is not None
        inner = _node(clause, depth + 1)
        inner[-1] = inner[-1].rstrip(",")
        return [f"{pad}{name}(if: ${node.variable}) {{", *inner, f"{pad}}},"]
    out = [f"{pad}Condition(if: ${node.variable}) {{"]
    for label, clause in (("Then", node.if_clause), ("Else", node.else_clause)):
        if clause is not None:
            out += [f"{pad}  {label} {{", *_node(clause, depth + 2), f"{pad}  }}"]
    return [*out, f"{pad}}},"]


def _block(selection: SelectionSetNode | FragmentDefinitionNode, depth: int) -> list[str]:
    pad = "  " * depth
    return [pad + _tight_objects(line) for line in print_ast(selection).splitlines()]


def _tight_objects(line: str) -> str:
    """Object values in arguments as Apollo prints them: `{a: 1}`, not `{ a: 1 }`."""
    out: list[str] = []
    depth, in_string, escaped = 0, False, False
    for i, ch in enumerate(line):
        if in_string:
            escaped, in_string = ch == "\\" and not escaped, in_string and (ch != '"' or escaped)
        elif ch == '"':
            in_string = True
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif depth and ch == " " and (line[i - 1] == "{" or line[i + 1 : i + 2] == "}"):
            continue
        out.append(ch)
    return "".join(out)
