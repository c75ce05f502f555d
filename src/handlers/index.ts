// The handler registry: one line per Kafka API. ApiVersions is built from it, so adding an API means adding its
// file and one line here.
import type { ApiHandler } from './types.js';
import { apiVersionsHandler } from './api-versions.js';
import { metadataHandler } from './metadata.js';
import { produceHandler } from './produce.js';
import { fetchHandler } from './fetch.js';
import { listOffsetsHandler } from './list-offsets.js';
import { createTopicsHandler } from './create-topics.js';
import { deleteTopicsHandler } from './delete-topics.js';

export const HANDLERS: ReadonlyMap<number, ApiHandler> = new Map<number, ApiHandler>(
  [
    produceHandler,
    fetchHandler,
    listOffsetsHandler,
    metadataHandler,
    apiVersionsHandler,
    createTopicsHandler,
    deleteTopicsHandler,
  ].map((h) => [h.apiKey, h as ApiHandler]),
);
