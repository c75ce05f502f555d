/**
 * DeleteRecords from a real client (issue 10): librdkafka 2.0.2's rd_kafka_DeleteRecords, called through ctypes from
 * Python, since no installed Python client has DeleteRecords (kafka-python 2.0.2 has no delete_records, nor the
 * request; confluent-kafka-python 1.7.0 has no AdminClient.delete_records). The low watermark moves to the offset
 * asked, to the high watermark with OFFSET_END, and an offset beyond the high watermark is OFFSET_OUT_OF_RANGE;
 * confluent-kafka's get_watermark_offsets and a Consumer from OFFSET_BEGINNING see the new log start offset.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';
import { runPythonScript } from '../lib/python.js';

const SCRIPT = fileURLToPath(new URL('./delete_records.py', import.meta.url));

let broker: SpawnedBroker;

beforeAll(async () => {
  broker = await spawnBroker();
});

afterAll(async () => {
  await broker?.stop();
});

describe('librdkafka 2.0.2 DeleteRecords (through ctypes, beside confluent-kafka-python 1.7.0)', () => {
  compatTest('DeleteRecords moves the low watermark (consumers start there), OFFSET_END moves it to the high watermark, beyond the high watermark is OFFSET_OUT_OF_RANGE', async () => {
    const verdict = await runPythonScript(SCRIPT, ['--bootstrap', broker.bootstrap, '--topic', 'ck-delete-records'], 120_000);
    const logTail = broker.logs().split('\n').slice(-40).join('\n');
    expect(verdict.problems, `${JSON.stringify(verdict.stats)}\n${logTail}`).toEqual([]);
    expect(verdict.stats['librdkafka']).toBe('2.0.2');
    expect(verdict.stats['watermarks after 40']).toBe('(40, 100)');
    expect(verdict.stats['delete beyond the high watermark']).toBe("(None, 'OFFSET_OUT_OF_RANGE')");
    expect(verdict.stats['watermarks after OFFSET_END']).toBe('(100, 100)');
  });
});
