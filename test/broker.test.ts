// createBroker(): startup failures are clear BrokerErrors with stable codes, and leave nothing half-open.
import { writeFileSync, readFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
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
    await expect(createBroker({ logCleanerThreadSchedIdle: 'yes' as never })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('logCleanerThreadSchedIdle') });
    await expect(createBroker({ logCleanerThreadNice: 20 })).rejects.toMatchObject({ code: 'INVALID_CONFIG', message: expect.stringContaining('logCleanerThreadNice') });
  });

  it('rejects an unknown option name with INVALID_OPTION naming it (and the option it resembles)', async () => {
    await expect(createBroker({ prot: 9092 } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('"prot" (did you mean "port"?)') });
    await expect(createBroker({ dataDirectory: '/tmp/x' } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION', message: expect.stringContaining('"dataDirectory"') });
    await expect(createBroker({ port: 0, 'group.initial.rebalance.delay.ms': 0 } as never)).rejects.toBeInstanceOf(BrokerError);
  });

  it('fails with DATA_DIR when the data dir is a file, in one line naming the path', async () => {
    const file = path.join(makeTempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    const err = await startFails({ dataDir: file });
    expect(err.code).toBe('DATA_DIR');
    expect(err.message).toContain(file);
    expect(err.message).not.toContain('\n');
  });
});

describe('createBroker() dev defaults (the in-process broker of a test suite)', () => {
  it('with no options: any free port, no initial rebalance delay, silent logs, a temporary data dir removed on close', async () => {
    const broker = await createBroker();
    expect(broker.config.groupInitialRebalanceDelayMs).toBe(0);
    expect(broker.config.logLevel).toBe('silent');
    expect(broker.logger.level).toBe('silent');
    const dataDir = broker.config.dataDir;
    expect(path.dirname(dataDir)).toBe(os.tmpdir());
    await broker.start();
    expect(broker.port).toBeGreaterThan(0);
    expect(existsSync(path.join(dataDir, 'meta.properties'))).toBe(true);
    await broker.close();
    expect(existsSync(dataDir)).toBe(false);
    await broker.close(); // idempotent
  });

  it('keeps the server defaults for everything else, and any option given wins over a dev default', async () => {
    const broker = await createBroker({ groupInitialRebalanceDelayMs: 3000, logLevel: 'warn', port: 0 });
    expect(broker.config.groupInitialRebalanceDelayMs).toBe(3000);
    expect(broker.config.logLevel).toBe('warn');
    expect(broker.config.flushOnAckAll).toBe(true);
    expect(broker.config.numPartitions).toBe(1);
    await broker.close();
    expect(existsSync(broker.config.dataDir)).toBe(false);
  });

  it('never removes a data dir it was given', async () => {
    const dataDir = makeTempDir();
    const broker = await createBroker({ dataDir });
    await broker.start();
    await broker.close();
    expect(existsSync(path.join(dataDir, 'meta.properties'))).toBe(true);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('`await using` closes the broker at the end of the scope and removes its temporary data dir', async () => {
    let dataDir = '';
    let port = 0;
    {
      await using broker = await createBroker();
      await broker.start();
      dataDir = broker.config.dataDir;
      port = broker.port;
      expect(await canConnect(port)).toBe(true);
    }
    expect(existsSync(dataDir)).toBe(false);
    expect(await canConnect(port)).toBe(false);
  });

  it('a start that fails removes the temporary data dir too', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const broker = await createBroker({ port: (blocker.address() as net.AddressInfo).port });
      await expect(broker.start()).rejects.toMatchObject({ code: 'LISTEN' });
      expect(existsSync(broker.config.dataDir)).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('a rejected option creates no temporary data dir', async () => {
    // os.tmpdir() follows TMPDIR, so pointing it at an empty directory shows whatever createBroker() leaves there.
    const tmp = makeTempDir();
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      await expect(createBroker({ port: -1 })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
      await expect(createBroker({ bogus: 1 } as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
      expect(readdirSync(tmp)).toEqual([]);
      const ok = await createBroker();
      expect(readdirSync(tmp)).toHaveLength(1);
      await ok.close();
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
