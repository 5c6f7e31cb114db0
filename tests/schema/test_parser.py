"""Reading service SDL: the examples, what the model records, and every error a user can meet.

Each error names file:line:column, says what is wrong and how to fix it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from schema.errors import SchemaError, SchemaErrors
from schema.model import (
    ExternalType,
    Reference,
    ServiceSchema,
    TypeKind,
    TypeRef,
    VectorIndexKind,
    VectorMetric,
    VectorSpec,
)
from schema.parser import parse_service

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(service: str) -> str:
    return (EXAMPLES / f"{service}.graphql").read_text()


def parse(service: str, sdl: str) -> ServiceSchema:
    return parse_service(service, textwrap.dedent(sdl))


def errors_of(sdl: str, service: str = "users") -> tuple[SchemaError, ...]:
    with pytest.raises(SchemaErrors) as caught:
        parse_service(service, sdl)
    return caught.value.errors


# -- the examples ------------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["users", "orders", "products"])
def test_the_examples_parse(service: str) -> None:
    model = parse_service(service, example(service))
    assert model.service == service
    assert model.source == f"{service}.graphql"
    assert model.collections


def test_users_example() -> None:
    model = parse_service("users", example("users"))
    (user,) = model.collections
    assert (user.name, user.key, user.shard_key) == ("User", "id", "id")
    assert user.description == "A person with an account."
    email = user.field("email")
    assert email is not None and email.unique
    assert email.type == TypeRef("String", TypeKind.SCALAR, non_null=True)
    role = user.field("role")
    assert role is not None and role.index and role.type.kind is TypeKind.ENUM
    address = user.field("address")
    assert address is not None and address.type.kind is TypeKind.OBJECT
    embedding = user.field("embedding")
    assert embedding is not None
    assert embedding.vector == VectorSpec(8, VectorMetric.COSINE)
    assert embedding.type == TypeRef("Float", TypeKind.SCALAR, is_list=True, item_non_null=True)
    assert [e.values for e in model.enums] == [("ADMIN", "MEMBER", "GUEST")]
    obj = model.object("Address")
    assert obj is not None and obj.shareable
    assert model.external_types == () and model.stubs == ()


def test_orders_example_refers_to_other_services() -> None:
    model = parse_service("orders", example("orders"))
    order = model.collection("Order")
    assert order is not None
    assert (order.key, order.shard_key) == ("id", "userId")
    user, products = order.field("user"), order.field("products")
    assert user is not None and products is not None
    assert user.reference == Reference("userId") and not user.stored
    assert user.type == TypeRef("User", TypeKind.COLLECTION)
    assert products.reference == Reference("productIds")
    assert products.type == TypeRef("Product", TypeKind.COLLECTION, is_list=True)
    assert [f.name for f in order.stored_fields] == [
        "id",
        "userId",
        "productIds",
        "total",
        "status",
        "shippingAddress",
        "createdAt",
    ]
    assert model.external_types == ("User", "Product")
    assert model.stubs == (ExternalType("User"), ExternalType("Product"))


def test_products_example() -> None:
    model = parse_service("products", example("products"))
    product = model.collection("Product")
    assert product is not None
    price, tags = product.field("price"), product.field("tags")
    assert price is not None and price.index and price.type.non_null
    assert tags is not None and tags.type.sdl() == "[String!]"
    attributes = product.field("attributes")
    assert attributes is not None and attributes.type.name == "JSON"


# -- what the model records ----------------------------------------------------------------------


def test_defaults_shard_key_to_key_and_metric_to_cosine() -> None:
    model = parse(
        "docs",
        """
        type Doc @collection @key(fields: "slug") {
          slug: String!
          v: [Float] @vector(dimensions: 3)
          w: [Float!]! @vector(dimensions: 2, metric: IP)
        }
        """,
    )
    (doc,) = model.collections
    assert (doc.key, doc.shard_key) == ("slug", "slug")
    assert [f.vector for f in doc.fields] == [
        None,
        VectorSpec(3, VectorMetric.COSINE),
        VectorSpec(2, VectorMetric.IP),
    ]


def test_vector_index_settings() -> None:
    model = parse(
        "docs",
        """
        type Doc @collection @key(fields: "id") {
          id: ID!
          v: [Float!] @vector(dimensions: 4, metric: L2, index: HNSW, m: 16, efSearch: 200)
        }
        """,
    )
    assert model.collections[0].fields[1].vector == VectorSpec(
        4, VectorMetric.L2, VectorIndexKind.HNSW, m=16, ef_construction=None, ef_search=200
    )


def test_a_declared_stub_chooses_the_key_of_another_services_type() -> None:
    model = parse(
        "reviews",
        """
        type Review @collection @key(fields: "id") {
          id: ID!
          productSku: String!
          product: Product @reference(field: "productSku")
          authorId: ID
          author: User @reference(field: "authorId")
        }
        type Product @key(fields: "sku", resolvable: false) {
          sku: String!
        }
        """,
    )
    assert model.external_types == ("Product", "User")
    assert model.external("Product") == ExternalType("Product", "sku", "String")
    assert model.external("User") == ExternalType("User", "id", "ID")  # the default stub


def test_references_within_the_service_and_to_itself() -> None:
    model = parse(
        "catalog",
        """
        type Category @collection @key(fields: "id") {
          id: Int!
          parentId: Int
          parent: Category @reference(field: "parentId")
        }
        type Item @collection @key(fields: "id") {
          id: ID!
          categoryIds: [Int!]
          categories: [Category!] @reference(field: "categoryIds")
        }
        """,
    )
    assert model.external_types == ()
    item = model.collection("Item")
    assert item is not None
    categories = item.field("categories")
    assert categories is not None and categories.type.kind is TypeKind.COLLECTION


def test_json_may_be_declared_and_embedded_types_nest() -> None:
    model = parse(
        "places",
        """
        scalar JSON
        type Place @collection @key(fields: "id") {
          id: ID!
          geo: Geo!
          extra: JSON
        }
        type Geo {
          point: Point
          history: [Point!]
        }
        type Point {
          lat: Float!
          lon: Float!
        }
        """,
    )
    assert [o.name for o in model.objects] == ["Geo", "Point"]
    geo = model.object("Geo")
    assert geo is not None
    assert [f.type.sdl() for f in geo.fields] == ["Point", "[Point!]"]


# -- errors ----------------------------------------------------------------------------------------

C = 'type User @collection @key(fields: "id") {\n  id: ID!\n'  # a collection, left open
# (case, sdl, where, what is wrong, how to fix)
# fmt: off
CASES = [
    ("syntax error", 'type User @collection @key(fields: "id") {\n  id: ID!\n  name String\n}\n',
     "3:8", "syntax error: Expected ':', found Name 'String'", "GraphQL syntax"),
    ("unknown type", C + "  name: Strng\n}\n", "3:9", 'unknown type "Strng" in User.name',
     'did you mean "String"?'),
    ("unknown type, nothing close", C + "  at: DateTimeOffset\n}\n", "3:7",
     'unknown type "DateTimeOffset"', "built-in scalar"),
    ("unknown directive", C + "  email: String @uniqe\n}\n", "3:17",
     "unknown directive @uniqe on User.email", 'did you mean "@unique"?'),
    ("federation directive", C + "  email: String @external\n}\n", "3:17",
     "unknown directive @external", "shardgate writes the federation directives"),
    ("deprecated", C + '  old: String @deprecated(reason: "no")\n}\n', "3:15",
     "unknown directive @deprecated", "not supported yet"),
    ("field directive on a type",
     'type User @collection @key(fields: "id") @unique {\n  id: ID!\n}\n',
     "1:42", "@unique applies to field definitions, not to type User", "remove @unique"),
    ("repeated directive", C + "  email: String @unique @unique\n}\n", "3:25",
     "@unique is repeated on User.email", "keep one @unique"),
    ("unknown argument", 'type User @collection(shard: "id") @key(fields: "id") {\n  id: ID!\n}\n',
     "1:23", 'unknown argument "shard" of @collection', 'did you mean "shardKey"?'),
    ("argument on a directive without any", C + "  email: String @unique(scope: GLOBAL)\n}\n",
     "3:25", 'unknown argument "scope" of @unique', "@unique takes no arguments"),
    ("missing argument", C + "  v: [Float!] @vector\n}\n", "3:15",
     '@vector on User.v needs the argument "dimensions"', "@vector(dimensions: 384)"),
    ("argument of the wrong kind",
     'type User @collection(shardKey: 3) @key(fields: "id") {\n  id: ID!\n}\n',
     "1:33", "@collection(shardKey:) expects a string, got 3", '@collection(shardKey: "userId")'),
    ("metric as a string", C + '  v: [Float!] @vector(dimensions: 3, metric: "L2")\n}\n', "3:46",
     '@vector(metric:) expects one of COSINE, L2, IP, got "L2"', "no quotes"),
    ("unknown metric", C + "  v: [Float!] @vector(dimensions: 3, metric: DOT)\n}\n", "3:46",
     "@vector(metric:) expects one of COSINE, L2, IP, got DOT", "metric: COSINE"),
    ("dimensions out of range", C + "  v: [Float!] @vector(dimensions: 70000)\n}\n", "3:23",
     "@vector(dimensions:) must be between 1 and 65536, got 70000", "dimensions: 384"),
    ("HNSW setting on a flat index", C + "  v: [Float!] @vector(dimensions: 3, m: 8)\n}\n",
     "3:38", "@vector(m:) applies to HNSW indexes only, User.v does not say", "add index: HNSW"),
    ("unknown index kind", C + "  v: [Float!] @vector(dimensions: 3, index: PQ)\n}\n", "3:45",
     "@vector(index:) expects one of FLAT, HNSW, IVF, got PQ", "index: HNSW"),
    ("IVF setting on an HNSW index",
     C + "  v: [Float!] @vector(dimensions: 3, index: HNSW, nlist: 8)\n}\n", "3:51",
     "@vector(nlist:) applies to IVF indexes only, User.v does not say", "add index: IVF"),
    ("IVF setting out of range",
     C + "  v: [Float!] @vector(dimensions: 3, index: IVF, nprobe: 0)\n}\n", "3:50",
     "@vector(nprobe:) must be between 1 and 65536, got 0", "nprobe: 32"),
    ("HNSW setting out of range",
     C + "  v: [Float!] @vector(dimensions: 3, index: HNSW, efSearch: 0)\n}\n", "3:51",
     "@vector(efSearch:) must be between 1 and 4096, got 0", "the defaults"),
    ("vector on a non-float list", C + "  v: [Int!] @vector(dimensions: 3)\n}\n", "3:13",
     "@vector needs a list of floats, User.v is [Int!]", "v: [Float!] @vector"),
    ("unique on a list", C + "  tags: [String!] @unique\n}\n", "3:19",
     "@unique needs a scalar field", "remove @unique"),
    ("unique on JSON", C + "  data: JSON @unique\n}\n", "3:14", "User.data is JSON",
     "remove @unique"),
    ("index on an embedded object", C + "  a: A @index\n}\ntype A {\n  x: Int\n}\n", "3:8",
     "@index needs a scalar or enum field", "remove @index"),
    ("index inside an embedded type", C + "  a: A\n}\ntype A {\n  x: Int @index\n}\n", "6:10",
     "@index on A.x: only fields of a @collection type can be indexed", "remove @index"),
    ("interface", C + "}\ninterface Node {\n  id: ID!\n}\n", "4:1",
     "an interface cannot be declared", "embedded type"),
    ("union", C + "}\nunion Thing = User\n", "4:1", "a union cannot be declared", "embedded type"),
    ("input type", C + "}\ninput UserFilter {\n  id: ID\n}\n", "4:1",
     "an input type cannot be declared", "inputs are generated"),
    ("schema definition", C + "}\nschema {\n  query: User\n}\n", "4:1",
     "the schema definition cannot be declared", "shardgate writes the schema"),
    ("schema extension", 'extend schema @link(url: "x")\n' + C + "}\n", "1:1",
     "a schema extension cannot be declared", "@link"),
    ("directive definition", "directive @tenant on FIELD_DEFINITION\n" + C + "}\n", "1:1",
     "a directive definition cannot be declared", "built in"),
    ("root type", C + "}\ntype Query {\n  me: User\n}\n", "4:1",
     "root type Query cannot be declared", "generated for every @collection"),
    ("type extension", C + "}\nextend type User {\n  age: Int\n}\n", "4:1",
     "type extensions (extend ...) are not supported", "one definition"),
    ("custom scalar", "scalar DateTime\n" + C + "  at: DateTime\n}\n", "1:1",
     "custom scalar DateTime is not supported", "ISO 8601"),
    ("field name starting with _", C + "  _secret: String\n}\n", "3:3",
     'field name "_secret" is reserved', 'rename it, e.g. "secret"'),
    ("field name starting with __", C + "  __typename: String\n}\n", "3:3",
     'field name "__typename" is reserved', "rename it"),
    ("arguments on a field", C + "  posts(first: Int): Int\n}\n", "3:9",
     "User.posts takes arguments", "generated on the root fields"),
    ("reserved name JSON", C + "}\ntype JSON {\n  a: Int\n}\n", "4:1",
     'type name "JSON" is reserved', "rename it"),
    ("reserved name Consistency", C + "}\nenum Consistency {\n  ONE\n}\n", "4:1",
     'type name "Consistency" is reserved', "rename it"),
    ("reserved suffix Where", C + "}\ntype UserWhere {\n  a: Int\n}\n", "4:1",
     'ending in "Where" are reserved', "rename it"),
    ("reserved suffix Input", C + "}\ntype AddressInput {\n  a: Int\n}\n", "4:1",
     'ending in "Input" are reserved', "rename it"),
    ("reserved Aggregate", C + "}\ntype AggregateStats {\n  a: Int\n}\n", "4:1",
     'containing "Aggregate" are reserved', "rename it"),
    ("reserved _Entity", C + "}\ntype _Entity {\n  a: Int\n}\n", "4:1",
     'type name "_Entity" is reserved', "rename it"),
    ("generated root field clash",
     C + '}\ntype Users @collection @key(fields: "id") {\n  id: ID!\n}\n', "4:1",
     'collections User and Users both generate the root field "users"', "rename Users or User"),
    ("no collection", "type Address {\n  city: String\n}\n", "1:1",
     'service "users" declares no collection', "@collection @key"),
    ("duplicate type", C + "}\ntype User {\n  a: Int\n}\n", "4:1",
     'type "User" is declared twice (first at line 1)', "remove or rename one"),
    ("duplicate field", C + "  id: String\n}\n", "3:3", "User.id is declared twice",
     "remove or rename one"),
    ("duplicate enum value", C + "}\nenum Role {\n  A\n  A\n}\n", "6:3",
     'Role has the value "A" twice', "remove one"),
    ("directive on an enum", C + "}\nenum Role @shareable {\n  A\n}\n", "4:11",
     "@shareable applies to type definitions, not to enum Role", "remove @shareable"),
    ("embedded cycle", C + "  a: A\n}\ntype A {\n  b: B\n}\ntype B {\n  a: [A]\n}\n", "9:3",
     "embedded types form a cycle: A -> B -> A", "store the nested part as JSON"),
    ("embedded type holding itself", C + "  n: Node\n}\ntype Node {\n  next: Node\n}\n", "6:3",
     "embedded types form a cycle: Node -> Node", "make it a collection"),
    ("lists of lists", C + "  grid: [[Int]]\n}\n", "3:9", "lists of lists are not supported",
     "JSON"),
    ("missing key", "type User @collection {\n  id: ID!\n}\n", "1:6", "collection User has no @key",
     'add @key(fields: "id")'),
    ("compound key", 'type User @collection @key(fields: "org id") {\n  id: ID!\n  org: ID!\n}\n',
     "1:28", "compound keys are not supported yet", "key on one field"),
    ("key naming no field", 'type User @collection @key(fields: "uid") {\n  id: ID!\n}\n', "1:28",
     'User has no field "uid"', 'did you mean "id"?'),
    ("nullable key", 'type User @collection @key(fields: "id") {\n  id: ID\n}\n', "2:7",
     "the key of User must be non-null", '"id: ID!"'),
    ("key of the wrong type",
     'type User @collection @key(fields: "id") {\n  id: Float!\n}\n', "2:7",
     "the key of User must be ID, String or Int, User.id is Float!", '"id: ID!"'),
    ("key on a list", 'type User @collection @key(fields: "id") {\n  id: [ID!]!\n}\n', "2:7",
     "the key of User must be ID, String or Int", '"id: ID!"'),
    ("@key without @collection", 'type User @key(fields: "id") {\n  id: ID!\n}\n', "1:11",
     "type User has @key but no @collection", "add @collection"),
    ("collection not resolvable",
     'type User @collection @key(fields: "id", resolvable: false) {\n  id: ID!\n}\n', "1:42",
     "collection User cannot be resolvable: false", "remove resolvable: false"),
    ("shareable collection",
     'type User @collection @key(fields: "id") @shareable {\n  id: ID!\n}\n',
     "1:42", "@shareable applies to embedded types, not to collection User",
     "belongs to exactly one service"),
    ("shard key naming no field",
     'type User @collection(shardKey: "orgId") @key(fields: "id") {\n  id: ID!\n  org: ID!\n}\n',
     "1:23", 'User has no field "orgId"', 'did you mean "org"?'),
    ("nullable shard key",
     'type User @collection(shardKey: "org") @key(fields: "id") {\n  id: ID!\n  org: ID\n}\n',
     "3:8", "the shard key of User must be non-null", '"org: ID!"'),
    ("shard key of the wrong type",
     'type User @collection(shardKey: "org") @key(fields: "id") {\n  id: ID!\n'
     '  org: Boolean!\n}\n',
     "3:8", "the shard key of User must be ID, String or Int", '"org: ID!"'),
    ("collection type without @reference", C + "  best: User\n}\n", "3:9",
     "User.best has the collection type User but no @reference",
     '@reference(field: "userId")'),
    ("reference on a scalar", C + '  name: String @reference(field: "id")\n}\n', "3:16",
     "@reference needs a field of collection type, User.name is String", "remove @reference"),
    ("reference holder missing", C + '  boss: User @reference(field: "bossID")\n}\n', "3:25",
     '@reference(field: "bossID") on User.boss: User has no field "bossID"',
     'add "bossID: ID" to User'),
    ("reference holder close to an existing field",
     C + '  bossId: ID\n  boss: User @reference(field: "bosId")\n}\n', "4:25",
     'User has no field "bosId"', 'did you mean "bossId"?'),
    ("reference holder is a reference",
     C + '  bossId: ID\n  boss: User @reference(field: "bossId")\n'
     '  peer: User @reference(field: "boss")\n}\n', "5:25", "boss is itself a reference",
     "name the stored field"),
    ("reference holder of the wrong type",
     C + '  bossId: Float\n  boss: User @reference(field: "bossId")\n}\n', "4:25",
     "bossId must hold a User key (ID, String or Int), it is Float", "name a field"),
    ("list reference over a single key",
     C + '  teamId: ID\n  team: [User] @reference(field: "teamId")\n}\n', "4:27",
     "team is a list, so teamId must hold a list of keys, but it is ID",
     "declare teamId as [ID!]"),
    ("single reference over a list of keys",
     C + '  bossIds: [ID!]\n  boss: User @reference(field: "bossIds")\n}\n', "4:25",
     "boss is one reference, so bossIds must hold one key, but it is [ID!]",
     "make boss a list [User]"),
    ("reference holder of another key type",
     C + '  bossId: Int\n  boss: User @reference(field: "bossId")\n}\n', "4:25",
     "bossId holds Int values but the key of User is ID", "declare bossId with the type ID"),
    ("reference to a reserved name", C + '  q: Query @reference(field: "id")\n}\n', "3:6",
     "User.q refers to Query, which cannot be a collection", "refer to a collection type"),
    ("reference from an embedded type", C + "  a: A\n}\ntype A {\n  owner: User\n}\n", "6:10",
     "A.owner has the collection type User, but only collections can refer to collections",
     "store the User key in a scalar field"),
    ("stub with more than its key",
     C + '  pid: String\n  p: Product @reference(field: "pid")\n}\n'
     'type Product @key(fields: "sku", resolvable: false) {\n  sku: String!\n'
     '  name: String\n}\n',
     "8:3", "stub Product declares name, which is not its key",
     'declares only its key field "sku"'),
    ("stub without its key field",
     C + '  pid: String\n  p: Product @reference(field: "pid")\n}\n'
     'type Product @key(fields: "sku", resolvable: false) {\n  id: ID!\n}\n',
     "6:19", 'Product has no field "sku"', 'add "sku: ID!" to Product'),
]

# fmt: on


@pytest.mark.parametrize(
    ("sdl", "where", "message", "suggestion"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_errors_say_where_what_and_how_to_fix(
    sdl: str, where: str, message: str, suggestion: str
) -> None:
    errors = errors_of(sdl)
    found = [e for e in errors if message in e.message]
    assert found, "\n".join(str(e) for e in errors)
    error = found[0]
    assert (error.source, f"{error.line}:{error.column}") == ("users.graphql", where)
    assert suggestion in (error.suggestion or "")
    assert str(error) == f"users.graphql:{where}: {error.message}. Fix: {error.suggestion}"
    for other in errors:  # any other error is located and fixable too
        assert other.line and other.column and other.suggestion


def test_every_error_is_reported_at_once_in_file_order() -> None:
    sdl = textwrap.dedent(
        """\
        type User @collection @key(fields: "id") {
          id: ID!
          name: Strng
          _x: Int
        }
        interface Node {
          id: ID!
        }
        """
    )
    with pytest.raises(SchemaErrors) as caught:
        parse_service("users", sdl, source="services/users.graphql")
    assert str(caught.value).splitlines() == [
        'services/users.graphql:3:9: unknown type "Strng" in User.name. '
        'Fix: did you mean "String"?',
        'services/users.graphql:4:3: field name "_x" is reserved: names starting with "_" '
        'belong to GraphQL and federation. Fix: rename it, e.g. "x"',
        "services/users.graphql:6:1: an interface cannot be declared in a service schema. "
        "Fix: remove it: use an embedded type, or JSON",
    ]


def test_an_error_points_past_the_description_to_the_definition() -> None:
    sdl = 'type User @collection @key(fields: "id") {\n  id: ID!\n}\n"Where."\ntype Query {\n'
    (error,) = errors_of(sdl + "  me: User\n}\n")
    assert (error.line, error.column) == (5, 1)


def test_a_type_declared_wrongly_is_not_reported_again_where_used() -> None:
    errors = errors_of(
        "scalar Timestamp\n"
        'type User @collection @key(fields: "id") {\n'
        "  id: ID!\n"
        "  at: Timestamp\n"
        "}\n"
    )
    assert [e.message for e in errors] == ["custom scalar Timestamp is not supported"]


@pytest.mark.parametrize("service", ["Users", "1users", "user-profiles", ""])
def test_service_names_are_lower_snake_case(service: str) -> None:
    errors = errors_of(example("products"), service=service)
    assert [e.message for e in errors] == [f'service name "{service}" is not allowed']
    assert errors[0].suggestion and "lower-case" in errors[0].suggestion


def test_schema_error_formats_without_a_location() -> None:
    error = SchemaError("broken.", suggestion="fix it")
    assert str(error) == "broken. Fix: fix it"
    assert str(SchemaError("broken", source="a.graphql", line=2)) == "a.graphql:2: broken"
