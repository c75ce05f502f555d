// The transaction.version feature this broker finalizes (KIP-890 part 2; Kafka 4.0's TransactionVersion), which
// decides how transactional clients behave:
//
//   level  clients                                       this broker
//   0      AddPartitionsToTxn before a partition's first  a cluster (`--etcd`): a partition's leader cannot yet
//          batch, AddOffsetsToTxn, EndTxn up to v4        ask a transaction coordinator on another broker
//   2      Produce v12+ adds partitions implicitly, Txn-  a single broker, as a fresh Kafka 4.0 cluster: Produce
//          OffsetCommit v5 the group's partition, EndTxn  and TxnOffsetCommit add them through the local
//          v5 bumps the epoch of every transaction        coordinator
//
// ApiVersions advertises it (SupportedFeatures 0–2, FinalizedFeatures at this level); Java 4.x and franz-go use
// transactions v2 only when it is finalized at 2. EndTxn v5 itself always has v2 semantics, as in Kafka (the
// request's version says what the client does).
import type { BrokerServices } from '../handlers/types.js';

export const TRANSACTION_VERSION_FEATURE = 'transaction.version';
/** The highest level this broker supports (TransactionVersion.TV_2). */
export const MAX_TRANSACTION_VERSION = 2;

export function finalizedTransactionVersion(services: Pick<BrokerServices, 'cluster'>): number {
  return services.cluster === undefined ? MAX_TRANSACTION_VERSION : 0;
}
