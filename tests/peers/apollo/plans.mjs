// Apollo's query plans for several operations over one supergraph, in one process (plan.mjs
// plans one). Operations are files; the answer is one JSON object on stdout, file -> plan text
// (or {"error": message} for an operation Apollo refuses).
//
//   node plans.mjs supergraph.graphql op1.graphql op2.graphql ...

import { readFileSync } from 'node:fs';
import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import { QueryPlanner, prettyFormatQueryPlan } from '@apollo/query-planner';
import { parse } from 'graphql';

const [supergraphPath, ...operationPaths] = process.argv.slice(2);
if (!supergraphPath) {
  process.stderr.write('usage: node plans.mjs SUPERGRAPH_PATH OPERATION_PATH...\n');
  process.exit(2);
}
const supergraph = Supergraph.build(readFileSync(supergraphPath, 'utf8'));
const planner = new QueryPlanner(supergraph);
const plans = {};
for (const path of operationPaths) {
  try {
    const document = parse(readFileSync(path, 'utf8'));
    const operation = operationFromDocument(supergraph.schema, document);
    plans[path] = prettyFormatQueryPlan(planner.buildQueryPlan(operation));
  } catch (error) {
    plans[path] = { error: error.message };
  }
}
process.stdout.write(`${JSON.stringify(plans)}\n`);
