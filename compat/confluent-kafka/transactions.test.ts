/**
 * Issue 9, transactions, real client: confluent-kafka-python 1.7.0 (librdkafka 2.0.2) transactional producers and
 * read_committed / read_uncommitted consumers against a spawned broker (transactions.py does the client work and
 * prints what it saw; the assertions are here).
 *
 * What Kafka 3.9 does and these tests hold the broker to:
 * - Every transaction leaves one control record (COMMIT or ABORT marker) per partition after its records, so the
 *   offsets of the next transaction start one further on; read_committed never returns aborted records and stops
 *   at the last stable offset (LSO: the first offset of the oldest open transaction); read_uncommitted returns
 *   aborted records too; neither returns control records, but librdkafka stores their offsets, so the consumer
 *   position and the offsets it commits move past a trailing marker (rd_kafka_op_handle_std / rd_kafka_q_serve_rkmessages).
 * - ListOffsets(latest) at READ_COMMITTED answers the LSO, at READ_UNCOMMITTED the high watermark (librdkafka's
 *   get_watermark_offsets sends the consumer's isolation.level).
 * - A second producer with the same transactional.id fences the first: its InitProducerId bumps the epoch and
 *   aborts the first one's open transaction; the first one's next Produce/EndTxn is refused and librdkafka raises
 *   the fatal error _FENCED (rd_kafka_txn_normalize_err maps INVALID_PRODUCER_EPOCH and PRODUCER_FENCED to it).
 * - A transaction whose producer disappeared is aborted by the coordinator once transaction.timeout.ms passed
 *   (checked every transaction.abort.timed.out.transaction.cleanup.interval.ms, 10 s by default), also after a
 *   restart, so read_committed readers are not stuck behind it; a commit acknowledged to the client (PrepareCommit
 *   durable in __transaction_state) survives kill -9 and its markers are written after the restart.
 * - transaction.timeout.ms above transaction.max.timeout.ms (900000) fails InitProducerId with
 *   INVALID_TRANSACTION_TIMEOUT, fatal in librdkafka (rd_kafka_idemp_check_error).
 */
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect } from 'vitest';
import { compatTest } from '../lib/known-failures.js';
import { LineProcess } from '../lib/line-process.js';
import { PYTHON, runPythonScript, type ScriptVerdict } from '../lib/python.js';
import { spawnBroker, type SpawnedBroker } from '../../test/helpers/spawn-broker.js';

const SCRIPT = fileURLToPath(new URL('./transactions.py', import.meta.url));
const PARTITIONS = 3;

interface ReadRecord {
  p: number;
  o: number;
  v: string;
  idx: number;
}

interface ErrInfo {
  name: string;
  code: number;
  fatal: boolean;
  retriable: boolean;
  abortable: boolean;
  str: string;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function createTopic(bootstrap: string, topic: string): Promise<void> {
  const kafka = new Kafka({ clientId: 'compat-txn-admin', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }] })).toBe(true);
  } finally {
    await admin.disconnect();
  }
}

/** `{ '0': v, '1': v, '2': v }`: the script's per-partition maps. */
function each<T>(v: T): Record<string, T> {
  return Object.fromEntries(Array.from({ length: PARTITIONS }, (_, p) => [String(p), v]));
}

const ALL_PARTITIONS = Array.from({ length: PARTITIONS }, (_, p) => p);
const values = (prefix: string, from: number, to: number): string[] => Array.from({ length: to - from }, (_, k) => `${prefix}#${from + k}`);

function run(mode: string, args: string[], timeoutMs = 90_000): Promise<ScriptVerdict> {
  return runPythonScript(SCRIPT, [mode, ...args], timeoutMs);
}

function failureContext(verdict: ScriptVerdict, broker: SpawnedBroker): string {
  return `${JSON.stringify(verdict.stats).slice(0, 4000)}\nbroker log tail:\n${broker.logs().split('\n').slice(-30).join('\n')}`;
}

