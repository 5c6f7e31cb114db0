"""Generated SDL: the subgraph a gateway sees, the executable and merged schemas, composition.

Peers as oracles: the example subgraphs are composed with graphql-core (a small stand-in for
federation's merge rules) and, where Node is available, with Apollo's own composition.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    build_ast_schema,
    build_schema,
    graphql_sync,
    parse,
    print_ast,
    validate,
)
from graphql.language import (
    ObjectTypeDefinitionNode,
    SchemaExtensionNode,
    TypeDefinitionNode,
)

from schema.errors import SchemaErrors, ServiceConflict
from schema.model import ServiceSchema
from schema.parser import parse_service
from schema.sdl_text import FEDERATION_LINK, SHARED_DEFINITIONS
from schema.subgraph import check_compatible, executable_subgraph_sdl, subgraph_sdl
from tests.peers.apollo import compose as apollo_compose

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("users", "orders", "products")


def example(service: str) -> ServiceSchema:
    path = ROOT / "examples" / f"{service}.graphql"
    return parse_service(service, path.read_text())


def examples() -> list[ServiceSchema]:
    return [example(s) for s in SERVICES]


def service(name: str, sdl: str) -> ServiceSchema:
    return parse_service(name, textwrap.dedent(sdl))


def fields_of(schema: GraphQLSchema, type_name: str) -> dict[str, str]:
    t = schema.get_type(type_name)
    assert isinstance(t, GraphQLObjectType | GraphQLInputObjectType), type_name
    return {name: str(f.type) for name, f in t.fields.items()}


# -- the subgraph SDL ----------------------------------------------------------------------------

NOTES = '''\
    """
    A note someone wrote.
    Only its author can read it.
    """
    type Note @collection(shardKey: "authorId") @key(fields: "id") {
      id: ID!
      title: String! @index
      stars: Int
      kind: Kind
      place: Place
      authorId: ID!
      "Who wrote it."
      author: User @reference(field: "authorId")
    }

    enum Kind {
      TODO
      DONE
    }

    type Place {
      city: String
      tags: [String!]
    }
'''

# Everything after the shared definitions, for NOTES.
NOTES_SUBGRAPH = '''\
enum Kind {
  TODO
  DONE
}

"Conditions on Kind fields; all given must hold. Comparisons never match null: use _is_null."
input KindComparison {
  _eq: Kind
  _neq: Kind
  _in: [Kind!]
  _nin: [Kind!]
  "true: the field is null or missing; false: it has a value."
  _is_null: Boolean
}

type Place {
  city: String
  tags: [String!]
}

"Which Places to select; every condition given must hold."
input PlaceWhere {
  "Every one of these holds."
  _and: [PlaceWhere!]
  "At least one of these holds."
  _or: [PlaceWhere!]
  "This does not hold."
  _not: PlaceWhere
  city: StringComparison
  tags: JSONComparison
}

"One sort key for Places: set exactly one field."
input PlaceOrderBy {
  city: OrderDirection
}

"The Place to store."
input PlaceInput {
  city: String
  tags: [String!]
}

"""
A note someone wrote.
Only its author can read it.
"""
type Note @key(fields: "id") {
  id: ID!
  title: String!
  stars: Int
  kind: Kind
  place: Place
  authorId: ID!
  "Who wrote it."
  author: User
}

"Which Notes to select; every condition given must hold."
input NoteWhere {
  "Every one of these holds."
  _and: [NoteWhere!]
  "At least one of these holds."
  _or: [NoteWhere!]
  "This does not hold."
  _not: NoteWhere
  id: IDComparison
  title: StringComparison
  stars: IntComparison
  kind: KindComparison
  place: PlaceWhere
  authorId: IDComparison
}

"One sort key for Notes: set exactly one field."
input NoteOrderBy {
  id: OrderDirection
  title: OrderDirection
  stars: OrderDirection
  kind: OrderDirection
  place: PlaceOrderBy
  authorId: OrderDirection
}

"Count and aggregates over the matching Notes."
type NoteAggregate {
  "How many Notes match."
  count: Int!
  sum: NoteSumFields
  avg: NoteAvgFields
  min: NoteMinFields
  max: NoteMaxFields
}

"Sums over the matching Notes, ignoring nulls (Float: an Int sum can pass 32 bits)."
type NoteSumFields {
  stars: Float
}

"Means over the matching Notes, ignoring nulls."
type NoteAvgFields {
  stars: Float
}

"Smallest values over the matching Notes, ignoring nulls."
type NoteMinFields {
  id: ID
  title: String
  stars: Int
  authorId: ID
}

"Largest values over the matching Notes, ignoring nulls."
type NoteMaxFields {
  id: ID
  title: String
  stars: Int
  authorId: ID
}

"The Note to insert or upsert."
input NoteInput {
  id: ID!
  title: String!
  stars: Int
  kind: Kind
  place: PlaceInput
  authorId: ID!
}

"Fields of the Note to change; those not given are kept. The key and shard key cannot change."
input NoteSet {
  title: String
  stars: Int
  kind: Kind
  place: PlaceInput
}

type User @key(fields: "id", resolvable: false) {
  id: ID!
}

type Query {
  "The Note with this key, or null."
  note(id: ID!, consistency: Consistency): Note
  "Notes matching where, sorted by orderBy, skipping offset, at most limit."
  notes(
    where: NoteWhere
    orderBy: [NoteOrderBy!]
    limit: Int
    offset: Int
    consistency: Consistency
  ): [Note!]!
  "Count and aggregates over the Notes matching where."
  notesAggregate(where: NoteWhere, consistency: Consistency): NoteAggregate!
}

type Mutation {
  "Insert one Note; refused if its key is taken."
  insertNote(object: NoteInput!, consistency: Consistency): Note
  "Insert several Notes; refused if a key is taken."
  insertNotes(objects: [NoteInput!]!, consistency: Consistency): [Note!]!
  "Insert one Note, or replace the one with the same key."
  upsertNote(object: NoteInput!, consistency: Consistency): Note
  "Change fields of the Note with this key; returns it changed, or null if absent."
  updateNote(id: ID!, set: NoteSet!, consistency: Consistency): Note
  "Change fields of every Note matching where; returns how many changed."
  updateNotes(where: NoteWhere!, set: NoteSet!, consistency: Consistency): Int!
  "Delete the Note with this key; returns it, or null if absent."
  deleteNote(id: ID!, consistency: Consistency): Note
  "Delete every Note matching where; returns how many were deleted."
  deleteNotes(where: NoteWhere!, consistency: Consistency): Int!
}
'''


def test_subgraph_sdl_snapshot() -> None:
    sdl = subgraph_sdl(service("notes", NOTES))
    shared = "\n\n".join([FEDERATION_LINK, *SHARED_DEFINITIONS]) + "\n\n"
    assert sdl.startswith(shared)
    assert sdl[len(shared) :] == NOTES_SUBGRAPH


def test_subgraph_sdl_starts_with_the_federation_link() -> None:
    sdl = subgraph_sdl(example("users"))
    assert sdl.startswith(
        "extend schema\n"
        '  @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])\n'
    )
    assert "_entities" not in sdl and "_Service" not in sdl


def test_subgraph_sdl_is_stable() -> None:
    assert subgraph_sdl(example("orders")) == subgraph_sdl(example("orders"))


def test_shared_definitions_are_identical_in_every_subgraph() -> None:
    shared = "\n\n".join(SHARED_DEFINITIONS)
    for model in examples():
        assert subgraph_sdl(model).count(shared) == 1


def test_comparison_operators() -> None:
    schema = build_schema(executable_subgraph_sdl(example("users")))
    ordered = {"_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_in", "_nin", "_is_null"}
    for scalar in ("ID", "Int", "Float"):
        assert set(fields_of(schema, f"{scalar}Comparison")) == ordered
    assert fields_of(schema, "StringComparison") == {
        **{op: "String" for op in ordered - {"_in", "_nin", "_is_null"}},
        "_in": "[String!]",
        "_nin": "[String!]",
        "_like": "String",
        "_ilike": "String",
        "_is_null": "Boolean",
    }
    assert set(fields_of(schema, "BooleanComparison")) == {"_eq", "_neq", "_is_null"}
    assert fields_of(schema, "JSONComparison") == {"_is_null": "Boolean"}
    assert fields_of(schema, "RoleComparison") == {
        "_eq": "Role",
        "_neq": "Role",
        "_in": "[Role!]",
        "_nin": "[Role!]",
        "_is_null": "Boolean",
    }
    directions = schema.get_type("OrderDirection")
    assert isinstance(directions, GraphQLEnumType)
    assert list(directions.values) == [
        "ASC",
        "DESC",
        "ASC_NULLS_FIRST",
        "ASC_NULLS_LAST",
        "DESC_NULLS_FIRST",
        "DESC_NULLS_LAST",
    ]
    consistency = schema.get_type("Consistency")
    assert isinstance(consistency, GraphQLEnumType)
    assert list(consistency.values) == ["ONE", "QUORUM", "ALL"]


def test_filters_cover_scalars_enums_and_embedded_objects() -> None:
    schema = build_schema(executable_subgraph_sdl(example("users")))
    assert fields_of(schema, "UserWhere") == {
        "_and": "[UserWhere!]",
        "_or": "[UserWhere!]",
        "_not": "UserWhere",
        "id": "IDComparison",
        "email": "StringComparison",
        "name": "StringComparison",
        "bio": "StringComparison",
        "role": "RoleComparison",
        "address": "AddressWhere",
        "createdAt": "StringComparison",
        "embedding": "JSONComparison",  # vectors and lists: only _is_null
    }
    orders = build_schema(executable_subgraph_sdl(example("orders")))
    where = fields_of(orders, "OrderWhere")
    assert "user" not in where and "products" not in where  # references: filter on the key
    assert where["productIds"] == "JSONComparison"


def test_ordering_covers_ordered_scalars_enums_and_embedded_objects() -> None:
    schema = build_schema(executable_subgraph_sdl(example("users")))
    assert fields_of(schema, "UserOrderBy") == {
        "id": "OrderDirection",
        "email": "OrderDirection",
        "name": "OrderDirection",
        "bio": "OrderDirection",
        "role": "OrderDirection",
        "address": "AddressOrderBy",
        "createdAt": "OrderDirection",
    }


def test_an_embedded_type_with_nothing_to_order_by_gets_no_order_by() -> None:
    model = service(
        "tags",
        """
        type Post @collection @key(fields: "id") {
          id: ID!
          labels: Labels
        }
        type Labels {
          names: [String!]
          extra: JSON
        }
        """,
    )
    schema = build_schema(executable_subgraph_sdl(model))
    assert schema.get_type("LabelsOrderBy") is None
    assert fields_of(schema, "PostOrderBy") == {"id": "OrderDirection"}
    assert fields_of(schema, "LabelsWhere")["names"] == "JSONComparison"


def test_aggregates_exist_for_the_fields_they_apply_to() -> None:
    products = build_schema(executable_subgraph_sdl(example("products")))
    assert fields_of(products, "ProductAggregate") == {
        "count": "Int!",
        "sum": "ProductSumFields",
        "avg": "ProductAvgFields",
        "min": "ProductMinFields",
        "max": "ProductMaxFields",
    }
    # Sums are Float: a sum of Int values can exceed GraphQL's 32-bit Int.
    assert fields_of(products, "ProductSumFields") == {"price": "Float", "stock": "Float"}
    assert fields_of(products, "ProductAvgFields") == {"price": "Float", "stock": "Float"}
    assert fields_of(products, "ProductMinFields") == {
        "id": "ID",
        "sku": "String",
        "name": "String",
        "description": "String",
        "price": "Float",
        "stock": "Int",
    }
    users = build_schema(executable_subgraph_sdl(example("users")))
    assert set(fields_of(users, "UserAggregate")) == {"count", "min", "max"}  # nothing numeric
    assert users.get_type("UserSumFields") is None


def test_inputs_require_non_null_fields_and_set_never_changes_placement() -> None:
    schema = build_schema(executable_subgraph_sdl(example("orders")))
    assert fields_of(schema, "OrderInput") == {
        "id": "ID!",
        "userId": "ID!",
        "productIds": "[ID!]!",
        "total": "Float!",
        "status": "OrderStatus!",
        "shippingAddress": "AddressInput",
        "createdAt": "String!",
    }
    # Neither the key nor the shard key can change: they place the document on the ring.
    assert fields_of(schema, "OrderSet") == {
        "productIds": "[ID!]",
        "total": "Float",
        "status": "OrderStatus",
        "shippingAddress": "AddressInput",
        "createdAt": "String",
    }
    assert fields_of(schema, "AddressInput")["city"] == "String!"


def test_a_collection_with_nothing_to_change_has_no_updates() -> None:
    model = service("tags", 'type Tag @collection @key(fields: "id") {\n  id: ID!\n}\n')
    schema = build_schema(executable_subgraph_sdl(model))
    assert schema.get_type("TagSet") is None  # an input type needs at least one field
    assert schema.mutation_type is not None
    assert list(schema.mutation_type.fields) == [
        "insertTag",
        "insertTags",
        "upsertTag",
        "deleteTag",
        "deleteTags",
    ]


def test_root_fields() -> None:
    schema = build_schema(executable_subgraph_sdl(example("orders")))
    assert schema.query_type is not None and schema.mutation_type is not None
    query = {n: f for n, f in schema.query_type.fields.items() if not n.startswith("_")}
    signatures = {
        name: ({a: str(arg.type) for a, arg in f.args.items()}, str(f.type))
        for name, f in {**query, **schema.mutation_type.fields}.items()
    }
    c = "Consistency"
    assert signatures == {
        "order": ({"id": "ID!", "consistency": c}, "Order"),
        "orders": (
            {
                "where": "OrderWhere",
                "orderBy": "[OrderOrderBy!]",
                "limit": "Int",
                "offset": "Int",
                "consistency": c,
            },
            "[Order!]!",
        ),
        "ordersAggregate": ({"where": "OrderWhere", "consistency": c}, "OrderAggregate!"),
        "insertOrder": ({"object": "OrderInput!", "consistency": c}, "Order"),
        "insertOrders": ({"objects": "[OrderInput!]!", "consistency": c}, "[Order!]!"),
        "upsertOrder": ({"object": "OrderInput!", "consistency": c}, "Order"),
        "updateOrder": ({"id": "ID!", "set": "OrderSet!", "consistency": c}, "Order"),
        "updateOrders": ({"where": "OrderWhere!", "set": "OrderSet!", "consistency": c}, "Int!"),
        "deleteOrder": ({"id": "ID!", "consistency": c}, "Order"),
        "deleteOrders": ({"where": "OrderWhere!", "consistency": c}, "Int!"),
    }
    assert all(f.description for f in schema.mutation_type.fields.values())


def test_the_key_argument_is_named_and_typed_after_the_key() -> None:
    model = service(
        "catalog",
        """
        type Series @collection @key(fields: "code") {
          code: Int!
          title: String
        }
        """,
    )
    schema = build_schema(executable_subgraph_sdl(model))
    assert schema.query_type is not None and schema.mutation_type is not None
    assert {a: str(t.type) for a, t in schema.query_type.fields["series"].args.items()} == {
        "code": "Int!",
        "consistency": "Consistency",
    }
    assert {"seriesList", "seriesListAggregate"} <= set(schema.query_type.fields)
    assert {"insertSeriesList", "deleteSeriesList"} <= set(schema.mutation_type.fields)


def test_descriptions_are_kept() -> None:
    schema = build_schema(executable_subgraph_sdl(service("notes", NOTES)))
    note = schema.get_type("Note")
    assert isinstance(note, GraphQLObjectType)
    assert note.description == "A note someone wrote.\nOnly its author can read it."
    assert note.fields["author"].description == "Who wrote it."


def test_a_declared_stub_is_emitted_with_its_key() -> None:
    model = service(
        "reviews",
        """
        type Review @collection @key(fields: "id") {
          id: ID!
          productSku: String!
          product: Product @reference(field: "productSku")
        }
        type Product @key(fields: "sku", resolvable: false) {
          sku: String!
        }
        """,
    )
    assert (
        'type Product @key(fields: "sku", resolvable: false) {\n  sku: String!\n}'
        in subgraph_sdl(model)
    )


# -- the executable subgraph -------------------------------------------------------------------


@pytest.mark.parametrize("name", SERVICES)
def test_build_schema_accepts_the_executable_subgraph(name: str) -> None:
    model = example(name)
    schema = build_schema(executable_subgraph_sdl(model))
    entity = schema.get_type("_Entity")
    assert isinstance(entity, GraphQLUnionType)
    assert [t.name for t in entity.types] == [c.name for c in model.collections]
    assert schema.query_type is not None
    assert str(schema.query_type.fields["_entities"].type) == "[_Entity]!"
    assert str(schema.query_type.fields["_service"].type) == "_Service!"
    for stub in model.external_types:  # stubs are not resolvable here, so not entities
        assert stub not in [t.name for t in entity.types]


def test_the_executable_subgraph_answers_federation_queries() -> None:
    model = example("users")
    schema = build_schema(executable_subgraph_sdl(model))
    entity = schema.get_type("_Entity")
    assert isinstance(entity, GraphQLUnionType)
    entity.resolve_type = lambda obj, *_: obj["__typename"]
    users = {"u1": {"id": "u1", "email": "ada@example.com"}}

    def entities(_info: Any, representations: list[dict[str, Any]]) -> list[Any]:
        return [{**users[r["id"]], "__typename": r["__typename"]} for r in representations]

    result = graphql_sync(
        schema,
        "query($r: [_Any!]!) { _service { sdl } _entities(representations: $r) "
        "{ ... on User { email } } }",
        root_value={"_service": {"sdl": subgraph_sdl(model)}, "_entities": entities},
        variable_values={"r": [{"__typename": "User", "id": "u1"}]},
    )
    assert result.errors is None
    assert result.data == {
        "_service": {"sdl": subgraph_sdl(model)},
        "_entities": [{"email": "ada@example.com"}],
    }


# -- what clients see ---------------------------------------------------------------------------


def test_the_documented_example_operations_are_valid() -> None:
    """Against the API schema of the examples' supergraph, as composed by shardgate."""
    from gateway.api_schema import api_schema
    from gateway.supergraph import load_supergraph
    from schema.composition import compose
    from schema.subgraph_reader import read_subgraph

    supergraph = compose([read_subgraph(m.service, "", subgraph_sdl(m)) for m in examples()])
    schema = api_schema(load_supergraph(supergraph))
    docs = (ROOT / "docs" / "schema-language.md").read_text()
    example_block = docs.split("This gives, among others:\n\n```graphql\n")[1].split("```")[0]
    assert validate(schema, parse(example_block)) == []


