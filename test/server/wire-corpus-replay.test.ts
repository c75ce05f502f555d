// Every request of the wire corpus (366 frames from seven real clients, test/fixtures/wire) replayed byte for byte
// over a socket to a running broker. Each one gets what dispatch promises (src/server/dispatch.ts):
//
// | request                                               | expected                                            |
// |-------------------------------------------------------|-----------------------------------------------------|
// | API and version Eddy advertises                       | a response at that version that decodes completely  |
// | ApiVersions at a version Eddy does not support        | a v0 UNSUPPORTED_VERSION answer (KIP-511 fallback)  |
// | advertised API, version above Eddy's but inside the   | an UNSUPPORTED_VERSION answer at that version       |
// |   Kafka 3.9 schemas                                   |                                                     |
// | API Eddy does not advertise, or a version newer than  | the connection is closed, as Kafka closes it for an |
// |   the 3.9 schemas (franz-go's Produce v13 …)          |   API or version it has not enabled                 |
//
// The last row never happens to a real client: every client picks versions from ApiVersions, and the test checks
// that none of those requests names an API and version Eddy advertises. So no connection is closed for a request a
// real client would send to Eddy.
//
// JoinGroup frames get a group id of their own (decoded and re-encoded with our codec, which reproduces every
// corpus frame byte for byte): captured members of one group would otherwise wait for each other's rebalance.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_CODECS, ApiKey } from '../../src/protocol/generated/index.js';
import { readRequestHeader, writeRequestHeader } from '../../src/protocol/header.js';
import { Reader } from '../../src/protocol/reader.js';
import { Writer } from '../../src/protocol/writer.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { HANDLERS } from '../../src/handlers/index.js';
import { TestClient } from '../helpers/kafka-test-client.js';
import { startTestBroker, type TestBroker } from '../helpers/in-process-broker.js';

const fixtures = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/wire');

interface Pair {
  request: string;
  client: string;
  apiKey: number;
  apiName: string;
  apiVersion: number;
  correlationId: number;
}

const pairs = (JSON.parse(fs.readFileSync(path.join(fixtures, 'index.json'), 'utf8')) as { pairs: Pair[] }).pairs;
const load = (file: string): Buffer => Buffer.from(fs.readFileSync(path.join(fixtures, file), 'utf8').trim(), 'hex');

type Expected = 'answered' | 'api-versions-fallback' | 'unsupported-version' | 'closed';

function expectedOutcome(p: Pair): Expected {
  const handler = HANDLERS.get(p.apiKey);
  const codec = API_CODECS.get(p.apiKey)!;
  if (p.apiKey === ApiKey.ApiVersions && (handler === undefined || p.apiVersion > handler.maxVersion)) return 'api-versions-fallback';
  if (handler === undefined || p.apiVersion > codec.maxVersion) return 'closed';
  if (p.apiVersion < handler.minVersion || p.apiVersion > handler.maxVersion) return 'unsupported-version';
  return 'answered';
}

let joinGroupCount = 0;
/** The frame to send: as captured, except that a JoinGroup gets a group id of its own. */
function frameFor(p: Pair): Buffer {
  const bytes = load(p.request);
  if (p.apiKey !== ApiKey.JoinGroup) return bytes;
  const r = new Reader(bytes);
  const header = readRequestHeader(r);
  const codec = API_CODECS.get(p.apiKey)!;
  const body = codec.readRequest(r, p.apiVersion) as { groupId: string };
  body.groupId = `replay-${joinGroupCount++}-${body.groupId}`;
  const w = new Writer();
  writeRequestHeader(w, header, header.headerVersion);
  codec.writeRequest(w, p.apiVersion, body);
  return w.toBuffer();
}

/** Sends one frame on a connection of its own; resolves with the decoded response, or 'closed'. */
async function replay(port: number, p: Pair, expected: Expected): Promise<unknown> {
  const client = await TestClient.connect(port);
  try {
    const responseVersion = expected === 'api-versions-fallback' ? 0 : p.apiVersion;
    const answer = client.sendFrame(frameFor(p), p.apiKey, p.apiVersion, p.correlationId, responseVersion);
    if (expected === 'closed') {
      await expect(answer).rejects.toThrow('connection closed');
      return 'closed';
    }
    return await answer;
  } finally {
    client.close();
  }
}

let tb: TestBroker;
beforeAll(async () => {
  tb = await startTestBroker({ groupInitialRebalanceDelayMs: 0 });
});
afterAll(async () => {
  await tb.stop();
});

describe('wire corpus replayed against the broker', () => {
  it('no real client request that Eddy would be sent closes the connection', () => {
    const closed = pairs.filter((p) => expectedOutcome(p) === 'closed');
    for (const p of closed) {
      const handler = HANDLERS.get(p.apiKey);
      // Not advertised: no client negotiating with ApiVersions sends it to Eddy.
      expect(handler === undefined || p.apiVersion > handler.maxVersion, p.request).toBe(true);
    }
    expect(pairs.filter((p) => expectedOutcome(p) === 'answered').length).toBeGreaterThan(250);
  });

  it('librdkafka 2.15.1 all-topics Metadata v12 (3 trailing bytes) is answered with the broker and its topics', async () => {
    const p = pairs.find((x) => x.request === 'metadata/confluent-kafka-javascript-0065-v12-request.hex')!;
    const res = (await replay(tb.port, p, 'answered')) as { brokers: Array<{ port: number }>; errorCode?: number };
    expect(res.brokers).toEqual([expect.objectContaining({ nodeId: 1, port: tb.port })]);
  });

  for (const p of pairs) {
    const expected = expectedOutcome(p);
    it(`${p.request}: ${expected}`, async () => {
      const res = (await replay(tb.port, p, expected)) as Record<string, unknown> | 'closed';
      if (expected === 'closed') {
        expect(res).toBe('closed');
      } else if (expected === 'api-versions-fallback') {
        expect((res as { errorCode: number }).errorCode).toBe(ErrorCode.UNSUPPORTED_VERSION);
      } else if (expected === 'unsupported-version') {
        expect(JSON.stringify(res, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))).toContain(`"errorCode":${ErrorCode.UNSUPPORTED_VERSION}`);
      } else {
        // A whole response at the request's version (sendFrame rejects a wrong correlation id or leftover bytes).
        expect(res).toBeTypeOf('object');
      }
    }, 15_000);
  }
});