/** The records a `read` run returned, grouped per partition as [offset, value] in the order read. */
function perPartition(records: ReadRecord[]): Map<number, Array<[number, string]>> {
  const out = new Map<number, Array<[number, string]>>(ALL_PARTITIONS.map((p) => [p, []]));
  for (const r of records) out.get(r.p)!.push([r.o, r.v]);
  return out;
}

describe('confluent-kafka-python 1.7.0 (librdkafka 2.0.2) transactional producer', () => {
  let broker: SpawnedBroker;
  beforeAll(async () => {
    broker = await spawnBroker();
  });
  afterAll(async () => {
    await broker?.stop();
  });

  compatTest('commit, abort, commit of 300 messages each over 3 partitions: read_committed reads exactly the committed ones in order, read_uncommitted all of them, both positions and committed offsets end past the last marker; an open transaction holds the LSO at its first offset until it commits', { timeout: 120_000 }, async () => {
    const topic = 'txn-commit-abort';
    await createTopic(broker.bootstrap, topic);
    const verdict = await run('commit-abort', ['--bootstrap', broker.bootstrap, '--topic', topic, '--partitions', String(PARTITIONS), '--per-txn', '300', '--timeout', '80']);
    const context = failureContext(verdict, broker);
    // The record-by-record checks (offset and value of every record each reader returned, per partition, against
    // the layout [100 records, marker] x 3 transactions) are done by the script: no problem may be reported.
    expect(verdict.problems, context).toEqual([]);
    const s = verdict.stats;
    expect(s['delivered'], context).toBe(900);
    // Per partition: transaction 1 at 0..99, its COMMIT marker at 100; transaction 2 at 101..200, ABORT marker at
    // 201; the open transaction 3 starts at 202 and has 100 records (202..301), high watermark 302.
    expect(s['open_first_offsets'], context).toEqual(each(202));
    expect(s['open_lso'], 'LSO (ListOffsets latest, READ_COMMITTED) while transaction 3 is open').toEqual(each(202));
    expect(s['open_hw'], 'high watermark (ListOffsets latest, READ_UNCOMMITTED) while transaction 3 is open').toEqual(each(302));
    expect(s['open_eof'], 'read_committed reached the LSO of every partition').toEqual(ALL_PARTITIONS);
    expect(s['open_rc_read'], 'read_committed while transaction 3 is open: only transaction 1').toBe(300);
    expect(s['open_rc_positions'], 'position past the ABORT marker at 201, stopped at the LSO').toEqual(each(202));
    // After the commit: COMMIT marker at 302, LSO = high watermark = 303.
    expect(s['committed_lso'], context).toEqual(each(303));
    expect(s['committed_hw'], context).toEqual(each(303));
    expect(s['live_eof'], context).toEqual(ALL_PARTITIONS);
    expect(s['live_rc_positions'], 'the waiting read_committed consumer moved on past the COMMIT marker').toEqual(each(303));
    expect(s['expected_end']).toEqual(each(303));
    expect(s['read_committed_read'], context).toBe(600);
    expect(s['read_uncommitted_read'], context).toBe(900);
    for (const isolation of ['read_committed', 'read_uncommitted']) {
      expect(s[`${isolation}_eof`], `${isolation} reached the end of every partition`).toEqual(ALL_PARTITIONS);
      expect(s[`${isolation}_positions`], `${isolation} position after the trailing COMMIT marker`).toEqual(each(303));
      expect(s[`${isolation}_committed`], `${isolation} committed offsets`).toEqual(each(303));
    }
  });

  compatTest('a second producer with the same transactional.id fences the first: the first one\'s open transaction is aborted, its later sends and its commit fail with the fatal error _FENCED, and read_committed sees only the second producer\'s records', { timeout: 120_000 }, async () => {
    const topic = 'txn-fence';
    await createTopic(broker.bootstrap, topic);
    const n = 30;
    const verdict = await run('fence', ['--bootstrap', broker.bootstrap, '--topic', topic, '--partitions', String(PARTITIONS), '--count', String(n), '--timeout', '80']);
    const context = failureContext(verdict, broker);
    expect(verdict.problems, context).toEqual([]);
    const s = verdict.stats;
    expect(s['first_unflushed'], context).toBe(0);
    expect(s['first_delivered'], context).toBe(n);
    expect(s['second_delivered'], context).toBe(n);
    // None of the zombie's later messages was written.
    expect(s['zombie_reports'], 'a delivery report for each of the zombie\'s later messages').toBe(n);
    expect(s['zombie_delivered'], context).toBe(0);
    // The broker refuses the zombie's Produce with INVALID_PRODUCER_EPOCH (Kafka's ProducerAppendInfo.checkProducerEpoch:
    // the partition saw the fencing epoch on the ABORT marker); librdkafka turns that into the fatal _FENCED and
    // fails what else it had queued with purge codes.
    expect(s['zombie_produce_error'], context).toBeNull();
    const flushError = s['zombie_flush_error'] as ErrInfo | null;
    if (flushError !== null) expect({ name: flushError.name, fatal: flushError.fatal }, context).toEqual({ name: '_FENCED', fatal: true });
    const deliveryErrors = s['zombie_delivery_errors'] as string[];
    expect(deliveryErrors, context).toContain('INVALID_PRODUCER_EPOCH');
    for (const name of deliveryErrors) expect(['INVALID_PRODUCER_EPOCH', '_FENCED', '_PURGE_QUEUE', '_PURGE_INFLIGHT'], `delivery error ${name}`).toContain(name);
    const commitError = s['zombie_commit_error'] as ErrInfo | null;
    expect(commitError, `the fenced producer's commit_transaction() succeeded\n${context}`).not.toBeNull();
    expect({ name: commitError!.name, fatal: commitError!.fatal }, context).toEqual({ name: '_FENCED', fatal: true });
    expect(s['read_committed_eof'], context).toEqual(ALL_PARTITIONS);
    expect(s['read_uncommitted_eof'], context).toEqual(ALL_PARTITIONS);
    // read_committed: the second producer's transaction only; read_uncommitted also the first one's aborted
    // records (written before the fence), never the zombie's later ones.
    expect(s['read_committed_values'], context).toEqual(values('B', 2 * n, 3 * n).sort());
    expect(s['read_uncommitted_values'], context).toEqual([...values('A', 0, n), ...values('B', 2 * n, 3 * n)].sort());
  });

  compatTest('init_transactions() with transaction.timeout.ms=1000000 (above transaction.max.timeout.ms 900000) fails with the fatal error INVALID_TRANSACTION_TIMEOUT', { timeout: 60_000 }, async () => {
    const verdict = await run('invalid-timeout', ['--bootstrap', broker.bootstrap, '--txn-timeout-ms', '1000000'], 45_000);
    const error = verdict.stats['init_error'] as ErrInfo | null;
    expect(error, `init_transactions() succeeded\n${failureContext(verdict, broker)}`).not.toBeNull();
    expect({ name: error!.name, code: error!.code, fatal: error!.fatal }).toEqual({ name: 'INVALID_TRANSACTION_TIMEOUT', code: 50, fatal: true });
  });
});

