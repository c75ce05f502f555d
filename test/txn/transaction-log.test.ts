// The `__transaction_state` record format, byte for byte as built by hand from TransactionLogKey.json and
// TransactionLogValue.json (Kafka 3.9 writes value version 0), and the record batch around it.
import { describe, expect, it } from 'vitest';
import { batchCrcIsValid, readBatchHeader } from '../../src/protocol/records/batch.js';
import { buildKeyValueBatch, forEachKeyValueRecord } from '../../src/protocol/records/key-value-batch.js';
import {
  decodeTransactionLogKey,
  decodeTransactionLogValue,
  encodeTransactionLogKey,
  encodeTransactionLogValue,
} from '../../src/txn/transaction-log.js';
import type { TxnTransitMetadata } from '../../src/txn/transaction-metadata.js';
import { TransactionStateError } from '../../src/txn/transaction-state.js';

/** Hex digits, ignoring whitespace and `# comments` to the end of each line. */
const hex = (s: string): Buffer =>
  Buffer.from(
    s
      .split('\n')
      .map((line) => line.split('#')[0]!.replace(/\s+/g, ''))
      .join(''),
    'hex',
  );
const ascii = (s: string): string => Buffer.from(s, 'ascii').toString('hex');

// 1700000000000 = 0x0000018bcfe56800; 1700000000123 = 0x0000018bcfe5687b.
const ONGOING: TxnTransitMetadata = {
  producerId: 1000n,
  lastProducerId: 1000n,
  producerEpoch: 5,
  lastProducerEpoch: -1,
  txnTimeoutMs: 60000,
  txnState: 'Ongoing',
  topicPartitions: new Map([['orders', new Set([0, 2])]]),
  txnStartTimestamp: 1700000000000,
  txnLastUpdateTimestamp: 1700000000123,
  nextProducerId: -1n,
  clientTransactionVersion: 0,
};

const ONGOING_V0 = hex(`
  0000                      # version 0
  00000000000003e8          # ProducerId 1000
  0005                      # ProducerEpoch 5
  0000ea60                  # TransactionTimeoutMs 60000
  01                        # TransactionStatus Ongoing
  00000001                  # TransactionPartitions: 1 entry
  0006 ${ascii('orders')}   # Topic
  00000002 00000000 00000002  # PartitionIds [0, 2]
  0000018bcfe5687b          # TransactionLastUpdateTimestampMs
  0000018bcfe56800          # TransactionStartTimestampMs
`);

const ONGOING_V1 = hex(`
  0001                      # version 1 (flexible)
  00000000000003e8 0005 0000ea60 01
  02                        # compact array: 1 entry
  07 ${ascii('orders')}     # compact string
  03 00000000 00000002      # compact int32 array [0, 2]
  00                        # PartitionsSchema tagged fields
  0000018bcfe5687b 0000018bcfe56800
  01                        # value tagged fields: 1
  00 08 00000000000003e8    #   tag 0 PreviousProducerId 1000 (size 8)
`);

// Transactions v2 after an epoch overflow: PrepareCommit at the bumped epoch 32767 naming the next producer id,
// written by a client of transaction version 2 (every tagged field away from its default, in tag order).
const PREPARE_V2_OVERFLOW = hex(`
  0001 00000000000003e8 7fff 0000ea60 02
  02 07 ${ascii('orders')} 03 00000000 00000002 00
  0000018bcfe5687b 0000018bcfe56800
  03                        # value tagged fields: 3
  00 08 00000000000003e8    #   tag 0 PreviousProducerId 1000
  01 08 00000000000007d0    #   tag 1 NextProducerId 2000
  02 02 0002                #   tag 2 ClientTransactionVersion 2
`);

describe('TransactionLogKey', () => {
  it('is version 0 followed by the transactional id as an int16-length string', () => {
    expect(encodeTransactionLogKey('tx-1').toString('hex')).toBe(`0000 0004 ${ascii('tx-1')}`.replaceAll(' ', ''));
    expect(decodeTransactionLogKey(hex(`0000 0004 ${ascii('tx-1')}`))).toEqual({ version: 0, transactionalId: 'tx-1' });
  });

  it('counts UTF-8 bytes, not characters, in the length', () => {
    expect(encodeTransactionLogKey('é').toString('hex')).toBe('00000002c3a9');
  });

  it('reports a key version it does not know without reading further (Kafka ignores such records)', () => {
    expect(decodeTransactionLogKey(hex('0001 0004 74782d31'))).toEqual({ version: 1, transactionalId: undefined });
  });
});

