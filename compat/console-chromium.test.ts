/**
 * The web console end to end in Debian's Chromium (headless, driven by playwright-core) against the compiled broker
 * (`dist/cli/main.js start --http-port N`, serving dist/web as the npm package does).
 *
 * The test creates a topic and produces records with kafkajs, leaves one group with committed offsets behind the
 * end (a known lag) and keeps another consuming; Chromium then loads the console and must see the topic, browse
 * to a produced record and read its value, see the group's lag, the broker configs and a non-zero message rate.
 * Every page is saved as a PNG in test-output/console/ (printed at the start). Every request the page makes must
 * go to the broker's HTTP port: the console works offline. Without /usr/bin/chromium the suite fails, never skips.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, Partitioners, type Admin, type Consumer, type Producer } from 'kafkajs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { compatTest } from './lib/known-failures.js';
import { freePort, REPO_ROOT, spawnBroker, type SpawnedBroker } from '../test/helpers/spawn-broker.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = path.join(REPO_ROOT, 'test-output', 'console');
const TOPIC = 'console-orders';
const GROUP = 'console-billing';
const LIVE_GROUP = 'console-live';
/** Records produced into partition 1; the group commits COMMITTED there, so its lag is RECORDS - COMMITTED. */
const RECORDS = 12;
const COMMITTED = 5;
const TARGET_OFFSET = 7;
const targetValue = { order: TARGET_OFFSET, item: 'blue widget', quantity: 3 };