describe('confluent-kafka-python 1.7.0 transactions across kill -9 of the broker', () => {
  interface Killable {
    broker: () => SpawnedBroker;
    restart: () => Promise<void>;
  }

  async function killableBroker(topic: string): Promise<Killable> {
    let broker = await spawnBroker({ keepDataDir: true });
    const { dataDir, port } = broker;
    cleanups.push(async () => {
      await broker.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    await createTopic(broker.bootstrap, topic);
    return {
      broker: () => broker,
      restart: async () => {
        broker = await spawnBroker({ dataDir, port });
      },
    };
  }

  function startHolder(mode: string, args: string[]): LineProcess {
    const proc = new LineProcess(PYTHON, ['-u', SCRIPT, mode, ...args, '--timeout', '120'], { ...process.env, PYTHONDONTWRITEBYTECODE: '1' });
    cleanups.push(async () => {
      await proc.stop('SIGKILL', 5000);
    });
    return proc;
  }

  async function heldLine(proc: LineProcess, prefix: string): Promise<{ delivered: number; offsets: Array<[number, number]> }> {
    await proc.until(() => proc.stdout.some((l) => l.startsWith(prefix)), 60_000, `the script's "${prefix}" line`);
    return JSON.parse(proc.stdout.find((l) => l.startsWith(prefix))!.slice(prefix.length)) as { delivered: number; offsets: Array<[number, number]> };
  }

  compatTest('a transaction left open by kill -9 of the broker (and its producer) is aborted after transaction.timeout.ms once the broker restarts: read_committed is not stuck and reads the transactions committed afterwards, never the open one\'s records', { timeout: 150_000 }, async () => {
    const topic = 'txn-kill-open';
    const { broker, restart } = await killableBroker(topic);
    const bootstrap = broker().bootstrap;
    const OPEN = 60;
    const LATER = 30;
    const holder = startHolder('open', ['--bootstrap', bootstrap, '--topic', topic, '--partitions', String(PARTITIONS), '--count', String(OPEN), '--tid', 'compat-txn-abandoned', '--prefix', 'open', '--txn-timeout-ms', '5000']);
    const open = await heldLine(holder, 'open ');
    expect(open.delivered).toBe(OPEN);
    // 20 records per partition at offsets 0..19, no marker yet.
    expect(open.offsets).toEqual(ALL_PARTITIONS.flatMap((p) => Array.from({ length: OPEN / PARTITIONS }, (_, o) => [p, o])));
    await broker().kill9();
    expect(broker().exitInfo()?.signal).toBe('SIGKILL');
    await holder.stop('SIGKILL', 5000);
    await restart();

    const later = await run('produce', ['--bootstrap', bootstrap, '--topic', topic, '--partitions', String(PARTITIONS), '--count', String(LATER), '--tid', 'compat-txn-later', '--prefix', 'later']);
    expect(later.problems, failureContext(later, broker())).toEqual([]);
    expect(later.stats['delivered']).toBe(LATER);

    // Bounded by the 5 s transaction timeout plus the coordinator's abort check (10 s in Kafka) and slack.
    const committed = await run('read', ['--bootstrap', bootstrap, '--topic', topic, '--partitions', String(PARTITIONS), '--isolation', 'read_committed', '--expect', String(LATER), '--timeout', '45']);
    const context = failureContext(committed, broker());
    expect(committed.problems, context).toEqual([]);
    expect(committed.stats['seconds_to_expected'], `read_committed stuck behind the abandoned transaction\n${context}`).not.toBeNull();
    // At most one abort check (10 s) after the restart, the 5 s timeout having run out before it; plus slack.
    expect(committed.stats['seconds_to_expected'] as number).toBeLessThan(25);
    const rc = committed.stats['records'] as ReadRecord[];
    expect(rc.map((r) => r.v).sort(), context).toEqual(values('later', 0, LATER).sort());
    expect(committed.stats['at_end'], context).toEqual(ALL_PARTITIONS);
    // Per partition: 20 aborted records, one ABORT and one COMMIT marker (in either order), 10 committed records.
    expect(committed.stats['watermarks'], 'LSO = high watermark once the abandoned transaction was aborted').toEqual(each(32));
    expect(committed.stats['high_watermarks'], context).toEqual(each(32));
    expect(committed.stats['positions'], context).toEqual(each(32));
    for (const [p, list] of perPartition(rc)) {
      expect(list.map(([, v]) => v), `partition ${p} in send order`).toEqual(values('later', 0, LATER).filter((_, i) => i % PARTITIONS === p));
    }

    const all = await run('read', ['--bootstrap', bootstrap, '--topic', topic, '--partitions', String(PARTITIONS), '--isolation', 'read_uncommitted', '--expect', String(OPEN + LATER), '--timeout', '30']);
    expect(all.problems, failureContext(all, broker())).toEqual([]);
    const ru = all.stats['records'] as ReadRecord[];
    expect(ru.map((r) => r.v).sort()).toEqual([...values('open', 0, OPEN), ...values('later', 0, LATER)].sort());
    for (const [p, list] of perPartition(ru)) {
      expect(list.slice(0, OPEN / PARTITIONS), `partition ${p}: the aborted records kept their offsets`).toEqual(
        values('open', 0, OPEN).filter((_, i) => i % PARTITIONS === p).map((v, o) => [o, v]),
      );
    }
  });

  compatTest('a transaction whose commit_transaction() returned just before kill -9 of the broker is complete after the restart: read_committed reads all of its records, in order, LSO past its COMMIT marker, and the offsets it sent with send_offsets_to_transaction() are the group\'s committed offsets', { timeout: 120_000 }, async () => {
    const topic = 'txn-kill-committed';
    const group = 'compat-txn-durable-group';
    const { broker, restart } = await killableBroker(topic);
    const bootstrap = broker().bootstrap;
    const COUNT = 60;
    const holder = startHolder('commit-hold', ['--bootstrap', bootstrap, '--topic', topic, '--partitions', String(PARTITIONS), '--count', String(COUNT), '--tid', 'compat-txn-durable', '--prefix', 'durable', '--offsets-group', group]);
    const committedLine = await heldLine(holder, 'committed ');
    await broker().kill9();
    expect(broker().exitInfo()?.signal).toBe('SIGKILL');
    await holder.stop('SIGKILL', 5000);
    expect(committedLine.delivered).toBe(COUNT);
    await restart();

    const read = await run('read', ['--bootstrap', bootstrap, '--topic', topic, '--partitions', String(PARTITIONS), '--isolation', 'read_committed', '--expect', String(COUNT), '--timeout', '40']);
    const context = failureContext(read, broker());
    expect(read.problems, context).toEqual([]);
    expect(read.stats['seconds_to_expected'], `read_committed did not get the committed transaction\n${context}`).not.toBeNull();
    // The restarted coordinator completes a PrepareCommit as it loads (Kafka: TransactionStateManager loading, then
    // the markers are sent at once), not after a timer.
    expect(read.stats['seconds_to_expected'] as number, context).toBeLessThan(8);
    expect(read.stats['at_end'], context).toEqual(ALL_PARTITIONS);
    const records = read.stats['records'] as ReadRecord[];
    expect(records.length, context).toBe(COUNT);
    for (const [p, list] of perPartition(records)) {
      expect(list, `partition ${p}`).toEqual(values('durable', 0, COUNT).filter((_, i) => i % PARTITIONS === p).map((v, o) => [o, v]));
    }
    // 20 records and the COMMIT marker per partition; a second COMMIT marker when the broker had written the markers
    // but not yet CompleteCommit when it was killed: the restarted coordinator finds PrepareCommit and sends the
    // markers again, and a partition appends a marker of a producer with no open transaction as an empty one, as
    // Kafka does (ProducerAppendInfo.appendEndTxnMarker).
    const hw = read.stats['watermarks'] as Record<string, number>;
    for (const p of ALL_PARTITIONS) expect([21, 22], `partition ${p} LSO\n${context}`).toContain(hw[String(p)]);
    expect(read.stats['high_watermarks'], 'LSO = high watermark').toEqual(hw);
    expect(read.stats['positions'], 'read_committed position past the last marker').toEqual(hw);

    // The transactional offset commits were in __consumer_offsets before commit_transaction() returned; the COMMIT
    // marker written after the restart makes them the group's offsets.
    const committed = await run('committed', ['--bootstrap', bootstrap, '--topic', topic, '--partitions', String(PARTITIONS), '--offsets-group', group]);
    expect(committed.problems, failureContext(committed, broker())).toEqual([]);
    expect(committed.stats['committed']).toEqual(Object.fromEntries(ALL_PARTITIONS.map((p) => [String(p), 1000 + p])));
  });
});