# -- composition --------------------------------------------------------------------------------


def compose(sdls: list[str]) -> DocumentNode:
    """Federation's merge rules, reduced to what store subgraphs use: entities (@key) and the
    root types merge their fields (a root field from one subgraph only, an entity's field of
    one type everywhere), everything else must be identical. Returns the composed schema
    without federation directives."""
    merged: dict[str, TypeDefinitionNode] = {}
    entities: set[str] = set()
    resolvable: set[str] = set()
    for sdl in sdls:
        for node in parse(sdl).definitions:
            if isinstance(node, SchemaExtensionNode):
                continue
            assert isinstance(node, TypeDefinitionNode)
            name = node.name.value
            key = next((d for d in node.directives or () if d.name.value == "key"), None)
            if key is not None:
                entities.add(name)
                if "resolvable: false" not in print_ast(key):
                    resolvable.add(name)
            first = merged.setdefault(name, node)
            if first is node:
                continue
            if key is None and name not in ("Query", "Mutation"):
                assert print_ast(first) == print_ast(node), f"{name} differs between subgraphs"
                continue
            assert isinstance(first, ObjectTypeDefinitionNode)
            assert isinstance(node, ObjectTypeDefinitionNode)
            known = {f.name.value: print_ast(f.type) for f in first.fields or ()}
            for f in node.fields or ():
                if f.name.value in known:  # a key field, seen from the owner and a stub
                    assert name not in ("Query", "Mutation"), f"root field {f.name.value} twice"
                    assert known[f.name.value] == print_ast(f.type), (name, f.name.value)
            added = [f for f in node.fields or () if f.name.value not in known]
            merged[name] = ObjectTypeDefinitionNode(
                name=first.name,
                description=first.description or node.description,
                directives=(),
                interfaces=(),
                fields=(*(first.fields or ()), *added),
            )
    assert entities <= resolvable, f"entities no subgraph resolves: {entities - resolvable}"
    return DocumentNode(definitions=tuple(_without_directives(d) for d in merged.values()))


