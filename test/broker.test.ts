// createBroker(): startup failures are clear BrokerErrors with stable codes, and leave nothing half-open.
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBroker } from '../src/broker.js';
import { BrokerError } from '../src/errors.js';
import { makeTempDir, startTestBroker, type TestBroker } from './helpers/in-process-broker.js';

const running: TestBroker[] = [];
afterEach(async () => {
  for (const b of running.splice(0)) await b.stop();
});

async function startFails(options: Parameters<typeof createBroker>[0]): Promise<BrokerError> {
  const broker = await createBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent', ...options });
  const err = await broker.start().then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(BrokerError);
  return err as BrokerError;
}

describe('createBroker', () => {
  it('refuses a data dir already used by a running broker (DATA_DIR_LOCKED)', async () => {
    const first = await startTestBroker();
    running.push(first);
    const err = await startFails({ dataDir: first.dataDir });
    expect(err.code).toBe('DATA_DIR_LOCKED');
  });

  it('takes over a stale lock left by a dead process (kill -9)', async () => {
    const dataDir = makeTempDir();
    writeFileSync(path.join(dataDir, '.lock'), '2147483646\n');
    const tb = await startTestBroker({ dataDir });
    running.push(tb);
    expect(readFileSync(path.join(dataDir, '.lock'), 'utf8').trim()).toBe(String(process.pid));
  });

  it('releases the lock on close so the dir can be reopened', async () => {
    const tb = await startTestBroker();
    await tb.stop({ keepData: true });
    expect(existsSync(path.join(tb.dataDir, '.lock'))).toBe(false);
    const again = await startTestBroker({ dataDir: tb.dataDir });
    running.push(again);
  });

  it('fails with LISTEN when the port is taken, and releases the data dir', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    const dataDir = makeTempDir();
    try {
      const err = await startFails({ dataDir, port });
      expect(err.code).toBe('LISTEN');
      expect(existsSync(path.join(dataDir, '.lock'))).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('refuses to start a data dir formatted with another node id (NODE_ID_MISMATCH)', async () => {
    const tb = await startTestBroker({ nodeId: 1 });
    await tb.stop({ keepData: true });
    const err = await startFails({ dataDir: tb.dataDir, nodeId: 2 });
    expect(err.code).toBe('NODE_ID_MISMATCH');
  });

  it('refuses a corrupt topic metadata file instead of starting without its topics (METADATA_CORRUPT)', async () => {
    const tb = await startTestBroker();
    await tb.stop({ keepData: true });
    writeFileSync(path.join(tb.dataDir, 'topic-metadata.json'), '{"version": 1, "topics": [');
    const err = await startFails({ dataDir: tb.dataDir });
    expect(err.code).toBe('METADATA_CORRUPT');
  });

  it('rejects invalid options with INVALID_CONFIG naming the option', async () => {
    await expect(createBroker({ port: 70000 })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('port') });
    await expect(createBroker({ numPartitions: 0 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    await expect(createBroker({ logLevel: 'loud' as never })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });
});