describe('TransactionLogValue', () => {
  it('writes version 0 when asked, as Kafka 3.9 does without transaction.version 1', () => {
    expect(encodeTransactionLogValue(ONGOING, 0).toString('hex')).toBe(ONGOING_V0.toString('hex'));
  });

  it('writes an Empty state with null partitions and start timestamp -1', () => {
    const empty: TxnTransitMetadata = { ...ONGOING, txnState: 'Empty', producerEpoch: 0, topicPartitions: new Map(), txnStartTimestamp: -1 };
    expect(encodeTransactionLogValue(empty, 0).toString('hex')).toBe(
      hex(`0000 00000000000003e8 0000 0000ea60 00 ffffffff 0000018bcfe5687b ffffffffffffffff`).toString('hex'),
    );
  });

  it('writes one entry per topic, partitions in the order they joined', () => {
    const two: TxnTransitMetadata = { ...ONGOING, txnState: 'PrepareCommit', topicPartitions: new Map([['b', new Set([3])], ['a', new Set([1, 0])]]) };
    expect(encodeTransactionLogValue(two, 0).toString('hex')).toBe(
      hex(`0000 00000000000003e8 0005 0000ea60 02 00000002 0001 62 00000001 00000003 0001 61 00000002 00000001 00000000 0000018bcfe5687b 0000018bcfe56800`).toString('hex'),
    );
  });

  it('writes the flexible version 1 by default (transaction.version 2 finalized), tagged fields only when not default', () => {
    expect(encodeTransactionLogValue(ONGOING).toString('hex')).toBe(ONGOING_V1.toString('hex'));
    const noPrevious = encodeTransactionLogValue({ ...ONGOING, lastProducerId: -1n });
    expect(noPrevious.subarray(noPrevious.length - 1).toString('hex')).toBe('00');
  });

  it('writes and reads the transactions v2 fields: previous and next producer id, client transaction version', () => {
    const transit: TxnTransitMetadata = { ...ONGOING, txnState: 'PrepareCommit', producerEpoch: 32767, lastProducerEpoch: 32766, nextProducerId: 2000n, clientTransactionVersion: 2 };
    expect(encodeTransactionLogValue(transit).toString('hex')).toBe(PREPARE_V2_OVERFLOW.toString('hex'));
    const m = decodeTransactionLogValue('tx', PREPARE_V2_OVERFLOW)!;
    expect([m.producerId, m.lastProducerId, m.nextProducerId, m.producerEpoch, m.clientTransactionVersion, m.state]).toEqual([1000n, 1000n, 2000n, 32767, 2, 'PrepareCommit']);
    // An unknown tag (a newer writer's) is skipped by its size.
    const withUnknown = Buffer.concat([ONGOING_V1.subarray(0, ONGOING_V1.length - 11), hex('02 00 08 00000000000003e8 09 03 aabbcc')]);
    expect(decodeTransactionLogValue('tx', withUnknown)!.lastProducerId).toBe(1000n);
  });

  it('refuses an Empty state with partitions (Kafka throws IllegalStateException)', () => {
    expect(() => encodeTransactionLogValue({ ...ONGOING, txnState: 'Empty' })).toThrow(TransactionStateError);
  });

  it('decodes versions 0 and 1 into the same metadata, with no last epoch (and the previous producer id from v1)', () => {
    for (const [bytes, lastProducerId] of [[ONGOING_V0, -1n], [ONGOING_V1, 1000n]] as const) {
      const m = decodeTransactionLogValue('tx', bytes)!;
      expect({
        transactionalId: m.transactionalId,
        producerId: m.producerId,
        lastProducerId: m.lastProducerId,
        producerEpoch: m.producerEpoch,
        lastProducerEpoch: m.lastProducerEpoch,
        txnTimeoutMs: m.txnTimeoutMs,
        state: m.state,
        partitions: [...m.topicPartitions].map(([t, s]) => [t, [...s]]),
        txnStartTimestamp: m.txnStartTimestamp,
        txnLastUpdateTimestamp: m.txnLastUpdateTimestamp,
        pendingState: m.pendingState,
      }).toEqual({
        transactionalId: 'tx',
        producerId: 1000n,
        lastProducerId,
        producerEpoch: 5,
        lastProducerEpoch: -1,
        txnTimeoutMs: 60000,
        state: 'Ongoing',
        partitions: [['orders', [0, 2]]],
        txnStartTimestamp: 1700000000000,
        txnLastUpdateTimestamp: 1700000000123,
        pendingState: undefined,
      });
    }
  });

  it('reads a null value as a tombstone', () => {
    expect(decodeTransactionLogValue('tx', null)).toBeUndefined();
  });

  it('refuses a value version above 1 and an unknown state id', () => {
    expect(() => decodeTransactionLogValue('tx', hex('0002 00000000000003e8'))).toThrow(/Unknown version 2/);
    expect(() => decodeTransactionLogValue('tx', hex('0000 00000000000003e8 0005 0000ea60 08 ffffffff 0000018bcfe5687b ffffffffffffffff'))).toThrow(/Unknown transaction state id 8/);
  });
});