def _without_directives(node: TypeDefinitionNode) -> TypeDefinitionNode:
    # Federation directives mean nothing to a plain schema; nodes are frozen, so rebuild.
    fields = {key: getattr(node, key) for key in node.keys if key != "directives"}
    return type(node)(**fields, directives=())


def test_the_example_subgraphs_compose() -> None:
    composed = build_ast_schema(compose([subgraph_sdl(m) for m in examples()]))
    user = composed.get_type("User")
    assert isinstance(user, GraphQLObjectType) and "email" in user.fields
    query = """
    {
      orders(where: { status: { _eq: PAID } }, orderBy: [{ total: DESC }], limit: 10) {
        total
        user { email address { city } }
        products { name price }
      }
      usersAggregate { count }
    }
    """
    assert validate(composed, parse(query)) == []


@pytest.mark.slow
def test_apollo_composition_accepts_the_example_subgraphs() -> None:
    # Apollo's own composer is the oracle; it raises CompositionFailed with its error codes.
    supergraph = apollo_compose({m.service: subgraph_sdl(m) for m in examples()})
    assert "type Order" in supergraph and "join__graph" in supergraph


# -- compatibility ------------------------------------------------------------------------------


def conflicts(*models: ServiceSchema) -> list[ServiceConflict]:
    with pytest.raises(SchemaErrors) as caught:
        check_compatible(list(models))
    found = list(caught.value.errors)
    assert all(isinstance(e, ServiceConflict) for e in found)
    return found  # type: ignore[return-value]


