// Apollo Gateway as a test oracle: composes the subgraphs in SUBGRAPHS by introspection and
// serves the supergraph on 127.0.0.1:PORT/graphql. Prints `READY <port>` once serving.
//
//   SUBGRAPHS='[{"name":"users","url":"http://127.0.0.1:4001/graphql"}]' PORT=4000 node gateway.mjs
//
// PORT=0 picks a free port; the READY line reports the one actually bound.

import http from 'node:http';
import { ApolloGateway, IntrospectAndCompose } from '@apollo/gateway';
import { ApolloServer, HeaderMap } from '@apollo/server';
import {
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';

// ES imports are hoisted, so this runs after them but before the gateway and server are built,
// which is when they read these. Without it the gateway's constructor starts an OpenTelemetry
// exporter (and cloud resource detectors) that phone home; APOLLO_KEY would enable reporting.
process.env.APOLLO_TELEMETRY_DISABLED = 'true';
for (const name of ['APOLLO_KEY', 'APOLLO_GRAPH_REF', 'APOLLO_GRAPH_ID', 'APOLLO_GRAPH_VARIANT']) {
  delete process.env[name];
}

const HOST = '127.0.0.1';
const PATH = '/graphql';

function fail(message) {
  process.stderr.write(`gateway.mjs: ${message}\n`);
  process.exit(2);
}

function readSubgraphs() {
  let subgraphs;
  try {
    subgraphs = JSON.parse(process.env.SUBGRAPHS ?? '');
  } catch {
    fail('SUBGRAPHS must be JSON like [{"name": "users", "url": "http://127.0.0.1:4001/graphql"}]');
  }
  const valid =
    Array.isArray(subgraphs) &&
    subgraphs.length > 0 &&
    subgraphs.every((s) => typeof s?.name === 'string' && typeof s?.url === 'string');
  if (!valid) fail('SUBGRAPHS must be a non-empty array of {"name": ..., "url": ...} objects');
  return subgraphs.map(({ name, url }) => ({ name, url }));
}

function readPort() {
  const port = Number(process.env.PORT ?? '');
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail('PORT must be an integer port');
  return port;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// A minimal node:http binding (rather than startStandaloneServer) so that only PATH serves
// GraphQL and everything else is a 404, like the gateways we compare against.
async function handle(server, req, res) {
  const url = new URL(req.url ?? '/', `http://${HOST}`);
  if (url.pathname !== PATH) {
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
  const subgraphs = readSubgraphs();
  const port = readPort();

  const gateway = new ApolloGateway({ supergraphSdl: new IntrospectAndCompose({ subgraphs }) });
  const httpServer = http.createServer();
  const server = new ApolloServer({
    gateway,
    // We own signal handling below: Apollo's own handler re-raises the signal after stopping,
    // which would make a clean shutdown look like a crash to the test harness.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginUsageReportingDisabled(),
      ApolloServerPluginSchemaReportingDisabled(),
      ApolloServerPluginInlineTraceDisabled(),
    ],
  });

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    try {
      await server.stop();
      process.exit(0);
    } catch (error) {
      process.stderr.write(`gateway.mjs: error while stopping: ${error?.stack ?? error}\n`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  // Loads the subgraph SDLs and composes them; a composition failure rejects here.
  await server.start();
  httpServer.on('request', (req, res) => {
    handle(server, req, res).catch((error) => {
      process.stderr.write(`gateway.mjs: ${error?.stack ?? error}\n`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen({ host: HOST, port }, resolve);
  });
  process.stdout.write(`READY ${httpServer.address().port}\n`);
}

main().catch((error) => {
  process.stderr.write(`gateway.mjs: failed to start: ${error?.stack ?? error}\n`);
  process.exit(1);
});
