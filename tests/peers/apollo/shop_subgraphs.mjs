// The shop federation's five subgraphs (tests/fixtures/subgraphs/shop/*.graphql), served
// from one Node process with in-memory data: real subgraphs for executing the shop
// operations through shardgate's gateway and Apollo Gateway side by side, and for benchmarks.
//
//   node shop_subgraphs.mjs            (each subgraph on a free loopback port)
//
// Prints `READY {"accounts": "http://127.0.0.1:P/graphql", ...}` once every subgraph serves.

import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { graphql, parse } from 'graphql';

const here = fileURLToPath(new URL('../../fixtures/subgraphs/shop/', import.meta.url));
const sdl = (name) => parse(readFileSync(`${here}${name}.graphql`, 'utf8'));

const users = [
  { id: 'u1', email: 'ada@example.com', name: 'Ada', ssn: '000', role: 'ADMIN', reviewCount: 9 },
  { id: 'u2', email: 'lin@example.com', name: 'Lin', ssn: '001', role: 'CUSTOMER', reviewCount: 9 },
];
const products = [
  { __typename: 'Book', upc: 'b1', name: 'Dune', price: 12, isbn: '978-0441013593' },
  { __typename: 'Furniture', upc: 'f1', name: 'Chair', price: 80, weight: 7, sellerId: 'u2' },
  { __typename: 'Book', upc: 'b2', name: 'Emma', price: 9, isbn: '978-0141439587' },
  { __typename: 'Furniture', upc: 'f2', name: 'Desk', price: 200, weight: 30, sellerId: 'u1' },
];
const reviews = [
  { id: 'r1', body: 'A classic', authorId: 'u1', upc: 'b1' },
  { id: 'r2', body: 'Too long', authorId: 'u2', upc: 'b1' },
  { id: 'r3', body: 'Witty', authorId: 'u2', upc: 'b2' },
];
const byUpc = (upc) => products.find((p) => p.upc === upc);
const byId = (id) => users.find((u) => u.id === id);

const resolvers = {
  accounts: {
    Query: {
      me: () => users[0],
      user: (_, { id }) => byId(id) ?? null,
      node: (_, { id }) => byId(id) ?? null,
    },
    Node: { __resolveType: () => 'User' },
    User: { __resolveReference: (ref) => (ref.id ? byId(ref.id) : users.find((u) => u.email === ref.email)) },
  },
  products: {
    Query: {
      topProducts: (_, { first }) => products.slice(0, first),
      product: (_, { upc }) => byUpc(upc) ?? null,
      search: (_, { text }) => products.filter((p) => p.name.toLowerCase().includes(text.toLowerCase()) || text === '*'),
    },
    Product: { __resolveType: (p) => p.__typename, __resolveReference: (ref) => byUpc(ref.upc) },
    SearchResult: { __resolveType: (p) => p.__typename },
    Book: { __resolveReference: (ref) => byUpc(ref.upc) },
    Furniture: {
      __resolveReference: (ref) => byUpc(ref.upc),
      seller: (p) => { const u = byId(p.sellerId); return u && { id: u.id, name: u.name }; },
    },
  },
  inventory: {
    Product: {
      __resolveReference: (ref) => ({ upc: ref.upc }),
      inStock: (p) => p.upc !== 'b2',
      delivery: (p, { zip }) => ({ estimatedDelivery: `2 days to ${zip}`, fastestDelivery: `1 day to ${zip}` }),
    },
  },
  shipping: {
    Furniture: {
      __resolveReference: (ref) => ref,
      shippingEstimate: (ref) => Math.round(ref.weight * 1.5),
    },
  },
  reviews: {
    Review: {
      __resolveReference: (ref) => reviews.find((r) => r.id === ref.id),
      author: (r) => { const u = byId(r.authorId); return u && { id: u.id, name: u.name }; },
      product: (r) => ({ upc: r.upc }),
    },
    User: {
      __resolveReference: (ref) => ({ id: ref.id }),
      reviews: (u) => reviews.filter((r) => r.authorId === u.id),
      reviewCount: (u) => reviews.filter((r) => r.authorId === u.id).length,
    },
    Book: { reviews: (b) => reviews.filter((r) => r.upc === b.upc) },
    Mutation: {
      addReview: (_, { upc, body }) => {
        const review = { id: `r${reviews.length + 1}`, body, authorId: 'u1', upc };
        reviews.push(review);
        return review;
      },
    },
  },
};

function serve(name) {
  const schema = buildSubgraphSchema([{ typeDefs: sdl(name), resolvers: resolvers[name] }]);
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/graphql') {
      res.writeHead(404).end();
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const { query, variables, operationName } = JSON.parse(Buffer.concat(chunks).toString());
      const result = await graphql({ schema, source: query, variableValues: variables, operationName });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => resolve([name, server]));
  });
}

const servers = await Promise.all(Object.keys(resolvers).map(serve));
const urls = Object.fromEntries(
  servers.map(([name, s]) => [name, `http://127.0.0.1:${s.address().port}/graphql`]),
);
process.stdout.write(`READY ${JSON.stringify(urls)}\n`);
const stop = () => { for (const [, s] of servers) s.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