def test_the_examples_are_compatible() -> None:
    check_compatible(examples())


def test_a_collection_belongs_to_one_service() -> None:
    twin = service(
        "accounts",
        """\
        "Accounts."
        type User @collection @key(fields: "id") {
          id: ID!
        }
        """,
    )
    (conflict,) = conflicts(example("users"), twin)
    assert conflict.services == ("users", "accounts")
    assert conflict.name == "User"
    assert str(conflict).startswith(
        'accounts.graphql:2:1: collection User is defined by both services "users" and '
        '"accounts". Fix: a collection belongs to one service'
    )


def test_two_collections_may_not_generate_the_same_root_field() -> None:
    people = service("people", 'type Persons @collection @key(fields: "id") {\n  id: ID!\n}\n')
    persons = service("persons", 'type Person @collection @key(fields: "id") {\n  id: ID!\n}\n')
    (conflict,) = conflicts(people, persons)
    assert conflict.services == ("people", "persons")
    assert 'root field "persons" is generated for both Persons' in conflict.message
    assert (conflict.source, conflict.line) == ("persons.graphql", 1)


def test_an_embedded_type_in_several_services_must_be_shareable() -> None:
    shipping = service(
        "shipping",
        """
        type Shipment @collection @key(fields: "id") {
          id: ID!
          to: Address
        }
        type Address {
          street: String!
        }
        """,
    )
    (conflict,) = conflicts(example("users"), shipping)
    assert conflict.message == (
        'embedded type Address is defined by services "users" and "shipping" but is not '
        '@shareable in "shipping"'
    )
    assert conflict.suggestion and "@shareable in both" in conflict.suggestion
    assert (conflict.line, conflict.column) == (6, 1)