let broker: SpawnedBroker;
let base: string;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;
let liveConsumer: Consumer;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
const foreignRequests: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the console test needs Debian's Chromium (apt-get install -y chromium; .ci/run installs it)`);
  }
  rmSync(SCREENSHOTS, { recursive: true, force: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
  console.log(`console screenshots: ${SCREENSHOTS}`);

  const httpPort = await freePort();
  broker = await spawnBroker({ extraArgs: ['--http-port', String(httpPort), '--group-initial-rebalance-delay-ms', '0'] });
  base = `http://127.0.0.1:${httpPort}`;
  kafka = new Kafka({ clientId: 'console-e2e', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING });
  admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: TOPIC, numPartitions: 3 }, { topic: 'console-audit', numPartitions: 1 }] });
  producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  const t0 = Date.now() - 60_000;
  await producer.send({
    topic: TOPIC,
    acks: -1,
    messages: Array.from({ length: RECORDS }, (_, i) => ({
      partition: 1,
      key: `order-${i}`,
      value: JSON.stringify(i === TARGET_OFFSET ? targetValue : { order: i, item: 'widget', quantity: 1 }),
      headers: { source: 'console-e2e', 'trace-id': `t-${i}` },
      timestamp: String(t0 + i * 1000),
    })),
  });
  await producer.send({ topic: TOPIC, acks: -1, messages: [{ partition: 0, key: null, value: Buffer.from([0, 1, 2, 0xfe, 0xff]) }] });
  await producer.send({ topic: 'console-audit', acks: -1, messages: [{ key: 'a', value: 'plain text audit line' }] });
  // A group with committed offsets and no members (OffsetCommit from the admin client), lag RECORDS - COMMITTED.
  await admin.setOffsets({ groupId: GROUP, topic: TOPIC, partitions: [{ partition: 1, offset: String(COMMITTED) }] });
  // And one that is consuming, so the groups pages show a member and its assignment.
  liveConsumer = kafka.consumer({ groupId: LIVE_GROUP, maxWaitTimeInMs: 200 });
  await liveConsumer.connect();
  await liveConsumer.subscribe({ topic: 'console-audit', fromBeginning: true });
  await new Promise<void>((resolve) => void liveConsumer.run({ eachMessage: async () => resolve() }));

  userDataDir = mkdtempSync(path.join(os.tmpdir(), 'eddy-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 860 },
    timeout: 60_000,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(`${base}/`) && !url.startsWith('data:')) foreignRequests.push(url);
  });
  page.on('pageerror', (err) => pageErrors.push(`${page.url()}: ${err.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(`${page.url()}: console error: ${m.text()}`);
  });
});

afterAll(async () => {
  await context?.close();
  if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true });
  await liveConsumer?.disconnect();
  await producer?.disconnect();
  await admin?.disconnect();
  await broker?.stop();
});

/** expect.poll with the page's timeout (vitest's default of 1 s is too short on a loaded CI machine). */
function poll<T>(read: () => Promise<T> | T) {
  return expect.poll(read, { timeout: 15_000, interval: 100 });
}

async function screenshot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

describe('web console in Chromium', () => {
  compatTest('the topics page lists the topic the test created, with its partitions and records', async () => {
    await page.goto(`${base}/`);
    await poll(() => page.url()).toContain('#/topics');
    const row = page.locator('[data-testid=topics] tr', { hasText: TOPIC });
    await row.waitFor();
    const cells = await row.locator('td').allInnerTexts();
    expect(cells[0]).toContain(TOPIC);
    expect(cells[1]).toBe('3');
    expect(cells[2]).toBe(String(RECORDS + 1));
    await poll(() => page.locator('header .cluster').innerText()).toContain(broker.bootstrap);
    await screenshot('topics');

    await row.locator('a', { hasText: TOPIC }).click();
    const p1 = page.locator('[data-testid=partitions] tbody tr').nth(1);
    await p1.waitFor();
    const partition = await p1.locator('td').allInnerTexts();
    expect(partition.slice(0, 5)).toEqual(['1', '1', '0', String(RECORDS), String(RECORDS)]);
    await page.locator('[data-testid=configs] tr', { hasText: 'cleanup.policy' }).waitFor();
    await screenshot('topic');
  });

  compatTest('the record browser goes to a produced record by partition and offset and shows its value as JSON', async () => {
    await page.locator('[data-testid=partitions] tbody tr').nth(1).locator('a', { hasText: 'records' }).click();
    await page.locator('[data-testid=records]').waitFor();
    await page.getByLabel('Offset').fill(String(TARGET_OFFSET - 2));
    await page.getByRole('button', { name: 'Show' }).click();
    const row = page.locator(`[data-testid=records] tr[data-offset="${TARGET_OFFSET}"]`);
    await row.waitFor();
    const value = await row.locator('td.val pre').innerText();
    expect(JSON.parse(value)).toEqual(targetValue);
    expect(value).toContain('\n  "item": "blue widget"');
    expect(await row.locator('td.key').innerText()).toBe(`order-${TARGET_OFFSET}`);
    expect(await row.locator('td.headers').innerText()).toContain(`t-${TARGET_OFFSET}`);
    expect(await page.locator('[data-testid=records] tbody tr').first().getAttribute('data-offset')).toBe(String(TARGET_OFFSET - 2));
    await screenshot('records');

    // Hex, and paging forward to the end of the partition.
    await page.getByLabel('Format').selectOption('hex');
    await poll(() => row.locator('td.val pre').innerText()).toMatch(/^00000000 {2}7b 22 6f 72 64 65 72 22/);
    await page.getByLabel('Format').selectOption('auto');
    await page.getByLabel('Limit').selectOption('20');
    await page.getByLabel('Partition').selectOption('0');
    const binary = page.locator('[data-testid=records] tr[data-offset="0"] td.val pre');
    await poll(() => binary.innerText()).toContain('00 01 02 fe ff');
  });

  compatTest("the groups pages show a group's committed offset and the lag the test left", async () => {
    await page.locator('nav a', { hasText: 'Consumer groups' }).click();
    const row = page.locator('[data-testid=groups] tr', { hasText: GROUP });
    await row.waitFor();
    expect(await row.locator('[data-testid=group-lag]').innerText()).toBe(String(RECORDS - COMMITTED));
    await page.locator('[data-testid=groups] tr', { hasText: LIVE_GROUP }).waitFor();
    await poll(() => page.locator('[data-testid=groups] tr', { hasText: LIVE_GROUP }).innerText()).toContain('Stable');
    await screenshot('groups');

    await row.locator('a', { hasText: GROUP }).click();
    const partition = page.locator(`[data-testid=group-partitions] tr[data-partition="${TOPIC}-1"]`);
    await partition.waitFor();
    const cells = await partition.locator('td').allInnerTexts();
    expect(cells.slice(0, 5)).toEqual([TOPIC, '1', String(COMMITTED), String(RECORDS), String(RECORDS - COMMITTED)]);
    expect(await page.locator('[data-testid=total-lag]').innerText()).toBe(String(RECORDS - COMMITTED));
    await screenshot('group');

    await page.goto(`${base}/#/groups/${LIVE_GROUP}`);
    const member = page.locator('[data-testid=members] tbody tr').first();
    await member.waitFor();
    expect(await member.innerText()).toContain('console-e2e');
    expect(await member.innerText()).toContain('console-audit [0]');
    await screenshot('group-live');
  });

  compatTest('the broker configs page lists the broker configs and filters them', async () => {
    await page.locator('nav a', { hasText: 'Broker configs' }).click();
    await page.locator('[data-testid=configs] tr', { hasText: 'log.retention.hours' }).waitFor();
    await screenshot('configs');
    await page.getByLabel('Filter configs').fill('group.initial.rebalance');
    const rows = page.locator('[data-testid=configs] tbody tr');
    await poll(() => rows.count()).toBe(1);
    expect(await rows.first().innerText()).toContain('group.initial.rebalance.delay.ms');
  });

  compatTest('the rates page charts the messages produced while it is open', async () => {
    await page.locator('nav a', { hasText: 'Rates' }).click();
    let sent = 0;
    let producing = true;
    const loop = (async () => {
      // Bounded: stops when the test sees a rate, or after 150 sends (30 s).
      while (producing && sent < 150) {
        await producer.send({ topic: 'console-audit', acks: 1, messages: Array.from({ length: 20 }, (_, i) => ({ value: `rate ${sent}-${i}` })) });
        sent++;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    try {
      await expect
        .poll(async () => Number((await page.locator('[data-testid=messages-rate]').innerText().catch(() => '0')).replace(/[^0-9.]/g, '')), { timeout: 25_000 })
        .toBeGreaterThan(0);
      await page.waitForTimeout(4_500);
      expect(await page.locator('figure.chart polyline').count()).toBeGreaterThanOrEqual(2);
      await page.locator('[data-testid=topic-rates] tr', { hasText: 'console-audit' }).waitFor();
      await screenshot('rates');
    } finally {
      producing = false;
      await loop;
    }
  });

  compatTest('the console fetched nothing from anywhere but the broker, and threw no errors', () => {
    expect(foreignRequests).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
