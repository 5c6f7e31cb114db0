// Hive Gateway's configuration for `shardgate bench gateway` (tests/peers/hive.py starts it):
//
//   HIVE_DEDUPE=0 hive-gateway supergraph FILE -c gateway.config.mjs --host 127.0.0.1 --port P
//
// By default Hive Gateway merges identical in-flight subgraph requests into one fetch;
// HIVE_DEDUPE=0 turns that off, so that every client request makes its own subgraph fetches.
// No GraphiQL page and warnings only in the log: the bench measures POST /graphql alone.

const dedupe = process.env.HIVE_DEDUPE !== '0';

export const gatewayConfig = {
  graphiql: false,
  landingPage: false,
  logging: 'warn',
  ...(dedupe ? {} : { transportEntries: { '*.http': { options: { deduplicateInflightRequests: false } } } }),
};