def test_a_shared_embedded_type_must_be_identical() -> None:
    shipping = service(
        "shipping",
        """
        type Shipment @collection @key(fields: "id") {
          id: ID!
          to: Address
        }
        type Address @shareable {
          street: String!
          city: String!
          postalCode: Int
          country: String!
        }
        """,
    )
    (conflict,) = conflicts(example("users"), shipping)
    assert conflict.message.endswith("postalCode is String in the first, Int in the second")


def test_a_shared_enum_must_be_identical() -> None:
    staff = service(
        "staff",
        """
        type Member @collection @key(fields: "id") {
          id: ID!
          role: Role
        }
        enum Role {
          ADMIN
          OWNER
        }
        """,
    )
    (conflict,) = conflicts(example("users"), staff)
    assert "enum Role differs" in conflict.message
    identical = service(
        "staff",
        """
        type Member @collection @key(fields: "id") {
          id: ID!
          role: Role
        }
        enum Role {
          ADMIN
          MEMBER
          GUEST
        }
        """,
    )
    check_compatible([example("users"), identical])


def test_a_name_cannot_be_two_kinds_of_type() -> None:
    geo = service("geo", 'type Address @collection @key(fields: "id") {\n  id: ID!\n}\n')
    (conflict,) = conflicts(example("users"), geo)
    assert conflict.message == (
        'Address is an embedded type in service "users" but a collection in service "geo"'
    )


