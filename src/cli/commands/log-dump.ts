// `eddy log dump PATH`: offline inspection of a data directory, in the spirit of Kafka's kafka-dump-log.sh
// (kafka.tools.DumpLogSegments). It reads files only; no broker is involved (stop the broker first, or expect
// to see a partially written tail).
//
//   PATH is                         dumps
//   a .log / .index / .timeindex    that file
//   a partition dir (<topic>-<n>)   its segments, indexes and time indexes, in base-offset order
//   a data dir                      its checkpoint files, then every partition dir
//
// .log: one line per batch (base and last offset, position, size, record count, compression, CRC check,
// timestamps, producer id, control/transactional flags); --records adds one line per record (offset, timestamp,
// key and value as UTF-8, headers). Walking stops at the first torn batch (fewer bytes left than its length), as
// recovery would truncate there. A CRC mismatch is reported on the batch and counted; the exit code is 1 when
// any batch failed its CRC or the log has a torn tail, 0 otherwise.
// .index: entries (relative offset, position → absolute offset); .timeindex: entries (timestamp, offset).
// Their formats are documented in src/log/offset-index.ts and src/log/time-index.ts; checkpoints in
// src/log/checkpoint.ts (printed as they are: they are text).
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { decodeRecordBatches } from '../../client/records.js';
import { LOG_OVERHEAD, RECORD_BATCH_HEADER_SIZE, batchCrcIsValid, compressionOf, isControlBatch, isTransactional, readBatchHeader } from '../../protocol/records/batch.js';
import { printJson, reportError, usageFail, UsageError } from './shared.js';

const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

interface DumpArgs {
  path: string;
  records: boolean;
  json: boolean;
}

interface Findings {
  corrupt: number;
  out: unknown[];
}

function emit(args: DumpArgs, f: Findings, line: string, json: unknown): void {
  if (args.json) f.out.push(json);
  else process.stdout.write(`${line}\n`);
}

async function dumpLog(file: string, args: DumpArgs, f: Findings): Promise<void> {
  const buf = await readFile(file);
  emit(args, f, `Dumping ${file}`, { file, type: 'log' });
  let pos = 0;
  while (pos < buf.length) {
    if (buf.length - pos < LOG_OVERHEAD) {
      f.corrupt++;
      emit(args, f, `  torn tail at position ${pos}: ${buf.length - pos} bytes, less than a batch header`, { file, position: pos, error: 'torn tail' });
      break;
    }
    const size = LOG_OVERHEAD + buf.readInt32BE(pos + 8);
    if (size < RECORD_BATCH_HEADER_SIZE || pos + size > buf.length) {
      f.corrupt++;
      emit(args, f, `  torn tail at position ${pos}: batch of ${size} bytes, ${buf.length - pos} left`, { file, position: pos, error: 'torn tail' });
      break;
    }
    const h = readBatchHeader(buf, pos);
    const crcValid = h.magic === 2 && batchCrcIsValid(buf, pos);
    if (!crcValid) f.corrupt++;
    const codec = compressionOf(h.attributes);
    const batch = {
      baseOffset: h.baseOffset,
      lastOffset: h.baseOffset + BigInt(h.lastOffsetDelta),
      position: pos,
      size,
      count: h.recordCount,
      magic: h.magic,
      compression: COMPRESSION_NAMES[codec] ?? `unknown(${codec})`,
      crc: h.crc,
      crcValid,
      baseTimestamp: h.baseTimestamp,
      maxTimestamp: h.maxTimestamp,
      producerId: h.producerId,
      producerEpoch: h.producerEpoch,
      baseSequence: h.baseSequence,
      partitionLeaderEpoch: h.partitionLeaderEpoch,
      isTransactional: isTransactional(h.attributes),
      isControl: isControlBatch(h.attributes),
    };
    emit(
      args,
      f,
      `  baseOffset ${batch.baseOffset} lastOffset ${batch.lastOffset} count ${batch.count} position ${pos} size ${size} magic ${h.magic} ` +
        `compression ${batch.compression} crc ${h.crc} ${crcValid ? 'valid' : 'INVALID'} baseTimestamp ${h.baseTimestamp} maxTimestamp ${h.maxTimestamp} ` +
        `producerId ${h.producerId} producerEpoch ${h.producerEpoch} baseSequence ${h.baseSequence} leaderEpoch ${h.partitionLeaderEpoch}` +
        `${batch.isTransactional ? ' transactional' : ''}${batch.isControl ? ' control' : ''}`,
      { file, batch },
    );
    if (args.records && crcValid && !batch.isControl) {
      try {
        for (const r of decodeRecordBatches(buf.subarray(pos, pos + size)).records) {
          const headers = r.headers.map((x) => `${x.key}=${x.value?.toString('utf8') ?? ''}`).join(',');
          emit(
            args,
            f,
            `    offset ${r.offset} timestamp ${r.timestamp} key ${r.key === null ? 'null' : JSON.stringify(r.key.toString('utf8'))} value ${r.value === null ? 'null' : JSON.stringify(r.value.toString('utf8'))}${headers ? ` headers ${headers}` : ''}`,
            { file, record: { offset: r.offset, timestamp: r.timestamp, key: r.key?.toString('utf8') ?? null, value: r.value?.toString('utf8') ?? null, headers: r.headers.map((x) => ({ key: x.key, value: x.value?.toString('utf8') ?? null })) } },
          );
        }
      } catch (err) {
        f.corrupt++;
        emit(args, f, `    records not readable: ${(err as Error).message}`, { file, position: pos, error: (err as Error).message });
      }
    }
    pos += size;
  }
}