describe('transaction log batches', () => {
  it('are uncompressed RecordBatch v2 with producer -1, leader epoch -1 and the write time, as MemoryRecords.withRecords builds them', () => {
    const key = encodeTransactionLogKey('tx');
    const batch = buildKeyValueBatch([{ key, value: ONGOING_V0 }], 1700000000123);
    const recordBody = `00 00 00 0c ${key.toString('hex')} ${(ONGOING_V0.length * 2).toString(16)} ${ONGOING_V0.toString('hex')} 00`.replaceAll(' ', '');
    // attributes, timestampDelta, offsetDelta, key length (zigzag 6 = 0x0c), 6-byte key, value length (zigzag 57 =
    // 0x72), 57-byte value, header count: 69 bytes, whose zigzag varint (138) is 0x8a 0x01.
    const recordLength = recordBody.length / 2;
    expect([ONGOING_V0.length, recordLength]).toEqual([57, 69]);
    const expected = hex(`
      0000000000000000          # baseOffset 0
      ${(61 - 12 + 2 + recordLength).toString(16).padStart(8, '0')}  # batchLength
      ffffffff                  # partitionLeaderEpoch -1
      02                        # magic
      ${batch.subarray(17, 21).toString('hex')}  # crc (checked below)
      0000                      # attributes: none, CreateTime
      00000000                  # lastOffsetDelta
      0000018bcfe5687b 0000018bcfe5687b  # base/max timestamp
      ffffffffffffffff ffff ffffffff     # producerId, producerEpoch, baseSequence
      00000001                  # records
      8a01 ${recordBody}
    `);
    expect(batch.toString('hex')).toBe(expected.toString('hex'));
    expect(batchCrcIsValid(batch)).toBe(true);
    expect(readBatchHeader(batch).recordCount).toBe(1);
  });

  it('write a tombstone as a null value (length -1)', () => {
    const key = encodeTransactionLogKey('tx');
    const batch = buildKeyValueBatch([{ key, value: null }, { key: encodeTransactionLogKey('ty'), value: null }], 5);
    // record 0: attributes, timestampDelta, offsetDelta 0, key, value -1, no headers.
    expect(batch.subarray(61, 61 + 13).toString('hex')).toBe(`18 00 00 00 0c ${key.toString('hex')} 01 00`.replaceAll(' ', ''));
    // record 1: length, attributes, timestampDelta, offsetDelta 1 (zigzag 0x02).
    expect(batch.subarray(61 + 13, 61 + 17).toString('hex')).toBe('18000002');
    expect(readBatchHeader(batch).lastOffsetDelta).toBe(1);
    expect(batchCrcIsValid(batch)).toBe(true);
  });

  it('read back every record of consecutive batches, with the offset after the last', () => {
    const a = buildKeyValueBatch([{ key: encodeTransactionLogKey('a'), value: ONGOING_V0 }], 1);
    const b = buildKeyValueBatch([{ key: encodeTransactionLogKey('b'), value: null }, { key: encodeTransactionLogKey('c'), value: ONGOING_V1 }], 2);
    b.writeBigInt64BE(1n, 0); // the log assigns offsets: a is 0, b starts at 1
    const seen: Array<{ key: string; value: string | null; offset: bigint }> = [];
    const next = forEachKeyValueRecord(Buffer.concat([a, b]), {
      record: (r, offset) => {
        seen.push({ key: decodeTransactionLogKey(r.key!).transactionalId!, value: r.value === null ? null : r.value.toString('hex'), offset });
      },
    });
    expect(seen).toEqual([
      { key: 'a', value: ONGOING_V0.toString('hex'), offset: 0n },
      { key: 'b', value: null, offset: 1n },
      { key: 'c', value: ONGOING_V1.toString('hex'), offset: 2n },
    ]);
    expect(next).toBe(3n);
  });
});