def test_a_stub_must_use_the_key_of_the_collection_it_stands_for() -> None:
    reviews = service(
        "reviews",
        """
        type Review @collection @key(fields: "id") {
          id: ID!
          productSku: String!
          product: Product @reference(field: "productSku")
        }
        type Product @key(fields: "sku", resolvable: false) {
          sku: String!
        }
        """,
    )
    (conflict,) = conflicts(example("products"), reviews)
    assert conflict.message == (
        'service "reviews" refers to Product by "sku: String!", but service "products" keys '
        'Product on "id: ID!"'
    )
    assert conflict.suggestion == (
        'declare the stub in reviews.graphql: type Product @key(fields: "id", '
        "resolvable: false) { id: ID! }"
    )
    assert (conflict.line, conflict.column) == (7, 1)


def test_a_reference_cannot_name_another_services_embedded_type() -> None:
    odd = service(
        "odd",
        """
        type Thing @collection @key(fields: "id") {
          id: ID!
          addressId: ID
          address: Address @reference(field: "addressId")
        }
        """,
    )
    (conflict,) = conflicts(example("users"), odd)
    assert "refers to Address as a collection" in conflict.message
    assert (conflict.line, conflict.column) == (5, 12)  # where odd names it


def test_a_reference_to_a_type_no_service_defines_is_allowed() -> None:
    check_compatible([example("orders")])  # User and Product may live in external subgraphs


def test_a_service_is_given_once() -> None:
    (conflict,) = conflicts(example("users"), example("users"))
    assert 'service "users" is given twice' in conflict.message
