// The transaction.version feature this broker finalizes (KIP-890 part 2; Kafka 4.0's TransactionVersion): 2, as a
// fresh Kafka 4.0 cluster, on a single broker and in a cluster alike. It decides how transactional clients behave:
//
//   level  clients
//   0      AddPartitionsToTxn before a partition's first batch, AddOffsetsToTxn, EndTxn up to v4
//   2      Produce v12+ adds its partitions implicitly, TxnOffsetCommit v5 the group's partition, EndTxn v5 bumps
//          the epoch of every transaction; the broker adds them through the transaction coordinator, on this
//          broker or, in a cluster, on the one leading the id's __transaction_state partition
//          (handlers/txn-implicit-add.ts, txn/remote-transaction-coordinator.ts)
//
// ApiVersions advertises it (SupportedFeatures 0–2, FinalizedFeatures at this level); Java 4.x and franz-go use
// transactions v2 only when it is finalized at 2. EndTxn v5 itself always has v2 semantics, as in Kafka (the
// request's version says what the client does).
import type { BrokerServices } from '../handlers/types.js';

export const TRANSACTION_VERSION_FEATURE = 'transaction.version';
/** The highest level this broker supports (TransactionVersion.TV_2). */
export const MAX_TRANSACTION_VERSION = 2;

export function finalizedTransactionVersion(_services: Pick<BrokerServices, 'cluster'>): number {
  return MAX_TRANSACTION_VERSION;
}
