import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { QuotaStore, QUOTAS_FILE } from '../../src/quota/quota-store.js';
import { makeTempDir } from '../helpers/in-process-broker.js';

const logger = pino({ level: 'silent' });
const dirs: string[] = [];
const tempDir = () => {
  const d = makeTempDir('eddy-quota-store-');
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('QuotaStore', () => {
  it('keeps what was applied across a reopen, and drops an entity whose last key is removed', async () => {
    const dataDir = tempDir();
    const store = await QuotaStore.open({ dataDir, logger });
    const user = new Map<string, string | null>([['user', 'alice'], ['client-id', null]]);
    const ip = new Map<string, string | null>([['ip', '10.0.0.1']]);
    await store.apply([
      { entity: user, values: new Map([['producer_byte_rate', 1000], ['request_percentage', 50]]) },
      { entity: ip, values: new Map([['connection_creation_rate', 5]]) },
    ]);
    await store.apply([{ entity: ip, values: new Map([['connection_creation_rate', null]]) }]);
    const reopened = await QuotaStore.open({ dataDir, logger });
    expect([...reopened.all()].map(([k, v]) => [k, Object.fromEntries(v)])).toEqual([
      ['[["client-id",null],["user","alice"]]', { producer_byte_rate: 1000, request_percentage: 50 }],
    ]);
    const doc = JSON.parse(readFileSync(path.join(dataDir, QUOTAS_FILE), 'utf8'));
    expect(doc.version).toBe(1);
    expect(existsSync(path.join(dataDir, `${QUOTAS_FILE}.tmp`))).toBe(false);
  });

  it('a file that does not parse, has another version or an invalid entry is renamed aside and the store starts empty', async () => {
    for (const text of ['{not json', '{"version": 2, "quotas": []}', '{"version": 1, "quotas": [{"entity": [["ip", "1.2.3.4"]], "values": {"producer_byte_rate": 5}}]}']) {
      const dataDir = tempDir();
      writeFileSync(path.join(dataDir, QUOTAS_FILE), text);
      const store = await QuotaStore.open({ dataDir, logger });
      expect(store.all().size).toBe(0);
      expect(existsSync(path.join(dataDir, QUOTAS_FILE))).toBe(false);
      expect(readdirSync(dataDir).filter((f) => f.startsWith(`${QUOTAS_FILE}.corrupt-`))).toHaveLength(1);
    }
  });

  it('a missing file is an empty store', async () => {
    expect((await QuotaStore.open({ dataDir: tempDir(), logger })).all().size).toBe(0);
  });
});
