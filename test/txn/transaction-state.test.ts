// The transaction state machine (Kafka 3.9 TransactionMetadata.scala): every transition against Kafka's
// validPreviousStates table, and the prepare/complete rules of one transactional id's metadata.
import { describe, expect, it } from 'vitest';
import { KafkaError } from '../../src/errors.js';
import { ErrorCode } from '../../src/protocol/error-codes.js';
import { TransactionMetadata, type TransactionMetadataInit } from '../../src/txn/transaction-metadata.js';
import {
  ALL_TRANSACTION_STATES,
  checkTransition,
  isExpirationAllowed,
  transactionStateFromId,
  transactionStateFromName,
  transactionStateId,
  TransactionStateError,
  type TransactionState,
} from '../../src/txn/transaction-state.js';

// Kafka's validPreviousStates, written out again so the table in the source is checked, not copied.
const KAFKA_VALID_PREVIOUS: Record<TransactionState, TransactionState[]> = {
  Empty: ['Empty', 'CompleteCommit', 'CompleteAbort'],
  Ongoing: ['Ongoing', 'Empty', 'CompleteCommit', 'CompleteAbort'],
  PrepareCommit: ['Ongoing'],
  PrepareAbort: ['Ongoing', 'PrepareEpochFence'],
  CompleteCommit: ['PrepareCommit'],
  CompleteAbort: ['PrepareAbort'],
  Dead: ['Empty', 'CompleteAbort', 'CompleteCommit'],
  PrepareEpochFence: ['Ongoing'],
};

describe('transaction states', () => {
  it('have Kafka\'s wire ids and names', () => {
    expect(ALL_TRANSACTION_STATES.map((s) => [s, transactionStateId(s)])).toEqual([
      ['Empty', 0],
      ['Ongoing', 1],
      ['PrepareCommit', 2],
      ['PrepareAbort', 3],
      ['CompleteCommit', 4],
      ['CompleteAbort', 5],
      ['Dead', 6],
      ['PrepareEpochFence', 7],
    ]);
    for (let id = 0; id < 8; id++) expect(transactionStateId(transactionStateFromId(id))).toBe(id);
    expect(() => transactionStateFromId(8)).toThrow(TransactionStateError);
    expect(transactionStateFromName('PrepareCommit')).toBe('PrepareCommit');
    expect(transactionStateFromName('prepareCommit')).toBeUndefined();
  });

  it('allow exactly the transitions in Kafka\'s validPreviousStates, all 64 pairs checked', () => {
    for (const target of ALL_TRANSACTION_STATES) {
      for (const current of ALL_TRANSACTION_STATES) {
        if (KAFKA_VALID_PREVIOUS[target].includes(current)) expect(checkTransition(current, target)).toBe(target);
        else expect(() => checkTransition(current, target), `${current} -> ${target}`).toThrow(TransactionStateError);
      }
    }
  });

  it('allow expiration only without a transaction in progress', () => {
    expect(ALL_TRANSACTION_STATES.filter(isExpirationAllowed)).toEqual(['Empty', 'CompleteCommit', 'CompleteAbort']);
  });
});

function metadata(overrides: Partial<TransactionMetadataInit> = {}): TransactionMetadata {
  return new TransactionMetadata({
    transactionalId: 'tx',
    producerId: 7n,
    lastProducerId: -1n,
    producerEpoch: 3,
    lastProducerEpoch: -1,
    txnTimeoutMs: 60000,
    state: 'Empty',
    txnStartTimestamp: -1,
    txnLastUpdateTimestamp: 100,
    ...overrides,
  });
}

