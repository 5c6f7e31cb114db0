// Prints Apollo's API schema of a supergraph: the oracle for gateway/api_schema.py.
//
//   node api_schema.mjs supergraph.graphql
//
// Success: the API schema SDL on stdout, exit 0. A supergraph Apollo refuses: its message on
// stderr, exit 1.

import { readFileSync } from 'node:fs';
import { Supergraph, printSchema } from '@apollo/federation-internals';

const [path] = process.argv.slice(2);
if (!path) {
  process.stderr.write('usage: node api_schema.mjs SUPERGRAPH_PATH\n');
  process.exit(2);
}
try {
  const supergraph = Supergraph.build(readFileSync(path, 'utf8'));
  process.stdout.write(printSchema(supergraph.apiSchema()));
} catch (error) {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
