// Starts a broker in this process on 127.0.0.1:0 with a fresh temporary data dir; stop() closes it and removes
// the dir. Use in beforeEach/afterEach so every test gets a clean broker.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBroker, type Broker, type BrokerOptions } from '../../src/broker.js';

export interface TestBroker {
  broker: Broker;
  port: number;
  dataDir: string;
  /** Closes the broker; keeps the data dir when `keepData` (for restart tests). */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export function makeTempDir(prefix = 'eddy-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export async function startTestBroker(options: BrokerOptions = {}): Promise<TestBroker> {
  const dataDir = options.dataDir ?? makeTempDir();
  const broker = await createBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent', ...options, dataDir });
  await broker.start();
  let stopped = false;
  return {
    broker,
    port: broker.port,
    dataDir,
    async stop({ keepData = false } = {}) {
      if (!stopped) {
        stopped = true;
        await broker.close();
      }
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