function baseOffsetOf(file: string): bigint {
  const m = /^(\d+)\./.exec(path.basename(file));
  return m ? BigInt(m[1]!) : 0n;
}

async function dumpIndex(file: string, args: DumpArgs, f: Findings): Promise<void> {
  const buf = await readFile(file);
  const base = baseOffsetOf(file);
  emit(args, f, `Dumping ${file}`, { file, type: 'index' });
  if (buf.length % 8 !== 0) {
    f.corrupt++;
    emit(args, f, `  size ${buf.length} is not a multiple of 8: corrupt (the broker rebuilds it)`, { file, error: 'bad size' });
  }
  for (let pos = 0; pos + 8 <= buf.length; pos += 8) {
    const rel = buf.readInt32BE(pos);
    const position = buf.readInt32BE(pos + 4);
    emit(args, f, `  offset ${base + BigInt(rel)} position ${position}`, { file, offset: base + BigInt(rel), position });
  }
}

async function dumpTimeIndex(file: string, args: DumpArgs, f: Findings): Promise<void> {
  const buf = await readFile(file);
  const base = baseOffsetOf(file);
  emit(args, f, `Dumping ${file}`, { file, type: 'timeindex' });
  if (buf.length % 12 !== 0) {
    f.corrupt++;
    emit(args, f, `  size ${buf.length} is not a multiple of 12: corrupt (the broker rebuilds it)`, { file, error: 'bad size' });
  }
  for (let pos = 0; pos + 12 <= buf.length; pos += 12) {
    const timestamp = buf.readBigInt64BE(pos);
    const rel = buf.readInt32BE(pos + 8);
    emit(args, f, `  timestamp ${timestamp} offset ${base + BigInt(rel)}`, { file, timestamp, offset: base + BigInt(rel) });
  }
}

async function dumpFile(file: string, args: DumpArgs, f: Findings): Promise<boolean> {
  if (file.endsWith('.log')) await dumpLog(file, args, f);
  else if (file.endsWith('.index')) await dumpIndex(file, args, f);
  else if (file.endsWith('.timeindex')) await dumpTimeIndex(file, args, f);
  else if (/checkpoint$/.test(file)) {
    const text = await readFile(file, 'utf8');
    emit(args, f, `Dumping ${file}\n${text.trimEnd().replace(/^/gm, '  ')}`, { file, type: 'checkpoint', lines: text.trimEnd().split('\n') });
  } else return false;
  return true;
}

async function dumpPartitionDir(dir: string, args: DumpArgs, f: Findings): Promise<void> {
  const names = (await readdir(dir)).filter((n) => /^\d{20}\.(log|index|timeindex)$/.test(n));
  const order = { log: 0, index: 1, timeindex: 2 } as Record<string, number>;
  names.sort((a, b) => a.slice(0, 20).localeCompare(b.slice(0, 20)) || order[a.slice(21)]! - order[b.slice(21)]!);
  for (const n of names) await dumpFile(path.join(dir, n), args, f);
}

async function dump(args: DumpArgs): Promise<void> {
  const target = path.resolve(args.path);
  const st = await stat(target).catch(() => undefined);
  if (st === undefined) throw new UsageError(`${args.path}: no such file or directory`);
  const f: Findings = { corrupt: 0, out: [] };
  if (st.isFile()) {
    if (!(await dumpFile(target, args, f))) throw new UsageError(`${args.path}: not a .log, .index, .timeindex or checkpoint file`);
  } else {
    const entries = await readdir(target, { withFileTypes: true });
    if (entries.some((e) => e.isFile() && /^\d{20}\.log$/.test(e.name))) {
      await dumpPartitionDir(target, args, f);
    } else {
      for (const e of entries.filter((x) => x.isFile() && /checkpoint$/.test(x.name)).sort((a, b) => a.name.localeCompare(b.name))) await dumpFile(path.join(target, e.name), args, f);
      for (const e of entries.filter((x) => x.isDirectory() && /-\d+$/.test(x.name)).sort((a, b) => a.name.localeCompare(b.name))) await dumpPartitionDir(path.join(target, e.name), args, f);
    }
  }
  if (args.json) printJson({ path: target, corrupt: f.corrupt, entries: f.out });
  else if (f.corrupt > 0) process.stdout.write(`${f.corrupt} problem${f.corrupt === 1 ? '' : 's'} found.\n`);
  if (f.corrupt > 0) process.exitCode = 1;
}

export const logCommand: CommandModule = {
  command: 'log',
  describe: 'Inspect log segments, indexes and checkpoints offline',
  builder: (y: Argv) =>
    y
      .command(
        'dump <path>',
        'Print the batches (CRC-checked), index entries and checkpoints under PATH',
        (c) =>
          c
            .positional('path', { type: 'string', describe: 'A data dir, a partition dir, or one .log/.index/.timeindex file' })
            .option('records', { type: 'boolean', default: false, describe: 'Also print every record (key, value, headers)' })
            .option('json', { type: 'boolean', default: false, describe: 'Print one JSON document' })
            .example('$0 log dump ./data/orders-0', 'Every segment of a partition')
            .example('$0 log dump ./data/orders-0/00000000000000000000.log --records', 'One segment with its records')
            .fail(usageFail),
        async (args) => {
          try {
            await dump(args as unknown as DumpArgs);
          } catch (err) {
            reportError(err);
          }
        },
      )
      .fail(usageFail)
      .demandCommand(1, 'Name a log command: dump.'),
  handler: () => undefined,
};

