/** What the batcher answers: the HTTP API (ingest, bundles, dumps, the operator view), its OpenAPI document, and bundles built on a worker thread. Imports ../support, ../storage, ../checks and ../ingest. */
export * from "./api";
export * from "./openapi";
export * from "./bundles";
