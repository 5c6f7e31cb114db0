// Prints Apollo's query plan for an operation over a supergraph: the oracle for shardgate's
// planner (same text form as Apollo's queryPlanSerializer).
//
//   node plan.mjs supergraph.graphql operation.graphql [OPERATION_NAME]
//
// Success: the plan on stdout, exit 0. An operation or supergraph Apollo refuses: its message
// on stderr, exit 1.

import { readFileSync } from 'node:fs';
import { Supergraph, operationFromDocument } from '@apollo/federation-internals';
import { QueryPlanner, prettyFormatQueryPlan } from '@apollo/query-planner';
import { parse } from 'graphql';

const [supergraphPath, operationPath, operationName] = process.argv.slice(2);
if (!supergraphPath || !operationPath) {
  process.stderr.write('usage: node plan.mjs SUPERGRAPH_PATH OPERATION_PATH [NAME]\n');
  process.exit(2);
}
try {
  const supergraph = Supergraph.build(readFileSync(supergraphPath, 'utf8'));
  const planner = new QueryPlanner(supergraph);
  const document = parse(readFileSync(operationPath, 'utf8'));
  const operation = operationFromDocument(supergraph.schema, document, { operationName });
  process.stdout.write(`${prettyFormatQueryPlan(planner.buildQueryPlan(operation))}\n`);
} catch (error) {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