describe('TransactionMetadata', () => {
  it('bumps the epoch on InitProducerId and forgets the last epoch without an expected one', () => {
    const m = metadata();
    const t = m.prepareIncrementProducerEpoch(30000, undefined, 200);
    expect(m.pendingState).toBe('Empty');
    m.completeTransitionTo(t);
    expect([m.producerId, m.producerEpoch, m.lastProducerEpoch, m.lastProducerId, m.txnTimeoutMs, m.txnLastUpdateTimestamp, m.pendingState]).toEqual([7n, 4, -1, 7n, 30000, 200, undefined]);
  });

  it('follows KIP-360 with an expected epoch: current bumps, last repeats, anything else is PRODUCER_FENCED', () => {
    const m = metadata();
    m.completeTransitionTo(m.prepareIncrementProducerEpoch(60000, 3, 200));
    expect([m.producerEpoch, m.lastProducerEpoch]).toEqual([4, 3]);
    // A retry of that call (its answer was lost): the same epoch again, no bump.
    const retry = m.prepareIncrementProducerEpoch(60000, 3, 300);
    expect([retry.producerEpoch, retry.lastProducerEpoch]).toEqual([4, 3]);
    m.completeTransitionTo(retry);
    expect(() => m.prepareIncrementProducerEpoch(60000, 1, 400)).toThrow(expect.objectContaining({ errorCode: ErrorCode.PRODUCER_FENCED }));
    expect(m.pendingState).toBeUndefined();
  });

  it('treats a new transactional id (epoch -1) as matching any expected epoch, starting at 0', () => {
    const m = metadata({ producerEpoch: -1 });
    const t = m.prepareIncrementProducerEpoch(60000, 9, 200);
    expect([t.producerEpoch, t.lastProducerEpoch]).toEqual([0, -1]);
  });

  it('refuses another prepare while a transition is pending', () => {
    const m = metadata();
    m.prepareIncrementProducerEpoch(60000, undefined, 200);
    expect(() => m.prepareAddPartitions(new Map([['t', new Set([0])]]), 300)).toThrow(TransactionStateError);
  });

  it('starts the transaction clock with the first partition and keeps it for later ones', () => {
    const m = metadata();
    m.completeTransitionTo(m.prepareAddPartitions(new Map([['t', new Set([0])]]), 500));
    m.completeTransitionTo(m.prepareAddPartitions(new Map([['t', new Set([1])], ['u', new Set([2])]]), 900));
    expect(m.state).toBe('Ongoing');
    expect(m.txnStartTimestamp).toBe(500);
    expect(m.txnLastUpdateTimestamp).toBe(900);
    expect([...m.topicPartitions].map(([t, s]) => [t, [...s]])).toEqual([['t', [0, 1]], ['u', [2]]]);
  });

  it('goes Ongoing -> PrepareCommit -> CompleteCommit, removing partitions as their markers land', () => {
    const m = metadata();
    m.completeTransitionTo(m.prepareAddPartitions(new Map([['t', new Set([0, 1])]]), 500));
    expect(() => m.removePartition('t', 0)).toThrow(TransactionStateError);
    m.completeTransitionTo(m.prepareAbortOrCommit('PrepareCommit', 0, -1n, 600));
    const complete = m.prepareComplete(700);
    expect(complete.txnState).toBe('CompleteCommit');
    expect(complete.topicPartitions.size).toBe(0);
    m.removePartition('t', 0);
    m.removePartition('t', 1);
    expect(m.topicPartitions.size).toBe(0);
    m.completeTransitionTo(complete);
    expect([m.state, m.txnStartTimestamp, m.txnLastUpdateTimestamp]).toEqual(['CompleteCommit', 500, 700]);
  });

  it('fences with epoch + 1 and no last epoch, and does not bump twice after a failed fence write', () => {
    const m = metadata({ state: 'Ongoing', topicPartitions: new Map([['t', new Set([0])]]), txnStartTimestamp: 50 });
    const fence = m.prepareFenceProducerEpoch();
    expect([fence.txnState, fence.producerEpoch, fence.lastProducerEpoch]).toEqual(['PrepareEpochFence', 4, -1]);
    // PrepareEpochFence is never completed: it is followed by PrepareAbort with the bumped epoch.
    expect(() => m.completeTransitionTo(fence)).toThrow(TransactionStateError);
    m.pendingState = undefined;
    m.producerEpoch = 4;
    m.hasFailedEpochFence = true;
    expect(m.prepareFenceProducerEpoch().producerEpoch).toBe(4);
  });

  it('moves to a new producer id at epoch 0 once the epoch is exhausted (32766)', () => {
    const m = metadata({ producerEpoch: 32766, state: 'CompleteAbort', txnStartTimestamp: 10 });
    expect(m.isProducerEpochExhausted).toBe(true);
    expect(() => m.prepareIncrementProducerEpoch(60000, undefined, 1)).toThrow(TransactionStateError);
    const t = m.prepareProducerIdRotation(8n, 60000, 200, true);
    m.completeTransitionTo(t);
    expect([m.producerId, m.producerEpoch, m.lastProducerId, m.lastProducerEpoch, m.state]).toEqual([8n, 0, 7n, 32766, 'Empty']);
  });

  it('refuses to complete a transition whose record contradicts the metadata', () => {
    const m = metadata();
    const t = m.prepareIncrementProducerEpoch(60000, undefined, 200);
    expect(() => m.completeTransitionTo({ ...t, producerEpoch: 9 })).toThrow(TransactionStateError);
    const n = metadata();
    const ongoing = n.prepareAddPartitions(new Map([['t', new Set([0])]]), 500);
    expect(() => n.completeTransitionTo({ ...ongoing, txnTimeoutMs: 1 })).toThrow(TransactionStateError);
  });

  it('expires to Dead keeping its producer and timestamps, and only from a state without a transaction', () => {
    const m = metadata({ state: 'CompleteCommit', txnStartTimestamp: 10 });
    const dead = m.prepareDead();
    expect([dead.txnState, dead.producerEpoch, dead.txnLastUpdateTimestamp]).toEqual(['Dead', 3, 100]);
    expect(() => metadata({ state: 'Ongoing' }).prepareDead()).toThrow(TransactionStateError);
  });

  it('reports PRODUCER_FENCED as a KafkaError, a domain outcome, not a bug', () => {
    const m = metadata({ lastProducerEpoch: 1 });
    let err: unknown;
    try {
      m.prepareIncrementProducerEpoch(60000, 2, 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KafkaError);
  });
});
