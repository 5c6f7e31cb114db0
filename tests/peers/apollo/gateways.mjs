// Several Apollo Gateways in one process, one per supergraph, as test oracles: each serves
// its supergraph at 127.0.0.1:PORT/<name>/graphql, fetching from the URLs given per subgraph.
// Prints `READY <port>` once all serve.
//
//   GATEWAYS='{"entities": {"supergraph": "/path/supergraph.graphql",
//                           "urls": {"products": "http://127.0.0.1:4001/graphql"}}}' \
//   PORT=0 node gateways.mjs

import http from 'node:http';
import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer, HeaderMap } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';

// See gateway.mjs: no telemetry, no reporting to Apollo's cloud.
process.env.APOLLO_TELEMETRY_DISABLED = 'true';
for (const name of ['APOLLO_KEY', 'APOLLO_GRAPH_REF', 'APOLLO_GRAPH_ID', 'APOLLO_GRAPH_VARIANT']) {
  delete process.env[name];
}

const HOST = '127.0.0.1';

function fail(message) {
  process.stderr.write(`gateways.mjs: ${message}\n`);
  process.exit(2);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handle(servers, req, res) {
  const url = new URL(req.url ?? '/', `http://${HOST}`);
  const match = /^\/([^/]+)\/graphql$/.exec(url.pathname);
  const server = match && servers.get(match[1]);
  if (!server) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  const text = await readBody(req);
  let body;
  if (text !== '') {
    try {
      body = (headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text;
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('request body is not valid JSON\n');
      return;
    }
  }
  const response = await server.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method.toUpperCase(), headers, search: url.search, body },
    context: async () => ({}),
  });
  for (const [key, value] of response.headers) res.setHeader(key, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

async function main() {
  let config;
  try {
    config = JSON.parse(process.env.GATEWAYS ?? '');
  } catch {
    fail('GATEWAYS must be JSON: {"name": {"supergraph": PATH, "urls": {SUBGRAPH: URL}}}');
  }
  const port = Number(process.env.PORT ?? '');
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('PORT must be an integer port');

  const servers = new Map();
  for (const [name, { supergraph, urls }] of Object.entries(config)) {
    const gateway = new ApolloGateway({
      supergraphSdl: readFileSync(supergraph, 'utf8'),
      buildService: ({ name: subgraph }) => new RemoteGraphQLDataSource({ url: urls[subgraph] }),
    });
    const server = new ApolloServer({
      gateway,
      stopOnTerminationSignals: false,
      plugins: [
        ApolloServerPluginLandingPageDisabled(),
        ApolloServerPluginUsageReportingDisabled(),
        ApolloServerPluginSchemaReportingDisabled(),
        ApolloServerPluginInlineTraceDisabled(),
      ],
    });
    await server.start();
    servers.set(name, server);
  }

  const httpServer = http.createServer((req, res) => {
    handle(servers, req, res).catch((error) => {
      process.stderr.write(`gateways.mjs: ${error?.stack ?? error}\n`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  const shutdown = () => {
    httpServer.close();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen({ host: HOST, port }, resolve);
  });
  process.stdout.write(`READY ${httpServer.address().port}\n`);
}

main().catch((error) => {
  process.stderr.write(`gateways.mjs: failed to start: ${error?.stack ?? error}\n`);
  process.exit(1);
});
