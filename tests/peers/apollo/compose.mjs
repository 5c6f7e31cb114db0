// Composes subgraph SDL files with Apollo's own composition, as an oracle for ours.
//
//   node compose.mjs users=users.graphql reviews=reviews.graphql [--url users=http://...]
//
// Success: the supergraph SDL on stdout, exit 0.
// Composition errors: one JSON object per line on stderr, {"code": ..., "message": ...}, exit 1.
// Bad usage or unreadable input: a plain message on stderr, exit 2.

import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

function usage(message) {
  process.stderr.write(
    `compose.mjs: ${message}\nusage: node compose.mjs NAME=SDL_PATH... [--url NAME=URL]...\n`,
  );
  process.exit(2);
}

function splitPair(arg) {
  const at = arg.indexOf('=');
  if (at <= 0 || at === arg.length - 1) usage(`expected NAME=VALUE, got ${JSON.stringify(arg)}`);
  return [arg.slice(0, at), arg.slice(at + 1)];
}

const paths = new Map();
const urls = new Map();
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--url') {
    if (i + 1 >= args.length) usage('--url needs NAME=URL');
    const [name, url] = splitPair(args[++i]);
    urls.set(name, url);
  } else {
    const [name, path] = splitPair(args[i]);
    if (paths.has(name)) usage(`subgraph ${name} given twice`);
    paths.set(name, path);
  }
}
if (paths.size === 0) usage('no subgraphs given');
for (const name of urls.keys()) {
  if (!paths.has(name)) usage(`--url for unknown subgraph ${name}`);
}

const services = [];
for (const [name, path] of paths) {
  let sdl;
  try {
    sdl = readFileSync(path, 'utf8');
  } catch (error) {
    usage(`cannot read ${path}: ${error.message}`);
  }
  let typeDefs;
  try {
    typeDefs = parse(sdl);
  } catch (error) {
    // A syntax error is a composition failure of that subgraph, not a usage error.
    process.stderr.write(
      `${JSON.stringify({ code: 'INVALID_GRAPHQL', message: `[${name}] ${error.message}` })}\n`,
    );
    process.exit(1);
  }
  // Without --url, Apollo writes url: "" into join__graph.
  services.push({ name, typeDefs, url: urls.get(name) });
}

const result = composeServices(services);
if (result.errors) {
  for (const error of result.errors) {
    const code = error.extensions?.code ?? 'UNKNOWN';
    process.stderr.write(`${JSON.stringify({ code, message: error.message })}\n`);
  }
  process.exit(1);
}
process.stdout.write(result.supergraphSdl);
if (!result.supergraphSdl.endsWith('\n')) process.stdout.write('\n');
